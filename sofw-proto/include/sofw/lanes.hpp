// Lanes (docs/protocol.md "Lanes"): a streaming session may carry its
// media over several TCP connections per direction, so that one lost
// segment and the retransmission timeout behind it stall only the frames
// on that connection, and those are sent again on another one.
//
// Lane 0 is the session's first GET/POST pair and carries everything in
// order: SIP, control, keep-alives, and media like any other lane. Lanes
// 1..n-1 carry only sequenced media frames, LANE_ACKs and keep-alives.
//
// The sender numbers each media frame (mseq, per session and direction)
// and keeps a copy until the far side acknowledges it. The receiver counts
// the sequenced media frames each lane delivered and reports the counts in
// LANE_ACK control frames; a lane is in-order, so "n frames arrived on
// lane L" names exactly which ones. A lane whose oldest unacknowledged
// frame is older than the hedge delay is stalled: its unacknowledged
// frames are sent again on a healthy lane, and no new media goes to it
// until it catches up. The receiver drops the second copy (a window of
// recent mseqs). Media older than the deadline is never sent again: stale
// audio is worse than none. SIP and control frames are never dropped.
//
// Pure logic, no I/O: both halves drive it from their event loops and
// give it a LaneOutput that appends encoded frames to a lane's queue.
#pragma once
#include "sofw/frame.hpp"
#include "sofw/ra_header.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace sofw {

constexpr unsigned lanes_max = 8;
constexpr unsigned default_lanes = 3;        // what HRAC asks for
constexpr size_t media_seq_size = 4;         // mseq in front of the packet
constexpr unsigned lane_ack_delay_ms = 10;   // an ack waits at most this long for a write to ride on
constexpr unsigned default_hedge_min_ms = 40;
constexpr unsigned default_media_deadline_ms = 300;
constexpr size_t default_lane_history_bytes = 2 * 1024 * 1024;
constexpr uint32_t lane_dedup_window = 4096;  // mseqs remembered by the receiver

// A sequenced media frame (FrameType::lane_media): like a media frame, with
// the sender's mseq (u32, big-endian) in front of the packet. Appends the
// encoded frame to out; false (out unchanged) when the packet is too large.
bool encode_lane_media(const RaHeader &ra, uint32_t mseq, const uint8_t *packet, size_t len,
                       std::vector<uint8_t> &out);
// Turns a decoded lane_media frame into the plain media frame it carries,
// in place, and gives its mseq. False (frame unchanged) if it is not a
// lane_media frame or is shorter than its mseq.
bool unwrap_lane_media(Frame &f, uint32_t &mseq);

// LANE_ACK (control op 5): for each lane 0..n-1, how many sequenced media
// frames the sender of the ack has received on it so far (mod 2^32).
struct LaneAck {
    unsigned lanes = 0;
    uint32_t received[lanes_max] = {};
};
Frame make_lane_ack_frame(const LaneAck &a);
// nullopt unless f is a control frame with op LANE_ACK, 1..lanes_max lanes
// and a payload of exactly control_size + 4 * lanes bytes.
std::optional<LaneAck> decode_lane_ack(const Frame &f);

// Where a LaneSender's frames go: appends one encoded frame to lane's
// queue. False: that lane cannot take it now (its queue is full).
class LaneOutput {
public:
    virtual bool queue(unsigned lane, const uint8_t *frame, size_t len) = 0;

protected:
    ~LaneOutput() = default;
};

struct LaneSenderStats {
    uint64_t sent = 0;           // media frames sent the first time
    uint64_t resent = 0;         // copies sent again on another lane
    uint64_t stalls = 0;         // times a lane was found stalled
    uint64_t late_dropped = 0;   // past the deadline when their lane stalled: not sent again
    uint64_t refused = 0;        // no lane could take the frame
    uint64_t history_full = 0;   // copies forgotten early because the history was full
};

