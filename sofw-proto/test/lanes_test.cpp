// Lanes (docs/protocol.md "Lanes"): the lane_media and LANE_ACK codecs
// against the vectors of the specification, and a sender and a receiver
// joined by fake lanes, one of which holds its frames back, on fake time.
#include "sofw/control.hpp"
#include "sofw/lanes.hpp"

#include "test_hex.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

using namespace sofw;

namespace {

using sofw::test::unhex;

RaHeader phone()
{
    auto h = RaHeader::parse("192.168.1.10:4000");
    EXPECT_TRUE(h);
    h->relay_port = 20000;
    return *h;
}

// Decodes exactly one frame from bytes.
Frame decode_one(const std::vector<uint8_t> &bytes)
{
    FrameDecoder d;
    d.feed(bytes.data(), bytes.size());
    Frame f;
    EXPECT_EQ(d.next(f), FrameDecoder::Result::frame);
    EXPECT_EQ(d.buffered(), 0u);
    return f;
}

Frame lane_media(uint32_t mseq, const std::vector<uint8_t> &packet)
{
    std::vector<uint8_t> bytes;
    EXPECT_TRUE(encode_lane_media(phone(), mseq, packet.data(), packet.size(), bytes));
    return decode_one(bytes);
}

// The lanes of one direction: each keeps the frames put on it, in order,
// until the test lets them arrive.
struct FakeLanes : LaneOutput {
    std::vector<std::vector<uint8_t>> queued[lanes_max];
    bool full[lanes_max] = {};

    bool queue(unsigned lane, const uint8_t *frame, size_t len) override
    {
        EXPECT_LT(lane, lanes_max);
        if (lane >= lanes_max || full[lane])
            return false;
        queued[lane].emplace_back(frame, frame + len);
        return true;
    }
};

// A sender and a receiver on fake time: a packet is a 4-byte number, so
// the test knows which packet arrived whatever mseq it travelled with.
struct Pair {
    explicit Pair(unsigned lanes, LaneSender::Settings s = {}) : tx(lanes, s), rx(lanes)
    {
        for (unsigned i = 0; i < lanes; ++i)
            tx.set_open(i, true);
    }

    bool send(int64_t now)
    {
        const uint8_t p[4] = {uint8_t(next >> 24), uint8_t(next >> 16), uint8_t(next >> 8), uint8_t(next)};
        if (!tx.send(phone(), p, sizeof p, now, wire))
            return false;
        sent_at[next++] = now;
        return true;
    }

    // Lets everything queued on lane arrive (unless held).
    void arrive(unsigned lane, int64_t now)
    {
        if (held[lane])
            return;
        for (const auto &bytes : wire.queued[lane]) {
            Frame f = decode_one(bytes);
            ASSERT_EQ(f.type, FrameType::lane_media);
            const auto v = rx.on_frame(lane, f);
            ASSERT_NE(v, LaneReceiver::Verdict::invalid);
            if (v == LaneReceiver::Verdict::duplicate)
                continue;
            ASSERT_EQ(f.type, FrameType::media);
            ASSERT_EQ(f.payload.size(), 4u);
            const uint32_t id = uint32_t(f.payload[0]) << 24 | f.payload[1] << 16 | f.payload[2] << 8 | f.payload[3];
            ++times_delivered[id];
            latency[id] = now - sent_at[id];
        }
        wire.queued[lane].clear();
    }

    // The ack as it would travel: encoded, decoded, handed to the sender.
    void ack(int64_t now)
    {
        const auto a = decode_lane_ack(decode_one(encode_frame(make_lane_ack_frame(rx.take_ack(now)))));
        ASSERT_TRUE(a);
        tx.on_ack(*a, now);
    }

    // One tick of the 5 ms timer: the sender checks its lanes, the lanes
    // not held deliver, and an ack goes back if one is due.
    void tick(int64_t now)
    {
        tx.check(now, wire);
        for (unsigned i = 0; i < tx.lanes(); ++i)
            arrive(i, now);
        if (rx.ack_due(now, false))
            ack(now);
    }

    LaneSender tx;
    LaneReceiver rx;
    FakeLanes wire;
    bool held[lanes_max] = {};
    uint32_t next = 0;
    std::map<uint32_t, int64_t> sent_at, latency;
    std::map<uint32_t, int> times_delivered;
};

constexpr int64_t tick_ms = 5;

size_t total_unacked(const LaneSender &tx)
{
    size_t n = 0;
    for (unsigned i = 0; i < tx.lanes(); ++i)
        n += tx.unacked_bytes(i);
    return n;
}

}  // namespace

// ---- codecs ----

