// The choice between streaming and polling, and the streaming probe.
#include "tunnel_mode.hpp"

#include <gtest/gtest.h>

using namespace hrac;

namespace {
constexpr uint64_t minute = 60 * 1000;
}  // namespace

TEST(StreamProbe, PassesOnlyWithBothTheAnswerAndStreamOk)
{
    StreamProbe probe;
    EXPECT_FALSE(probe.passed());
    EXPECT_EQ(probe.failure(5), "no answer to the streaming GET after 5 s (a proxy may be buffering)");
    probe.got_response();
    EXPECT_FALSE(probe.passed());
    EXPECT_EQ(probe.failure(5), "no STREAM_OK after 5 s (a proxy may be buffering)");
    probe.got_stream_ok();
    EXPECT_TRUE(probe.passed());
}

TEST(ModeChooser, AutoStreamsWithTheProbeFirst)
{
    ModeChooser m(TunnelMode::automatic);
    const auto c = m.next(0);
    EXPECT_FALSE(c.poll);
    EXPECT_TRUE(c.probe);
    EXPECT_EQ(c.why, "auto; probing streaming");
    EXPECT_FALSE(m.polling_decided());
}

TEST(ModeChooser, AutoPollsAfterAFailedProbeThenProbesAgainAfterTenMinutes)
{
    ModeChooser m(TunnelMode::automatic);
    m.probe_failed(1000);
    EXPECT_TRUE(m.polling_decided());
    auto c = m.next(1000 + 30 * 1000);
    EXPECT_TRUE(c.poll);
    EXPECT_FALSE(c.probe);
    EXPECT_EQ(c.why, "auto; streaming did not get through 30 s ago");
    EXPECT_TRUE(m.next(1000 + 10 * minute - 1).poll);

    c = m.next(1000 + 10 * minute);
    EXPECT_FALSE(c.poll);
    EXPECT_TRUE(c.probe);
    EXPECT_EQ(c.why, "auto; probing streaming again after 10 min of polling");

    // Failing again starts another ten minutes.
    m.probe_failed(1000 + 10 * minute + 5000);
    EXPECT_TRUE(m.next(1000 + 15 * minute).poll);
    EXPECT_FALSE(m.next(1000 + 21 * minute).poll);
}

TEST(ModeChooser, ForcedModesNeverProbeOrSwitch)
{
    ModeChooser stream(TunnelMode::stream);
    EXPECT_FALSE(stream.next(0).poll);
    EXPECT_FALSE(stream.next(0).probe);
    EXPECT_EQ(stream.next(0).why, "tunnel_mode = stream");
    EXPECT_FALSE(stream.streaming_refused(0));
    EXPECT_FALSE(stream.next(0).poll);

    ModeChooser poll(TunnelMode::poll);
    EXPECT_TRUE(poll.next(0).poll);
    EXPECT_EQ(poll.next(0).why, "tunnel_mode = poll");
    EXPECT_FALSE(poll.polling_unsupported());
    EXPECT_TRUE(poll.next(0).poll);
}

TEST(ModeChooser, AnHrasWithoutPollingSendsAutoBackToUnprobedStreaming)
{
    ModeChooser m(TunnelMode::automatic);
    m.probe_failed(0);
    EXPECT_TRUE(m.polling_unsupported());
    const auto c = m.next(1000);
    EXPECT_FALSE(c.poll);
    EXPECT_FALSE(c.probe);
    EXPECT_EQ(c.why, "auto; HRAS does not offer polling");
    // Never back to polling in this run, whatever streaming does.
    EXPECT_FALSE(m.streaming_refused(2000));
    EXPECT_FALSE(m.next(100 * minute).poll);
}

TEST(ModeChooser, AProxyRefusingTheEndlessUploadMeansPolling)
{
    ModeChooser m(TunnelMode::automatic);
    EXPECT_TRUE(m.streaming_refused(5000));
    EXPECT_TRUE(m.next(6000).poll);
}
