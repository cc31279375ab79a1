// The lanes of a tunnel session in HRAS (docs/protocol.md "Lanes"). A
// streaming session has m lanes (1..8, the smaller of what HRAC asks for
// and tunnel_lanes), each a GET/POST pair with its own records; a polling
// session has one. LaneRecords is what every lane holds: its down queue,
// its down records and its up decoder. SessionLanes is what a session with
// m > 1 adds: media down is numbered and spread by a LaneSender, sequenced
// media up passes a LaneReceiver that drops second copies, and both sides
// acknowledge. The tunnel server owns the channels and the timers; this
// file holds no sockets.
#pragma once
#include "stats.hpp"
#include "sofw/frame.hpp"
#include "sofw/lanes.hpp"
#include "sofw/record.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sofw::hras {

// The lane timer's period while a session has media waiting for acks or
// owes an ack: LaneSender::check() finds stalled lanes, an ack that waited
// lane_ack_delay_ms goes out. Idle otherwise (no wake-ups).
constexpr int lane_timer_ms = 5;

// One lane of one session, both directions.
struct LaneRecords {
    std::vector<uint8_t> downq;   // encoded frames, whole ones only, not yet sealed
    size_t downq_off = 0;
    RecordSealer sealer;          // down records
    std::vector<uint8_t> sealed;  // streaming: down records not yet written
    size_t sealed_off = 0;
    RecordFrameDecoder opener;    // up records, across every upload of this lane
    int64_t last_tx = 0;          // the last frame queued down this lane: its keep-alives

    LaneRecords() = default;
    LaneRecords(const LaneRecords &) = delete;
    LaneRecords &operator=(const LaneRecords &) = delete;
    // Keys live only as long as the session.
    ~LaneRecords();

    size_t queued() const { return downq.size() - downq_off + sealed.size() - sealed_off; }
    // Moves whole queued frames (at least one, at most limit bytes unless
    // a single frame is larger) into down records appended to out. An
    // error (the down sequence is used up) ends the session.
    RecordError seal_queued(size_t limit, std::vector<uint8_t> &out);
};

// What a frame of a lane's upstream that only lanes know turned out to be.
enum class LaneVerdict {
    deliver,   // a sequenced media frame seen first: now a plain media frame
    consumed,  // a second copy (counted), or a LANE_ACK taken by the sender
    invalid,   // not allowed on this session: dropped and counted by the caller
};

// The frames of lanes: lane_media and LANE_ACK (which the listener never sees).
bool is_lane_frame(const Frame &f);

// The sequenced media of a session with more than one lane.
class SessionLanes {
public:
    SessionLanes(unsigned lanes, Stats &stats);

    unsigned count() const { return sender_.lanes(); }
    // The downstream channel of lane is up (lane 0 is from the start).
    void set_open(unsigned lane) { sender_.set_open(lane, true); }

    // A media frame down: an ack owed rides in front of it (the same
    // record), then the frame is numbered and queued on the best lane.
    // False: the frame had no RA header or no lane could take it.
    bool send_media(const Frame &f, int64_t now_ms, LaneOutput &out);
    // A lane frame (is_lane_frame) from lane's upstream.
    LaneVerdict on_frame(unsigned lane, Frame &f, int64_t now_ms);
    // The lane timer: resends for stalled lanes, and the ack when it has
    // waited long enough. True while the timer is still needed.
    bool tick(int64_t now_ms, LaneOutput &out);
    // Frames wait for acks, or an ack is owed.
    bool busy(int64_t now_ms) const;

private:
    void send_ack(int64_t now_ms, LaneOutput &out);
    void report();  // the senders' and receiver's new counts into the counters

    LaneSender sender_;
    LaneReceiver receiver_;
    Stats &stats_;
    LaneSenderStats sent_reported_;
    LaneReceiverStats received_reported_;
    std::vector<uint8_t> ack_wire_;  // reused: no allocation per ack
};

// The sites whose session needs the lane timer now, each listed once;
// sized for every site up front, so listing allocates nothing.
class LaneTimerSites {
public:
    explicit LaneTimerSites(size_t sites) : listed_(sites, 0) { sites_.reserve(sites); }
    // Lists site unless it is; true if it was not.
    bool add(size_t site)
    {
        if (site >= listed_.size() || listed_[site])
            return false;
        listed_[site] = 1;
        sites_.push_back(site);
        return true;
    }
    // Calls busy(site) for each listed site and keeps those it says are.
    template <class Busy>
    void sweep(Busy &&busy)
    {
        size_t keep = 0;
        for (size_t i = 0; i < sites_.size(); i++) {
            size_t site = sites_[i];
            if (busy(site))
                sites_[keep++] = site;
            else
                listed_[site] = 0;
        }
        sites_.resize(keep);
    }
    bool empty() const { return sites_.empty(); }

private:
    std::vector<uint8_t> listed_;  // by site
    std::vector<size_t> sites_;
};

}  // namespace sofw::hras
