#include "lane_media.hpp"

#include <sofw/control.hpp>

namespace hrac {

namespace {

int64_t now_ms() { return static_cast<int64_t>(tmr_jiffies()); }

void put_u16(std::vector<uint8_t> &out, unsigned v)
{
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}

void put_u32(std::vector<uint8_t> &out, uint32_t v)
{
    put_u16(out, v >> 16);
    put_u16(out, v & 0xffff);
}

}  // namespace

LaneMedia::LaneMedia(unsigned lanes, sofw::LaneOutput &out, Counters &counters)
    : sender_(lanes), receiver_(lanes), out_(out), counters_(counters)
{}

void LaneMedia::encode_ack(const sofw::LaneAck &ack, sofw::Frame &reused, std::vector<uint8_t> &out)
{
    // The payload of control op LANE_ACK (docs/protocol.md "Frames"): op,
    // reserved, the port field holding the number of lanes, a count per
    // lane. Written here rather than by make_lane_ack_frame(), which
    // allocates a frame per ack.
    const unsigned lanes = ack.lanes <= sofw::lanes_max ? ack.lanes : sofw::lanes_max;
    reused.type = sofw::FrameType::control;
    reused.ra.reset();
    std::vector<uint8_t> &p = reused.payload;
    p.clear();
    p.push_back(static_cast<uint8_t>(sofw::ControlOp::lane_ack));
    p.push_back(0);
    put_u16(p, lanes);
    for (unsigned i = 0; i < lanes; ++i)
        put_u32(p, ack.received[i]);
    out.clear();
    sofw::encode_frame(reused, out);
}

bool LaneMedia::send(const sofw::Frame &media, int64_t now)
{
    if (!media.ra)
        return false;
    // The owed ack first, on the lane the media will take: one record.
    if (receiver_.ack_due(now, true))
        send_ack(now);
    const bool sent = sender_.send(*media.ra, media.payload.data(), media.payload.size(), now, out_);
    update_counters();
    schedule(now);
    return sent;
}

LaneMedia::Verdict LaneMedia::receive(unsigned lane, sofw::Frame &f, int64_t now)
{
    Verdict verdict = Verdict::invalid;
    switch (receiver_.on_frame(lane, f)) {
    case sofw::LaneReceiver::Verdict::deliver: verdict = Verdict::deliver; break;
    case sofw::LaneReceiver::Verdict::duplicate: verdict = Verdict::duplicate; break;
    case sofw::LaneReceiver::Verdict::invalid: verdict = Verdict::invalid; break;
    }
    update_counters();
    schedule(now);
    return verdict;
}

bool LaneMedia::on_ack(const sofw::Frame &f, int64_t now)
{
    const auto ack = sofw::decode_lane_ack(f);
    if (!ack || ack->lanes > sender_.lanes())
        return false;
    sender_.on_ack(*ack, now);
    update_counters();
    return true;
}

void LaneMedia::check(int64_t now)
{
    sender_.check(now, out_);
    if (receiver_.ack_due(now, false))
        send_ack(now);
    update_counters();
    schedule(now);
}

void LaneMedia::send_ack(int64_t now)
{
    encode_ack(receiver_.take_ack(now), ack_frame_, ack_wire_);
    // A full queue loses this ack; the next one carries the same counts
    // and more.
    out_.queue(sender_.best_lane(now), ack_wire_.data(), ack_wire_.size());
}

void LaneMedia::schedule(int64_t now)
{
    // Only while there is something to do: an idle session costs no wakeups.
    if (!sender_.pending() && !receiver_.ack_due(now, true))
        timer_.cancel();
    else if (!timer_.running())
        timer_.start(check_interval_ms, [this] { check(now_ms()); });
}

void LaneMedia::update_counters()
{
    const sofw::LaneSenderStats &s = sender_.stats();
    counters_.lane_resent += s.resent - sender_counted_.resent;
    counters_.lane_stalls += s.stalls - sender_counted_.stalls;
    counters_.lane_late_dropped += s.late_dropped - sender_counted_.late_dropped;
    sender_counted_ = s;
    const sofw::LaneReceiverStats &r = receiver_.stats();
    counters_.lane_duplicates += r.duplicates - receiver_counted_.duplicates;
    receiver_counted_ = r;
}

}  // namespace hrac
