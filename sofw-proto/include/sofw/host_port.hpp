// host[:port] text, as SIP writes it in Via sent-by and URIs, HRAC in
// X-SoFW-Lan and both halves in their settings: "host", "host:port",
// "[v6]" or "[v6]:port". One parser, so that what one half writes the
// other reads the same way.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sofw {

// The pieces of host[:port] text as written, before any value is checked.
struct HostPortText {
    std::string_view host;   // without brackets; never empty
    bool bracketed = false;  // "[...]": an IPv6 literal, by the form
    bool has_port = false;   // a ':' after the host
    std::string_view port;   // what follows that ':' (may be empty or not digits)
};

// nullopt when the form is wrong: an empty host, '[' without ']', or
// anything but ":port" after "[...]". Unbracketed, the first ':' ends the
// host. Views into s.
std::optional<HostPortText> split_host_port(std::string_view s);

// A strict decimal port: 1 to 5 digits, no sign or space, at most 65535
// (0 included; callers that cannot use it say so).
std::optional<uint16_t> parse_port(std::string_view digits);

struct HostPort {
    std::string host;   // IPv6 without brackets
    uint16_t port = 0;  // 0: absent in the text (SIP default 5060)

    uint16_t effective_port() const { return port ? port : 5060; }
    // Same host (case-insensitive) and same effective port.
    bool matches(const HostPort &o) const;
    // "host:port", IPv6 in brackets; the port is always written.
    std::string to_string() const;
    // Parses "host", "host:port", "[v6]", "[v6]:port"; a port must be 1..65535.
    static std::optional<HostPort> parse(std::string_view s);
};

}  // namespace sofw
