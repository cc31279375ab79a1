// Bookkeeping for the LAN media ports HRAC has open (docs/protocol.md,
// control frames): which RTP/RTCP pairs exist, which phone each serves and
// whether it still carries traffic. No I/O here, so the rules can be tested
// without a network; MediaRelay binds the sockets each pair holds.
#pragma once
#include "re_handle.hpp"

#include <sofw/ra_header.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace hrac {

class MediaRelay;
struct MediaPair;

// Why port cannot be the RTP port P of a pair in the range min..max (P even,
// P and P+1 inside it); nullptr if it can.
const char *media_port_problem(uint16_t port, uint16_t min, uint16_t max);

// One LAN socket of a pair. Its address is the argument libre hands back on
// each datagram, so the hot path finds its pair without a lookup.
struct MediaSocket {
    MediaRelay *relay = nullptr;
    MediaPair *pair = nullptr;
    uint16_t port = 0;
    ReRef<udp_sock> sock;
};

struct MediaPair {
    uint16_t port = 0;                    // P, RTP; P+1 is RTCP
    std::optional<sofw::RaHeader> phone;  // OPEN_MEDIA's RA header, if it had one
    // Set by every packet in either direction; the idle check clears it.
    // A flag rather than a timestamp keeps clock reads off the hot path.
    bool active = false;
    uint64_t quiet_since_ms = 0;  // the open, or the last check that found traffic
    uint64_t packets_up = 0;
    uint64_t packets_down = 0;
    MediaSocket rtp;
    MediaSocket rtcp;

    // The socket for relay port P or P+1 of this pair.
    MediaSocket &socket(uint16_t relay_port) { return relay_port == port ? rtp : rtcp; }
};

class MediaPortTable {
public:
    // The pair relay_port (P or P+1) belongs to, or nullptr.
    MediaPair *find(uint16_t relay_port)
    {
        const auto it = pairs_.find(static_cast<uint16_t>(relay_port & ~1u));
        return it == pairs_.end() ? nullptr : it->second.get();
    }
    const MediaPair *find(uint16_t relay_port) const { return const_cast<MediaPortTable *>(this)->find(relay_port); }

    // A new pair for the even port P, which must not be in the table yet.
    // Its sockets are not bound. The reference stays valid until remove().
    MediaPair &add(uint16_t port, uint64_t now_ms)
    {
        auto &slot = pairs_[port];
        slot = std::make_unique<MediaPair>();
        MediaPair &pair = *slot;
        pair.port = port;
        pair.quiet_since_ms = now_ms;
        pair.rtp.pair = pair.rtcp.pair = &pair;
        pair.rtp.port = port;
        pair.rtcp.port = static_cast<uint16_t>(port + 1);
        return pair;
    }

    // Closes the pair's sockets with it. False if P was not open.
    bool remove(uint16_t port) { return pairs_.erase(port) != 0; }

    // Call periodically: returns the ports of pairs that have seen no
    // traffic for at least timeout_ms. A pair's traffic is noticed at the
    // first check after it, so a pair is never called idle early, and is
    // called idle at most two check intervals late.
    std::vector<uint16_t> idle(uint64_t now_ms, uint64_t timeout_ms)
    {
        std::vector<uint16_t> ports;
        for (auto &[port, pair] : pairs_) {
            if (pair->active) {
                pair->active = false;
                pair->quiet_since_ms = now_ms;
            } else if (now_ms - pair->quiet_since_ms >= timeout_ms) {
                ports.push_back(port);
            }
        }
        return ports;
    }

    std::vector<uint16_t> ports() const
    {
        std::vector<uint16_t> out;
        for (const auto &entry : pairs_)
            out.push_back(entry.first);
        return out;
    }
    size_t size() const { return pairs_.size(); }
    bool empty() const { return pairs_.empty(); }

private:
    std::map<uint16_t, std::unique_ptr<MediaPair>> pairs_;
};

inline const char *media_port_problem(uint16_t port, uint16_t min, uint16_t max)
{
    if (port % 2 != 0)
        return "odd port (RTP ports are even)";
    if (port < min || uint32_t(port) + 1 > max)
        return "outside media_ports";
    return nullptr;
}

}  // namespace hrac