TEST(LaneMedia, Vector)
{
    // docs/protocol.md "Lanes", test vectors.
    const uint8_t packet[] = {0x80, 0x00};
    std::vector<uint8_t> bytes = {0xaa};  // appended, not replaced
    ASSERT_TRUE(encode_lane_media(phone(), 0x01020304, packet, sizeof packet, bytes));
    EXPECT_EQ(bytes, unhex("aa 01 05 00 0a 00000006 04 11 0fa0 4e20 c0a8010a 01020304 8000"));
}

TEST(LaneMedia, UnwrapsToThePlainMediaFrame)
{
    Frame f = lane_media(0xfffffffe, {0x80, 0x00, 0x12});
    EXPECT_EQ(f.type, FrameType::lane_media);
    uint32_t mseq = 0;
    ASSERT_TRUE(unwrap_lane_media(f, mseq));
    EXPECT_EQ(mseq, 0xfffffffeu);
    EXPECT_EQ(f.type, FrameType::media);
    EXPECT_EQ(f.payload, (std::vector<uint8_t>{0x80, 0x00, 0x12}));
    // What comes out is the media frame the sender would have sent without lanes.
    Frame plain;
    plain.type = FrameType::media;
    plain.ra = phone();
    plain.payload = {0x80, 0x00, 0x12};
    EXPECT_EQ(encode_frame(f), encode_frame(plain));
}

TEST(LaneMedia, EmptyPacketIsJustTheMseq)
{
    Frame f = lane_media(7, {});
    EXPECT_EQ(f.payload.size(), media_seq_size);
    uint32_t mseq = 0;
    ASSERT_TRUE(unwrap_lane_media(f, mseq));
    EXPECT_EQ(mseq, 7u);
    EXPECT_TRUE(f.payload.empty());
}

TEST(LaneMedia, UnwrapRefusesOtherFramesUnchanged)
{
    uint32_t mseq = 42;
    Frame media;
    media.type = FrameType::media;
    media.ra = phone();
    media.payload = {1, 2, 3, 4, 5};
    Frame copy = media;
    EXPECT_FALSE(unwrap_lane_media(media, mseq));
    EXPECT_EQ(media.type, copy.type);
    EXPECT_EQ(media.payload, copy.payload);

    // Shorter than its mseq: possible only from a key holder, still refused.
    Frame short_one = decode_one(unhex("01 05 00 0a 00000003 04 11 0fa0 4e20 c0a8010a 000001"));
    EXPECT_FALSE(unwrap_lane_media(short_one, mseq));
    EXPECT_EQ(short_one.type, FrameType::lane_media);
    EXPECT_EQ(short_one.payload.size(), 3u);
    EXPECT_EQ(mseq, 42u);
}

TEST(LaneMedia, EncodeRefusesWhatBreaksTheFrameRules)
{
    std::vector<uint8_t> out = {1, 2};
    std::vector<uint8_t> big(frame_max_payload - media_seq_size + 1);
    EXPECT_FALSE(encode_lane_media(phone(), 1, big.data(), big.size(), out));
    EXPECT_EQ(out.size(), 2u);
    // The largest that fits.
    EXPECT_TRUE(encode_lane_media(phone(), 1, big.data(), big.size() - 1, out));
    EXPECT_EQ(decode_one({out.begin() + 2, out.end()}).payload.size(), frame_max_payload);
    RaHeader bad = phone();
    bad.family = 5;
    out.resize(2);
    EXPECT_FALSE(encode_lane_media(bad, 1, big.data(), 10, out));
    EXPECT_EQ(out.size(), 2u);
}

TEST(LaneMedia, NeedsAnRaHeaderOnTheWire)
{
    FrameDecoder d;
    const auto bytes = unhex("01 05 00 00 00000006 00000001 8000");
    d.feed(bytes.data(), bytes.size());
    Frame f;
    EXPECT_EQ(d.next(f), FrameDecoder::Result::error);
    EXPECT_EQ(d.error(), DecodeError::missing_ra);
}

TEST(LaneAckCodec, Vector)
{
    LaneAck a;
    a.lanes = 3;
    a.received[0] = 1;
    a.received[1] = 0x102;
    a.received[2] = 0xfffffffe;
    const auto bytes = encode_frame(make_lane_ack_frame(a));
    // docs/protocol.md "Lanes", test vectors.
    EXPECT_EQ(bytes, unhex("01 03 00 00 00000010 05 00 0003 00000001 00000102 fffffffe"));

    const Frame f = decode_one(bytes);
    const auto back = decode_lane_ack(f);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->lanes, 3u);
    EXPECT_EQ(back->received[0], 1u);
    EXPECT_EQ(back->received[1], 0x102u);
    EXPECT_EQ(back->received[2], 0xfffffffeu);
    // The generic control decoder takes it too: an odd lane count is no odd port.
    const auto c = decode_control(f.payload.data(), f.payload.size());
    ASSERT_TRUE(c);
    EXPECT_EQ(c->op, ControlOp::lane_ack);
    EXPECT_EQ(c->port, 3);
    EXPECT_FALSE(is_stream_ok(f));
}

