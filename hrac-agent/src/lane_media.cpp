#include "lane_media.hpp"

namespace hrac {

namespace {

int64_t now_ms() { return static_cast<int64_t>(tmr_jiffies()); }

}  // namespace

LaneMedia::LaneMedia(unsigned lanes, sofw::LaneOutput &out, Counters &counters)
    : sender_(lanes), receiver_(lanes), out_(out), counters_(counters)
{}

bool LaneMedia::send(const sofw::Frame &media, int64_t now)
{
    if (!media.ra)
        return false;
    // The owed ack first, on the lane the media will take: one record.
    if (receiver_.ack_due(now, true))
        send_ack(now);
    const bool sent = sender_.send(*media.ra, media.payload.data(), media.payload.size(), now, out_);
    update_counters();
    schedule();
    return sent;
}

LaneMedia::Verdict LaneMedia::receive(unsigned lane, sofw::Frame &f, int64_t)
{
    Verdict verdict = Verdict::invalid;
    switch (receiver_.on_frame(lane, f)) {
    case sofw::LaneReceiver::Verdict::deliver: verdict = Verdict::deliver; break;
    case sofw::LaneReceiver::Verdict::duplicate: verdict = Verdict::duplicate; break;
    case sofw::LaneReceiver::Verdict::invalid: verdict = Verdict::invalid; break;
    }
    update_counters();
    schedule();
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
    schedule();
}

void LaneMedia::send_ack(int64_t now)
{
    ack_wire_.clear();
    sofw::encode_lane_ack(receiver_.take_ack(now), ack_wire_);
    // A full queue loses this ack; the next one carries the same counts
    // and more.
    out_.queue(sender_.best_lane(now), ack_wire_.data(), ack_wire_.size());
}

void LaneMedia::schedule()
{
    // Only while there is something to do: an idle session costs no wakeups.
    if (!sender_.pending() && !receiver_.owed())
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
    counters_.lane_history_full += s.history_full - sender_counted_.history_full;
    sender_counted_ = s;
    const sofw::LaneReceiverStats &r = receiver_.stats();
    counters_.lane_duplicates += r.duplicates - receiver_counted_.duplicates;
    receiver_counted_ = r;
}

}  // namespace hrac
