#include "backoff.hpp"

#include <gtest/gtest.h>

#include <vector>

using hrac::Backoff;

TEST(Backoff, DoublesFromOneSecondUpToThirty)
{
    Backoff backoff;
    std::vector<unsigned> delays;
    for (int i = 0; i < 8; ++i)
        delays.push_back(backoff.next_delay(0));
    EXPECT_EQ(delays, (std::vector<unsigned>{1, 2, 4, 8, 16, 30, 30, 30}));
}

TEST(Backoff, ShortSessionsKeepBackingOff)
{
    Backoff backoff;
    backoff.next_delay(0);
    backoff.next_delay(0);
    EXPECT_EQ(backoff.next_delay(29), 4u);
}

TEST(Backoff, SessionOfThirtySecondsResetsToOne)
{
    Backoff backoff;
    for (int i = 0; i < 6; ++i)
        backoff.next_delay(0);
    EXPECT_EQ(backoff.next_delay(30), 1u);
    EXPECT_EQ(backoff.next_delay(0), 2u);
    EXPECT_EQ(backoff.next_delay(3600), 1u);
}
