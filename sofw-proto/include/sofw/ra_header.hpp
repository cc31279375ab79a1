// The Relay Agent header (papers §2.4): names the internal endpoint a
// tunnelled packet came from (HRAC -> HRAS) or must be delivered to
// (HRAS -> HRAC). Layout in docs/protocol.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace sofw {

enum class Transport : uint8_t { udp = 17, tcp = 6 };

struct RaHeader {
    uint8_t family = 4;  // 4 or 6
    Transport transport = Transport::udp;
    uint8_t addr[16] = {};    // IPv4 uses the first 4 bytes
    uint16_t port = 0;        // internal endpoint's port
    uint16_t relay_port = 0;  // HRAC LAN port used for it (0: HRAC's SIP socket)

    static constexpr size_t v4_size = 10;
    static constexpr size_t v6_size = 22;

    size_t encoded_size() const { return family == 6 ? v6_size : v4_size; }
    // family is 4 or 6 and transport UDP or TCP: what decode() accepts.
    bool valid() const;
    // Writes encoded_size() bytes to out.
    void encode(uint8_t *out) const;
    // Parses exactly len bytes; nullopt if len/family/transport are invalid.
    static std::optional<RaHeader> decode(const uint8_t *in, size_t len);

    // "192.168.1.10:5060" / "[2001:db8::1]:5060"; parse accepts the same forms.
    std::string to_string() const;
    static std::optional<RaHeader> parse(const std::string &hostport);

    bool same_endpoint(const RaHeader &o) const;
};

// Whether the RA header can name a phone in a LAN: a port other than 0 and
// a unicast address a host can have and be reached at without more than
// the header says. Refused: port 0; IPv4 0.0.0.0/8, 127.0.0.0/8,
// 169.254.0.0/16 (link-local, also cloud metadata), 224.0.0.0/4 (multicast),
// 240.0.0.0/4 (reserved, 255.255.255.255 included); IPv6 ::, ::1, fe80::/10
// (link-local: needs a scope the header does not carry), ff00::/8
// (multicast) and ::ffff:0:0/96 (IPv4-mapped: IPv4 travels as family 4).
// Private (RFC 1918, ULA) and public unicast pass. Every RA read from the
// wire that stands for a phone is checked with this before it is used.
bool may_name_lan_phone(const RaHeader &ra);

}  // namespace sofw
