// HRAC's settings: a config file of `key = value` lines, overridden by
// command-line flags --key=value with the same names. Every problem is a
// ConfigError whose message names the file line or the option at fault;
// main() prints it and exits 2.
#pragma once
#include "log.hpp"

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace hrac {

constexpr const char *hrac_version = "0.1.0";

struct Config {
    std::string site;              // site name, X-SoFW-Site
    std::string secret;            // site secret shared with HRAS
    std::string server;            // HRAS base URL without trailing '/'
    std::string server_path;       // path part of server ("" or "/prefix")
    std::string sip_listen;        // "10.0.0.2:5060": bind address and X-SoFW-Lan
    std::string sip_host;          // address part, IPv6 without brackets
    uint16_t sip_port = 0;
    unsigned keepalive_interval = 15; // seconds
    // LAN UDP ports HRAS may ask to open for RTP (even P) and RTCP (P+1),
    // announced to HRAS as X-SoFW-Media-Ports.
    uint16_t media_port_min = 20000;
    uint16_t media_port_max = 29999;
    unsigned media_timeout = 120;     // seconds without media before a pair is closed
    LogLevel log_level = LogLevel::info;
    std::string proxy;             // passed to CURLOPT_PROXY; empty: curl's default
};

// "20000-29999", the X-SoFW-Media-Ports value.
std::string media_ports_text(const Config &c);

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// key -> value, as read from one source (file or flags).
using Settings = std::map<std::string, std::string>;

struct CommandLine {
    std::string config_file;  // empty: settings come from flags only
    Settings flags;
    bool help = false;
    bool version = false;
};

// args excludes argv[0].
CommandLine parse_command_line(const std::vector<std::string> &args);

// origin names the source in error messages ("hrac.conf").
Settings parse_config_text(const std::string &text, const std::string &origin);
Settings read_config_file(const std::string &path);

// Applies flags over file settings, reads secret_file, validates.
Config make_config(const Settings &file, const Settings &flags);

// The config file named on the command line (if any) plus its flags.
Config load_config(const CommandLine &cl);

std::string usage_text();

} // namespace hrac
