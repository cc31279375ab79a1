// host[:port] text: the split both halves share, strict ports, HostPort.
#include "sofw/host_port.hpp"

#include <gtest/gtest.h>

using namespace sofw;

TEST(SplitHostPort, Forms)
{
    auto t = split_host_port("10.0.0.2:5060");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->host, "10.0.0.2");
    EXPECT_FALSE(t->bracketed);
    EXPECT_TRUE(t->has_port);
    EXPECT_EQ(t->port, "5060");

    t = split_host_port("pbx.example.com");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->host, "pbx.example.com");
    EXPECT_FALSE(t->has_port);
    EXPECT_EQ(t->port, "");

    t = split_host_port("[2001:db8::1]:4000");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->host, "2001:db8::1");
    EXPECT_TRUE(t->bracketed);
    EXPECT_EQ(t->port, "4000");

    t = split_host_port("[::1]");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->host, "::1");
    EXPECT_TRUE(t->bracketed);
    EXPECT_FALSE(t->has_port);
}

TEST(SplitHostPort, LeavesThePortTextToTheCaller)
{
    auto t = split_host_port("h:");
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->has_port);
    EXPECT_EQ(t->port, "");
    t = split_host_port("a:b:5060");  // the first ':' ends an unbracketed host
    ASSERT_TRUE(t);
    EXPECT_EQ(t->host, "a");
    EXPECT_EQ(t->port, "b:5060");
}

TEST(SplitHostPort, RefusesBrokenForms)
{
    for (const char *s : {"", ":5060", "[]", "[]:5060", "[::1", "[::1]5060", "[::1]x:5060", "[[]", "[[::1]:5060"})
        EXPECT_FALSE(split_host_port(s)) << s;
}

TEST(ParsePort, Strict)
{
    EXPECT_EQ(parse_port("0"), 0);
    EXPECT_EQ(parse_port("5060"), 5060);
    EXPECT_EQ(parse_port("05060"), 5060);
    EXPECT_EQ(parse_port("65535"), 65535);
    for (const char *s : {"", "65536", "99999", "005060", "+5060", "-1", " 5060", "5060 ", "50a", "0x10"})
        EXPECT_FALSE(parse_port(s)) << s;
}

TEST(HostPort, Parses)
{
    auto hp = HostPort::parse("10.0.0.2:5070");
    ASSERT_TRUE(hp);
    EXPECT_EQ(hp->host, "10.0.0.2");
    EXPECT_EQ(hp->port, 5070);
    hp = HostPort::parse("pbx.example.com");
    ASSERT_TRUE(hp);
    EXPECT_EQ(hp->port, 0);
    EXPECT_EQ(hp->effective_port(), 5060);
    hp = HostPort::parse("[2001:db8::2]:5062");
    ASSERT_TRUE(hp);
    EXPECT_EQ(hp->host, "2001:db8::2");
    EXPECT_EQ(hp->port, 5062);
    hp = HostPort::parse("[2001:db8::2]");
    ASSERT_TRUE(hp);
    EXPECT_EQ(hp->port, 0);
}

TEST(HostPort, RefusesBadText)
{
    for (const char *s : {"", ":5060", "h:", "h:0", "h:65536", "h:123456", "h:5060x", "a:b:5060", "[]", "[::1",
                          "[::1]:", "[::1]:0", "[::1]5060"})
        EXPECT_FALSE(HostPort::parse(s)) << s;
}

TEST(HostPort, WritesThePortAlwaysAndBracketsIpv6)
{
    EXPECT_EQ(HostPort::parse("10.0.0.2")->to_string(), "10.0.0.2:5060");
    EXPECT_EQ(HostPort::parse("10.0.0.2:5070")->to_string(), "10.0.0.2:5070");
    EXPECT_EQ(HostPort::parse("[2001:db8::2]")->to_string(), "[2001:db8::2]:5060");
    EXPECT_EQ(HostPort::parse(HostPort{"2001:db8::2", 5062}.to_string())->port, 5062);
}

TEST(HostPort, WhatItParsesItWritesBackParseable)
{
    for (const char *s : {"10.0.0.2", "[2001:db8::2]:5070", "[abc]", "a[b:5060", "a]b", "[x:y]:1"}) {
        auto hp = HostPort::parse(s);
        ASSERT_TRUE(hp) << s;
        auto again = HostPort::parse(hp->to_string());
        ASSERT_TRUE(again) << s;
        EXPECT_EQ(hp->host, again->host) << s;
        EXPECT_TRUE(hp->matches(*again)) << s;
    }
}

TEST(HostPort, MatchesIgnoringCaseAndTheDefaultPort)
{
    EXPECT_TRUE(HostPort::parse("PBX.example.com")->matches(*HostPort::parse("pbx.EXAMPLE.com:5060")));
    EXPECT_FALSE(HostPort::parse("pbx.example.com")->matches(*HostPort::parse("pbx.example.com:5061")));
    EXPECT_FALSE(HostPort::parse("pbx.example.com")->matches(*HostPort::parse("pbx.example.org")));
    EXPECT_FALSE((HostPort{std::string("a\0b", 3), 0}.matches(HostPort{std::string("a\0c", 3), 0})));
}
