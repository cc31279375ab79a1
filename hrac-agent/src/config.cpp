#include "config.hpp"
#include "config_detail.hpp"

#include <sofw/host_port.hpp>
#include <sofw/text.hpp>
#include <sofw/tunnel_http.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

namespace hrac {

namespace config_detail {

std::string read_first_line(const std::string &path, const char *what)
{
    std::ifstream in(path);
    if (!in)
        throw ConfigError(std::string("cannot read ") + what + " '" + path + "': " + strerror(errno));
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    return line;
}

void require_readable(const std::string &key, const std::string &path)
{
    if (path.empty())
        throw ConfigError(key + " is empty");
    std::ifstream in(path);
    if (!in)
        throw ConfigError("cannot read " + key + " '" + path + "': " + strerror(errno));
}

unsigned parse_unsigned(const std::string &key, const std::string &value, unsigned min, unsigned max)
{
    if (value.empty() || value.size() > 9 || value.find_first_not_of("0123456789") != std::string::npos)
        throw ConfigError(key + " '" + value + "' is not a number");
    const unsigned long n = std::stoul(value);
    if (n < min || n > max)
        throw ConfigError(key + " " + value + " is out of range " + std::to_string(min) + ".." + std::to_string(max));
    return static_cast<unsigned>(n);
}

}  // namespace config_detail

namespace {

using namespace config_detail;

const std::set<std::string> known_keys = {
    "site",           "secret",
    "secret_file",    "server",
    "sip_listen",     "keepalive_interval",
    "log_level",      "log_target",
    "media_ports",    "media_timeout",
    "proxy",          "proxy_user",
    "proxy_password", "proxy_password_file",
    "proxy_auth",     "no_proxy",
    "ca_file",        "pin_sha256",
    "client_cert",    "client_key",
    "tunnel_mode",    "stream_probe_timeout",
    "tunnel_lanes",   "tunnel_coalesce_ms",
};

// Takes the secret from whichever of secret / secret_file one layer sets.
// Returns false if the layer sets neither.
bool secret_from(const Settings &layer, const char *layer_name, std::string &secret)
{
    const auto inline_secret = layer.find("secret");
    const auto secret_file = layer.find("secret_file");
    if (inline_secret != layer.end() && secret_file != layer.end())
        throw ConfigError(std::string("both secret and secret_file given in ") + layer_name + "; use one");
    if (inline_secret != layer.end()) {
        secret = inline_secret->second;
        return true;
    }
    if (secret_file != layer.end()) {
        secret = read_first_line(secret_file->second, "secret_file");
        return true;
    }
    return false;
}

// Visible ASCII only: the site name travels in an HTTP header.
bool valid_site_name(const std::string &s)
{
    if (s.empty())
        return false;
    for (unsigned char c : s) {
        if (c < 0x21 || c > 0x7e)
            return false;
    }
    return true;
}

// "http(s)://host[:port][/prefix]" -> base without trailing '/' and its path.
void parse_server(const std::string &value, Config &c)
{
    std::string url = value;
    while (!url.empty() && url.back() == '/')
        url.pop_back();
    const bool http = sofw::starts_with(url, "http://") || sofw::starts_with(url, "https://");
    const auto host_begin = url.find("://");
    if (!http || host_begin == std::string::npos || host_begin + 3 >= url.size() || url[host_begin + 3] == '/' ||
        url.find_first_of(" \t?#") != std::string::npos)
        throw ConfigError("server '" + value +
                          "' is not an http:// or https:// base URL (e.g. http://198.51.100.1:80)");
    const auto path_begin = url.find('/', host_begin + 3);
    c.server = url;
    c.server_path = path_begin == std::string::npos ? "" : url.substr(path_begin);
}

// "10.0.0.2:5060" or "[2001:db8::2]:5060". Must be a concrete address:
// it is what phones register to and what HRAS is told as X-SoFW-Lan.
void parse_sip_listen(const std::string &value, Config &c)
{
    const std::string bad = "sip_listen '" + value + "' is not a LAN address:port (e.g. 10.0.0.2:5060)";
    // Unbracketed, only an IPv4 address can come before the one ':'.
    const auto text = sofw::split_host_port(value);
    if (!text || !text->has_port || (!text->bracketed && text->port.find(':') != std::string_view::npos))
        throw ConfigError(bad);
    const std::string host(text->host), port(text->port);

    unsigned char addr[16];
    const bool v6 = text->bracketed;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), addr) != 1)
        throw ConfigError(bad);
    static const unsigned char zero[16] = {};
    if (memcmp(addr, zero, v6 ? 16 : 4) == 0)
        throw ConfigError("sip_listen '" + value + "' must name HRAC's LAN address, not the unspecified address");
    try {
        c.sip_port = static_cast<uint16_t>(parse_unsigned("sip_listen port", port, 1, 65535));
    } catch (const ConfigError &) {
        throw ConfigError(bad);
    }
    c.sip_host = host;
    c.sip_listen = value;
}

std::string default_media_ports()
{
    return sofw::media_ports_value(sofw::default_media_port_min, sofw::default_media_port_max);
}

