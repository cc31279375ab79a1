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
#include <optional>
#include <vector>

namespace sofw {

constexpr unsigned lanes_max = 8;
constexpr unsigned default_lanes = 3;        // what HRAC asks for
constexpr size_t media_seq_size = 4;         // mseq in front of the packet
constexpr unsigned lane_ack_delay_ms = 25;   // an ack waits at most this long for a write to ride on
constexpr unsigned lane_ack_ride_ms = 4;     // acks ride along on writes at most this often
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
// The same frame, encoded and appended to out: no allocation once out has
// room (an ack goes out every few milliseconds).
void encode_lane_ack(const LaneAck &a, std::vector<uint8_t> &out);
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
    uint64_t refused = 0;        // no lane could take the frame (or it broke the frame rules)
    uint64_t history_full = 0;   // copies forgotten early because the history was full
};

class LaneSender {
public:
    struct Settings {
        unsigned hedge_min_ms = default_hedge_min_ms;
        unsigned media_deadline_ms = default_media_deadline_ms;
        // The most the store of copies may take, their bookkeeping included
        // (40 bytes each). It starts at room for two of the largest frames
        // (a smaller setting is raised to that) and doubles while the
        // copies waiting for acks need more, up to this.
        size_t history_bytes = default_lane_history_bytes;
    };
    LaneSender(unsigned lanes, Settings s);
    explicit LaneSender(unsigned lanes) : LaneSender(lanes, Settings{}) {}

    unsigned lanes() const { return lanes_; }
    // Lanes start closed except lane 0; a lane takes media only while open
    // (its channel for this direction is up).
    void set_open(unsigned lane, bool open);
    // The lane a new frame would go to now (for an ack riding along); 0 if
    // no lane is open.
    unsigned best_lane(int64_t now_ms) const;

    // Numbers one media packet, queues it on the best lane and keeps a copy.
    // False: refused (counted).
    bool send(const RaHeader &ra, const uint8_t *packet, size_t len, int64_t now_ms, LaneOutput &out);
    // A LANE_ACK from the far side. Counts that went backwards, or past
    // what was queued on the lane, are ignored.
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
    // Bytes the store holds now (copies and their bookkeeping, and the
    // space of acknowledged ones not yet reclaimed), and what it has
    // allocated: never more than history_bytes (as raised).
    size_t stored_bytes() const;
    size_t store_capacity() const { return cap_; }
    // Bytes of the frames on lane that wait for an ack with a copy.
    size_t unacked_bytes(unsigned lane) const;

private:
    static constexpr uint32_t none = UINT32_MAX;  // no copy (an offset in store_)
    // A copy in store_: this header, then the encoded frame.
    struct Copy {
        int64_t first_ms;  // when it was first sent: the deadline counts from here
        int64_t sent_ms;   // when it was put on its lane
        uint32_t index;    // position on its lane: the lane's n-th sequenced frame
        uint32_t prev, next;  // neighbours on the lane (offsets, or none)
        uint32_t size;     // of the slot: header and frame, rounded up
        uint32_t len;      // of the frame
        uint8_t lane;
        bool live;         // on a lane; else its slot waits to be reclaimed
    };
    struct Lane {
        uint32_t queued = 0;      // sequenced frames put on this lane
        uint32_t acked = 0;       // the far side's count
        uint32_t stall_mark = 0;  // a stalled lane stays stalled until acked reaches this
        uint32_t first = none, last = none;  // its copies, oldest first
        size_t unacked_bytes = 0;
        int64_t last_ack_ms = 0;
        bool ever_acked = false;
        bool stalled = false;
        bool open = false;
    };
    unsigned pick(int64_t now_ms, unsigned skip, bool healthy_only) const;
    bool late(const Lane &l, int64_t now_ms) const;
    Copy &at(uint32_t off);
    const Copy &at(uint32_t off) const;
    uint8_t *bytes() { return reinterpret_cast<uint8_t *>(store_.data()); }
    const uint8_t *bytes() const { return reinterpret_cast<const uint8_t *>(store_.data()); }
    uint32_t alloc(uint32_t frame_len);
    void grow();
    void evict_oldest();
    void release(uint32_t off);
    void reclaim();
    void link(unsigned lane, uint32_t off);
    void unlink(uint32_t off);
    void evacuate(unsigned lane, int64_t now_ms, LaneOutput &out);

    unsigned lanes_;
    Settings settings_;
    Lane lane_[lanes_max];
    uint32_t next_mseq_ = 0;
    unsigned current_ = 0;     // the lane new media goes to while it stays healthy
    double ack_delay_ms_ = 0;  // smoothed time from sending to acknowledgement
    bool have_ack_delay_ = false;
    // A ring of slots in sending order: head_ is where the next one goes,
    // tail_ the oldest; when wrapped_, the slots run from tail_ to end_ and
    // on from 0 to head_. Acknowledged copies in the middle wait until the
    // ones before them go; when a new copy does not fit, the ring doubles
    // up to history_bytes, and past that the oldest copy is forgotten
    // (history_full). Allocated on the first send; steady media reuses it.
    std::vector<uint64_t> store_;
    uint32_t cap_ = 0, max_cap_ = 0;
    uint32_t head_ = 0, tail_ = 0, end_ = 0;
    uint32_t slots_ = 0;
    bool wrapped_ = false;
    LaneSenderStats stats_;
};

struct LaneReceiverStats {
    uint64_t delivered = 0;
    uint64_t duplicates = 0;  // second copies, and frames older than the window
    uint64_t bad_lane = 0;    // a lane the session does not have
    uint64_t malformed = 0;   // not lane_media, or shorter than its mseq
};

class LaneReceiver {
public:
    explicit LaneReceiver(unsigned lanes);

    unsigned lanes() const { return lanes_; }
    enum class Verdict { deliver, duplicate, invalid };
    // A frame of type lane_media arrived on lane: counts it and, unless it
    // is a copy already delivered, turns f into the plain media frame.
    // invalid: lane is not one of the session's, or f is not a whole
    // lane_media frame (a short one still counts as received on lane).
    Verdict on_frame(unsigned lane, Frame &f);
    // An ack is owed (media arrived since the last one), and either
    // piggyback (a write is about to happen anyway) and lane_ack_ride_ms
    // have passed since the last ack, or lane_ack_delay_ms have: a timer
    // sends at most one ack per lane_ack_delay_ms, and the first one after
    // a quiet spell goes at once. A busy session thus acks every few
    // milliseconds, not once per frame it sends.
    bool ack_due(int64_t now_ms, bool piggyback) const;
    // Media arrived since the last ack (an ack will be due).
    bool owed() const { return owed_; }
    // The counts so far, and resets what ack_due() looks at.
    LaneAck take_ack(int64_t now_ms);
    const LaneReceiverStats &stats() const { return stats_; }

private:
    bool fresh(uint32_t mseq);

    unsigned lanes_;
    uint32_t received_[lanes_max] = {};
    bool owed_ = false;
    bool acked_once_ = false;
    int64_t last_ack_ms_ = 0;
    bool any_ = false;
    uint32_t highest_ = 0;
    // Bit m % lane_dedup_window: mseq m delivered, for the window of
    // lane_dedup_window mseqs below and at highest_.
    uint64_t seen_[lane_dedup_window / 64] = {};
    LaneReceiverStats stats_;
};

}  // namespace sofw
