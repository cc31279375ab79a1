// Between libre's socket addresses and the RA header's endpoint, for the
// SIP and the media relay alike.
#pragma once
#include "re_include.hpp"

#include <sofw/ra_header.hpp>

#include <cstdint>

namespace hrac {

// The UDP source of a LAN datagram, which arrived on relay_port (0: the
// SIP socket).
sofw::RaHeader ra_from_sa(const struct sa *src, uint16_t relay_port);

// The LAN destination an RA header names.
void sa_from_ra(const sofw::RaHeader &ra, struct sa *dst);

}  // namespace hrac