// "min-max": the LAN ports HRAS may open pairs in. min is even so that
// every even port of the range has its RTCP partner P+1 inside it too.
void parse_media_ports(const std::string &value, Config &c)
{
    const std::string bad = "media_ports '" + value + "' is not a port range (e.g. " + default_media_ports() + ")";
    const auto dash = value.find('-');
    if (dash == std::string::npos)
        throw ConfigError(bad);
    unsigned min = 0, max = 0;
    try {
        const std::string_view text = value;
        min = parse_unsigned("media_ports", std::string(sofw::trim(text.substr(0, dash))), 0, 99999);
        max = parse_unsigned("media_ports", std::string(sofw::trim(text.substr(dash + 1))), 0, 99999);
    } catch (const ConfigError &) {
        throw ConfigError(bad);
    }
    if (min < 1024 || max > 65535)
        throw ConfigError("media_ports '" + value + "' must lie within 1024..65535");
    if (min % 2 != 0)
        throw ConfigError("media_ports '" + value + "' must start at an even port (RTP)");
    if (min >= max)
        throw ConfigError("media_ports '" + value + "' must have its first port below its last");
    if (c.sip_port >= min && c.sip_port <= max)
        throw ConfigError("media_ports '" + value + "' must not include the sip_listen port " +
                          std::to_string(c.sip_port));
    c.media_port_min = static_cast<uint16_t>(min);
    c.media_port_max = static_cast<uint16_t>(max);
}

}  // namespace

std::string media_ports_text(const Config &c) { return sofw::media_ports_value(c.media_port_min, c.media_port_max); }

CommandLine parse_command_line(const std::vector<std::string> &args)
{
    CommandLine cl;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string &arg = args[i];
        auto next_value = [&](const std::string &option) {
            if (i + 1 >= args.size())
                throw ConfigError("option '" + option + "' needs a value");
            return args[++i];
        };

        if (arg == "--help" || arg == "-h") {
            cl.help = true;
        } else if (arg == "--version") {
            cl.version = true;
        } else if (arg == "--check") {
            cl.check = true;
        } else if (arg == "-c" || arg == "--config") {
            cl.config_file = next_value(arg);
            cl.config_given = true;
        } else if (sofw::starts_with(arg, "--config=")) {
            cl.config_file = arg.substr(strlen("--config="));
            cl.config_given = true;
        } else if (sofw::starts_with(arg, "--")) {
            const auto eq = arg.find('=');
            const std::string key = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
            if (!known_keys.count(key))
                throw ConfigError("unknown option '--" + key + "' (see --help)");
            cl.flags[key] = eq == std::string::npos ? next_value(arg) : arg.substr(eq + 1);
        } else {
            throw ConfigError("unexpected argument '" + arg + "' (see --help)");
        }
    }
    return cl;
}

void apply_default_config_file(CommandLine &cl, const std::string &default_path,
                               bool (*exists)(const std::string &path))
{
    if (!cl.config_given && exists(default_path))
        cl.config_file = default_path;
}

bool file_exists(const std::string &path) { return access(path.c_str(), F_OK) == 0; }

Settings parse_config_text(const std::string &text, const std::string &origin)
{
    Settings settings;
    std::istringstream in(text);
    std::string raw;
    for (int line_no = 1; std::getline(in, raw); ++line_no) {
        const std::string line(sofw::trim(raw));
        if (line.empty() || line[0] == '#')
            continue;
        const std::string where = origin + ":" + std::to_string(line_no) + ": ";
        const auto eq = line.find('=');
        if (eq == std::string::npos)
            throw ConfigError(where + "expected 'key = value'");
        const std::string key(sofw::trim(std::string_view(line).substr(0, eq)));
        const std::string value(sofw::trim(std::string_view(line).substr(eq + 1)));
        if (!known_keys.count(key))
            throw ConfigError(where + "unknown key '" + key + "'");
        if (settings.count(key))
            throw ConfigError(where + "'" + key + "' is given twice");
        settings[key] = value;
    }
    return settings;
}

Settings read_config_file(const std::string &path)
{
    std::ifstream in(path);
    if (!in)
        throw ConfigError("cannot read config file '" + path + "': " + strerror(errno));
    std::stringstream text;
    text << in.rdbuf();
    return parse_config_text(text.str(), path);
}