TEST(LaneAckCodec, EveryLaneCountRoundTrips)
{
    for (unsigned n = 1; n <= lanes_max; ++n) {
        LaneAck a;
        a.lanes = n;
        for (unsigned i = 0; i < n; ++i)
            a.received[i] = 0x01000000u * i + n;
        const Frame f = make_lane_ack_frame(a);
        std::vector<uint8_t> appended = {0xaa};
        encode_lane_ack(a, appended);
        const auto whole = encode_frame(f);
        ASSERT_EQ(appended.size(), 1 + whole.size());
        EXPECT_EQ(std::vector<uint8_t>(appended.begin() + 1, appended.end()), whole);
        EXPECT_EQ(f.type, FrameType::control);
        EXPECT_FALSE(f.ra);
        EXPECT_EQ(f.payload.size(), control_size + 4 * n);
        const auto back = decode_lane_ack(f);
        ASSERT_TRUE(back) << n;
        EXPECT_EQ(back->lanes, n);
        for (unsigned i = 0; i < n; ++i)
            EXPECT_EQ(back->received[i], a.received[i]);
    }
}

TEST(LaneAckCodec, Rejects)
{
    const auto ack = [](const std::string &payload_hex) {
        Frame f;
        f.type = FrameType::control;
        f.payload = unhex(payload_hex);
        return decode_lane_ack(f);
    };
    EXPECT_TRUE(ack("05 00 0001 00000007"));
    EXPECT_TRUE(ack("05 ff 0001 00000007"));  // the reserved byte is ignored
    EXPECT_FALSE(ack("05 00 0000"));                          // no lanes
    EXPECT_FALSE(ack("05 00 0009" + std::string(9 * 8, '0')));  // more than lanes_max
    EXPECT_FALSE(ack("05 00 0101 00000007"));                 // 257 lanes
    EXPECT_FALSE(ack("05 00 0001"));                          // counts missing
    EXPECT_FALSE(ack("05 00 0001 000000"));                   // short
    EXPECT_FALSE(ack("05 00 0001 00000007 00"));              // long
    EXPECT_FALSE(ack("05 00 0002 00000007"));                 // fewer counts than lanes
    EXPECT_FALSE(ack("05 00 0001 00000007 00000008"));        // more counts than lanes
    EXPECT_FALSE(ack("04 00 0001 00000007"));                 // another op
    EXPECT_FALSE(ack("05 00 00"));
    EXPECT_FALSE(ack(""));
    Frame sip;
    sip.type = FrameType::sip;
    sip.ra = phone();
    sip.payload = unhex("05 00 0001 00000007");
    EXPECT_FALSE(decode_lane_ack(sip));
}

// ---- receiver ----

TEST(LaneReceiver, DropsSecondCopies)
{
    LaneReceiver rx(2);
    Frame a = lane_media(10, {1}), again = lane_media(10, {1}), b = lane_media(11, {2});
    EXPECT_EQ(rx.on_frame(0, a), LaneReceiver::Verdict::deliver);
    EXPECT_EQ(a.type, FrameType::media);
    EXPECT_EQ(rx.on_frame(1, again), LaneReceiver::Verdict::duplicate);
    EXPECT_EQ(again.type, FrameType::lane_media);  // left as it came
    EXPECT_EQ(rx.on_frame(1, b), LaneReceiver::Verdict::deliver);
    EXPECT_EQ(rx.stats().delivered, 2u);
    EXPECT_EQ(rx.stats().duplicates, 1u);
    // Every lane_media frame counts for the ack, duplicates too.
    const LaneAck ack = rx.take_ack(0);
    EXPECT_EQ(ack.lanes, 2u);
    EXPECT_EQ(ack.received[0], 1u);
    EXPECT_EQ(ack.received[1], 2u);
}

TEST(LaneReceiver, MseqWrapsPast2To32)
{
    LaneReceiver rx(1);
    for (uint32_t m : {0xfffffffeu, 0xffffffffu, 0u, 1u}) {
        Frame f = lane_media(m, {uint8_t(m)});
        EXPECT_EQ(rx.on_frame(0, f), LaneReceiver::Verdict::deliver) << m;
    }
    for (uint32_t m : {0xffffffffu, 0u, 0xfffffffeu}) {
        Frame f = lane_media(m, {uint8_t(m)});
        EXPECT_EQ(rx.on_frame(0, f), LaneReceiver::Verdict::duplicate) << m;
    }
    // Late but inside the window across the wrap: a first copy.
    Frame late = lane_media(0xfffffff0u, {});
    EXPECT_EQ(rx.on_frame(0, late), LaneReceiver::Verdict::deliver);
    EXPECT_EQ(rx.stats().delivered, 5u);
    EXPECT_EQ(rx.stats().duplicates, 3u);
}

