// The tunnel's side of lanes (docs/protocol.md "Lanes"): lane queues for
// LaneMedia, and what HRAS sends that only lanes know of. Lanes other than
// 0 carry only sequenced media, LANE_ACKs and keep-alives; SIP and control
// stay on lane 0, in order. A lane frame that breaks the rules is dropped
// and counted, not a session error: its record proved that HRAS sent it.
#include "log.hpp"
#include "tunnel.hpp"

#include <sofw/control.hpp>

namespace hrac {

namespace {

bool is_lane_ack(const sofw::Frame &f)
{
    return f.type == sofw::FrameType::control && !f.payload.empty() &&
           f.payload[0] == static_cast<uint8_t>(sofw::ControlOp::lane_ack);
}

}  // namespace

bool Tunnel::queue(unsigned lane, const uint8_t *frame, size_t len)
{
    UploadQueue *upload = session_ ? session_->upload(lane) : nullptr;
    if (!upload || !upload->push(frame, len))
        return false;  // LaneSender tries another lane, or counts the refusal
    // Media, a copy sent again or an ack: all may wait to share a write.
    queued(lane, len, true);
    return true;
}

void Tunnel::on_upstream_sending(unsigned lane)
{
    if (lanes_)
        lanes_->set_open(lane, true);
    // A lane's POST gets keep-alives from now on, whether or not media
    // ever goes its way (lane 0's started with the session).
    if (lane && !keepalive_timer_[lane].running())
        keepalive_timer_[lane].start(config_.keepalive_interval * 1000ull, [this, lane] { send_keepalive(lane); });
}

bool Tunnel::lane_frame(unsigned lane, sofw::Frame &frame)
{
    const int64_t now = static_cast<int64_t>(tmr_jiffies());
    if (frame.type == sofw::FrameType::lane_media) {
        if (!lanes_) {
            lane_invalid(lane, frame, "in a session without lanes");
            return true;
        }
        switch (lanes_->receive(lane, frame, now)) {
        case LaneMedia::Verdict::deliver: deliver(frame); break;
        case LaneMedia::Verdict::duplicate: break;  // counted by LaneMedia
        case LaneMedia::Verdict::invalid: lane_invalid(lane, frame, "that HRAC cannot read"); break;
        }
        return true;
    }
    if (is_lane_ack(frame)) {
        if (!lanes_)
            lane_invalid(lane, frame, "in a session without lanes");
        else if (!lanes_->on_ack(frame, now))
            lane_invalid(lane, frame, "that names more lanes than the session has, or is malformed");
        return true;
    }
    if (lane == 0)
        return false;
    lane_invalid(lane, frame, "on a lane that carries only media");
    return true;
}

void Tunnel::lane_invalid(unsigned lane, const sofw::Frame &frame, const char *why)
{
    ++counters_.lane_invalid;
    uint64_t unlogged = 0;
    if (lane_log_.allow(tmr_jiffies(), unlogged))
        log_warn("dropped a %s frame from HRAS on lane %u %s%s", sofw::frame_type_name(frame.type), lane, why,
                 sofw::not_logged_text(unlogged).c_str());
}

void Tunnel::deliver(const sofw::Frame &frame)
{
    const auto handler = handlers_.find(frame.type);
    if (handler == handlers_.end()) {
        ++counters_.ignored_down;
        log_debug("ignored a downstream %s frame (%zu bytes)", sofw::frame_type_name(frame.type), frame.payload.size());
        return;
    }
    handler->second(frame);
}

}  // namespace hrac