Config make_config(const Settings &file, const Settings &flags)
{
    Settings merged = file;
    for (const auto &[key, value] : flags)
        merged[key] = value;

    auto required = [&](const std::string &key) -> const std::string & {
        const auto it = merged.find(key);
        if (it == merged.end() || it->second.empty())
            throw ConfigError("missing required setting '" + key + "'");
        return it->second;
    };

    Config c;
    c.site = required("site");
    if (!valid_site_name(c.site))
        throw ConfigError("site '" + c.site + "' must be visible ASCII without spaces");

    // A flag for either form of the secret replaces whatever the file says.
    if (!secret_from(flags, "the options", c.secret) && !secret_from(file, "the config file", c.secret))
        throw ConfigError("missing required setting 'secret' (or 'secret_file')");
    if (c.secret.empty())
        throw ConfigError("the secret is empty");

    parse_server(required("server"), c);
    parse_sip_listen(required("sip_listen"), c);

    if (merged.count("keepalive_interval"))
        c.keepalive_interval = parse_unsigned("keepalive_interval", merged["keepalive_interval"],
                                              sofw::keepalive_interval_min_s, sofw::keepalive_interval_max_s);
    if (merged.count("log_level") && !parse_log_level(merged["log_level"], c.log_level))
        throw ConfigError("log_level '" + merged["log_level"] + "' is not one of error, warn, info, debug");
    if (merged.count("log_target")) {
        const std::string &target = merged["log_target"];
        if (!parse_log_target(target, c.log_target))
            throw ConfigError("log_target '" + target + "' is not one of stderr, syslog");
    }
    // After sip_listen: the range must not swallow the SIP port.
    if (merged.count("media_ports"))
        parse_media_ports(merged["media_ports"], c);
    else if (c.sip_port >= c.media_port_min && c.sip_port <= c.media_port_max)
        throw ConfigError("the default media_ports " + media_ports_text(c) +
                          " include the sip_listen port; set media_ports");
    if (merged.count("media_timeout"))
        c.media_timeout = parse_unsigned("media_timeout", merged["media_timeout"], 10, 86400);
    parse_tunnel_settings(file, flags, merged, c);
    return c;
}

Config load_config(const CommandLine &cl)
{
    const Settings file = cl.config_file.empty() ? Settings{} : read_config_file(cl.config_file);
    return make_config(file, cl.flags);
}

std::string usage_text()
{
    return "usage: hrac-agent [-c FILE] [--check] [--key=value ...]\n"
           "\n"
           "Relays the LAN's SIP phones through an HTTP tunnel to HRAS.\n"
           "\n"
           "  -c, --config FILE        read settings from FILE ('key = value' lines, # comments);\n"
           "                           default: /etc/sofw/hrac-agent.conf if it exists\n"
           "  --check                  find out whether and how the tunnel gets out (direct or\n"
           "                           proxy, CONNECT, TLS, site authentication, streaming or\n"
           "                           polling), say so step by step, and exit: 0 if a working\n"
           "                           way was found, 1 if not. It opens short tunnel sessions\n"
           "                           of its own: a running hrac-agent of the same site loses\n"
           "                           its tunnel for a moment and reconnects.\n"
           "  --help                   show this text\n"
           "  --version                print the version\n"
           "\n"
           "Settings (in FILE or as --key=value, which overrides FILE):\n"
           "  site                     site name known to HRAS (required)\n"
           "  secret / secret_file     site secret, or a file whose first line is it (required)\n"
           "  server                   HRAS base URL, e.g. http://198.51.100.1:80 (required)\n"
           "  sip_listen               LAN address:port for the phones, e.g. 10.0.0.2:5060 (required)\n"
           "  keepalive_interval       seconds without upstream traffic before a keep-alive (" +
           std::to_string(sofw::default_keepalive_interval_s) +
           ")\n"
           "  media_ports              LAN UDP ports for RTP/RTCP relaying, even first (" +
           default_media_ports() +
           ")\n"
           "  media_timeout            seconds without media before a port pair closes (120)\n"
           "  log_level                error, warn, info or debug (info)\n"
           "  log_target               stderr or syslog (stderr; syslog: facility daemon)\n"
           "  tunnel_mode              auto, stream or poll (auto: stream, poll if streaming fails)\n"
           "  stream_probe_timeout     seconds streaming gets to prove it works in auto mode (5)\n"
           "  tunnel_lanes             connections per direction when streaming, 1.." +
           std::to_string(sofw::lanes_max) + " (" + std::to_string(sofw::default_lanes) +
           "; HRAS may grant fewer)\n"
           "  tunnel_coalesce_ms       milliseconds media waits to share a write with other media, 0..20 (" +
           std::to_string(sofw::default_coalesce_ms) + ")\n"
           "\n"
           "Proxy (default: the https_proxy/http_proxy/all_proxy/no_proxy environment):\n"
           "  proxy                    proxy URL, e.g. http://proxy:3128, or none (direct)\n"
           "  proxy_user               proxy user name\n"
           "  proxy_password / proxy_password_file   its password, or a file whose first line is it\n"
           "  proxy_auth               basic, digest, ntlm, negotiate or any (any)\n"
           "  no_proxy                 hosts to reach directly (replaces the environment's)\n"
           "\n"
           "TLS (https:// servers; the server is always verified):\n"
           "  ca_file                  PEM CA certificates for HRAS (default: the system store)\n"
           "  pin_sha256               base64 SHA-256 of HRAS's public key; several: a,b\n"
           "  client_cert / client_key PEM client certificate and key, if HRAS asks for one\n"
           "\n"
           "Signals: SIGUSR1 logs the counters; SIGTERM/SIGINT stop cleanly.\n";
}

}  // namespace hrac
