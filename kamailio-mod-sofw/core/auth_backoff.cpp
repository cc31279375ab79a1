#include "auth_backoff.hpp"

#include <algorithm>

namespace sofw::hras {

int64_t AuthBackoff::wait_ms(const std::string &ip, int64_t now_ms) const
{
    auto it = by_ip_.find(ip);
    if (it == by_ip_.end())
        return 0;
    const Entry &e = *it->second;
    if (now_ms - e.last_failure > cfg_.forget_after_ms)
        return 0;
    return e.blocked_until > now_ms ? e.blocked_until - now_ms : 0;
}

bool AuthBackoff::failed(const std::string &ip, int64_t now_ms)
{
    bool evicted = false;
    auto it = by_ip_.find(ip);
    if (it == by_ip_.end()) {
        if (by_ip_.size() >= std::max<size_t>(cfg_.capacity, 1)) {
            by_ip_.erase(lru_.back().ip);
            lru_.pop_back();
            evicted = true;
        }
        lru_.push_front(Entry{ip});
        it = by_ip_.emplace(ip, lru_.begin()).first;
    } else {
        lru_.splice(lru_.begin(), lru_, it->second);
    }
    Entry &e = *it->second;
    if (e.failures && now_ms - e.last_failure > cfg_.forget_after_ms)
        e.failures = 0;
    e.failures++;
    e.last_failure = now_ms;
    if (e.failures > cfg_.free_failures) {
        unsigned doublings = std::min(e.failures - cfg_.free_failures - 1, 30u);
        int64_t wait = std::min(cfg_.first_wait_ms << doublings, cfg_.max_wait_ms);
        e.blocked_until = now_ms + wait;
    }
    return evicted;
}

void AuthBackoff::succeeded(const std::string &ip)
{
    auto it = by_ip_.find(ip);
    if (it == by_ip_.end())
        return;
    lru_.erase(it->second);
    by_ip_.erase(it);
}

}  // namespace sofw::hras
