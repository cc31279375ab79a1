// The media quality figures of one direction (core/rtp_quality.hpp): what
// counts as RTP, loss by sequence gaps (wrap, reordering, duplicates,
// restarts, new sources), RFC 3550 jitter against a sequence computed by
// hand, the shares of late packets, the per-second history and the counter
// increments.
#include "core/rtp_quality.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace sofw::hras;

namespace {

constexpr uint32_t ssrc_a = 0x11223344, ssrc_b = 0x55667788;

// An RTP packet (RFC 3550 5.1) with 160 bytes of payload.
std::vector<uint8_t> rtp(uint16_t seq, uint32_t ts, uint32_t ssrc = ssrc_a, uint8_t pt = 0, bool marker = false)
{
    std::vector<uint8_t> p(12 + 160, 0xd5);
    p[0] = 0x80;
    p[1] = uint8_t((marker ? 0x80 : 0) | pt);
    p[2] = uint8_t(seq >> 8);
    p[3] = uint8_t(seq);
    for (int i = 0; i < 4; i++) {
        p[4 + size_t(i)] = uint8_t(ts >> (24 - 8 * i));
        p[8 + size_t(i)] = uint8_t(ssrc >> (24 - 8 * i));
    }
    return p;
}

bool feed(RtpQuality &q, const std::vector<uint8_t> &p, int64_t arrival_us)
{
    return q.on_packet(p.data(), p.size(), arrival_us);
}

// Packets seq first.. (ts 160 apart, 20 ms apart, on time) except those in skip.
void feed_run(RtpQuality &q, uint16_t first, int n, const std::vector<uint16_t> &skip = {}, uint32_t ssrc = ssrc_a)
{
    for (int i = 0; i < n; i++) {
        uint16_t seq = uint16_t(first + i);
        bool skipped = false;
        for (uint16_t s : skip)
            skipped |= s == seq;
        if (!skipped) {
            ASSERT_TRUE(feed(q, rtp(seq, uint32_t(seq) * 160, ssrc), int64_t(seq) * 20000));
        }
    }
}

}  // namespace

// --- what is RTP -----------------------------------------------------------

TEST(RtpHeaderParse, TheFixedHeaderIsRead)
{
    RtpHeader h;
    auto p = rtp(0xabcd, 0x01020304, 0xdeadbeef, 8, true);
    ASSERT_TRUE(parse_rtp_header(p.data(), p.size(), h));
    EXPECT_EQ(8, h.payload_type) << "the marker bit is not part of the payload type";
    EXPECT_EQ(0xabcd, h.seq);
    EXPECT_EQ(0x01020304u, h.timestamp);
    EXPECT_EQ(0xdeadbeefu, h.ssrc);
    ASSERT_TRUE(parse_rtp_header(p.data(), 12, h)) << "a header alone (no payload) is RTP";
}

TEST(RtpHeaderParse, AnythingButVersion2AndTwelveBytesIsRefused)
{
    RtpHeader h;
    auto p = rtp(1, 160);
    EXPECT_FALSE(parse_rtp_header(p.data(), 11, h));
    EXPECT_FALSE(parse_rtp_header(nullptr, 0, h));
    for (uint8_t v : {0x00, 0x40, 0xc0}) {
        p[0] = v;
        EXPECT_FALSE(parse_rtp_header(p.data(), p.size(), h)) << int(v);
    }
    const std::string text = "rtp-down-1 and other bytes";
    EXPECT_FALSE(parse_rtp_header(reinterpret_cast<const uint8_t *>(text.data()), text.size(), h));
}

TEST(RtpHeaderParse, RtcpOnTheRtpPortIsNotRtp)
{
    RtpHeader h;
    auto p = rtp(1, 160);
    // RTCP SR, RR, SDES, BYE, APP (200..204) and the rest of 192..223: the
    // second byte is the packet type, read as marker + payload type 64..95.
    for (int type = 192; type <= 223; type++) {
        p[1] = uint8_t(type);
        EXPECT_FALSE(parse_rtp_header(p.data(), p.size(), h)) << type;
    }
    for (int pt : {0, 8, 63, 96, 101, 127}) {
        p[1] = uint8_t(pt);
        EXPECT_TRUE(parse_rtp_header(p.data(), p.size(), h)) << pt;
    }
}

