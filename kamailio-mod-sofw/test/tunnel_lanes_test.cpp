// A session's sequenced media in HRAS (core/tunnel_lanes), without sockets:
// acks ride in front of media on the lane media takes, second copies are
// dropped and counted, a stalled lane's media goes out again on another,
// and what the session's lanes do not allow is reported as invalid.
// Over real connections: tunnel_server_test.cpp ("lanes").
#include "core/tunnel_lanes.hpp"

#include "sofw/control.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

using namespace sofw;
using namespace sofw::hras;

namespace {

// Keeps what the lanes queue, per lane, as decoded frames.
struct Capture : LaneOutput {
    std::vector<std::pair<unsigned, Frame>> frames;
    bool queue(unsigned lane, const uint8_t *frame, size_t len) override
    {
        FrameDecoder d;
        d.feed(frame, len);
        Frame f;
        EXPECT_EQ(FrameDecoder::Result::frame, d.next(f));
        EXPECT_EQ(0u, d.buffered()) << "one whole frame per call";
        frames.emplace_back(lane, f);
        return true;
    }
};

const RaHeader phone = RaHeader::parse("192.168.1.10:4000").value();

Frame media(const std::vector<uint8_t> &packet)
{
    Frame f;
    f.type = FrameType::media;
    f.ra = phone;
    f.payload = packet;
    return f;
}

Frame lane_media(uint32_t mseq, const std::vector<uint8_t> &packet)
{
    std::vector<uint8_t> wire;
    EXPECT_TRUE(encode_lane_media(phone, mseq, packet.data(), packet.size(), wire));
    FrameDecoder d;
    d.feed(wire.data(), wire.size());
    Frame f;
    EXPECT_EQ(FrameDecoder::Result::frame, d.next(f));
    return f;
}

Frame ack(unsigned lanes, std::vector<uint32_t> counts)
{
    LaneAck a;
    a.lanes = lanes;
    for (size_t i = 0; i < counts.size(); i++)
        a.received[i] = counts[i];
    return make_lane_ack_frame(a);
}

uint32_t mseq_of(const Frame &f)
{
    Frame copy = f;
    uint32_t m = 0;
    EXPECT_TRUE(unwrap_lane_media(copy, m));
    return m;
}

}  // namespace

TEST(SessionLanes, SequencedMediaIsDeliveredOnceAndSecondCopiesAreCounted)
{
    Stats stats;
    SessionLanes lanes(3, stats);
    Frame f = lane_media(7, {0x80, 1, 2});
    ASSERT_EQ(LaneVerdict::deliver, lanes.on_frame(1, f, 1000));
    EXPECT_EQ(FrameType::media, f.type);
    EXPECT_EQ((std::vector<uint8_t>{0x80, 1, 2}), f.payload);
    ASSERT_TRUE(f.ra);
    EXPECT_TRUE(f.ra->same_endpoint(phone));
    Frame again = lane_media(7, {0x80, 1, 2});
    EXPECT_EQ(LaneVerdict::consumed, lanes.on_frame(2, again, 1001)) << "the same mseq on another lane";
    EXPECT_EQ(1u, stats.get(HRAS_CNT_LANE_DUPLICATES));
    Frame next = lane_media(8, {0x80});
    EXPECT_EQ(LaneVerdict::deliver, lanes.on_frame(0, next, 1002));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_LANE_DUPLICATES));
}

TEST(SessionLanes, AnOwedAckRidesInFrontOfTheNextMediaOnItsLane)
{
    Stats stats;
    SessionLanes lanes(3, stats);
    Frame up = lane_media(0, {0x80});
    ASSERT_EQ(LaneVerdict::deliver, lanes.on_frame(2, up, 1000));
    EXPECT_TRUE(lanes.busy(1000)) << "an ack is owed";
    Capture out;
    ASSERT_TRUE(lanes.send_media(media({0x80, 9}), 1001, out));
    ASSERT_EQ(2u, out.frames.size());
    EXPECT_EQ(out.frames[0].first, out.frames[1].first) << "the same lane, so the same record";
    auto a = decode_lane_ack(out.frames[0].second);
    ASSERT_TRUE(a);
    EXPECT_EQ(3u, a->lanes);
    EXPECT_EQ(0u, a->received[0]);
    EXPECT_EQ(0u, a->received[1]);
    EXPECT_EQ(1u, a->received[2]);
    EXPECT_EQ(encode_frame(ack(3, {0, 0, 1})), encode_frame(out.frames[0].second)) << "byte for byte";
    EXPECT_EQ(FrameType::lane_media, out.frames[1].second.type);
    EXPECT_EQ(0u, mseq_of(out.frames[1].second));
    // Nothing owed any more: the next media goes alone.
    ASSERT_TRUE(lanes.send_media(media({0x80, 10}), 1002, out));
    ASSERT_EQ(3u, out.frames.size());
    EXPECT_EQ(FrameType::lane_media, out.frames[2].second.type);
    EXPECT_EQ(1u, mseq_of(out.frames[2].second));
}

