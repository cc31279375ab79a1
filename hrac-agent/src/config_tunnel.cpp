// The settings of how HRAC reaches HRAS: proxy, TLS and tunnel mode. They
// are checked here, at start, so that a typo is one clear error rather than
// a tunnel that fails every few seconds with a curl message.
#include "config.hpp"
#include "config_detail.hpp"

#include <sofw/text.hpp>

namespace hrac {

using namespace config_detail;

namespace {

// What a proxy URL holds; enough to check it and to redact it.
struct ProxyUrl {
    std::string scheme;    // "" when the URL has none (curl assumes http)
    std::string userinfo;  // "user:password" before '@', if any
    size_t userinfo_begin = 0;
    std::string host;
    std::string port;
    std::string rest;  // path and beyond
};

ProxyUrl split_proxy_url(const std::string &url)
{
    ProxyUrl u;
    size_t authority = 0;
    const auto sep = url.find("://");
    if (sep != std::string::npos) {
        u.scheme = sofw::lower(std::string_view(url).substr(0, sep));
        authority = sep + 3;
    }
    const auto slash = url.find('/', authority);
    std::string host_port = url.substr(authority, slash == std::string::npos ? std::string::npos : slash - authority);
    if (slash != std::string::npos)
        u.rest = url.substr(slash);
    // The last '@': a password may contain '@' unencoded.
    const auto at = host_port.rfind('@');
    if (at != std::string::npos) {
        u.userinfo = host_port.substr(0, at);
        u.userinfo_begin = authority;
        host_port = host_port.substr(at + 1);
    }
    if (!host_port.empty() && host_port[0] == '[') {
        const auto close = host_port.find(']');
        if (close == std::string::npos)
            return u;  // no host: invalid
        u.host = host_port.substr(0, close + 1);
        if (close + 1 < host_port.size() && host_port[close + 1] == ':')
            u.port = host_port.substr(close + 2);
        else if (close + 1 != host_port.size())
            u.host.clear();
    } else {
        const auto colon = host_port.rfind(':');
        u.host = host_port.substr(0, colon);
        if (colon != std::string::npos)
            u.port = host_port.substr(colon + 1);
    }
    return u;
}

void parse_proxy(const Settings &merged, Config &c)
{
    const auto it = merged.find("proxy");
    if (it == merged.end())
        return;
    const std::string &value = it->second;
    c.proxy_from_environment = false;
    if (sofw::iequals(value, "none"))
        return;  // direct, whatever the environment says
    const std::string bad =
        "proxy '" + redact_url(value) + "' is not a proxy URL (e.g. http://proxy.example.com:3128) or none";
    if (value.empty())
        throw ConfigError("proxy is empty; leave it out to use the environment's proxy, or say none");
    if (value.find_first_of(" \t") != std::string::npos)
        throw ConfigError(bad);
    const ProxyUrl u = split_proxy_url(value);
    static const char *const schemes[] = {"", "http", "https", "socks4", "socks4a", "socks5", "socks5h"};
    bool known_scheme = false;
    for (const char *scheme : schemes)
        known_scheme = known_scheme || u.scheme == scheme;
    if (!known_scheme)
        throw ConfigError("proxy '" + redact_url(value) +
                          "' has an unknown scheme; use http://, https://, socks5h:// (or socks4, socks4a, socks5)");
    if (u.host.empty() || (!u.rest.empty() && u.rest != "/"))
        throw ConfigError(bad);
    if (!u.port.empty()) {
        try {
            parse_unsigned("proxy port", u.port, 1, 65535);
        } catch (const ConfigError &) {
            throw ConfigError(bad);
        }
    }
    c.proxy = value;
}

// Takes the proxy password from whichever of proxy_password /
// proxy_password_file one layer sets; false if it sets neither.
bool proxy_password_from(const Settings &layer, const char *layer_name, std::string &password)
{
    const auto inline_password = layer.find("proxy_password");
    const auto password_file = layer.find("proxy_password_file");
    if (inline_password != layer.end() && password_file != layer.end())
        throw ConfigError(std::string("both proxy_password and proxy_password_file given in ") + layer_name +
                          "; use one");
    if (inline_password != layer.end()) {
        password = inline_password->second;
        return true;
    }
    if (password_file != layer.end()) {
        password = read_first_line(password_file->second, "proxy_password_file");
        return true;
    }
    return false;
}

void parse_proxy_credentials(const Settings &file, const Settings &flags, const Settings &merged, Config &c)
{
    const auto user = merged.find("proxy_user");
    const bool has_password = proxy_password_from(flags, "the options", c.proxy_password) ||
                              proxy_password_from(file, "the config file", c.proxy_password);
    if (user != merged.end()) {
        if (user->second.empty())
            throw ConfigError("proxy_user is empty");
        c.proxy_user = user->second;
    }
    if (has_password && c.proxy_user.empty())
        throw ConfigError("proxy_password given without proxy_user");
    if (!c.proxy_user.empty() && !c.proxy_from_environment && c.proxy.empty())
        throw ConfigError("proxy_user given, but proxy = none");
    if (!c.proxy_user.empty() && !split_proxy_url(c.proxy).userinfo.empty())
        throw ConfigError("proxy credentials given both in the proxy URL and as proxy_user; use one");

    const auto auth = merged.find("proxy_auth");
    if (auth == merged.end())
        return;
    for (ProxyAuth a : {ProxyAuth::any, ProxyAuth::basic, ProxyAuth::digest, ProxyAuth::ntlm, ProxyAuth::negotiate}) {
        if (sofw::iequals(auth->second, proxy_auth_name(a))) {
            c.proxy_auth = a;
            return;
        }
    }
    throw ConfigError("proxy_auth '" + auth->second + "' is not one of basic, digest, ntlm, negotiate, any");
}

bool is_base64_char(char ch) { return isalnum(static_cast<unsigned char>(ch)) || ch == '+' || ch == '/'; }

// "a,b" or "sha256//a;sha256//b" -> "sha256//a;sha256//b". Each pin is the
// standard base64 of 32 bytes: 43 characters and one '='.
std::string parse_pins(const std::string &value)
{
    std::string pins;
    std::string item;
    auto take = [&](std::string pin) {
        if (pin.empty())
            return;
        const std::string shown = pin;
        if (sofw::starts_with(pin, "sha256//"))
            pin = pin.substr(8);
        bool ok = pin.size() == 44 && pin[43] == '=' && pin[42] != '=';
        for (size_t i = 0; ok && i < 43; ++i)
            ok = is_base64_char(pin[i]);
        // 32 bytes leave two spare bits in the last character: only
        // characters whose value ends in 00 are canonical.
        if (ok) {
            static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            ok = alphabet.find(pin[42]) % 4 == 0;
        }
        if (!ok)
            throw ConfigError("pin_sha256 '" + shown +
                              "' is not a base64 SHA-256 (44 characters ending in '='; e.g. from "
                              "openssl x509 -pubkey | openssl pkey -pubin -outform der | "
                              "openssl dgst -sha256 -binary | base64)");
        pins += (pins.empty() ? "" : ";") + std::string("sha256//") + pin;
    };
    for (char ch : value) {
        if (ch == ',' || ch == ';' || isspace(static_cast<unsigned char>(ch))) {
            take(item);
            item.clear();
        } else {
            item += ch;
        }
    }
    take(item);
    if (pins.empty())
        throw ConfigError("pin_sha256 is empty");
    return pins;
}

void parse_tls(const Settings &merged, Config &c)
{
    const bool https = sofw::starts_with(c.server, "https://");
    for (const char *key : {"ca_file", "pin_sha256", "client_cert", "client_key"}) {
        if (merged.count(key) && !https)
            throw ConfigError(std::string(key) + " needs an https:// server (server is " + c.server + ")");
    }
    if (merged.count("ca_file")) {
        c.ca_file = merged.at("ca_file");
        require_readable("ca_file", c.ca_file);
    }
    if (merged.count("pin_sha256"))
        c.pin_sha256 = parse_pins(merged.at("pin_sha256"));
    if (merged.count("client_cert")) {
        c.client_cert = merged.at("client_cert");
        require_readable("client_cert", c.client_cert);
    }
    if (merged.count("client_key")) {
        if (c.client_cert.empty())
            throw ConfigError("client_key given without client_cert");
        c.client_key = merged.at("client_key");
        require_readable("client_key", c.client_key);
    }
}

void parse_mode(const Settings &merged, Config &c)
{
    if (merged.count("tunnel_mode")) {
        const std::string value = sofw::lower(merged.at("tunnel_mode"));
        bool found = false;
        for (TunnelMode m : {TunnelMode::automatic, TunnelMode::stream, TunnelMode::poll}) {
            if (value == tunnel_mode_name(m)) {
                c.tunnel_mode = m;
                found = true;
            }
        }
        if (!found)
            throw ConfigError("tunnel_mode '" + merged.at("tunnel_mode") + "' is not one of auto, stream, poll");
    }
    if (merged.count("stream_probe_timeout"))
        c.stream_probe_timeout = parse_unsigned("stream_probe_timeout", merged.at("stream_probe_timeout"), 1, 60);
    if (merged.count("tunnel_lanes"))
        c.tunnel_lanes = parse_unsigned("tunnel_lanes", merged.at("tunnel_lanes"), 1, sofw::lanes_max);
    if (merged.count("tunnel_coalesce_ms"))
        c.tunnel_coalesce_ms =
            parse_unsigned("tunnel_coalesce_ms", merged.at("tunnel_coalesce_ms"), 0, sofw::coalesce_max_ms);
}

}  // namespace

const char *tunnel_mode_name(TunnelMode mode)
{
    switch (mode) {
    case TunnelMode::automatic: return "auto";
    case TunnelMode::stream: return "stream";
    case TunnelMode::poll: return "poll";
    }
    return "?";
}

const char *proxy_auth_name(ProxyAuth auth)
{
    switch (auth) {
    case ProxyAuth::any: return "any";
    case ProxyAuth::basic: return "basic";
    case ProxyAuth::digest: return "digest";
    case ProxyAuth::ntlm: return "ntlm";
    case ProxyAuth::negotiate: return "negotiate";
    }
    return "?";
}

std::string redact_url(const std::string &url)
{
    const ProxyUrl u = split_proxy_url(url);
    const auto colon = u.userinfo.find(':');
    if (u.userinfo.empty() || colon == std::string::npos)
        return url;
    std::string out = url;
    const size_t password_begin = u.userinfo_begin + colon + 1;
    return out.replace(password_begin, u.userinfo.size() - colon - 1, "***");
}

namespace config_detail {

void parse_tunnel_settings(const Settings &file, const Settings &flags, const Settings &merged, Config &c)
{
    parse_proxy(merged, c);
    parse_proxy_credentials(file, flags, merged, c);
    if (merged.count("no_proxy")) {
        c.no_proxy_set = true;
        c.no_proxy = merged.at("no_proxy");
    }
    parse_tls(merged, c);
    parse_mode(merged, c);
}

}  // namespace config_detail

}  // namespace hrac
