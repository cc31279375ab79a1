#include "host_port.hpp"

#include <strings.h>

namespace sofw::hras {

bool HostPort::matches(const HostPort &o) const
{
    return effective_port() == o.effective_port() && host.size() == o.host.size() &&
           strncasecmp(host.data(), o.host.data(), host.size()) == 0;
}

std::string HostPort::to_string() const
{
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return h + ":" + std::to_string(effective_port());
}

std::optional<HostPort> HostPort::parse(const std::string &s)
{
    HostPort hp;
    std::string rest;
    if (!s.empty() && s[0] == '[') {
        auto close = s.find(']');
        if (close == std::string::npos || close == 1)
            return std::nullopt;
        hp.host = s.substr(1, close - 1);
        rest = s.substr(close + 1);
    } else {
        auto colon = s.find(':');
        hp.host = s.substr(0, colon);
        rest = colon == std::string::npos ? "" : s.substr(colon);
    }
    if (hp.host.empty())
        return std::nullopt;
    if (!rest.empty()) {
        if (rest[0] != ':' || rest.size() < 2 || rest.size() > 6)
            return std::nullopt;
        unsigned long p = 0;
        for (size_t i = 1; i < rest.size(); i++) {
            if (rest[i] < '0' || rest[i] > '9')
                return std::nullopt;
            p = p * 10 + (rest[i] - '0');
        }
        if (p == 0 || p > 65535)
            return std::nullopt;
        hp.port = static_cast<uint16_t>(p);
    }
    return hp;
}

}  // namespace sofw::hras
