#include "sofw/replay_cache.hpp"

namespace sofw {

ReplayCache::Result ReplayCache::remember(const std::string &nonce, uint64_t now)
{
    expire(now);
    if (seen_.count(nonce))
        return Result::replay;
    if (seen_.size() >= capacity_)
        return Result::full;
    auto it = seen_.insert(nonce).first;
    order_.emplace_back(now, &*it);
    return Result::fresh;
}

// Only the front can be old enough. A clock that stepped back leaves later
// entries with earlier times behind a newer front: they then live longer
// than the window, never shorter.
void ReplayCache::expire(uint64_t now)
{
    while (!order_.empty()) {
        uint64_t t = order_.front().first;
        if (!(now > t && now - t > window_))
            return;
        seen_.erase(*order_.front().second);
        order_.pop_front();
    }
}

}  // namespace sofw
