// A SIP host[:port] as written in Via sent-by and URIs.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace sofw::hras {

struct HostPort {
    std::string host;   // IPv6 without brackets
    uint16_t port = 0;  // 0: absent in the text (SIP default 5060)

    uint16_t effective_port() const { return port ? port : 5060; }
    // Same host (case-insensitive) and same effective port.
    bool matches(const HostPort &o) const;
    // "host:port", IPv6 in brackets; the port is always written.
    std::string to_string() const;
    // Parses "host", "host:port", "[v6]", "[v6]:port".
    static std::optional<HostPort> parse(const std::string &s);
};

}  // namespace sofw::hras
