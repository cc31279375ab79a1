#include "sofw/lanes.hpp"

#include "sofw/control.hpp"

#include <algorithm>
#include <cstring>
#include <new>

namespace sofw {

namespace {

void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

uint32_t get_u32(const uint8_t *p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

// Serial-number order (RFC 1982) of 32-bit counts: a is at or after b.
bool at_or_after(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) >= 0; }

size_t lane_media_size(const RaHeader &ra, size_t len) { return frame_header_size + ra.encoded_size() + media_seq_size + len; }

bool lane_media_fits(const RaHeader &ra, const uint8_t *packet, size_t len)
{
    return ra.valid() && len <= frame_max_payload - media_seq_size && (packet || len == 0);
}

// Writes the lane_media frame to out, which has lane_media_size() bytes.
void write_lane_media(uint8_t *out, const RaHeader &ra, uint32_t mseq, const uint8_t *packet, size_t len)
{
    const size_t ra_len = ra.encoded_size();
    out[0] = frame_version;
    out[1] = static_cast<uint8_t>(FrameType::lane_media);
    out[2] = 0;
    out[3] = static_cast<uint8_t>(ra_len);
    put_u32(out + 4, static_cast<uint32_t>(media_seq_size + len));
    ra.encode(out + frame_header_size);
    put_u32(out + frame_header_size + ra_len, mseq);
    if (len)
        std::memcpy(out + frame_header_size + ra_len + media_seq_size, packet, len);
}

constexpr size_t round8(size_t n) { return (n + 7) & ~size_t(7); }

// The largest frame and the smallest store: two of them.
constexpr size_t max_frame_size = frame_header_size + RaHeader::v6_size + frame_max_payload;
constexpr size_t max_history_bytes = size_t(1) << 30;

}  // namespace

bool encode_lane_media(const RaHeader &ra, uint32_t mseq, const uint8_t *packet, size_t len, std::vector<uint8_t> &out)
{
    if (!lane_media_fits(ra, packet, len))
        return false;
    const size_t start = out.size();
    out.resize(start + lane_media_size(ra, len));
    write_lane_media(out.data() + start, ra, mseq, packet, len);
    return true;
}

bool unwrap_lane_media(Frame &f, uint32_t &mseq)
{
    if (f.type != FrameType::lane_media || !f.ra || f.payload.size() < media_seq_size)
        return false;
    mseq = get_u32(f.payload.data());
    f.payload.erase(f.payload.begin(), f.payload.begin() + media_seq_size);
    f.type = FrameType::media;
    return true;
}

Frame make_lane_ack_frame(const LaneAck &a)
{
    const unsigned n = std::min(a.lanes, lanes_max);
    Frame f = make_control_frame({ControlOp::lane_ack, static_cast<uint16_t>(n)});
    f.payload.resize(control_size + 4 * n);
    for (unsigned i = 0; i < n; ++i)
        put_u32(f.payload.data() + control_size + 4 * i, a.received[i]);
    return f;
}

void encode_lane_ack(const LaneAck &a, std::vector<uint8_t> &out)
{
    const unsigned n = std::min(a.lanes, lanes_max);
    const size_t len = control_size + 4 * n;
    const size_t start = out.size();
    out.resize(start + frame_header_size + len);
    uint8_t *p = out.data() + start;
    p[0] = frame_version;
    p[1] = static_cast<uint8_t>(FrameType::control);
    p[2] = 0;
    p[3] = 0;  // no RA header
    put_u32(p + 4, static_cast<uint32_t>(len));
    p += frame_header_size;
    p[0] = static_cast<uint8_t>(ControlOp::lane_ack);
    p[1] = 0;
    p[2] = 0;
    p[3] = static_cast<uint8_t>(n);
    for (unsigned i = 0; i < n; ++i)
        put_u32(p + control_size + 4 * i, a.received[i]);
}

std::optional<LaneAck> decode_lane_ack(const Frame &f)
{
    if (f.type != FrameType::control || f.payload.size() < control_size ||
        f.payload[0] != static_cast<uint8_t>(ControlOp::lane_ack))
        return std::nullopt;
    const unsigned n = unsigned(f.payload[2]) << 8 | f.payload[3];
    if (n < 1 || n > lanes_max || f.payload.size() != control_size + 4 * size_t(n))
        return std::nullopt;
    LaneAck a;
    a.lanes = n;
    for (unsigned i = 0; i < n; ++i)
        a.received[i] = get_u32(f.payload.data() + control_size + 4 * i);
    return a;
}

// ---- LaneSender ----

LaneSender::LaneSender(unsigned lanes, Settings s)
    : lanes_(std::clamp(lanes, 1u, lanes_max)), settings_(s)
{
    const size_t smallest = 2 * round8(sizeof(Copy) + max_frame_size);
    max_cap_ = static_cast<uint32_t>(round8(std::clamp(s.history_bytes, smallest, max_history_bytes)));
    settings_.history_bytes = max_cap_;
    lane_[0].open = true;
}

void LaneSender::set_open(unsigned lane, bool open)
{
    if (lane < lanes_)
        lane_[lane].open = open;
}

LaneSender::Copy &LaneSender::at(uint32_t off) { return *std::launder(reinterpret_cast<Copy *>(bytes() + off)); }

const LaneSender::Copy &LaneSender::at(uint32_t off) const
{
    return *std::launder(reinterpret_cast<const Copy *>(bytes() + off));
}

unsigned LaneSender::hedge_ms() const
{
    // Capped far above any deadline, so a wild sample cannot overflow it.
    const double h = std::min(2 * ack_delay_ms_, 600000.0);
    return std::max(settings_.hedge_min_ms, static_cast<unsigned>(h));
}

bool LaneSender::late(const Lane &l, int64_t now_ms) const
{
    return l.first != none && now_ms - at(l.first).sent_ms > int64_t(hedge_ms());
}

bool LaneSender::stalled(unsigned lane) const { return lane < lanes_ && lane_[lane].stalled; }

bool LaneSender::pending() const
{
    for (unsigned i = 0; i < lanes_; ++i)
        if (lane_[i].first != none)
            return true;
    return false;
}

size_t LaneSender::unacked_bytes(unsigned lane) const { return lane < lanes_ ? lane_[lane].unacked_bytes : 0; }

size_t LaneSender::stored_bytes() const
{
    if (slots_ == 0)
        return 0;
    return wrapped_ ? size_t(end_ - tail_) + head_ : size_t(head_ - tail_);
}

// The lane media is on, while it is open, not in skip and neither stalled
// nor behind; else such a lane with the fewest unacknowledged bytes. Unless healthy_only, when there is none:
// the open lane acked most recently. lanes_ when no lane qualifies.
unsigned LaneSender::pick(int64_t now_ms, unsigned skip, bool healthy_only) const
{
    // Media stays on the lane it is on while that lane is healthy: one busy
    // connection coalesces frames into fewer segments and ACKs, and its
    // steady flow lets TCP repair a lost segment by SACK within a round
    // trip; the other lanes wait as spares for when it stalls.
    if (current_ < lanes_) {
        const Lane &c = lane_[current_];
        if (c.open && !(skip >> current_ & 1) && !c.stalled && !late(c, now_ms))
            return current_;
    }
    unsigned best = lanes_;
    for (unsigned i = 0; i < lanes_; ++i) {
        const Lane &l = lane_[i];
        if (!l.open || (skip >> i & 1) || l.stalled || late(l, now_ms))
            continue;
        if (best == lanes_ || l.unacked_bytes < lane_[best].unacked_bytes)
            best = i;
    }
    if (best != lanes_ || healthy_only)
        return best;
    for (unsigned i = 0; i < lanes_; ++i) {
        const Lane &l = lane_[i];
        if (!l.open || (skip >> i & 1))
            continue;
        if (best == lanes_ || (l.ever_acked && (!lane_[best].ever_acked || l.last_ack_ms > lane_[best].last_ack_ms)))
            best = i;
    }
    return best;
}

unsigned LaneSender::best_lane(int64_t now_ms) const
{
    const unsigned l = pick(now_ms, 0, false);
    return l == lanes_ ? 0 : l;
}

void LaneSender::link(unsigned lane, uint32_t off)
{
    Lane &l = lane_[lane];
    Copy &c = at(off);
    c.lane = static_cast<uint8_t>(lane);
    c.index = l.queued++;
    c.live = true;
    c.prev = l.last;
    c.next = none;
    if (l.last != none)
        at(l.last).next = off;
    else
        l.first = off;
    l.last = off;
    l.unacked_bytes += c.len;
}

void LaneSender::unlink(uint32_t off)
{
    Copy &c = at(off);
    Lane &l = lane_[c.lane];
    if (c.prev != none)
        at(c.prev).next = c.next;
    else
        l.first = c.next;
    if (c.next != none)
        at(c.next).prev = c.prev;
    else
        l.last = c.prev;
    c.prev = c.next = none;
    l.unacked_bytes -= c.len;
}

// The slots before the oldest live one go back to the free space.
void LaneSender::reclaim()
{
    while (slots_ > 0 && !at(tail_).live) {
        tail_ += at(tail_).size;
        --slots_;
        if (wrapped_ && tail_ == end_) {
            tail_ = 0;
            wrapped_ = false;
        }
    }
    if (slots_ == 0)
        head_ = tail_ = end_ = 0, wrapped_ = false;
}

void LaneSender::release(uint32_t off)
{
    at(off).live = false;
    reclaim();
}

void LaneSender::evict_oldest()
{
    if (at(tail_).live) {
        unlink(tail_);
        ++stats_.history_full;
    }
    release(tail_);
}

// Doubles the ring (up to max_cap_) and lays its slots out from 0 in the
// same order, moving every offset that points into it.
void LaneSender::grow()
{
    const uint32_t cap = cap_ == 0 ? static_cast<uint32_t>(2 * round8(sizeof(Copy) + max_frame_size))
                                   : static_cast<uint32_t>(std::min<size_t>(size_t(cap_) * 2, max_cap_));
    std::vector<uint64_t> bigger(std::min(cap, max_cap_) / 8);
    uint8_t *to = reinterpret_cast<uint8_t *>(bigger.data());
    const uint32_t used = static_cast<uint32_t>(stored_bytes());
    const uint32_t first_part = wrapped_ ? end_ - tail_ : used;
    if (used) {
        std::memcpy(to, bytes() + tail_, first_part);
        if (wrapped_)
            std::memcpy(to + first_part, bytes(), head_);
    }
    const uint32_t old_tail = tail_;
    const auto moved = [&](uint32_t off) -> uint32_t {
        if (off == none)
            return none;
        return off >= old_tail ? off - old_tail : off + first_part;
    };
    for (uint32_t off = 0; off < used;) {
        Copy &c = *std::launder(reinterpret_cast<Copy *>(to + off));
        c.prev = moved(c.prev);
        c.next = moved(c.next);
        off += c.size;
    }
    for (unsigned i = 0; i < lanes_; ++i) {
        lane_[i].first = moved(lane_[i].first);
        lane_[i].last = moved(lane_[i].last);
    }
    store_ = std::move(bigger);
    cap_ = static_cast<uint32_t>(store_.size() * 8);
    tail_ = 0;
    head_ = used;
    end_ = 0;
    wrapped_ = false;
}

uint32_t LaneSender::alloc(uint32_t frame_len)
{
    const uint32_t size = static_cast<uint32_t>(round8(sizeof(Copy) + frame_len));
    uint32_t off = none;
    while (off == none) {
        if (!wrapped_ && cap_ - head_ >= size) {
            off = head_;
            head_ += size;
        } else if (!wrapped_ && slots_ > 0 && tail_ >= size) {
            end_ = head_;
            wrapped_ = true;
            off = 0;
            head_ = size;
        } else if (wrapped_ && tail_ - head_ >= size) {
            off = head_;
            head_ += size;
        } else if (cap_ < max_cap_) {
            grow();
        } else {
            evict_oldest();  // slots_ > 0 here: an empty ring holds any frame
        }
    }
    ++slots_;
    Copy *c = new (bytes() + off) Copy{};
    c->size = size;
    c->len = frame_len;
    c->prev = c->next = none;
    return off;
}

bool LaneSender::send(const RaHeader &ra, const uint8_t *packet, size_t len, int64_t now_ms, LaneOutput &out)
{
    unsigned lane = pick(now_ms, 0, false);
    if (lane == lanes_ || !lane_media_fits(ra, packet, len)) {
        ++stats_.refused;
        return false;
    }
    const auto frame_len = static_cast<uint32_t>(lane_media_size(ra, len));
    const uint32_t off = alloc(frame_len);
    uint8_t *frame = bytes() + off + sizeof(Copy);
    write_lane_media(frame, ra, next_mseq_, packet, len);
    unsigned skip = 0;
    while (!out.queue(lane, frame, frame_len)) {
        skip |= 1u << lane;
        lane = pick(now_ms, skip, false);
        if (lane == lanes_) {
            release(off);
            ++stats_.refused;
            return false;
        }
    }
    Copy &c = at(off);
    c.first_ms = c.sent_ms = now_ms;
    link(lane, off);
    current_ = lane;
    ++next_mseq_;
    ++stats_.sent;
    return true;
}

void LaneSender::on_ack(const LaneAck &a, int64_t now_ms)
{
    const unsigned n = std::min({a.lanes, lanes_, lanes_max});
    for (unsigned i = 0; i < n; ++i) {
        Lane &l = lane_[i];
        const uint32_t advance = a.received[i] - l.acked;
        if (advance == 0 || advance > l.queued - l.acked)
            continue;  // old news, or more than was ever put on the lane
        l.acked = a.received[i];
        l.last_ack_ms = now_ms;
        l.ever_acked = true;
        int64_t newest_sent = -1;
        bool sampled = false;
        while (l.first != none && !at_or_after(at(l.first).index, l.acked)) {
            newest_sent = at(l.first).sent_ms;
            sampled = true;
            const uint32_t off = l.first;
            unlink(off);
            release(off);
        }
        if (sampled) {
            const double sample = double(std::max<int64_t>(0, now_ms - newest_sent));
            ack_delay_ms_ = have_ack_delay_ ? ack_delay_ms_ + (sample - ack_delay_ms_) / 8 : sample;
            have_ack_delay_ = true;
        }
    }
    for (unsigned i = 0; i < lanes_; ++i) {
        Lane &l = lane_[i];
        if (l.stalled && at_or_after(l.acked, l.stall_mark) && !late(l, now_ms))
            l.stalled = false;
    }
}

// Moves the copies of a stalled lane to healthy lanes (same mseq, sent
// again), or drops them once they are past the deadline. Copies stay
// where they are while no healthy lane takes them.
void LaneSender::evacuate(unsigned lane, int64_t now_ms, LaneOutput &out)
{
    Lane &l = lane_[lane];
    unsigned skip = 1u << lane;
    while (l.first != none) {
        const uint32_t off = l.first;
        // The lane stays stalled until the far side has these too: copies
        // left behind on it show a stall by their age, these no longer can.
        l.stall_mark = at(off).index + 1;
        if (now_ms - at(off).first_ms >= int64_t(settings_.media_deadline_ms)) {
            unlink(off);
            release(off);
            ++stats_.late_dropped;
            continue;
        }
        const unsigned to = pick(now_ms, skip, true);
        if (to == lanes_)
            return;
        if (!out.queue(to, bytes() + off + sizeof(Copy), at(off).len)) {
            skip |= 1u << to;
            continue;
        }
        unlink(off);
        at(off).sent_ms = now_ms;
        link(to, off);
        ++stats_.resent;
    }
}

void LaneSender::check(int64_t now_ms, LaneOutput &out)
{
    for (unsigned i = 0; i < lanes_; ++i) {
        Lane &l = lane_[i];
        if (!l.stalled && late(l, now_ms)) {
            l.stalled = true;
            ++stats_.stalls;
        } else if (l.stalled && at_or_after(l.acked, l.stall_mark) && !late(l, now_ms)) {
            l.stalled = false;
        }
    }
    for (unsigned i = 0; i < lanes_; ++i)
        if (lane_[i].stalled && lane_[i].first != none)
            evacuate(i, now_ms, out);
}

// ---- LaneReceiver ----

LaneReceiver::LaneReceiver(unsigned lanes) : lanes_(std::clamp(lanes, 1u, lanes_max)) {}

bool LaneReceiver::fresh(uint32_t mseq)
{
    const auto bit = [](uint32_t m) { return m % lane_dedup_window; };
    const auto test = [&](uint32_t m) { return seen_[bit(m) / 64] >> (bit(m) % 64) & 1; };
    const auto set = [&](uint32_t m) { seen_[bit(m) / 64] |= uint64_t(1) << (bit(m) % 64); };
    const auto clear = [&](uint32_t m) { seen_[bit(m) / 64] &= ~(uint64_t(1) << (bit(m) % 64)); };

    if (!any_) {
        any_ = true;
        highest_ = mseq;
        std::fill(std::begin(seen_), std::end(seen_), 0);
        set(mseq);
        return true;
    }
    const uint32_t ahead = mseq - highest_;
    if (ahead == 0)
        return false;
    if (ahead < 0x80000000u) {
        // The window slides up: the mseqs it passes over were not seen.
        if (ahead >= lane_dedup_window) {
            std::fill(std::begin(seen_), std::end(seen_), 0);
        } else {
            uint32_t m = highest_ + 1;
            for (uint32_t left = ahead; left > 0;) {
                if (bit(m) % 64 == 0 && left >= 64) {
                    seen_[bit(m) / 64] = 0;
                    m += 64;
                    left -= 64;
                } else {
                    clear(m);
                    ++m;
                    --left;
                }
            }
        }
        highest_ = mseq;
        set(mseq);
        return true;
    }
    if (highest_ - mseq >= lane_dedup_window || test(mseq))
        return false;
    set(mseq);
    return true;
}

LaneReceiver::Verdict LaneReceiver::on_frame(unsigned lane, Frame &f)
{
    if (lane >= lanes_) {
        ++stats_.bad_lane;
        return Verdict::invalid;
    }
    if (f.type != FrameType::lane_media) {
        ++stats_.malformed;
        return Verdict::invalid;
    }
    // Counted before anything else: the sender counts every lane_media
    // frame it put on the lane, and waits for exactly that count.
    ++received_[lane];
    owed_ = true;
    if (!f.ra || f.payload.size() < media_seq_size) {
        ++stats_.malformed;
        return Verdict::invalid;
    }
    if (!fresh(get_u32(f.payload.data()))) {
        ++stats_.duplicates;
        return Verdict::duplicate;
    }
    uint32_t mseq = 0;
    unwrap_lane_media(f, mseq);
    ++stats_.delivered;
    return Verdict::deliver;
}

bool LaneReceiver::ack_due(int64_t now_ms, bool piggyback) const
{
    if (!owed_)
        return false;
    if (!acked_once_)
        return true;
    const int64_t since = now_ms - last_ack_ms_;
    return since >= int64_t(piggyback ? lane_ack_ride_ms : lane_ack_delay_ms);
}

LaneAck LaneReceiver::take_ack(int64_t now_ms)
{
    LaneAck a;
    a.lanes = lanes_;
    std::copy(received_, received_ + lanes_, a.received);
    owed_ = false;
    acked_once_ = true;
    last_ack_ms_ = now_ms;
    return a;
}

}  // namespace sofw