TEST(LaneReceiver, WindowOf4096BelowTheHighest)
{
    LaneReceiver rx(1);
    Frame high = lane_media(10000, {});
    ASSERT_EQ(rx.on_frame(0, high), LaneReceiver::Verdict::deliver);
    Frame inside = lane_media(10000 - (lane_dedup_window - 1), {});
    EXPECT_EQ(rx.on_frame(0, inside), LaneReceiver::Verdict::deliver);
    Frame outside = lane_media(10000 - lane_dedup_window, {});
    EXPECT_EQ(rx.on_frame(0, outside), LaneReceiver::Verdict::duplicate);
    // A jump past the window forgets everything below it.
    Frame jump = lane_media(10000 + 3 * lane_dedup_window, {});
    EXPECT_EQ(rx.on_frame(0, jump), LaneReceiver::Verdict::deliver);
    Frame between = lane_media(10000 + 3 * lane_dedup_window - 100, {});
    EXPECT_EQ(rx.on_frame(0, between), LaneReceiver::Verdict::deliver);
    Frame between_again = lane_media(10000 + 3 * lane_dedup_window - 100, {});
    EXPECT_EQ(rx.on_frame(0, between_again), LaneReceiver::Verdict::duplicate);
}

TEST(LaneReceiver, SlidingForgetsOnlyWhatLeftTheWindow)
{
    LaneReceiver rx(1);
    // Every mseq 0..9999 once, in order, then each of the last 4096 again.
    for (uint32_t m = 0; m < 10000; ++m) {
        Frame f = lane_media(m, {});
        ASSERT_EQ(rx.on_frame(0, f), LaneReceiver::Verdict::deliver) << m;
    }
    for (uint32_t m = 10000 - lane_dedup_window; m < 10000; ++m) {
        Frame f = lane_media(m, {});
        ASSERT_EQ(rx.on_frame(0, f), LaneReceiver::Verdict::duplicate) << m;
    }
    // Skipped mseqs inside the window are still new.
    LaneReceiver gaps(1);
    for (uint32_t m = 0; m < 3000; m += 3) {
        Frame f = lane_media(m, {});
        ASSERT_EQ(gaps.on_frame(0, f), LaneReceiver::Verdict::deliver);
    }
    for (uint32_t m = 1; m < 3000; m += 3) {
        Frame f = lane_media(m, {});
        ASSERT_EQ(gaps.on_frame(0, f), LaneReceiver::Verdict::deliver) << m;
    }
}

TEST(LaneReceiver, InvalidFrames)
{
    LaneReceiver rx(2);
    Frame f = lane_media(1, {1});
    EXPECT_EQ(rx.on_frame(2, f), LaneReceiver::Verdict::invalid);
    EXPECT_EQ(rx.on_frame(lanes_max, f), LaneReceiver::Verdict::invalid);
    EXPECT_EQ(f.type, FrameType::lane_media);  // untouched
    EXPECT_EQ(rx.stats().bad_lane, 2u);
    EXPECT_FALSE(rx.ack_due(0, true));

    Frame media;
    media.type = FrameType::media;
    media.ra = phone();
    EXPECT_EQ(rx.on_frame(0, media), LaneReceiver::Verdict::invalid);
    EXPECT_FALSE(rx.ack_due(0, true));

    Frame short_one = decode_one(unhex("01 05 00 0a 00000002 04 11 0fa0 4e20 c0a8010a 0000"));
    EXPECT_EQ(rx.on_frame(1, short_one), LaneReceiver::Verdict::invalid);
    EXPECT_EQ(rx.stats().malformed, 2u);
    // It was a lane_media frame on lane 1: the sender counts it, so do we.
    EXPECT_TRUE(rx.ack_due(0, true));
    EXPECT_EQ(rx.take_ack(0).received[1], 1u);
    EXPECT_EQ(rx.stats().delivered, 0u);
}

TEST(LaneReceiver, AckDue)
{
    LaneReceiver rx(3);
    EXPECT_FALSE(rx.ack_due(0, false));
    EXPECT_FALSE(rx.ack_due(0, true));
    Frame f = lane_media(1, {});
    rx.on_frame(2, f);
    EXPECT_TRUE(rx.ack_due(0, true));
    EXPECT_TRUE(rx.ack_due(0, false));  // the first ack need not wait
    LaneAck a = rx.take_ack(100);
    EXPECT_EQ(a.lanes, 3u);
    EXPECT_EQ(a.received[2], 1u);
    EXPECT_FALSE(rx.ack_due(200, true));  // nothing new

    Frame g = lane_media(2, {});
    rx.on_frame(0, g);
    EXPECT_TRUE(rx.owed());
    EXPECT_FALSE(rx.ack_due(100 + lane_ack_ride_ms - 1, true));  // not on every write
    EXPECT_TRUE(rx.ack_due(100 + lane_ack_ride_ms, true));  // a write goes out anyway: ride along
    EXPECT_FALSE(rx.ack_due(100 + lane_ack_delay_ms - 1, false));
    EXPECT_TRUE(rx.ack_due(100 + lane_ack_delay_ms, false));
    a = rx.take_ack(110);
    EXPECT_EQ(a.received[0], 1u);
    EXPECT_EQ(a.received[2], 1u);
}

