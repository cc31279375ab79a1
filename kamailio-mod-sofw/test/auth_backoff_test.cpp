// The status page's backoff for wrong passwords: per address, free at
// first, then doubling waits up to a cap; a success forgets; the table is
// bounded.
#include "core/auth_backoff.hpp"

#include <gtest/gtest.h>

using namespace sofw::hras;

namespace {
AuthBackoff::Config small(size_t capacity = 16)
{
    AuthBackoff::Config c;
    c.capacity = capacity;
    c.free_failures = 2;
    c.first_wait_ms = 1000;
    c.max_wait_ms = 8000;
    c.forget_after_ms = 60000;
    return c;
}
}  // namespace

TEST(AuthBackoff, WaitsDoubleAfterTheFreeFailuresUpToTheCap)
{
    AuthBackoff b(small());
    const std::string ip = "198.51.100.9";
    b.failed(ip, 0);
    b.failed(ip, 0);
    EXPECT_EQ(0, b.wait_ms(ip, 0)) << "two typos are free";
    b.failed(ip, 0);
    EXPECT_EQ(1000, b.wait_ms(ip, 0));
    b.failed(ip, 1000);
    EXPECT_EQ(2000, b.wait_ms(ip, 1000));
    b.failed(ip, 3000);
    EXPECT_EQ(4000, b.wait_ms(ip, 3000));
    b.failed(ip, 7000);
    b.failed(ip, 15000);
    EXPECT_EQ(8000, b.wait_ms(ip, 15000)) << "capped";
    EXPECT_EQ(0, b.wait_ms("198.51.100.10", 15000)) << "another address is not affected";
}

TEST(AuthBackoff, SuccessAndQuietTimeForget)
{
    AuthBackoff b(small());
    for (int i = 0; i < 4; i++)
        b.failed("a", 0);
    EXPECT_GT(b.wait_ms("a", 0), 0);
    b.succeeded("a");
    EXPECT_EQ(0, b.wait_ms("a", 0));
    EXPECT_EQ(0u, b.size());
    for (int i = 0; i < 4; i++)
        b.failed("b", 0);
    b.failed("b", 70000);  // more than forget_after later: counts as the first
    EXPECT_EQ(0, b.wait_ms("b", 70000));
}

TEST(AuthBackoff, FullTableDropsTheOldestFailure)
{
    AuthBackoff b(small(2));
    for (int i = 0; i < 4; i++)
        b.failed("old", 0);
    for (int i = 0; i < 4; i++)
        EXPECT_FALSE(b.failed("mid", 10));
    EXPECT_TRUE(b.failed("new", 20));
    EXPECT_EQ(2u, b.size());
    EXPECT_EQ(0, b.wait_ms("old", 20)) << "the oldest was dropped";
    EXPECT_GT(b.wait_ms("mid", 20), 0);
}
