// HRAC's settings: a config file of `key = value` lines, overridden by
// command-line flags --key=value with the same names. Every problem is a
// ConfigError whose message names the file line or the option at fault;
// main() prints it and exits 2.
#pragma once
#include "log.hpp"

#include <sofw/defaults.h>
#include <sofw/lanes.hpp>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace hrac {

// The project's version (CMake's project(VERSION)), which the packages carry too.
#ifndef HRAC_VERSION
#error "HRAC_VERSION must be defined by the build (hrac-agent/CMakeLists.txt)"
#endif
constexpr const char *hrac_version = HRAC_VERSION;

// How the tunnel carries frames (docs/protocol.md "Streaming probe and the
// polling fallback"): auto streams and falls back to polling when a probe
// shows that streaming does not get through.
enum class TunnelMode { automatic, stream, poll };
const char *tunnel_mode_name(TunnelMode mode);  // "auto", "stream", "poll"

// Which scheme HRAC may answer a proxy's 407 with (CURLOPT_PROXYAUTH).
enum class ProxyAuth { any, basic, digest, ntlm, negotiate };
const char *proxy_auth_name(ProxyAuth auth);

struct Config {
    std::string site;         // site name, X-SoFW-Site
    std::string secret;       // site secret shared with HRAS
    std::string server;       // HRAS base URL without trailing '/'
    std::string server_path;  // path part of server ("" or "/prefix")
    std::string sip_listen;   // "10.0.0.2:5060": bind address and X-SoFW-Lan
    std::string sip_host;     // address part, IPv6 without brackets
    uint16_t sip_port = 0;
    unsigned keepalive_interval = sofw::default_keepalive_interval_s;  // seconds
    // LAN UDP ports HRAS may ask to open for RTP (even P) and RTCP (P+1),
    // announced to HRAS as X-SoFW-Media-Ports.
    uint16_t media_port_min = sofw::default_media_port_min;
    uint16_t media_port_max = sofw::default_media_port_max;
    unsigned media_timeout = 120;  // seconds without media before a pair is closed
    LogLevel log_level = LogLevel::info;
    LogTarget log_target = LogTarget::stderr_stream;

    // HTTP proxy. Without `proxy`, libcurl takes it from the environment
    // (https_proxy, http_proxy, all_proxy, no_proxy) as any curl tool does.
    bool proxy_from_environment = true;
    std::string proxy;           // URL (may hold user:password@); empty: direct ("proxy = none")
    std::string proxy_user;      // proxy_user; empty: none, or the URL's
    std::string proxy_password;  // proxy_password or proxy_password_file
    ProxyAuth proxy_auth = ProxyAuth::any;
    bool no_proxy_set = false;  // no_proxy given: replaces the environment's
    std::string no_proxy;       // hosts reached directly, curl's syntax

    // TLS for https:// servers. Verification is always on.
    std::string ca_file;      // PEM CA bundle; empty: the system store
    std::string pin_sha256;   // CURLOPT_PINNEDPUBLICKEY form "sha256//...;sha256//..."; empty: no pin
    std::string client_cert;  // PEM client certificate (and key, unless client_key)
    std::string client_key;   // PEM key of client_cert

    TunnelMode tunnel_mode = TunnelMode::automatic;
    unsigned stream_probe_timeout = 5;  // seconds for the GET's 200 and STREAM_OK
    // TCP connections per direction a streaming session asks HRAS for
    // (docs/protocol.md "Lanes"): media hedged over several of them stays
    // clear when one stalls on a lost segment. HRAS may grant fewer.
    unsigned tunnel_lanes = sofw::default_lanes;
    // How long a media frame may wait in the upload queue for others to
    // share its write (docs/performance.md "Coalescing"): fewer segments,
    // ACKs and wake-ups per packet, for at most this much added delay.
    // SIP, control frames and keep-alives never wait.
    unsigned tunnel_coalesce_ms = sofw::default_coalesce_ms;
};

// The proxy URL with any password replaced by "***", for logs.
std::string redact_url(const std::string &url);

// The media port range as HRAC announces it (sofw::media_ports_value), "min-max".
std::string media_ports_text(const Config &c);

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// key -> value, as read from one source (file or flags).
using Settings = std::map<std::string, std::string>;

// The config file read when no -c is given and it exists.
constexpr const char *default_config_file = "/etc/sofw/hrac-agent.conf";

struct CommandLine {
    std::string config_file;    // empty: settings come from flags only
    bool config_given = false;  // -c/--config named it (else it may be the default)
    Settings flags;
    bool help = false;
    bool version = false;
    bool check = false;  // --check: diagnose the way to HRAS and exit
};

// args excludes argv[0].
CommandLine parse_command_line(const std::vector<std::string> &args);

// Without -c: default_path if exists(default_path), so that a packaged
// hrac-agent finds /etc/sofw/hrac-agent.conf by itself.
void apply_default_config_file(CommandLine &cl, const std::string &default_path,
                               bool (*exists)(const std::string &path));
bool file_exists(const std::string &path);

// origin names the source in error messages ("hrac.conf").
Settings parse_config_text(const std::string &text, const std::string &origin);
Settings read_config_file(const std::string &path);

// Applies flags over file settings, reads secret_file, validates.
Config make_config(const Settings &file, const Settings &flags);

// The config file named on the command line (if any) plus its flags.
Config load_config(const CommandLine &cl);

std::string usage_text();

}  // namespace hrac
