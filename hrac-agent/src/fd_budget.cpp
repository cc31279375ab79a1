#include "fd_budget.hpp"

#include "re_include.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>

namespace hrac {

FdBudget plan_fds(uint16_t media_port_min, uint16_t media_port_max, uint64_t soft, uint64_t hard)
{
    FdBudget b;
    b.wanted_pairs = media_port_max > media_port_min ? (uint64_t(media_port_max) - media_port_min + 1) / 2 : 0;
    b.want_fds = 2 * b.wanted_pairs + FdBudget::reserve;
    b.soft_limit = std::max(soft, std::min(b.want_fds, hard));
    const uint64_t usable = std::min(b.soft_limit, b.want_fds);
    b.max_pairs = usable > FdBudget::reserve ? std::min(b.wanted_pairs, (usable - FdBudget::reserve) / 2) : 0;
    return b;
}

int apply_fd_budget(uint16_t media_port_min, uint16_t media_port_max, FdBudget &budget)
{
    struct rlimit lim {};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return errno;
    budget = plan_fds(media_port_min, media_port_max, lim.rlim_cur, lim.rlim_max);
    if (budget.soft_limit != lim.rlim_cur) {
        lim.rlim_cur = budget.soft_limit;
        if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
            return errno;
    }
    // libre serves descriptors below this; it takes the first call only.
    const uint64_t fds = std::min<uint64_t>(std::max<uint64_t>(budget.soft_limit, 1024), 1 << 20);
    return fd_setsize(static_cast<int>(fds));
}

}  // namespace hrac
