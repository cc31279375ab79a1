#include "sofw/host_port.hpp"

#include "sofw/text.hpp"

namespace sofw {

std::optional<HostPortText> split_host_port(std::string_view s)
{
    HostPortText t;
    std::string_view rest;
    if (!s.empty() && s[0] == '[') {
        const size_t close = s.find(']');
        if (close == std::string_view::npos)
            return std::nullopt;
        t.host = s.substr(1, close - 1);
        // No IPv6 literal holds a '['; "[[]" would name a host "[" that
        // no writer of host:port text can bracket back.
        if (t.host.find('[') != std::string_view::npos)
            return std::nullopt;
        t.bracketed = true;
        rest = s.substr(close + 1);
        if (!rest.empty() && rest[0] != ':')
            return std::nullopt;
    } else {
        const size_t colon = s.find(':');
        t.host = s.substr(0, colon);
        rest = colon == std::string_view::npos ? std::string_view() : s.substr(colon);
    }
    if (t.host.empty())
        return std::nullopt;
    t.has_port = !rest.empty();
    if (t.has_port)
        t.port = rest.substr(1);
    return t;
}

std::optional<uint16_t> parse_port(std::string_view digits)
{
    if (digits.empty() || digits.size() > 5)
        return std::nullopt;
    unsigned v = 0;
    for (char c : digits) {
        if (c < '0' || c > '9')
            return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 65535)
        return std::nullopt;
    return static_cast<uint16_t>(v);
}

bool HostPort::matches(const HostPort &o) const
{
    return effective_port() == o.effective_port() && iequals(host, o.host);
}

std::string HostPort::to_string() const
{
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return h + ":" + std::to_string(effective_port());
}

std::optional<HostPort> HostPort::parse(std::string_view s)
{
    const auto t = split_host_port(s);
    if (!t)
        return std::nullopt;
    HostPort hp;
    hp.host = std::string(t->host);
    if (t->has_port) {
        const auto p = parse_port(t->port);
        if (!p || *p == 0)
            return std::nullopt;
        hp.port = *p;
    }
    return hp;
}

}  // namespace sofw
