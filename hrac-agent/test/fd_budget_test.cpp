// How many media port pairs fit the open-files limit (fd_budget.hpp).
#include "fd_budget.hpp"

#include <gtest/gtest.h>

using namespace hrac;

TEST(FdBudget, RaisesTheSoftLimitAsFarAsTheRangeNeeds)
{
    // The default range, 20000-29999: 5000 pairs.
    const FdBudget b = plan_fds(20000, 29999, 1024, 524288);
    EXPECT_EQ(b.wanted_pairs, 5000u);
    EXPECT_EQ(b.want_fds, 10000u + FdBudget::reserve);
    EXPECT_EQ(b.soft_limit, b.want_fds);
    EXPECT_EQ(b.max_pairs, 5000u);
}

TEST(FdBudget, NeverLowersTheSoftLimit)
{
    const FdBudget b = plan_fds(20000, 20099, 65536, 65536);
    EXPECT_EQ(b.soft_limit, 65536u);
    EXPECT_EQ(b.max_pairs, 50u);
}

TEST(FdBudget, LimitsThePairsToWhatTheHardLimitHolds)
{
    const FdBudget b = plan_fds(20000, 29999, 1024, 4096);
    EXPECT_EQ(b.soft_limit, 4096u);
    EXPECT_EQ(b.max_pairs, (4096u - FdBudget::reserve) / 2);
    EXPECT_LT(b.max_pairs, b.wanted_pairs);
    // A hard limit below the reserve holds no pair at all.
    EXPECT_EQ(plan_fds(20000, 29999, 100, 200).max_pairs, 0u);
}
