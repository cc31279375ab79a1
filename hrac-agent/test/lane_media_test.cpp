// LaneMedia, HRAC's driver of the lanes logic, against a recording lane
// output and a clock the test sets: what goes onto which lane (media
// numbered, acks riding along or on their own, resends of a stalled lane),
// what comes down (first copies handed on, duplicates and bad acks not),
// and the counters it keeps.
#include "lane_media.hpp"

#include <sofw/control.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace hrac;

namespace {

// What LaneMedia puts onto the lanes, decoded frame by frame.
struct Output : sofw::LaneOutput {
    struct Queued {
        unsigned lane;
        sofw::Frame frame;
    };
    std::vector<Queued> queued;
    bool refuse = false;

    bool queue(unsigned lane, const uint8_t *bytes, size_t len) override
    {
        if (refuse)
            return false;
        sofw::FrameDecoder d;
        d.feed(bytes, len);
        sofw::Frame f;
        EXPECT_EQ(d.next(f), sofw::FrameDecoder::Result::frame);
        EXPECT_EQ(d.buffered(), 0u) << "one frame per queue()";
        queued.push_back({lane, f});
        return true;
    }
    std::vector<Queued> of_type(sofw::FrameType t) const
    {
        std::vector<Queued> out;
        for (const Queued &q : queued)
            if (q.frame.type == t)
                out.push_back(q);
        return out;
    }
};

sofw::RaHeader phone() { return *sofw::RaHeader::parse("192.168.1.10:4000"); }

sofw::Frame media(const std::string &packet)
{
    sofw::Frame f;
    f.type = sofw::FrameType::media;
    f.ra = phone();
    f.ra->relay_port = 40000;
    f.payload.assign(packet.begin(), packet.end());
    return f;
}

// A lane_media frame as it comes from HRAS, decoded.
sofw::Frame from_hras(uint32_t mseq, const std::string &packet)
{
    std::vector<uint8_t> wire;
    sofw::RaHeader ra = phone();
    ra.relay_port = 40000;
    EXPECT_TRUE(
        sofw::encode_lane_media(ra, mseq, reinterpret_cast<const uint8_t *>(packet.data()), packet.size(), wire));
    sofw::FrameDecoder d;
    d.feed(wire.data(), wire.size());
    sofw::Frame f;
    EXPECT_EQ(d.next(f), sofw::FrameDecoder::Result::frame);
    return f;
}

uint32_t mseq_of(const sofw::Frame &lane_media)
{
    sofw::Frame f = lane_media;
    uint32_t mseq = 0;
    EXPECT_TRUE(sofw::unwrap_lane_media(f, mseq));
    return mseq;
}

class LaneMediaTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_EQ(libre_.error(), 0); }

    LibreRuntime libre_;  // for LaneMedia's timer
    Output out_;
    Counters counters_;
};

}  // namespace

TEST_F(LaneMediaTest, MediaGoesUpNumberedOnOpenLanesOnly)
{
    LaneMedia lanes(3, out_, counters_);
    const int64_t t = 1000;
    for (unsigned i = 0; i < 4; ++i)
        ASSERT_TRUE(lanes.send(media("packet " + std::to_string(i)), t));
    const auto sent = out_.of_type(sofw::FrameType::lane_media);
    ASSERT_EQ(sent.size(), 4u);
    for (unsigned i = 0; i < sent.size(); ++i) {
        EXPECT_EQ(sent[i].lane, 0u) << "lanes 1 and 2 are not open yet";
        EXPECT_EQ(mseq_of(sent[i].frame), i);
        sofw::Frame plain = sent[i].frame;
        uint32_t mseq = 0;
        ASSERT_TRUE(sofw::unwrap_lane_media(plain, mseq));
        EXPECT_EQ(plain.payload_string(), "packet " + std::to_string(i));
        ASSERT_TRUE(plain.ra);
        EXPECT_TRUE(plain.ra->same_endpoint(phone()));
        EXPECT_EQ(plain.ra->relay_port, 40000);
    }
    EXPECT_TRUE(lanes.timer_running()) << "frames wait for acks";
}

TEST_F(LaneMediaTest, AMediaFrameWithoutAnEndpointIsRefused)
{
    LaneMedia lanes(2, out_, counters_);
    sofw::Frame f = media("x");
    f.ra.reset();
    EXPECT_FALSE(lanes.send(f, 1000));
    EXPECT_TRUE(out_.queued.empty());
}

TEST_F(LaneMediaTest, NoLaneTakingTheFrameIsARefusal)
{
    LaneMedia lanes(2, out_, counters_);
    out_.refuse = true;
    EXPECT_FALSE(lanes.send(media("x"), 1000));
}

TEST_F(LaneMediaTest, FirstCopiesAreHandedOnDuplicatesAreCounted)
{
    LaneMedia lanes(3, out_, counters_);
    sofw::Frame a = from_hras(5, "five");
    ASSERT_EQ(lanes.receive(1, a, 1000), LaneMedia::Verdict::deliver);
    EXPECT_EQ(a.type, sofw::FrameType::media);
    EXPECT_EQ(a.payload_string(), "five");
    sofw::Frame again = from_hras(5, "five");
    EXPECT_EQ(lanes.receive(2, again, 1001), LaneMedia::Verdict::duplicate);
    sofw::Frame b = from_hras(6, "six");
    EXPECT_EQ(lanes.receive(0, b, 1002), LaneMedia::Verdict::deliver);
    EXPECT_EQ(counters_.lane_duplicates, 1u);
    sofw::Frame far = from_hras(7, "seven");
    EXPECT_EQ(lanes.receive(3, far, 1003), LaneMedia::Verdict::invalid) << "the session has lanes 0..2";
}