// ---- sender ----

TEST(LaneSender, KeepsMediaOnOneHealthyLane)
{
    Pair p(3);
    for (int i = 0; i < 6; ++i)
        ASSERT_TRUE(p.send(0));
    EXPECT_EQ(p.wire.queued[0].size(), 6u);
    EXPECT_EQ(p.wire.queued[1].size(), 0u);
    EXPECT_EQ(p.wire.queued[2].size(), 0u);
    EXPECT_EQ(p.tx.stats().sent, 6u);
    EXPECT_TRUE(p.tx.pending());
    // Numbered in sending order.
    for (uint32_t i = 0; i < 6; ++i) {
        uint32_t mseq = 99;
        Frame f = decode_one(p.wire.queued[0][i]);
        ASSERT_TRUE(unwrap_lane_media(f, mseq));
        EXPECT_EQ(mseq, i);
    }
}

TEST(LaneSender, AcksClearTheHistory)
{
    Pair p(3);
    for (int i = 0; i < 30; ++i)
        ASSERT_TRUE(p.send(0));
    EXPECT_GT(p.tx.stored_bytes(), 0u);
    EXPECT_GT(total_unacked(p.tx), 0u);
    p.tick(tick_ms);
    EXPECT_FALSE(p.tx.pending());
    EXPECT_EQ(total_unacked(p.tx), 0u);
    EXPECT_EQ(p.tx.stored_bytes(), 0u);
    EXPECT_EQ(p.times_delivered.size(), 30u);
    EXPECT_EQ(p.tx.stats().resent, 0u);
}

TEST(LaneSender, AcksThatGoBackwardsOrTooFarAreIgnored)
{
    Pair p(1);
    ASSERT_TRUE(p.send(0));
    ASSERT_TRUE(p.send(0));
    const size_t both = p.tx.unacked_bytes(0);
    LaneAck a;
    a.lanes = 1;
    a.received[0] = 3;  // more than was queued
    p.tx.on_ack(a, 1);
    EXPECT_EQ(p.tx.unacked_bytes(0), both);
    a.received[0] = 0xffffffff;  // "behind" by one
    p.tx.on_ack(a, 1);
    EXPECT_EQ(p.tx.unacked_bytes(0), both);
    a.received[0] = 1;
    p.tx.on_ack(a, 1);
    EXPECT_EQ(p.tx.unacked_bytes(0), both / 2);
    a.received[0] = 0;  // backwards
    p.tx.on_ack(a, 2);
    EXPECT_EQ(p.tx.unacked_bytes(0), both / 2);
    // Lanes the sender does not have are ignored.
    a.lanes = 4;
    a.received[0] = 2;
    a.received[3] = 99;
    p.tx.on_ack(a, 3);
    EXPECT_FALSE(p.tx.pending());
}

TEST(LaneSender, StalledLaneIsHedged)
{
    Pair p(3);
    p.held[0] = true;
    // Six packets every 20 ms for a second: lane 0, the one media is on,
    // takes them until it is found stalled, and none after.
    int64_t now = 0;
    for (; now <= 1000; now += tick_ms) {
        if (now % 20 == 0) {
            for (int i = 0; i < 6; ++i)
                ASSERT_TRUE(p.send(now));
        }
        p.tick(now);
    }
    EXPECT_TRUE(p.tx.stalled(0));
    EXPECT_EQ(p.tx.stats().stalls, 1u);
    const size_t held_back = p.wire.queued[0].size();
    EXPECT_GT(held_back, 2u);
    EXPECT_EQ(p.tx.stats().resent, held_back);
    EXPECT_EQ(p.tx.stats().late_dropped, 0u);
    // Every packet arrived once, no later than the hedge delay and one tick.
    ASSERT_EQ(p.times_delivered.size(), p.next);
    for (const auto &[id, times] : p.times_delivered) {
        EXPECT_EQ(times, 1) << id;
        EXPECT_LE(p.latency[id], int64_t(p.tx.hedge_ms()) + tick_ms) << id;
    }
    EXPECT_EQ(p.tx.hedge_ms(), default_hedge_min_ms);  // acks come within a tick

    // Lane 0 comes back: its copies arrive late and are dropped as second
    // copies; its ack makes it healthy again, a spare now.
    p.held[0] = false;
    p.tick(now);
    now += lane_ack_delay_ms;
    p.tick(now);  // acks go at most every lane_ack_delay_ms
    EXPECT_EQ(p.rx.stats().duplicates, held_back);
    EXPECT_FALSE(p.tx.stalled(0));
    for (const auto &[id, times] : p.times_delivered)
        EXPECT_EQ(times, 1) << id;
    EXPECT_FALSE(p.tx.pending());
    EXPECT_EQ(p.tx.stored_bytes(), 0u);
    now += tick_ms;
    // Media stays on the lane it moved to.
    for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(p.send(now));
    EXPECT_EQ(p.wire.queued[0].size(), 0u);
    EXPECT_EQ(p.wire.queued[1].size(), 3u);
}