TEST(RtpHeaderParse, CsrcListExtensionAndPaddingMustFit)
{
    RtpHeader h;
    std::vector<uint8_t> p = rtp(1, 160);
    p.resize(12 + 8);
    p[0] = 0x82;  // two CSRCs: 8 bytes
    EXPECT_TRUE(parse_rtp_header(p.data(), 20, h));
    EXPECT_FALSE(parse_rtp_header(p.data(), 19, h));

    p.assign(12 + 4 + 8, 0);
    p[0] = 0x90;  // an extension of 2 words
    p[12 + 3] = 2;
    EXPECT_TRUE(parse_rtp_header(p.data(), p.size(), h));
    EXPECT_FALSE(parse_rtp_header(p.data(), p.size() - 1, h));
    p[12 + 2] = 0xff;  // 65282 words
    EXPECT_FALSE(parse_rtp_header(p.data(), p.size(), h));
    EXPECT_FALSE(parse_rtp_header(p.data(), 15, h)) << "the extension header itself cut";

    p.assign(12 + 4, 0);
    p[0] = 0xa0;  // padding
    p.back() = 4;
    EXPECT_TRUE(parse_rtp_header(p.data(), p.size(), h));
    p.back() = 5;
    EXPECT_FALSE(parse_rtp_header(p.data(), p.size(), h)) << "more padding than payload";
    p.back() = 0;
    EXPECT_FALSE(parse_rtp_header(p.data(), p.size(), h)) << "a padding count of 0";
}

TEST(RtpQualityPackets, WhatIsNotRtpIsNotCounted)
{
    RtpQuality q;
    auto rtcp = rtp(1, 160);
    rtcp[1] = 200;
    EXPECT_FALSE(feed(q, rtcp, 0));
    EXPECT_TRUE(feed(q, rtp(1, 160), 0));
    EXPECT_EQ(1u, q.figures().packets);
}

// --- loss ------------------------------------------------------------------

TEST(RtpQualityLoss, SequenceGapsAreLost)
{
    RtpQuality q;
    feed_run(q, 1, 10, {4, 7});
    RtpQualityFigures f = q.figures();
    EXPECT_EQ(8u, f.packets);
    EXPECT_EQ(10u, f.expected);
    EXPECT_EQ(2u, f.lost);
    EXPECT_DOUBLE_EQ(20.0, f.loss_percent());
}

TEST(RtpQualityLoss, ACleanStreamLosesNothing)
{
    RtpQuality q;
    feed_run(q, 1000, 500);
    RtpQualityFigures f = q.figures();
    EXPECT_EQ(500u, f.packets);
    EXPECT_EQ(500u, f.expected);
    EXPECT_EQ(0u, f.lost);
    EXPECT_DOUBLE_EQ(0.0, f.loss_percent());
    EXPECT_DOUBLE_EQ(0.0, RtpQuality().figures().loss_percent()) << "nothing expected, nothing lost";
}

TEST(RtpQualityLoss, TheSequenceNumberWraps)
{
    RtpQuality q;
    // 65530 .. 65535, 0 .. 5: twelve sent, 65533 and 1 missing
    feed_run(q, 65530, 12, {65533, 1});
    RtpQualityFigures f = q.figures();
    EXPECT_EQ(12u, f.expected);
    EXPECT_EQ(2u, f.lost);

    // Several wraps of a clean stream: nothing lost.
    RtpQuality clean;
    feed_run(clean, 60000, 30000);
    feed_run(clean, uint16_t(60000 + 30000), 30000);
    feed_run(clean, uint16_t(60000 + 60000), 30000);
    EXPECT_EQ(90000u, clean.figures().expected);
    EXPECT_EQ(0u, clean.figures().lost);
}

