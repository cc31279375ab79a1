#include "sofw/ra_header.hpp"

#include "sofw/host_port.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace sofw {

namespace {

bool valid_transport(uint8_t t)
{
    return t == static_cast<uint8_t>(Transport::udp) || t == static_cast<uint8_t>(Transport::tcp);
}

size_t addr_len(uint8_t family) { return family == 6 ? 16 : 4; }

}  // namespace

bool RaHeader::valid() const
{
    return (family == 4 || family == 6) && valid_transport(static_cast<uint8_t>(transport));
}

void RaHeader::encode(uint8_t *out) const
{
    out[0] = family;
    out[1] = static_cast<uint8_t>(transport);
    out[2] = static_cast<uint8_t>(port >> 8);
    out[3] = static_cast<uint8_t>(port);
    out[4] = static_cast<uint8_t>(relay_port >> 8);
    out[5] = static_cast<uint8_t>(relay_port);
    std::memcpy(out + 6, addr, addr_len(family));
}

std::optional<RaHeader> RaHeader::decode(const uint8_t *in, size_t len)
{
    if (len != v4_size && len != v6_size)
        return std::nullopt;
    RaHeader h;
    h.family = in[0];
    // The family must agree with the length, or the address would be cut.
    if ((h.family == 4 && len != v4_size) || (h.family == 6 && len != v6_size) || (h.family != 4 && h.family != 6))
        return std::nullopt;
    if (!valid_transport(in[1]))
        return std::nullopt;
    h.transport = static_cast<Transport>(in[1]);
    h.port = static_cast<uint16_t>(in[2] << 8 | in[3]);
    h.relay_port = static_cast<uint16_t>(in[4] << 8 | in[5]);
    std::memcpy(h.addr, in + 6, addr_len(h.family));
    return h;
}

std::string RaHeader::to_string() const
{
    char buf[INET6_ADDRSTRLEN] = {};
    if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, buf, sizeof buf))
        return "?";
    std::string host = buf;
    if (family == 6)
        host = "[" + host + "]";
    return host + ":" + std::to_string(port);
}

std::optional<RaHeader> RaHeader::parse(const std::string &hostport)
{
    // An address literal and a port are required; port 0 is kept, as the
    // header can carry it.
    const auto t = split_host_port(hostport);
    if (!t || !t->has_port)
        return std::nullopt;
    const auto p = parse_port(t->port);
    RaHeader h;
    h.family = t->bracketed ? 6 : 4;
    if (!p || inet_pton(h.family == 6 ? AF_INET6 : AF_INET, std::string(t->host).c_str(), h.addr) != 1)
        return std::nullopt;
    h.port = *p;
    return h;
}

bool RaHeader::same_endpoint(const RaHeader &o) const
{
    // relay_port is deliberately ignored: it says which HRAC socket was
    // used, not who the peer is. Bytes past an IPv4 address do not count.
    return family == o.family && transport == o.transport && port == o.port &&
           std::memcmp(addr, o.addr, addr_len(family)) == 0;
}

bool may_name_lan_phone(const RaHeader &ra)
{
    if (!ra.valid() || ra.port == 0)
        return false;
    const uint8_t *a = ra.addr;
    if (ra.family == 4) {
        if (a[0] == 0 || a[0] == 127 || a[0] >= 224)
            return false;
        return !(a[0] == 169 && a[1] == 254);
    }
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    bool zero_prefix = true;  // the first 15 bytes: "::" and "::1"
    for (int i = 0; i < 15; i++)
        zero_prefix = zero_prefix && a[i] == 0;
    if (zero_prefix && (a[15] == 0 || a[15] == 1))
        return false;
    if (a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
        return false;
    return std::memcmp(a, v4_mapped, sizeof v4_mapped) != 0;
}

}  // namespace sofw