TEST(LaneSender, HedgeFollowsTheAckDelay)
{
    Pair p(2);
    ASSERT_TRUE(p.send(0));
    p.arrive(0, 100);
    p.ack(100);
    EXPECT_EQ(p.tx.hedge_ms(), 200u);  // the first sample is taken as it is
    ASSERT_TRUE(p.send(100));
    p.arrive(0, 108);
    p.ack(108);
    // Smoothed 100 + (8 - 100) / 8 = 88.5.
    EXPECT_EQ(p.tx.hedge_ms(), 177u);
    for (int64_t t = 108; t < 2000; t += 10) {
        ASSERT_TRUE(p.send(t));
        p.arrive(0, t + 1);
        p.arrive(1, t + 1);
        p.ack(t + 1);
    }
    EXPECT_EQ(p.tx.hedge_ms(), default_hedge_min_ms);
}

TEST(LaneSender, SlowAcksAreNotStalls)
{
    // A path whose acks take 120 ms: until the first one, 40 ms is the
    // guess and lanes are found stalled; once the ack delay is known the
    // hedge delay is above it, and nothing is sent twice any more.
    Pair p(3);
    std::vector<std::pair<int64_t, LaneAck>> in_flight;
    uint64_t resent_at_1s = 0;
    for (int64_t now = 0; now <= 3000; now += tick_ms) {
        if (now % 20 == 0) {
            ASSERT_TRUE(p.send(now));
        }
        p.tx.check(now, p.wire);
        for (unsigned i = 0; i < 3; ++i)
            p.arrive(i, now);
        if (p.rx.ack_due(now, false))
            in_flight.emplace_back(now + 120, p.rx.take_ack(now));
        while (!in_flight.empty() && in_flight.front().first <= now) {
            p.tx.on_ack(in_flight.front().second, now);
            in_flight.erase(in_flight.begin());
        }
        if (now == 1000)
            resent_at_1s = p.tx.stats().resent;
    }
    EXPECT_GE(p.tx.hedge_ms(), 240u);
    EXPECT_GT(resent_at_1s, 0u);
    EXPECT_EQ(p.tx.stats().resent, resent_at_1s);
    for (unsigned i = 0; i < 3; ++i)
        EXPECT_FALSE(p.tx.stalled(i)) << i;
    ASSERT_EQ(p.times_delivered.size(), p.next);
    for (const auto &[id, times] : p.times_delivered)
        EXPECT_EQ(times, 1) << id;
}

TEST(LaneSender, DeadlineDropsOldCopies)
{
    Pair p(2);
    p.tx.set_open(0, false);  // only lane 1 until 310 ms
    p.held[1] = true;
    ASSERT_TRUE(p.send(0));
    ASSERT_TRUE(p.send(200));  // lane 1 is behind, but the only one open
    EXPECT_EQ(p.wire.queued[1].size(), 2u);
    p.tx.set_open(0, true);
    p.tick(310);
    EXPECT_EQ(p.tx.stats().stalls, 1u);
    EXPECT_EQ(p.tx.stats().late_dropped, 1u);  // sent at 0: past 300 ms
    EXPECT_EQ(p.tx.stats().resent, 1u);        // sent at 200: again on lane 0
    ASSERT_EQ(p.times_delivered.size(), 1u);
    EXPECT_EQ(p.times_delivered.count(1), 1u);
    EXPECT_FALSE(p.tx.pending());
}

TEST(LaneSender, DeadlineCountsFromTheFirstSending)
{
    Pair p(3);
    p.held[0] = p.held[1] = true;
    ASSERT_TRUE(p.send(0));  // lane 0
    p.tick(45);              // stalled: again on lane 1 (lane 2 equally empty: the lower)
    EXPECT_EQ(p.tx.stats().resent, 1u);
    EXPECT_EQ(p.wire.queued[1].size(), 1u);
    p.tick(90);  // lane 1 stalled too: on to lane 2
    EXPECT_EQ(p.tx.stats().resent, 2u);
    EXPECT_EQ(p.times_delivered.size(), 1u);

    Pair q(3);
    q.held[0] = q.held[1] = q.held[2] = true;
    ASSERT_TRUE(q.send(0));
    q.tick(45);
    q.tick(90);
    q.tick(135);  // every lane stalled; the copy waits on lane 2
    EXPECT_EQ(q.tx.stats().resent, 2u);
    q.held[0] = false;
    q.tick(140);  // lane 0's first copy arrives; nothing to resend
    q.tick(300);  // lane 2's copy is 300 ms past its first sending
    EXPECT_EQ(q.tx.stats().late_dropped, 1u);
    EXPECT_EQ(q.tx.stats().resent, 2u);
    EXPECT_FALSE(q.tx.pending());
}