TEST(SessionLanes, TheTimerSendsAnAckAtMostEveryAckDelay)
{
    Stats stats;
    SessionLanes lanes(2, stats);
    Capture out;
    EXPECT_FALSE(lanes.busy(1000));
    Frame a = lane_media(0, {1});
    ASSERT_EQ(LaneVerdict::deliver, lanes.on_frame(0, a, 1000));
    EXPECT_FALSE(lanes.tick(1000, out)) << "the first ack after a quiet spell goes at once";
    ASSERT_EQ(1u, out.frames.size());
    Frame b = lane_media(1, {2});
    ASSERT_EQ(LaneVerdict::deliver, lanes.on_frame(1, b, 1002));
    EXPECT_TRUE(lanes.tick(1003, out));
    EXPECT_EQ(1u, out.frames.size()) << "within lane_ack_delay_ms of the last ack";
    EXPECT_FALSE(lanes.tick(1000 + lane_ack_delay_ms, out));
    ASSERT_EQ(2u, out.frames.size());
    auto got = decode_lane_ack(out.frames[1].second);
    ASSERT_TRUE(got);
    EXPECT_EQ(1u, got->received[0]);
    EXPECT_EQ(1u, got->received[1]);
}

TEST(SessionLanes, AStalledLanesMediaGoesOutAgainOnAnother)
{
    Stats stats;
    SessionLanes lanes(3, stats);
    lanes.set_open(1);
    lanes.set_open(2);
    Capture out;
    for (uint8_t i = 0; i < 3; i++)
        ASSERT_TRUE(lanes.send_media(media({0x80, i}), 1000, out));
    ASSERT_EQ(3u, out.frames.size());
    for (auto &[lane, f] : out.frames)
        EXPECT_EQ(0u, lane) << "media keeps to a healthy lane";
    EXPECT_TRUE(lanes.busy(1000));
    EXPECT_TRUE(lanes.tick(1020, out));
    EXPECT_EQ(3u, out.frames.size()) << "not stalled before the hedge delay";
    // No ack for lane 0 past the hedge delay: its three go out again on a spare.
    lanes.tick(1000 + default_hedge_min_ms + 10, out);
    ASSERT_EQ(6u, out.frames.size());
    for (size_t i = 0; i < 3; i++) {
        EXPECT_NE(0u, out.frames[3 + i].first) << "on a spare";
        EXPECT_EQ(encode_frame(out.frames[i].second), encode_frame(out.frames[3 + i].second))
            << "the same frame, same mseq";
    }
    EXPECT_EQ(3u, stats.get(HRAS_CNT_LANE_RESENT));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_LANE_STALLS));
    // New media avoids the stalled lane.
    ASSERT_TRUE(lanes.send_media(media({0x80, 3}), 1000 + default_hedge_min_ms + 11, out));
    EXPECT_NE(0u, out.frames.back().first);
    EXPECT_EQ(3u, mseq_of(out.frames.back().second));
}

TEST(SessionLanes, WhatTheLanesDoNotAllowIsInvalid)
{
    Stats stats;
    SessionLanes lanes(2, stats);
    Frame too_many = ack(3, {0, 0, 0});
    EXPECT_EQ(LaneVerdict::invalid, lanes.on_frame(0, too_many, 1000)) << "names more lanes than the session has";
    Frame fewer = ack(1, {0});
    EXPECT_EQ(LaneVerdict::consumed, lanes.on_frame(1, fewer, 1000));
    Frame cut = ack(2, {0, 0});
    cut.payload.pop_back();
    EXPECT_EQ(LaneVerdict::invalid, lanes.on_frame(0, cut, 1000));
    Frame short_media = lane_media(0, {});
    short_media.payload.resize(2);  // shorter than its mseq
    EXPECT_EQ(LaneVerdict::invalid, lanes.on_frame(0, short_media, 1000));
    Frame no_ra = media({1});
    no_ra.ra.reset();
    Capture out;
    EXPECT_FALSE(lanes.send_media(no_ra, 1000, out));
    EXPECT_TRUE(out.frames.empty());
}

TEST(SessionLanes, OnlyLaneMediaAndLaneAcksAreLaneFrames)
{
    EXPECT_TRUE(is_lane_frame(lane_media(0, {1})));
    EXPECT_TRUE(is_lane_frame(ack(2, {0, 0})));
    EXPECT_FALSE(is_lane_frame(media({1})));
    EXPECT_FALSE(is_lane_frame(make_control_frame({ControlOp::stream_ok, 0})));
    EXPECT_FALSE(is_lane_frame(keepalive_frame()));
}

TEST(LaneTimerSites, ListsEachSiteOnceUntilItIsNoLongerBusy)
{
    LaneTimerSites sites(4);
    EXPECT_TRUE(sites.empty());
    EXPECT_TRUE(sites.add(2));
    EXPECT_FALSE(sites.add(2)) << "listed once";
    EXPECT_TRUE(sites.add(0));
    EXPECT_FALSE(sites.add(4)) << "no such site";
    std::vector<size_t> asked;
    sites.sweep([&](size_t site) {
        asked.push_back(site);
        return site == 0;
    });
    EXPECT_EQ((std::vector<size_t>{2, 0}), asked);
    EXPECT_FALSE(sites.empty());
    EXPECT_TRUE(sites.add(2)) << "dropped by the sweep, so listed again";
    EXPECT_FALSE(sites.add(0));
    sites.sweep([](size_t) { return false; });
    EXPECT_TRUE(sites.empty());
}