TEST(RtpQualityLoss, ReorderedPacketsAreNotLost)
{
    RtpQuality q;
    for (uint16_t seq : {1, 2, 4, 3, 5, 8, 6, 7, 9})
        ASSERT_TRUE(feed(q, rtp(seq, seq * 160u), seq * 20000));
    EXPECT_EQ(9u, q.figures().expected);
    EXPECT_EQ(0u, q.figures().lost);

    // Reordered across the wrap.
    RtpQuality w;
    for (uint16_t seq : {65534, 0, 65535, 1})
        ASSERT_TRUE(feed(w, rtp(seq, 0), 0));
    EXPECT_EQ(4u, w.figures().expected);
    EXPECT_EQ(0u, w.figures().lost);
}

TEST(RtpQualityLoss, DuplicatesNeverMakeLossNegative)
{
    RtpQuality q;
    for (uint16_t seq : {1, 2, 2, 3, 3, 3})
        ASSERT_TRUE(feed(q, rtp(seq, 0), 0));
    RtpQualityFigures f = q.figures();
    EXPECT_EQ(6u, f.packets);
    EXPECT_EQ(3u, f.expected);
    EXPECT_EQ(0u, f.lost);
}

TEST(RtpQualityLoss, OneStrayPacketFarOffIsIgnoredTwoInSequenceAreARestart)
{
    RtpQuality q;
    feed_run(q, 1, 5);
    ASSERT_TRUE(feed(q, rtp(40000, 0), 0));  // far off: not the stream
    feed_run(q, 6, 2);
    RtpQualityFigures f = q.figures();
    EXPECT_EQ(8u, f.packets) << "it is RTP all the same";
    EXPECT_EQ(7u, f.expected) << "but no 33000 packets were lost";
    EXPECT_EQ(0u, f.lost);

    // The sender restarts its numbering (same SSRC): two in sequence there.
    ASSERT_TRUE(feed(q, rtp(30000, 0), 0));
    ASSERT_TRUE(feed(q, rtp(30001, 160), 20000));
    feed_run(q, 30002, 3, {30003});
    f = q.figures();
    EXPECT_EQ(7u + 4u, f.expected) << "the old count, then 30001..30004";
    EXPECT_EQ(1u, f.lost) << "30003";
}

TEST(RtpQualityLoss, ANewSsrcIsANewSourceAndTheCountsGoOn)
{
    RtpQuality q;
    feed_run(q, 1, 3, {2}, ssrc_a);
    feed_run(q, 5000, 4, {5002}, ssrc_b);
    RtpQualityFigures f = q.figures();
    EXPECT_EQ(5u, f.packets);
    EXPECT_EQ(3u + 4u, f.expected);
    EXPECT_EQ(2u, f.lost);
}

// --- jitter ----------------------------------------------------------------

TEST(RtpQualityJitter, FollowsRfc3550ByHand)
{
    // 8000 Hz, a packet every 160 ticks (20 ms). Transit times (arrival -
    // timestamp) in ms: 1000, 1000, 1005, 1000, 1000; |D|: 0, 5, 5, 0.
    // J = J + (|D| - J) / 16:
    //   0 + (0 - 0) / 16             = 0
    //   0 + (5 - 0) / 16             = 0.3125
    //   0.3125 + (5 - 0.3125) / 16   = 0.60546875
    //   0.60546875 + (0 - ...) / 16  = 0.567626953125
    const int64_t arrival_ms[] = {1000, 1020, 1045, 1060, 1080};
    RtpQuality q;
    std::vector<double> seen;
    for (int i = 0; i < 5; i++) {
        ASSERT_TRUE(feed(q, rtp(uint16_t(i), uint32_t(i) * 160), arrival_ms[i] * 1000));
        seen.push_back(q.figures().jitter_ms);
    }
    const double expected[] = {0, 0, 0.3125, 0.60546875, 0.567626953125};
    for (int i = 0; i < 5; i++)
        EXPECT_NEAR(expected[i], seen[size_t(i)], 1e-9) << "after packet " << i;
}

