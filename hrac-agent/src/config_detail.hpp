// Parsing helpers shared by the files that build a Config (config.cpp,
// config_tunnel.cpp). Not part of HRAC's interface.
#pragma once
#include "config.hpp"

#include <string>

namespace hrac::config_detail {

// The first line of a file, without its line end. what names the setting
// in the error ("secret_file").
std::string read_first_line(const std::string &path, const char *what);
// Throws unless path names a file this process can read now: better a
// config error at start than a TLS failure on every connection attempt.
void require_readable(const std::string &key, const std::string &path);
unsigned parse_unsigned(const std::string &key, const std::string &value, unsigned min, unsigned max);

// Proxy, TLS and tunnel-mode keys (config_tunnel.cpp). merged: file
// settings with flags applied. Needs c.server parsed already.
void parse_tunnel_settings(const Settings &file, const Settings &flags, const Settings &merged, Config &c);

}  // namespace hrac::config_detail
