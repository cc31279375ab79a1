#include "ra_address.hpp"

namespace hrac {

sofw::RaHeader ra_from_sa(const struct sa *src, uint16_t relay_port)
{
    sofw::RaHeader ra;
    ra.transport = sofw::Transport::udp;
    ra.port = sa_port(src);
    ra.relay_port = relay_port;
    if (sa_af(src) == AF_INET6) {
        ra.family = 6;
        sa_in6(src, ra.addr);
    } else {
        ra.family = 4;
        const uint32_t addr = sa_in(src);  // host byte order
        ra.addr[0] = static_cast<uint8_t>(addr >> 24);
        ra.addr[1] = static_cast<uint8_t>(addr >> 16);
        ra.addr[2] = static_cast<uint8_t>(addr >> 8);
        ra.addr[3] = static_cast<uint8_t>(addr);
    }
    return ra;
}

void sa_from_ra(const sofw::RaHeader &ra, struct sa *dst)
{
    if (ra.family == 6) {
        sa_set_in6(dst, ra.addr, ra.port);
    } else {
        const uint32_t addr = (uint32_t(ra.addr[0]) << 24) | (uint32_t(ra.addr[1]) << 16) |
                              (uint32_t(ra.addr[2]) << 8) | uint32_t(ra.addr[3]);
        sa_set_in(dst, addr, ra.port);
    }
}

}  // namespace hrac