TEST(RtpQualityJitter, CountsInTheStreamsClock)
{
    // The same arrivals with a 48 kHz clock (960 ticks a packet): the same
    // jitter in ms. Read at 8000 Hz, the same timestamps would be 6 times
    // too far apart, and the jitter large.
    const int64_t arrival_ms[] = {1000, 1020, 1045, 1060, 1080};
    RtpQuality opus, wrong;
    opus.set_clock(48000);
    for (int i = 0; i < 5; i++) {
        ASSERT_TRUE(feed(opus, rtp(uint16_t(i), uint32_t(i) * 960), arrival_ms[i] * 1000));
        ASSERT_TRUE(feed(wrong, rtp(uint16_t(i), uint32_t(i) * 960), arrival_ms[i] * 1000));
    }
    EXPECT_NEAR(0.567626953125, opus.figures().jitter_ms, 1e-9);
    EXPECT_GT(wrong.figures().jitter_ms, 10.0);
    EXPECT_EQ(48000u, opus.clock());
    opus.set_clock(0);
    EXPECT_EQ(RtpQuality::default_clock_hz, opus.clock());
}

TEST(RtpQualityJitter, PerfectTimingAcrossTheTimestampWrapIsNoJitter)
{
    RtpQuality q;
    const uint32_t ts0 = 0xffffff00u;  // wraps after two packets
    for (int i = 0; i < 10; i++)
        ASSERT_TRUE(feed(q, rtp(uint16_t(i), ts0 + uint32_t(i) * 160), 5000000 + int64_t(i) * 20000));
    EXPECT_NEAR(0.0, q.figures().jitter_ms, 1e-9);
    EXPECT_EQ(0u, q.figures().late[0]);
}

// --- late packets ----------------------------------------------------------

TEST(RtpQualityLate, SharesBehindTheEarliestArrivalsSchedule)
{
    // Schedule: a packet every 20 ms (160 ticks). Arrival - schedule in ms:
    //   p0 0 (the baseline), p1 0, p2 70, p3 160, p4 145, p5 0,
    //   p6 -10 (earlier than all: the new baseline), p7 55 (65 behind it).
    const int64_t behind_ms[] = {0, 0, 70, 160, 145, 0, -10, 55};
    RtpQuality q;
    for (int i = 0; i < 8; i++)
        ASSERT_TRUE(feed(q, rtp(uint16_t(i), uint32_t(i) * 160), (10000 + i * 20 + behind_ms[i]) * 1000));
    RtpQualityFigures f = q.figures();
    EXPECT_EQ(8u, f.packets);
    EXPECT_EQ(4u, f.late[0]) << "p2, p3, p4, p7 more than 60 ms behind";
    EXPECT_EQ(1u, f.late[1]) << "p3 more than 150 ms behind";
    EXPECT_DOUBLE_EQ(50.0, f.late_percent(0));
    EXPECT_DOUBLE_EQ(12.5, f.late_percent(1));
    EXPECT_DOUBLE_EQ(0.0, f.late_percent(2)) << "no such threshold";
}

TEST(RtpQualityLate, ATunnelHoldingPacketsBackAndReleasingThemAtOnce)
{
    // 20 ms packets; the tunnel holds p5..p14 back (a lost TCP segment) and
    // they all come out together 250 ms after p5 was due.
    RtpQuality q;
    for (int i = 0; i < 20; i++) {
        int64_t due_ms = 10000 + i * 20;
        int64_t at_ms = i >= 5 && i < 15 ? 10000 + 5 * 20 + 250 : due_ms;
        ASSERT_TRUE(feed(q, rtp(uint16_t(i), uint32_t(i) * 160), at_ms * 1000));
    }
    // p5..p14 behind by 250, 230, ..., 70 ms: all ten > 60, the first five > 150.
    RtpQualityFigures f = q.figures();
    EXPECT_EQ(10u, f.late[0]);
    EXPECT_EQ(5u, f.late[1]);
    EXPECT_DOUBLE_EQ(50.0, f.late_percent(0));
    EXPECT_DOUBLE_EQ(25.0, f.late_percent(1));
    EXPECT_EQ(0u, f.lost);
}