class LaneSender {
public:
    struct Settings {
        unsigned hedge_min_ms = default_hedge_min_ms;
        unsigned media_deadline_ms = default_media_deadline_ms;
        size_t history_bytes = default_lane_history_bytes;
    };
    LaneSender(unsigned lanes, Settings s);
    explicit LaneSender(unsigned lanes) : LaneSender(lanes, Settings{}) {}

    unsigned lanes() const { return lanes_; }
    // Lanes start closed except lane 0; a lane takes media only while open
    // (its channel for this direction is up).
    void set_open(unsigned lane, bool open);
    // The lane a new frame would go to now (for an ack riding along).
    unsigned best_lane(int64_t now_ms) const;

    // Numbers one media packet, queues it on the best lane and keeps a copy.
    // False: refused (counted).
    bool send(const RaHeader &ra, const uint8_t *packet, size_t len, int64_t now_ms, LaneOutput &out);
    // A LANE_ACK from the far side. Counts that went backwards are ignored.
    void on_ack(const LaneAck &a, int64_t now_ms);
    // Finds stalled lanes and sends their unacknowledged frames again on a
    // healthy lane. Call it every few milliseconds while pending() is true.
    void check(int64_t now_ms, LaneOutput &out);
    // Whether any frame waits for an ack (a timer is needed).
    bool pending() const;
    // The hedge delay now: max(hedge_min_ms, 2 x the smoothed ack delay).
    unsigned hedge_ms() const;
    bool stalled(unsigned lane) const;
    const LaneSenderStats &stats() const { return stats_; }

private:
    struct Copy {
        uint32_t index;    // position on its lane: the lane's n-th sequenced frame
        int64_t first_ms;  // when it was first sent: the deadline counts from here
        int64_t sent_ms;   // when it was put on this lane
        size_t off, len;   // in store_
    };
    struct Lane {
        uint32_t queued = 0;  // sequenced frames put on this lane
        uint32_t acked = 0;   // the far side's count
        std::deque<Copy> unacked;
        size_t unacked_bytes = 0;
        bool stalled = false;
        bool open = false;
    };
    unsigned pick(int64_t now_ms) const;
    bool put(unsigned lane, const uint8_t *frame, size_t len, int64_t first_ms, int64_t now_ms, LaneOutput &out);
    void forget_front(Lane &l);

    unsigned lanes_;
    Settings settings_;
    Lane lane_[lanes_max];
    uint32_t next_mseq_ = 0;
    double ack_delay_ms_ = 0;  // smoothed time from sending to acknowledgement
    std::vector<uint8_t> scratch_;
    std::deque<std::vector<uint8_t>> store_;  // see lanes.cpp
    LaneSenderStats stats_;
};

struct LaneReceiverStats {
    uint64_t delivered = 0;
    uint64_t duplicates = 0;  // second copies, and frames older than the window
    uint64_t bad_lane = 0;
};

class LaneReceiver {
public:
    explicit LaneReceiver(unsigned lanes);

    enum class Verdict { deliver, duplicate, invalid };
    // A frame of type lane_media arrived on lane: counts it and, unless it
    // is a copy already delivered, turns f into the plain media frame.
    Verdict on_frame(unsigned lane, Frame &f);
    // An ack is owed: media arrived since the last one, and either
    // piggyback (a write is about to happen anyway) or it has waited
    // lane_ack_delay_ms.
    bool ack_due(int64_t now_ms, bool piggyback) const;
    // The counts so far, and resets what ack_due() looks at.
    LaneAck take_ack(int64_t now_ms);
    const LaneReceiverStats &stats() const { return stats_; }

private:
    unsigned lanes_;
    uint32_t received_[lanes_max] = {};
    bool owed_ = false;
    int64_t owed_since_ms_ = 0;
    bool any_ = false;
    uint32_t highest_ = 0;
    std::vector<uint64_t> seen_;  // bitmap of lane_dedup_window mseqs below and at highest_
    LaneReceiverStats stats_;
};

}  // namespace sofw
