#include "port_pool.hpp"

#include <sys/random.h>

#include <chrono>
#include <random>

namespace sofw::hras {

namespace {

// An index below n that nobody outside can predict. getrandom() never
// fails for 8 bytes once the kernel's pool is ready; should it fail all
// the same, a generator seeded from the clock still spreads the ports.
size_t random_below(size_t n)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != ssize_t(sizeof r)) {
        static std::mt19937_64 fallback(uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()));
        r = fallback();
    }
    return size_t(r % n);
}

}  // namespace

PortPool::PortPool(uint16_t min, uint16_t max, PortOrder order) : min_(min), max_(max), order_(order)
{
    for (uint32_t p = (min + 1u) & ~1u; p + 1 <= max; p += 2)
        free_.push_back(uint16_t(p));
}

void PortPool::unpark(int64_t now_ms)
{
    while (!parked_.empty() && parked_.front().first <= now_ms) {
        free_.push_back(parked_.front().second);
        parked_.pop_front();
    }
}

std::optional<uint16_t> PortPool::take(int64_t now_ms)
{
    unpark(now_ms);
    if (free_.empty())
        return std::nullopt;
    size_t i = order_ == PortOrder::random ? random_below(free_.size()) : 0;
    uint16_t p = free_[i];
    free_[i] = free_.front();
    free_.pop_front();
    used_.insert(p);
    return p;
}

void PortPool::give(uint16_t port)
{
    // In turn, reusing the least recently released port last keeps late
    // packets of an ended call away from the next one.
    if (used_.erase(port))
        free_.push_back(port);
}

void PortPool::park(uint16_t port, int64_t until_ms)
{
    if (used_.erase(port))
        parked_.emplace_back(until_ms, port);
}

}  // namespace sofw::hras
