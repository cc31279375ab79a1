#include "tunnel_lanes.hpp"

#include "sofw/control.hpp"

namespace sofw::hras {

LaneRecords::~LaneRecords()
{
    sealer.reset(DirectionKey{});
    opener.reset(DirectionKey{});
}

RecordError LaneRecords::seal_queued(size_t limit, std::vector<uint8_t> &out)
{
    size_t begin = downq_off, end = begin;
    while (auto n = peek_frame_size(downq.data() + end, downq.size() - end)) {
        if (end > begin && end + *n - begin > limit)
            break;
        end += *n;
    }
    if (end == begin)
        return RecordError::none;
    RecordError e = seal_frames(sealer, downq.data() + begin, end - begin, out);
    if (e != RecordError::none)
        return e;
    downq_off = end;
    if (downq_off == downq.size()) {
        downq.clear();
        downq_off = 0;
    } else if (downq_off >= 64 * 1024) {
        downq.erase(downq.begin(), downq.begin() + ptrdiff_t(downq_off));
        downq_off = 0;
    }
    return RecordError::none;
}

bool is_lane_frame(const Frame &f)
{
    return f.type == FrameType::lane_media ||
           (f.type == FrameType::control && !f.payload.empty() && f.payload[0] == uint8_t(ControlOp::lane_ack));
}

SessionLanes::SessionLanes(unsigned lanes, Stats &stats) : sender_(lanes), receiver_(lanes), stats_(stats) {}

bool SessionLanes::send_media(const Frame &f, int64_t now_ms, LaneOutput &out)
{
    if (!f.ra)
        return false;
    if (receiver_.ack_due(now_ms, true))
        send_ack(now_ms, out);
    bool sent = sender_.send(*f.ra, f.payload.data(), f.payload.size(), now_ms, out);
    report();
    return sent;
}

LaneVerdict SessionLanes::on_frame(unsigned lane, Frame &f, int64_t now_ms)
{
    if (f.type == FrameType::lane_media) {
        switch (receiver_.on_frame(lane, f)) {
        case LaneReceiver::Verdict::deliver: return LaneVerdict::deliver;
        case LaneReceiver::Verdict::duplicate: report(); return LaneVerdict::consumed;
        case LaneReceiver::Verdict::invalid: return LaneVerdict::invalid;
        }
        return LaneVerdict::invalid;
    }
    auto ack = decode_lane_ack(f);
    if (!ack || ack->lanes > sender_.lanes())
        return LaneVerdict::invalid;
    sender_.on_ack(*ack, now_ms);
    return LaneVerdict::consumed;
}

bool SessionLanes::tick(int64_t now_ms, LaneOutput &out)
{
    sender_.check(now_ms, out);
    if (receiver_.ack_due(now_ms, false))
        send_ack(now_ms, out);
    report();
    return busy(now_ms);
}

bool SessionLanes::busy(int64_t) const { return sender_.pending() || receiver_.owed(); }

// On the lane a media frame would take now: an ack on a stalled lane
// would wait behind what stalled it.
void SessionLanes::send_ack(int64_t now_ms, LaneOutput &out)
{
    ack_wire_.clear();
    encode_lane_ack(receiver_.take_ack(now_ms), ack_wire_);
    out.queue(sender_.best_lane(now_ms), ack_wire_.data(), ack_wire_.size());
}

void SessionLanes::report()
{
    const LaneSenderStats &s = sender_.stats();
    const LaneReceiverStats &r = receiver_.stats();
    if (s.resent != sent_reported_.resent)
        stats_.add(HRAS_CNT_LANE_RESENT, s.resent - sent_reported_.resent);
    if (s.stalls != sent_reported_.stalls)
        stats_.add(HRAS_CNT_LANE_STALLS, s.stalls - sent_reported_.stalls);
    if (s.late_dropped != sent_reported_.late_dropped)
        stats_.add(HRAS_CNT_LANE_LATE_DROPPED, s.late_dropped - sent_reported_.late_dropped);
    if (s.history_full != sent_reported_.history_full)
        stats_.add(HRAS_CNT_LANE_HISTORY_FULL, s.history_full - sent_reported_.history_full);
    if (r.duplicates != received_reported_.duplicates)
        stats_.add(HRAS_CNT_LANE_DUPLICATES, r.duplicates - received_reported_.duplicates);
    sent_reported_ = s;
    received_reported_ = r;
}

}  // namespace sofw::hras
