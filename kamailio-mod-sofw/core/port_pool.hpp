// Media port pairs (even RTP port, RTCP on port+1) handed out from a range.
// HRAS keeps one pool for its public ports and one per site for the HRAC
// LAN ports it assigns; a port is never given to two calls at once.
#pragma once
#include <cstdint>
#include <deque>
#include <optional>
#include <set>

namespace sofw::hras {

class PortPool {
public:
    PortPool(uint16_t min, uint16_t max);
    std::optional<uint16_t> take();  // least recently released first
    void give(uint16_t port);
    bool in_use(uint16_t port) const { return used_.count(port) != 0; }
    size_t available() const { return free_.size(); }
    size_t used() const { return used_.size(); }
    uint16_t min() const { return min_; }
    uint16_t max() const { return max_; }

private:
    uint16_t min_, max_;
    std::deque<uint16_t> free_;
    std::set<uint16_t> used_;
};

}  // namespace sofw::hras
