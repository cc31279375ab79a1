#include "proxy_choice.hpp"

#include <sofw/text.hpp>

#include <arpa/inet.h>
#include <cctype>
#include <cstdlib>
#include <cstring>

namespace hrac {

namespace {

// curl ignores empty variables as if unset.
const char *env(const GetEnv &getenv, const char *name)
{
    const char *value = getenv(name);
    return value && *value ? value : nullptr;
}

// Whether addr lies in net/bits (bits 0: the whole address), as curl's
// Curl_cidr4_match/Curl_cidr6_match.
bool cidr_match(const std::string &addr, const std::string &net, unsigned bits, bool v6)
{
    unsigned char a[16], n[16];
    const int family = v6 ? AF_INET6 : AF_INET;
    const unsigned size = v6 ? 16 : 4;
    if (inet_pton(family, addr.c_str(), a) != 1 || inet_pton(family, net.c_str(), n) != 1)
        return false;
    if (bits == 0 || bits > size * 8)
        bits = size * 8;
    const unsigned whole = bits / 8;
    if (memcmp(a, n, whole) != 0)
        return false;
    const unsigned rest = bits % 8;
    if (rest == 0)
        return true;
    const unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (a[whole] & mask) == (n[whole] & mask);
}

}  // namespace

std::string url_authority(const std::string &url)
{
    const auto sep = url.find("://");
    std::string authority = url.substr(sep == std::string::npos ? 0 : sep + 3);
    authority = authority.substr(0, authority.find('/'));
    const auto at = authority.rfind('@');
    return at == std::string::npos ? authority : authority.substr(at + 1);
}

std::string url_host(const std::string &url)
{
    const std::string authority = url_authority(url);
    if (!authority.empty() && authority[0] == '[')
        return authority.substr(1, authority.find(']') - 1);
    return authority.substr(0, authority.find(':'));
}

bool no_proxy_matches(const std::string &host_in, const std::string &no_proxy)
{
    if (no_proxy.empty())
        return false;
    if (no_proxy == "*")
        return true;
    std::string host = host_in;
    if (!host.empty() && host.back() == '.')
        host.pop_back();
    unsigned char scratch[16];
    const bool v4 = inet_pton(AF_INET, host.c_str(), scratch) == 1;
    const bool v6 = !v4 && inet_pton(AF_INET6, host.c_str(), scratch) == 1;

    size_t pos = 0;
    while (pos < no_proxy.size()) {
        const auto end = no_proxy.find_first_of(", ", pos);
        std::string token = no_proxy.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        pos = end == std::string::npos ? no_proxy.size() : end + 1;
        if (token.empty())
            continue;
        if (!v4 && !v6) {
            if (token.back() == '.')
                token.pop_back();
            if (!token.empty() && token[0] == '.')
                token.erase(0, 1);
            if (token.empty() || token.size() > host.size())
                continue;
            const size_t tail = host.size() - token.size();
            if (sofw::iequals(std::string_view(host).substr(tail), token) && (tail == 0 || host[tail - 1] == '.'))
                return true;
            continue;
        }
        unsigned bits = 0;
        const auto slash = token.find('/');
        if (slash != std::string::npos) {
            bits = static_cast<unsigned>(atoi(token.c_str() + slash + 1));
            token.erase(slash);
        }
        if (!token.empty() && token[0] == '[')
            token = token.substr(1, token.find(']') - 1);
        if (cidr_match(host, token, bits, v6))
            return true;
    }
    return false;
}

ProxyChoice choose_proxy(const Config &config, const GetEnv &getenv)
{
    const std::string host = url_host(config.server);
    std::string no_proxy;
    std::string no_proxy_origin;
    if (config.no_proxy_set) {
        no_proxy = config.no_proxy;
        no_proxy_origin = "no_proxy setting";
    } else if (!config.proxy_from_environment) {
        // HRAC sets CURLOPT_NOPROXY "" then: an explicit proxy wins over
        // the environment's exceptions.
    } else if (const char *value = env(getenv, "no_proxy")) {
        no_proxy = value;
        no_proxy_origin = "no_proxy in the environment";
    } else if (const char *upper = env(getenv, "NO_PROXY")) {
        no_proxy = upper;
        no_proxy_origin = "NO_PROXY in the environment";
    }

    if (!config.proxy_from_environment) {
        if (config.proxy.empty())
            return {"", "proxy = none"};
        if (no_proxy_matches(host, no_proxy))
            return {"", host + " matches the " + no_proxy_origin};
        return {redact_url(config.proxy), "proxy setting"};
    }

    if (no_proxy_matches(host, no_proxy))
        return {"", host + " matches the " + no_proxy_origin};
    // <scheme>_proxy, lower case; the upper-case name too except for
    // HTTP_PROXY, which curl ignores (a CGI program gets it from a request
    // header).
    const bool https = sofw::starts_with(config.server, "https://");
    const char *names[] = {https ? "https_proxy" : "http_proxy", https ? "HTTPS_PROXY" : nullptr, "all_proxy",
                           "ALL_PROXY"};
    for (const char *name : names) {
        if (!name)
            continue;
        if (const char *value = env(getenv, name))
            return {redact_url(value), std::string(name) + " in the environment"};
    }
    return {"", "no proxy setting and no proxy in the environment"};
}

std::string describe(const ProxyChoice &choice)
{
    if (choice.url.empty())
        return "proxy: none, direct (" + choice.why + ")";
    return "proxy: " + choice.url + " (" + choice.why + ")";
}

}  // namespace hrac
