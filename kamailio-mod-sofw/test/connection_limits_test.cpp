// The books of the tunnel server's connection limits: total and per
// address, and the deadline for a complete request, which tunnel channels
// are exempt from while they last. The wiring to libmicrohttpd is tested
// in tunnel_limits_test.cpp.
#include "core/connection_limits.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>

using namespace sofw::hras;
using V = ConnectionLimits::Verdict;

TEST(ConnectionLimits, PerAddressLimitRefusesOnlyThatAddress)
{
    ConnectionLimits l({100, 2, 10000});
    EXPECT_EQ(V::accept, l.admit("198.51.100.9"));
    auto *a = l.opened("198.51.100.9", 10, 0);
    l.opened("198.51.100.9", 11, 0);
    EXPECT_EQ(V::ip_full, l.admit("198.51.100.9"));
    EXPECT_EQ(V::accept, l.admit("198.51.100.2"));
    EXPECT_EQ(2u, l.open_from("198.51.100.9"));
    l.closed(a);
    EXPECT_EQ(V::accept, l.admit("198.51.100.9"));
    EXPECT_EQ(1u, l.open());
}

TEST(ConnectionLimits, TotalLimitRefusesEveryone)
{
    ConnectionLimits l({3, 32, 10000});
    for (int i = 0; i < 3; i++)
        l.opened("10.0.0." + std::to_string(i), i, 0);
    EXPECT_EQ(V::total_full, l.admit("10.0.0.99"));
    l.set_max_total(4);
    EXPECT_EQ(V::accept, l.admit("10.0.0.99"));
}

TEST(ConnectionLimits, ConnectionWithoutACompleteRequestIsOverdueOnce)
{
    ConnectionLimits l({100, 32, 10000});
    auto *slow = l.opened("198.51.100.9", 7, 1000);
    EXPECT_TRUE(l.overdue(11000).empty()) << "exactly the timeout is still in time";
    auto late = l.overdue(11001);
    ASSERT_EQ(1u, late.size());
    EXPECT_EQ(slow, late[0]);
    EXPECT_EQ(7, late[0]->fd);
    EXPECT_TRUE(l.overdue(20000).empty()) << "reported once";
}

TEST(ConnectionLimits, TunnelChannelsAreExemptWhileTheyLast)
{
    ConnectionLimits l({100, 32, 10000});
    auto *stream = l.opened("198.51.100.2", 7, 0);
    ConnectionLimits::channel_started(stream);
    EXPECT_TRUE(l.overdue(3600000).empty()) << "a streaming channel lives for hours";
    // After its request the connection owes the next one in time.
    ConnectionLimits::request_done(stream, 3600000);
    EXPECT_TRUE(l.overdue(3610000).empty());
    EXPECT_EQ(1u, l.overdue(3610001).size());
}

TEST(ConnectionLimits, DescriptorLimitIsRaisedTowardsTheHardLimit)
{
    rlimit before{};
    ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &before));
    // Something the hard limit allows is granted.
    size_t want = before.rlim_max == RLIM_INFINITY ? before.rlim_cur + 1 : before.rlim_max;
    EXPECT_GE(raise_descriptor_limit(want), std::min<size_t>(want, before.rlim_max));
    // More than the hard limit is not: the caller learns what it got.
    if (before.rlim_max != RLIM_INFINITY)
        EXPECT_EQ(size_t(before.rlim_max), raise_descriptor_limit(size_t(before.rlim_max) + 1000));
    setrlimit(RLIMIT_NOFILE, &before);
}
