// Media port pairs (even RTP port, RTCP on port+1) handed out from a range.
// HRAS keeps one pool for its public ports and one per site for the HRAC
// LAN ports it assigns; a port is never given to two calls at once.
//
// The public pool hands ports out at random (from getrandom()): a port an
// Internet host cannot predict is one it cannot spray before the call's SDP
// names it. A port that cannot be bound (another program holds it) is parked
// for a while, not retired: the pool gets it back by itself.
#pragma once
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <utility>

namespace sofw::hras {

enum class PortOrder {
    in_turn,  // least recently released first (HRAC's LAN ports)
    random,   // any free port, unpredictably (HRAS's public ports)
};

class PortPool {
public:
    PortPool(uint16_t min, uint16_t max, PortOrder order = PortOrder::in_turn);
    // now_ms: parked ports whose time is up are free again from then.
    std::optional<uint16_t> take(int64_t now_ms = 0);
    void give(uint16_t port);
    // A port taken from this pool that nobody can use until until_ms: out of
    // use (and not counted as used) until then, then free again.
    void park(uint16_t port, int64_t until_ms);
    bool in_use(uint16_t port) const { return used_.count(port) != 0; }
    size_t available() const { return free_.size(); }
    size_t used() const { return used_.size(); }
    size_t parked() const { return parked_.size(); }
    uint16_t min() const { return min_; }
    uint16_t max() const { return max_; }

private:
    void unpark(int64_t now_ms);

    uint16_t min_, max_;
    PortOrder order_;
    std::deque<uint16_t> free_;
    std::set<uint16_t> used_;
    std::deque<std::pair<int64_t, uint16_t>> parked_;  // (until, port), oldest first
};

}  // namespace sofw::hras
