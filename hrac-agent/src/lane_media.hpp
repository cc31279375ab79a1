// Media over the lanes of one streaming session (docs/protocol.md "Lanes"),
// HRAC's driver of sofw::LaneSender and sofw::LaneReceiver. Media from the
// LAN is numbered and put on the best lane; an ack owed to HRAS rides in
// front of it (one record for both), or goes by itself once it has waited
// lane_ack_delay_ms. A timer runs every check_interval_ms while frames
// wait for acks or an ack is owed: it finds stalled lanes, whose frames go
// again on another lane, and sends owed acks. Sequenced media from HRAS is
// counted per lane and handed on once, as a plain media frame. What it did
// shows in the lane_* counters.
//
// Per packet: no strings, and no allocation once the buffers have grown.
#pragma once
#include "counters.hpp"
#include "re_handle.hpp"

#include <sofw/frame.hpp>
#include <sofw/lanes.hpp>

#include <cstdint>
#include <vector>

namespace hrac {

class LaneMedia {
public:
    static constexpr unsigned check_interval_ms = 5;

    // out: the session's lane queues. lanes > 1.
    LaneMedia(unsigned lanes, sofw::LaneOutput &out, Counters &counters);
    LaneMedia(const LaneMedia &) = delete;
    LaneMedia &operator=(const LaneMedia &) = delete;

    unsigned lanes() const { return sender_.lanes(); }
    // A lane's upstream channel is up (or lost): it may take media.
    void set_open(unsigned lane, bool open) { sender_.set_open(lane, open); }

    // A media frame from the LAN. False: no lane could take it (counted by
    // the caller), or it names no endpoint.
    bool send(const sofw::Frame &media, int64_t now_ms);

    enum class Verdict { deliver, duplicate, invalid };
    // A lane_media frame from HRAS on lane. deliver: f is now the plain
    // media frame to hand on.
    Verdict receive(unsigned lane, sofw::Frame &f, int64_t now_ms);
    // A LANE_ACK from HRAS. False: not a valid one for this session.
    bool on_ack(const sofw::Frame &f, int64_t now_ms);

    // What the timer does: resends for stalled lanes, and an owed ack
    // that has waited long enough. Public for the tests.
    void check(int64_t now_ms);
    bool timer_running() const { return timer_.running(); }

private:
    void send_ack(int64_t now_ms);
    void schedule();
    void update_counters();

    sofw::LaneSender sender_;
    sofw::LaneReceiver receiver_;
    sofw::LaneOutput &out_;
    Counters &counters_;
    std::vector<uint8_t> ack_wire_;  // an ack, encoded (reused)
    // What the counters have seen of the sender's and receiver's figures.
    sofw::LaneSenderStats sender_counted_;
    sofw::LaneReceiverStats receiver_counted_;
    ReTimer timer_;
};

}  // namespace hrac