TEST_F(LaneMediaTest, AnOwedAckRidesInFrontOfTheNextMedia)
{
    LaneMedia lanes(2, out_, counters_);
    sofw::Frame in = from_hras(0, "down");
    ASSERT_EQ(lanes.receive(1, in, 1000), LaneMedia::Verdict::deliver);
    ASSERT_TRUE(lanes.send(media("up"), 1001));
    ASSERT_EQ(out_.queued.size(), 2u);
    EXPECT_TRUE(sofw::decode_lane_ack(out_.queued[0].frame)) << "the ack first";
    EXPECT_EQ(out_.queued[1].frame.type, sofw::FrameType::lane_media);
    EXPECT_EQ(out_.queued[0].lane, out_.queued[1].lane) << "same lane: one record";
    const auto ack = sofw::decode_lane_ack(out_.queued[0].frame);
    ASSERT_EQ(ack->lanes, 2u);
    EXPECT_EQ(ack->received[0], 0u);
    EXPECT_EQ(ack->received[1], 1u);
    // Nothing owed any more: the next media goes alone.
    ASSERT_TRUE(lanes.send(media("up again"), 1002));
    EXPECT_EQ(out_.queued.size(), 3u);
}

TEST_F(LaneMediaTest, WithoutMediaToRideOnTheTimerSendsTheAck)
{
    LaneMedia lanes(2, out_, counters_);
    sofw::Frame in = from_hras(0, "down");
    ASSERT_EQ(lanes.receive(0, in, 1000), LaneMedia::Verdict::deliver);
    EXPECT_TRUE(lanes.timer_running()) << "an ack is owed";
    lanes.check(1000 + sofw::lane_ack_delay_ms);
    const auto acks = out_.of_type(sofw::FrameType::control);
    ASSERT_EQ(acks.size(), 1u);
    const auto ack = sofw::decode_lane_ack(acks[0].frame);
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->received[0], 1u);
    // Paid: the timer stops once nothing waits.
    lanes.check(1000 + 2 * sofw::lane_ack_delay_ms);
    EXPECT_EQ(out_.of_type(sofw::FrameType::control).size(), 1u);
    EXPECT_FALSE(lanes.timer_running());
}

TEST_F(LaneMediaTest, AcksFromHrasEndTheWaitAndBadOnesAreRefused)
{
    LaneMedia lanes(2, out_, counters_);
    ASSERT_TRUE(lanes.send(media("a"), 1000));
    ASSERT_TRUE(lanes.send(media("b"), 1000));
    sofw::LaneAck too_many;
    too_many.lanes = 3;
    EXPECT_FALSE(lanes.on_ack(sofw::make_lane_ack_frame(too_many), 1005)) << "the session has 2 lanes";
    sofw::Frame not_an_ack = sofw::make_control_frame({sofw::ControlOp::stream_ok, 0});
    EXPECT_FALSE(lanes.on_ack(not_an_ack, 1005));

    sofw::LaneAck all;
    all.lanes = 2;
    all.received[0] = 2;
    ASSERT_TRUE(lanes.on_ack(sofw::make_lane_ack_frame(all), 1010));
    lanes.check(1500);
    EXPECT_EQ(counters_.lane_resent, 0u);
    EXPECT_EQ(counters_.lane_stalls, 0u);
    EXPECT_EQ(counters_.lane_late_dropped, 0u);
    EXPECT_FALSE(lanes.timer_running()) << "nothing waits for an ack";
}

TEST_F(LaneMediaTest, AStalledLanesMediaGoesAgainOnAnother)
{
    LaneMedia lanes(2, out_, counters_);
    lanes.set_open(1, true);
    ASSERT_TRUE(lanes.send(media("held up"), 1000));
    const auto first = out_.of_type(sofw::FrameType::lane_media);
    ASSERT_EQ(first.size(), 1u);
    // No ack for longer than the hedge delay: the frame goes again, the
    // same mseq, on the other lane.
    lanes.check(1000 + sofw::default_hedge_min_ms + 10);
    const auto all = out_.of_type(sofw::FrameType::lane_media);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_NE(all[1].lane, first[0].lane);
    EXPECT_EQ(mseq_of(all[1].frame), mseq_of(first[0].frame));
    EXPECT_EQ(counters_.lane_resent, 1u);
    EXPECT_EQ(counters_.lane_stalls, 1u);
}

TEST_F(LaneMediaTest, MediaPastItsDeadlineIsNotSentAgain)
{
    LaneMedia lanes(2, out_, counters_);
    lanes.set_open(1, true);
    ASSERT_TRUE(lanes.send(media("stale"), 1000));
    lanes.check(1000 + sofw::default_media_deadline_ms + 10);
    EXPECT_EQ(out_.of_type(sofw::FrameType::lane_media).size(), 1u);
    EXPECT_EQ(counters_.lane_resent, 0u);
    EXPECT_EQ(counters_.lane_late_dropped, 1u);
}
