// The replay cache: nonces remembered for the window, expired oldest
// first, and bounded (refusing when full, never forgetting a live nonce).
#include "sofw/replay_cache.hpp"

#include <gtest/gtest.h>

using namespace sofw;
using Result = ReplayCache::Result;

TEST(ReplayCache, PurgesOldEntries)
{
    ReplayCache c(120);
    EXPECT_EQ(c.remember("a", 1000), Result::fresh);
    EXPECT_EQ(c.remember("b", 1100), Result::fresh);
    EXPECT_EQ(c.remember("a", 1120), Result::replay);  // exactly one window later: still kept
    EXPECT_EQ(c.size(), 2u);
    EXPECT_EQ(c.remember("c", 1121), Result::fresh);  // "a" is now older than the window
    EXPECT_EQ(c.size(), 2u);
    EXPECT_EQ(c.remember("a", 1122), Result::fresh);
    EXPECT_EQ(c.remember("d", 5000), Result::fresh);  // everything else expired
    EXPECT_EQ(c.size(), 1u);
}

TEST(ReplayCache, FullCacheRefusesNewNoncesAndKeepsTheOldOnes)
{
    ReplayCache c(120, 3);
    EXPECT_EQ(c.remember("a", 1000), Result::fresh);
    EXPECT_EQ(c.remember("b", 1001), Result::fresh);
    EXPECT_EQ(c.remember("c", 1002), Result::fresh);
    EXPECT_EQ(c.remember("d", 1003), Result::full);
    EXPECT_EQ(c.size(), 3u);
    // Refusing did not make room by forgetting: "a" is still a replay.
    EXPECT_EQ(c.remember("a", 1050), Result::replay);
    EXPECT_EQ(c.remember("d", 1050), Result::full);
    // Once "a" is older than the window, there is room for one more.
    EXPECT_EQ(c.remember("d", 1121), Result::fresh);
    EXPECT_EQ(c.remember("e", 1121), Result::full);
}

TEST(ReplayCache, ExpiresOnlyTheOldest)
{
    ReplayCache c(10, 1000);
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ(c.remember("n" + std::to_string(i), 1000 + uint64_t(i) / 100), Result::fresh);
    // At 1015 the nonces first seen at 1000..1004 are older than 10 s.
    EXPECT_EQ(c.remember("x", 1015), Result::fresh);
    EXPECT_EQ(c.size(), 501u);
    EXPECT_EQ(c.remember("n499", 1015), Result::fresh);  // expired, so new again
    EXPECT_EQ(c.remember("n500", 1015), Result::replay);
}

TEST(ReplayCache, ClockSteppingBackForgetsNothingEarly)
{
    ReplayCache c(10);
    EXPECT_EQ(c.remember("a", 1000), Result::fresh);
    EXPECT_EQ(c.remember("b", 900), Result::fresh);  // the clock went back
    EXPECT_EQ(c.remember("b", 905), Result::replay);
    EXPECT_EQ(c.remember("a", 1005), Result::replay);
}
