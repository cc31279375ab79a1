// The log limiter both halves use for lines a peer can provoke at will.
#include "sofw/log_limiter.hpp"

#include <gtest/gtest.h>

using sofw::LogLimiter;

TEST(LogLimiter, OneLinePerIntervalCountingTheRest)
{
    LogLimiter limit(1000);
    uint64_t suppressed = 99;
    EXPECT_TRUE(limit.allow(0, suppressed));
    EXPECT_EQ(suppressed, 0u);
    EXPECT_FALSE(limit.allow(10, suppressed));
    EXPECT_FALSE(limit.allow(999, suppressed));
    EXPECT_TRUE(limit.allow(1000, suppressed));
    EXPECT_EQ(suppressed, 2u);
    EXPECT_TRUE(limit.allow(5000, suppressed));
    EXPECT_EQ(suppressed, 0u);
}

TEST(LogLimiter, SaysHowManyLinesWereLeftOut)
{
    EXPECT_EQ(sofw::not_logged_text(0), "");
    EXPECT_EQ(sofw::not_logged_text(3), " (3 more not logged)");
}
