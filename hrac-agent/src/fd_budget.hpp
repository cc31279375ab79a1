// How many media port pairs this process can hold. libre's event loop
// serves descriptors below its fd_setsize() only (1024 unless told), and
// the kernel hands out descriptors below RLIMIT_NOFILE: each pair takes two,
// and the SIP socket, the tunnel's connections, the signal pipe, the loop's
// epoll descriptor and stdio take the reserve. At start HRAC raises the soft
// limit towards the hard one as far as media_ports needs, sizes libre to
// match, and limits the open pairs to what fits (media_relay.hpp).
#pragma once
#include <cstdint>
#include <string>

namespace hrac {

struct FdBudget {
    static constexpr uint64_t reserve = 256;
    uint64_t wanted_pairs = 0;  // what media_ports asks for
    uint64_t want_fds = 0;      // what that needs, the reserve included
    uint64_t soft_limit = 0;    // RLIMIT_NOFILE to set (never above the hard limit)
    uint64_t max_pairs = 0;     // what fits: wanted_pairs, or fewer
};

// Pure: the budget for the port range min..max under the limits soft/hard.
FdBudget plan_fds(uint16_t media_port_min, uint16_t media_port_max, uint64_t soft, uint64_t hard);

// Raises RLIMIT_NOFILE and calls fd_setsize() (before any socket is opened:
// right after libre_init()). Returns 0 or an errno value; budget gets the
// outcome.
int apply_fd_budget(uint16_t media_port_min, uint16_t media_port_max, FdBudget &budget);

}  // namespace hrac
