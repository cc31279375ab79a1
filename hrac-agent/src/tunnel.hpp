// The tunnel to HRAS (docs/protocol.md): one session at a time, streaming
// or polling (tunnel_mode.hpp decides which), signed for the site under a
// fresh session id. The tunnel keeps the session's time: keep-alives up,
// a deadline for silence from HRAS, and the streaming probe. A failed
// session is logged with what an administrator can do about it (HRAS,
// proxy or TLS refusing, request_failure.hpp) and followed by a new one
// after a backoff. A streaming session may have several lanes: the tunnel
// keeps each lane's channels alive and routes media over them through
// LaneMedia (tunnel_lanes.cpp).
#pragma once
#include "backoff.hpp"
#include "config.hpp"
#include "counters.hpp"
#include "curl_loop.hpp"
#include "lane_media.hpp"
#include "proxy_choice.hpp"
#include "re_handle.hpp"
#include "tunnel_mode.hpp"
#include "tunnel_session.hpp"

#include <sofw/frame.hpp>
#include <sofw/lanes.hpp>
#include <sofw/log_limiter.hpp>
#include <sofw/record.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace hrac {

class Tunnel : private SessionEvents, private sofw::LaneOutput {
public:
    // Runs inside a curl callback: it may send() (which defers), but must
    // not stop() the tunnel.
    using FrameHandler = std::function<void(const sofw::Frame &)>;

    // proxy: the proxy HRAC expects to go through, for the wording of
    // failures (libcurl decides on each request).
    Tunnel(const Config &config, CurlLoop &loop, Counters &counters, const ProxyChoice &proxy);
    ~Tunnel();
    Tunnel(const Tunnel &) = delete;
    Tunnel &operator=(const Tunnel &) = delete;

    // Downstream frames of this type go to handler; frames of types nobody
    // handles are counted and ignored. STREAM_OK never reaches a handler.
    void set_frame_handler(sofw::FrameType type, FrameHandler handler);

    void start();  // first connection attempt, now
    void stop();   // ends the session for good (shutdown)
    bool is_up() const;

    // Queues a frame for HRAS. False (and counted) when the tunnel is not
    // up, the frame is invalid or HRAS is not keeping up.
    bool send(const sofw::Frame &frame);

private:
    void connect();
    // Logs why (unless quiet) and drops the session. Returns how long it
    // was up, in seconds (0: never).
    unsigned end_session(const std::string &reason, bool error, bool quiet = false);
    void schedule_reconnect(unsigned delay_s);
    void fall_back_to_polling(const std::string &why);
    void announce_up();

    bool queue_frame(const sofw::Frame &frame, unsigned lane = 0);
    // Something went onto lane's queue: counts, the lane's keep-alive
    // timer, and a flush from the loop.
    void queued(unsigned lane, size_t bytes, bool may_wait);
    void send_keepalive(unsigned lane = 0);
    void restart_downstream_deadline();
    void on_probe_timeout();
    void on_stream_ok();
    void count_failure(const Failure &failure);

    // SessionEvents: called from the session's requests.
    void on_verified(bool downstream) override;
    bool on_downstream_bytes(unsigned lane, const char *data, size_t len, std::string &why) override;
    bool on_downstream_end(unsigned lane, std::string &why) override;
    void on_upstream_sending(unsigned lane) override;
    std::string record_failed(unsigned lane, sofw::RecordError e);
    void on_round_trip() override;
    void on_session_failed(const Failure &failure) override;

    // Lanes (tunnel_lanes.cpp). sofw::LaneOutput: media and acks onto a lane.
    bool queue(unsigned lane, const uint8_t *frame, size_t len) override;
    // A downstream frame only lanes know of (sequenced media, LANE_ACK),
    // or any frame on a lane other than 0: dealt with here (true).
    bool lane_frame(unsigned lane, sofw::Frame &frame);
    void lane_invalid(unsigned lane, const sofw::Frame &frame, const char *why);
    void deliver(const sofw::Frame &frame);

    using Clock = std::chrono::steady_clock;

    const Config &config_;
    Counters &counters_;
    RequestContext context_;
    std::map<sofw::FrameType, FrameHandler> handlers_;

    std::unique_ptr<TunnelSession> session_;
    std::unique_ptr<LaneMedia> lanes_;  // a streaming session with more than one lane
    sofw::LogLimiter lane_log_{1000};
    sofw::Frame down_frame_;  // reused, so its payload buffer is too
    bool usable_ = false;     // a proven 200 arrived: frames may flow
    bool up_ = false;         // announced "tunnel up"
    bool probing_ = false;    // auto mode: streaming must still prove itself
    StreamProbe probe_;
    Clock::time_point up_since_;

    ModeChooser chooser_;
    Backoff backoff_;
    bool stopping_ = false;

    ReTimer reconnect_timer_;
    ReTimer keepalive_timer_[sofw::lanes_max];  // upstream, per lane: send a keep-alive when it fires
    ReTimer downstream_deadline_timer_;         // downstream: HRAS silent too long
    ReTimer flush_timer_;                       // moves queued frames outside curl callbacks
    uint64_t last_media_ms_ = 0;                // when media was last queued (coalescing)
    ReTimer probe_timer_;                       // auto mode: streaming's time to prove itself
};

}  // namespace hrac
