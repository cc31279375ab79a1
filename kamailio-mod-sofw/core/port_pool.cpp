#include "port_pool.hpp"

namespace sofw::hras {

PortPool::PortPool(uint16_t min, uint16_t max) : min_(min), max_(max)
{
    for (uint32_t p = (min + 1u) & ~1u; p + 1 <= max; p += 2)
        free_.push_back(uint16_t(p));
}

std::optional<uint16_t> PortPool::take()
{
    if (free_.empty())
        return std::nullopt;
    uint16_t p = free_.front();
    free_.pop_front();
    used_.insert(p);
    return p;
}

void PortPool::give(uint16_t port)
{
    // Reusing the least recently released port last keeps late packets of
    // an ended call away from the next one.
    if (used_.erase(port))
        free_.push_back(port);
}

}  // namespace sofw::hras