TEST(RtpQualityLate, ANewSourceSetsANewBaseline)
{
    RtpQuality q;
    feed_run(q, 1, 5, {}, ssrc_a);
    // Another SSRC, whose timestamps start elsewhere: not late for that.
    for (int i = 0; i < 5; i++)
        ASSERT_TRUE(feed(q, rtp(uint16_t(900 + i), 7777777u + uint32_t(i) * 160, ssrc_b), (200 + i * 20) * 1000));
    EXPECT_EQ(0u, q.figures().late[0]);
}

// --- history and counters --------------------------------------------------

TEST(RtpQualityHistory, OnePointASecondForTheLastMinute)
{
    RtpQuality q;
    EXPECT_EQ(0u, q.history_size());
    // Second k: 50 packets, of which k % 5 in the middle are missing.
    uint16_t seq = 0;
    for (int k = 0; k < 70; k++) {
        for (int i = 0; i < 50; i++, seq++)
            if (!(i >= 10 && i < 10 + k % 5)) {
                ASSERT_TRUE(feed(q, rtp(seq, uint32_t(seq) * 160), int64_t(seq) * 20000));
            }
        q.tick();
        if (k == 2) {
            ASSERT_EQ(3u, q.history_size());
            EXPECT_FLOAT_EQ(0.0f, q.history(0).loss_percent);
            EXPECT_FLOAT_EQ(2.0f, q.history(1).loss_percent);
            EXPECT_FLOAT_EQ(4.0f, q.history(2).loss_percent);
            EXPECT_NEAR(q.figures().jitter_ms, q.history(2).jitter_ms, 1e-6);
        }
    }
    ASSERT_EQ(RtpQuality::history_seconds, q.history_size());
    // The oldest kept is second 10.
    for (size_t i = 0; i < q.history_size(); i++)
        EXPECT_FLOAT_EQ(float((10 + i) % 5 * 2), q.history(i).loss_percent) << i;
    auto all = q.history_points();
    ASSERT_EQ(RtpQuality::history_seconds, all.size());
    EXPECT_FLOAT_EQ(8.0f, all.back().loss_percent);
    EXPECT_FLOAT_EQ(0.0f, q.history(60).loss_percent) << "past the end: nothing";

    // A second without packets: no loss in it.
    q.tick();
    EXPECT_FLOAT_EQ(0.0f, q.history(59).loss_percent);
}

TEST(RtpQualityCounters, WhatGrewSinceTheLastReportAndLossNeverShrinks)
{
    RtpQuality q;
    feed_run(q, 1, 4, {3});
    RtpQualityCounts c = q.take_unreported();
    EXPECT_EQ(3u, c.packets);
    EXPECT_EQ(1u, c.lost);
    c = q.take_unreported();
    EXPECT_EQ(0u, c.packets);
    EXPECT_EQ(0u, c.lost);

    // 3 comes after all: the figures take it back, the counter does not.
    ASSERT_TRUE(feed(q, rtp(3, 480), 60000));
    EXPECT_EQ(0u, q.figures().lost);
    c = q.take_unreported();
    EXPECT_EQ(1u, c.packets);
    EXPECT_EQ(0u, c.lost);
    // ... and does not count the next loss twice either.
    feed_run(q, 5, 3, {6});
    c = q.take_unreported();
    EXPECT_EQ(0u, c.lost) << "lost is 1 again: already reported";
    feed_run(q, 8, 3, {9});
    c = q.take_unreported();
    EXPECT_EQ(1u, c.lost);

    // Late packets.
    RtpQuality l;
    ASSERT_TRUE(feed(l, rtp(1, 0), 0));
    ASSERT_TRUE(feed(l, rtp(2, 160), 200000));  // 180 ms behind
    c = l.take_unreported();
    EXPECT_EQ(1u, c.late[0]);
    EXPECT_EQ(1u, c.late[1]);
    EXPECT_EQ(0u, l.take_unreported().late[0]);
}