TEST(LaneSender, AllLanesStalled)
{
    Pair p(3);
    for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(p.send(0));
    p.tick(5);
    p.held[0] = p.held[1] = p.held[2] = true;
    // One frame on each lane: the full queues of the others steer it.
    for (unsigned lane = 0; lane < 3; ++lane) {
        for (unsigned i = 0; i < 3; ++i)
            p.wire.full[i] = i != lane;
        ASSERT_TRUE(p.send(20));
        EXPECT_EQ(p.wire.queued[lane].size(), 1u) << lane;
    }
    p.wire.full[0] = p.wire.full[1] = p.wire.full[2] = false;
    p.held[1] = false;
    p.tick(5 + lane_ack_delay_ms);  // lane 1 delivers and is acked: the most recent ack
    p.held[1] = true;
    p.wire.full[0] = p.wire.full[2] = true;
    ASSERT_TRUE(p.send(30));  // lane 1 again
    p.wire.full[0] = p.wire.full[2] = false;
    EXPECT_EQ(p.wire.queued[1].size(), 1u);
    p.tick(100);
    for (unsigned i = 0; i < 3; ++i)
        EXPECT_TRUE(p.tx.stalled(i)) << i;
    EXPECT_EQ(p.tx.stats().resent, 0u);  // nowhere healthy to go
    EXPECT_TRUE(p.tx.pending());
    EXPECT_EQ(p.tx.best_lane(100), 1u);
    ASSERT_TRUE(p.send(100));  // to the lane acked most recently
    EXPECT_EQ(p.wire.queued[1].size(), 2u);

    // Lane 0 catches up: the others' copies move there.
    p.held[0] = false;
    p.tick(105);
    EXPECT_FALSE(p.tx.stalled(0));
    p.tick(110);
    EXPECT_EQ(p.tx.stats().resent, 3u);  // lane 2's one, lane 1's two
    p.tick(105 + lane_ack_delay_ms);
    for (uint32_t id = 0; id < p.next; ++id)
        EXPECT_EQ(p.times_delivered[id], 1) << id;
    EXPECT_FALSE(p.tx.pending());
}

TEST(LaneSender, ClosedLanesTakeNoMedia)
{
    LaneSender tx(3);
    FakeLanes wire;
    for (int i = 0; i < 10; ++i)
        ASSERT_TRUE(tx.send(phone(), nullptr, 0, 0, wire));
    EXPECT_EQ(wire.queued[0].size(), 10u);
    EXPECT_TRUE(wire.queued[1].empty());
    EXPECT_TRUE(wire.queued[2].empty());
    tx.set_open(2, true);
    EXPECT_EQ(tx.best_lane(0), 0u);  // media stays where it is while healthy
    ASSERT_TRUE(tx.send(phone(), nullptr, 0, 30, wire));
    EXPECT_EQ(wire.queued[0].size(), 11u);

    // Lane 0 stalls; its copies go to lane 2 only, never to closed lane 1.
    tx.check(100, wire);
    EXPECT_TRUE(wire.queued[1].empty());
    EXPECT_EQ(wire.queued[2].size(), 11u);
    EXPECT_EQ(tx.stats().resent, 11u);
    EXPECT_EQ(tx.best_lane(100), 2u);

    tx.set_open(0, false);
    tx.set_open(2, false);
    tx.set_open(7, true);  // not a lane of this sender: ignored
    EXPECT_FALSE(tx.send(phone(), nullptr, 0, 200, wire));
    EXPECT_EQ(tx.stats().refused, 1u);
    EXPECT_EQ(tx.best_lane(200), 0u);
}

TEST(LaneSender, FullLaneQueueGoesElsewhere)
{
    Pair p(2);
    p.wire.full[0] = true;
    ASSERT_TRUE(p.send(0));
    EXPECT_EQ(p.wire.queued[1].size(), 1u);
    p.wire.full[1] = true;
    EXPECT_FALSE(p.send(0));
    EXPECT_EQ(p.tx.stats().refused, 1u);
    EXPECT_EQ(p.tx.stats().sent, 1u);
    p.wire.full[0] = p.wire.full[1] = false;
    p.tick(5);
    EXPECT_FALSE(p.tx.pending());
    EXPECT_EQ(p.tx.stored_bytes(), 0u);
}

