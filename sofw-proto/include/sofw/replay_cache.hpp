// The nonces of verified tunnel requests, remembered so that a captured
// request cannot be replayed (docs/protocol.md "Authentication"). Each
// nonce is kept for the cache's window; lookups and insertions are O(1)
// and expiry is O(1) per expired entry (entries expire in the order they
// came, so only the oldest ones are ever looked at).
//
// Bounded: at most `capacity` live entries. When every entry is still
// inside the window the cache refuses the new nonce (`full`) rather than
// forget a live one: forgetting would let a captured request through,
// refusing costs only the request that came too fast (docs/decisions.md).
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_set>
#include <utility>

namespace sofw {

class ReplayCache {
public:
    enum class Result { fresh, replay, full };

    static constexpr size_t default_capacity = 100000;

    explicit ReplayCache(uint64_t window_s, size_t capacity = default_capacity)
        : window_(window_s), capacity_(capacity ? capacity : 1)
    {
    }
    // fresh: the nonce is new and now remembered; replay: seen within the
    // window; full: new, but no room (not remembered).
    Result remember(const std::string &nonce, uint64_t now);
    size_t size() const { return seen_.size(); }
    size_t capacity() const { return capacity_; }

private:
    void expire(uint64_t now);
    uint64_t window_;
    size_t capacity_;
    std::unordered_set<std::string> seen_;
    // In arrival order: (time first seen, the nonce in seen_). Nodes of an
    // unordered_set never move, so the pointers stay valid until erased.
    std::deque<std::pair<uint64_t, const std::string *>> order_;
};

}  // namespace sofw
