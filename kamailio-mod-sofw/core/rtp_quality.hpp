// Media quality of one direction of one relayed stream, measured where HRAS
// relays it, from the RTP headers alone (RFC 3550): packets, packets lost by
// sequence gaps (A.1, A.3: extended sequence numbers, wrap, reordering,
// duplicates, restarts), interarrival jitter (A.8) and "late" packets: how
// far each packet arrives behind the schedule its RTP timestamp implies,
// measured against the stream's earliest arrival (the smallest
// arrival - timestamp/clock seen so far). For media coming out of the
// tunnel that is the tunnel's delay variation: TCP holds packets back
// behind a lost segment or a slow proxy, and they arrive late in bursts.
//
// The per-packet path: fixed-size state, no allocation, no strings; the
// caller hands in the packet's bytes and its arrival time. Once a second
// tick() keeps one point (that second's loss, the jitter then) in a ring
// of the last 60 for the status page's chart.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sofw::hras {

// The fields of an RTP header (RFC 3550 5.1) the figures need.
struct RtpHeader {
    uint8_t payload_type = 0;
    uint16_t seq = 0;
    uint32_t timestamp = 0;
    uint32_t ssrc = 0;
};

// Whether data[0..len) is an RTP packet, and its header. RTP: version 2,
// the 12 fixed bytes, the CSRC list, the header extension and the padding
// (a count above 0 that fits) inside the packet, and a payload type
// outside 64..95, where RTCP's packet types 192..223 fall when RTCP shares
// the RTP port (RFC 5761 4). Anything else is not counted.
bool parse_rtp_header(const uint8_t *data, size_t len, RtpHeader &out);

// What one direction has seen so far.
struct RtpQualityFigures {
    uint64_t packets = 0;   // RTP packets counted
    uint64_t expected = 0;  // packets the sequence numbers say were sent
    uint64_t lost = 0;      // expected - received, never below 0
    uint64_t late[2] = {};  // behind schedule by more than RtpQuality::late_ms[k]
    double jitter_ms = 0;   // interarrival jitter (RFC 3550 A.8)

    double loss_percent() const;     // lost of expected, 0..100
    double late_percent(int k) const;  // late[k] of packets, 0..100
};

// Counter increments since the last call of RtpQuality::take_unreported().
struct RtpQualityCounts {
    uint64_t packets = 0, lost = 0, late[2] = {};
};

class RtpQuality {
public:
    static constexpr uint32_t default_clock_hz = 8000;
    static constexpr int64_t late_ms[2] = {60, 150};
    static constexpr size_t history_seconds = 60;

    // One second of the chart: loss in that second (%), jitter at its end (ms).
    struct Point {
        float loss_percent = 0;
        float jitter_ms = 0;
    };

    // The RTP clock of the stream's payload (SDP rtpmap); 0: 8000 Hz. A
    // change starts the timing anew (jitter's next difference, the late
    // baseline); the counts go on.
    void set_clock(uint32_t hz);
    uint32_t clock() const { return clock_hz_; }

    // A packet relayed at arrival_us (a monotonic clock, microseconds).
    // False, and nothing counted, if it is not RTP.
    bool on_packet(const uint8_t *data, size_t len, int64_t arrival_us);
    void on_header(const RtpHeader &h, int64_t arrival_us);

    // A second is over: one point of history.
    void tick();

    RtpQualityFigures figures() const;
    // What grew since the last call (lost grows only: a late packet that
    // fills a gap after it was counted is not taken back).
    RtpQualityCounts take_unreported();

    size_t history_size() const { return history_count_; }
    // Point i of the history, 0 the oldest.
    Point history(size_t i) const;
    // All of it, oldest first (for status views, not the packet path).
    std::vector<Point> history_points() const;

private:
    // Sequence state of the current source (RFC 3550 A.1).
    void init_seq(uint16_t seq);
    bool update_seq(uint16_t seq);
    // Ends the current source's count (SSRC change, restart): its expected
    // and received go into the totals of the earlier sources.
    void retire_source();
    void reset_timing();
    uint64_t expected_total() const;
    uint64_t received_total() const { return done_received_ + received_; }

    uint32_t clock_hz_ = default_clock_hz;
    bool have_source_ = false;
    uint32_t ssrc_ = 0;
    uint16_t max_seq_ = 0;
    uint64_t cycles_ = 0;    // sequence number wraps, times 65536
    uint32_t base_seq_ = 0;
    uint32_t bad_seq_ = 0;   // the next sequence number after a big jump
    uint64_t received_ = 0;  // of the current source
    uint64_t done_expected_ = 0, done_received_ = 0;  // of the sources before it
    uint64_t packets_ = 0;
    uint64_t late_[2] = {};

    // Timing: arrival minus the timestamp's time, in microseconds.
    bool have_transit_ = false;
    int64_t ext_ts_ = 0;  // the last timestamp, unwrapped
    double last_transit_us_ = 0;
    double min_transit_us_ = 0;  // the schedule: the earliest arrival
    double jitter_us_ = 0;

    // The chart, and what the previous tick had seen.
    std::array<Point, history_seconds> history_{};
    size_t history_head_ = 0, history_count_ = 0;
    uint64_t expected_prior_ = 0, received_prior_ = 0;

    RtpQualityCounts reported_;
};

// The chart of one stream, both ways, oldest point first.
struct RtpQualityHistory {
    std::vector<RtpQuality::Point> up, down;
};

}  // namespace sofw::hras