TEST(LaneSender, RefusesWhatBreaksTheFrameRules)
{
    LaneSender tx(1);
    FakeLanes wire;
    std::vector<uint8_t> big(frame_max_payload);
    EXPECT_FALSE(tx.send(phone(), big.data(), big.size(), 0, wire));
    RaHeader bad = phone();
    bad.family = 0;
    EXPECT_FALSE(tx.send(bad, big.data(), 10, 0, wire));
    EXPECT_EQ(tx.stats().refused, 2u);
    EXPECT_TRUE(wire.queued[0].empty());
    EXPECT_FALSE(tx.pending());
}

TEST(LaneSender, HistoryLimitForgetsTheOldestCopies)
{
    LaneSender::Settings s;
    s.history_bytes = 0;  // raised to the smallest store
    Pair p(2, s);
    const std::vector<uint8_t> packet(160, 0x55);
    for (int i = 0; i < 2000; ++i)
        ASSERT_TRUE(p.tx.send(phone(), packet.data(), packet.size(), 0, p.wire));
    const size_t frame_len = p.wire.queued[0].front().size();
    EXPECT_GT(p.tx.stats().history_full, 0u);
    EXPECT_LE(p.tx.stored_bytes(), p.tx.store_capacity());
    EXPECT_LT(p.tx.store_capacity(), 2000 * frame_len);
    // What was not forgotten is still waiting for its ack.
    EXPECT_EQ(total_unacked(p.tx), (p.tx.stats().sent - p.tx.stats().history_full) * frame_len);
    // Acks for forgotten copies are fine; all of it goes.
    for (unsigned i = 0; i < 2; ++i)
        p.wire.queued[i].clear();
    LaneAck a;
    a.lanes = 2;
    a.received[0] = 2000;  // all of it went on lane 0
    p.tx.on_ack(a, 1);
    EXPECT_FALSE(p.tx.pending());
    EXPECT_EQ(p.tx.stored_bytes(), 0u);
}

TEST(LaneSender, StoreGrowsUpToTheHistoryAndKeepsItsCopies)
{
    Pair p(3);
    p.held[0] = p.held[1] = p.held[2] = true;
    ASSERT_TRUE(p.send(0));
    const size_t first_capacity = p.tx.store_capacity();
    const size_t frame_len = p.wire.queued[0].front().size();
    for (int i = 1; i < 1500; ++i)
        ASSERT_TRUE(p.send(0));
    // The oldest copies acknowledged: the next ones fill the ring's end,
    // wrap to its start, and then need a larger store.
    LaneAck a;
    a.lanes = 3;
    a.received[0] = a.received[1] = a.received[2] = 400;
    p.tx.on_ack(a, 1);
    for (int i = 0; i < 2000; ++i)
        ASSERT_TRUE(p.send(2));
    EXPECT_GT(p.tx.store_capacity(), first_capacity);
    EXPECT_LE(p.tx.store_capacity(), default_lane_history_bytes);
    EXPECT_EQ(p.tx.stats().history_full, 0u);
    // All of it on lane 0, where media stays; the ack's counts for lanes
    // that carried nothing are ignored.
    const size_t on_lane_0 = p.tx.unacked_bytes(0);
    EXPECT_EQ(on_lane_0, (3500 - 400) * frame_len);
    EXPECT_EQ(total_unacked(p.tx), on_lane_0);

    // Every copy survived the move: lane 0 stalls, its copies go out again
    // on lane 1, and in the end everything was delivered once.
    p.tick(50);
    EXPECT_TRUE(p.tx.stalled(0));
    EXPECT_EQ(p.tx.unacked_bytes(0), 0u);
    EXPECT_EQ(p.tx.stats().resent * frame_len, on_lane_0);
    p.held[0] = p.held[1] = p.held[2] = false;
    p.tick(55);
    EXPECT_FALSE(p.tx.pending());
    EXPECT_EQ(p.tx.stored_bytes(), 0u);
    ASSERT_EQ(p.times_delivered.size(), p.next);
    for (const auto &[id, times] : p.times_delivered)
        EXPECT_EQ(times, 1) << id;
}

TEST(LaneSender, SteadyMediaKeepsItsStore)
{
    Pair p(3);
    size_t capacity = 0;
    for (int64_t now = 0; now <= 10000; now += tick_ms) {
        for (int i = 0; i < 5; ++i)
            ASSERT_TRUE(p.send(now));
        p.tick(now);
        if (now == 100)
            capacity = p.tx.store_capacity();
    }
    EXPECT_GT(capacity, 0u);
    EXPECT_EQ(p.tx.store_capacity(), capacity);
    EXPECT_EQ(p.times_delivered.size(), p.next);
}
