// HRAC's LAN media ports (docs/protocol.md, media and control frames). HRAS
// opens an RTP/RTCP pair P/P+1 with OPEN_MEDIA before the SDP naming it
// reaches the phone, and closes it with CLOSE_MEDIA. Every datagram a phone
// sends to P or P+1 goes up as a media frame naming its source and the
// port; every media frame coming down leaves from the port its RA header
// names, if the LAN policy lets it (lan_policy.hpp): both ways, only the
// endpoint a registered phone named in its own SDP. HRAC never parses RTP.
//
// Pairs outlive tunnel sessions, so calls survive a reconnect; a pair that
// carries nothing in either direction for media_timeout is closed anyway,
// in case its CLOSE_MEDIA was lost with a session.
#pragma once
#include "config.hpp"
#include "counters.hpp"
#include "lan_policy.hpp"
#include <sofw/log_limiter.hpp>
#include "media_ports.hpp"
#include "re_handle.hpp"

#include <sofw/frame.hpp>

#include <cstdint>
#include <functional>
#include <optional>

namespace hrac {

class MediaRelay {
public:
    // Where frames for HRAS go (the tunnel). Returns false if the frame was
    // not queued (tunnel down, queue full).
    using Upstream = std::function<bool(const sofw::Frame &)>;

    MediaRelay(const Config &config, Counters &counters, const LanPolicy &policy, Upstream upstream);
    ~MediaRelay();
    MediaRelay(const MediaRelay &) = delete;
    MediaRelay &operator=(const MediaRelay &) = delete;

    // A downstream control frame: OPEN_MEDIA or CLOSE_MEDIA.
    void on_control(const sofw::Frame &frame);
    // A downstream media frame: send its payload into the LAN.
    void deliver(const sofw::Frame &frame);

    // What OPEN_MEDIA and CLOSE_MEDIA do. open() answers a port it cannot
    // open with MEDIA_FAILED upstream; reopening an open pair only updates
    // the phone it serves (re-INVITE). close() returns false if P was not open.
    void open(uint16_t port, const std::optional<sofw::RaHeader> &phone);
    bool close(uint16_t port);
    void close_all(const char *why);

    // Closes the pairs without traffic for media_timeout. A timer calls it
    // while pairs are open; now_ms is tmr_jiffies() time.
    void close_idle(uint64_t now_ms);

    // At most this many pairs open at once (fd_budget.hpp); OPEN_MEDIA
    // beyond it is answered with MEDIA_FAILED.
    void set_max_pairs(size_t max_pairs) { max_pairs_ = max_pairs; }

    size_t open_pairs() const { return table_.size(); }
    const MediaPortTable &table() const { return table_; }

private:
    static void on_datagram(const struct sa *src, struct mbuf *mb, void *socket);

    int bind(MediaSocket &socket);
    void refuse(uint16_t port, const char *reason);
    void remove(uint16_t port, const char *why);
    void schedule_idle_check();

    const Config &config_;
    Counters &counters_;
    const LanPolicy &policy_;
    sofw::LogLimiter refusal_log_{1000};
    sofw::LogLimiter control_log_{1000};
    sofw::LogLimiter open_failure_log_{1000};
    Upstream upstream_;
    MediaPortTable table_;
    sofw::Frame up_frame_;  // reused by every datagram going up: no allocation
    ReRef<mbuf> down_buf_;  // reused by every datagram going down
    ReTimer idle_timer_;
    size_t max_pairs_ = SIZE_MAX;
};

}  // namespace hrac
