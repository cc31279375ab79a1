// Which proxy the tunnel's requests use, worked out the way libcurl 7.88
// does it (url.c: detect_proxy, Curl_check_noproxy), so HRAC can say at
// start which proxy it is going through and why. libcurl still makes the
// decision itself on every request; this only predicts it for the log.
#pragma once
#include "config.hpp"

#include <functional>
#include <string>

namespace hrac {

struct ProxyChoice {
    std::string url;  // the proxy, passwords redacted; empty: direct
    std::string why;  // "proxy setting", "https_proxy in the environment", ...
};

using GetEnv = std::function<const char *(const char *name)>;

ProxyChoice choose_proxy(const Config &config, const GetEnv &getenv);

// curl's no_proxy match: "*", host names matching exactly or as a domain
// suffix ("example.com" and ".example.com" both cover www.example.com),
// IP addresses and CIDR ranges; entries separated by commas or spaces.
bool no_proxy_matches(const std::string &host, const std::string &no_proxy);

// The "host[:port]" of a URL: after the scheme, without userinfo and path.
std::string url_authority(const std::string &url);

// The host part of an http(s):// URL, IPv6 without brackets.
std::string url_host(const std::string &url);

// "proxy: http://proxy:3128 (proxy setting)", "proxy: none, direct (...)".
std::string describe(const ProxyChoice &choice);

}  // namespace hrac
