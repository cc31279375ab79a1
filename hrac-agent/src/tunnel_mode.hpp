// Which way the next tunnel session carries frames, and whether a
// streaming session has proven that streaming gets through (docs/protocol.md
// "Streaming probe and the polling fallback"). Pure logic with the clock
// passed in, so the rules are unit-tested without a network.
//
// auto: stream, and probe each streaming session: the GET's 200 (with a
// valid server proof) and HRAS's STREAM_OK must both arrive within
// stream_probe_timeout. If not, a proxy is buffering: poll instead. The
// decision holds for the reconnects of the next retry_stream_after (10
// min); the first reconnect after that probes streaming again, since the
// path may have changed (another network, a fixed proxy). A working
// polling session is never torn down just to re-probe: calls matter more
// than latency. HRAS answering 404 to polling (an HRAS that predates it)
// sends auto back to streaming, unprobed, for the rest of the run.
// stream / poll: that mode only; a streaming session is up without the probe.
#pragma once
#include "config.hpp"

#include <cstdint>
#include <string>

namespace hrac {

class StreamProbe {
public:
    void got_response() { response_ = true; }
    void got_stream_ok() { stream_ok_ = true; }
    bool passed() const { return response_ && stream_ok_; }
    // Why it has not passed after timeout_s, for "streaming does not get
    // through: <why>; falling back to polling".
    std::string failure(unsigned timeout_s) const;

private:
    bool response_ = false;
    bool stream_ok_ = false;
};

class ModeChooser {
public:
    static constexpr uint64_t default_retry_stream_after_ms = 10 * 60 * 1000;

    explicit ModeChooser(TunnelMode configured, uint64_t retry_stream_after_ms = default_retry_stream_after_ms)
        : configured_(configured), retry_after_ms_(retry_stream_after_ms)
    {}

    struct Choice {
        bool poll = false;   // else stream
        bool probe = false;  // streaming must pass the probe to count as up
        std::string why;     // for the log: "tunnel_mode = auto", ...
    };
    // The mode of the next session, starting at now_ms.
    Choice next(uint64_t now_ms) const;

    // A probed streaming session did not pass: poll from now on.
    void probe_failed(uint64_t now_ms);
    // HRAS does not offer polling (404). Returns true if auto mode can go
    // back to streaming; false when tunnel_mode = poll insists.
    bool polling_unsupported();
    // A proxy refused the endless upload (411/413): streaming cannot work
    // on this path; poll. False when tunnel_mode = stream insists.
    bool streaming_refused(uint64_t now_ms);

    bool polling_decided() const { return decided_poll_; }

private:
    TunnelMode configured_;
    uint64_t retry_after_ms_;
    bool decided_poll_ = false;  // auto: streaming did not get through
    uint64_t decided_at_ms_ = 0;
    bool no_polling_ = false;  // auto: HRAS cannot poll; stream unprobed
};

}  // namespace hrac
