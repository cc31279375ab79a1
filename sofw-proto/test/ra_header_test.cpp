// RA header: binary layout, text forms and endpoint comparison.
#include "sofw/ra_header.hpp"

#include <gtest/gtest.h>

#include <cstring>

using namespace sofw;

TEST(RaHeader, V4EncodeDecode)
{
    auto h = RaHeader::parse("192.168.1.10:5060");
    ASSERT_TRUE(h);
    h->relay_port = 20000;
    ASSERT_EQ(h->encoded_size(), 10u);
    uint8_t buf[10];
    h->encode(buf);
    const uint8_t want[10] = {4, 17, 0x13, 0xc4, 0x4e, 0x20, 192, 168, 1, 10};
    EXPECT_EQ(0, memcmp(buf, want, sizeof want));
    auto d = RaHeader::decode(buf, sizeof buf);
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->same_endpoint(*h));
    EXPECT_EQ(d->relay_port, 20000);
    EXPECT_EQ(d->to_string(), "192.168.1.10:5060");
}

TEST(RaHeader, V6EncodeDecode)
{
    auto h = RaHeader::parse("[2001:db8::1]:4000");
    ASSERT_TRUE(h);
    h->transport = Transport::tcp;
    ASSERT_EQ(h->encoded_size(), 22u);
    uint8_t buf[22];
    h->encode(buf);
    EXPECT_EQ(buf[0], 6);
    EXPECT_EQ(buf[1], 6);
    EXPECT_EQ(buf[6], 0x20);
    EXPECT_EQ(buf[21], 0x01);
    auto d = RaHeader::decode(buf, sizeof buf);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->transport, Transport::tcp);
    EXPECT_EQ(d->to_string(), "[2001:db8::1]:4000");
}

TEST(RaHeader, DecodeRejects)
{
    uint8_t v4[10] = {4, 17, 0x13, 0xc4, 0, 0, 10, 0, 0, 1};
    EXPECT_TRUE(RaHeader::decode(v4, 10));
    EXPECT_FALSE(RaHeader::decode(v4, 9));
    EXPECT_FALSE(RaHeader::decode(v4, 0));
    v4[0] = 6;  // family says 22 bytes, length says 10
    EXPECT_FALSE(RaHeader::decode(v4, 10));
    v4[0] = 5;
    EXPECT_FALSE(RaHeader::decode(v4, 10));
    v4[0] = 4;
    v4[1] = 1;
    EXPECT_FALSE(RaHeader::decode(v4, 10));
    uint8_t v6[22] = {4, 17};
    EXPECT_FALSE(RaHeader::decode(v6, 22));  // family 4 in 22 bytes
}

TEST(RaHeader, ParseRejects)
{
    for (const char *s : {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:50a", "1.2.3:5060",
                          "host:5060", "2001:db8::1:5060", "[2001:db8::1]5060", "[2001:db8::1]:", "[1.2.3.4]:5060",
                          "[2001:db8::1:5060", " 1.2.3.4:5060"})
        EXPECT_FALSE(RaHeader::parse(s)) << s;
}

TEST(RaHeader, ParseDefaults)
{
    auto h = RaHeader::parse("10.0.0.2:65535");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->family, 4);
    EXPECT_EQ(h->transport, Transport::udp);
    EXPECT_EQ(h->port, 65535);
    EXPECT_EQ(h->relay_port, 0);
}

TEST(RaHeader, SameEndpoint)
{
    auto a = *RaHeader::parse("10.0.0.2:5060");
    auto b = a;
    b.relay_port = 1234;  // not part of the endpoint
    EXPECT_TRUE(a.same_endpoint(b));
    b = a;
    b.port = 5061;
    EXPECT_FALSE(a.same_endpoint(b));
    b = a;
    b.transport = Transport::tcp;
    EXPECT_FALSE(a.same_endpoint(b));
    b = *RaHeader::parse("10.0.0.3:5060");
    EXPECT_FALSE(a.same_endpoint(b));
    b = *RaHeader::parse("[::ffff:10.0.0.2]:5060");  // same host, IPv4-mapped: other family
    EXPECT_FALSE(a.same_endpoint(b));
    b = a;
    b.addr[10] = 0xff;  // beyond an IPv4 address: ignored
    EXPECT_TRUE(a.same_endpoint(b));
}

// What an RA header read from the wire may name as a phone: unicast LAN
// (and public) hosts, never port 0 or an address no phone can have.
TEST(RaHeader, MayNameALanPhoneOnlyWithAPortAndAUnicastHostAddress)
{
    const char *phones[] = {"192.168.1.10:5060", "10.0.0.5:4000",      "172.16.3.4:1",
                            "198.51.100.7:5060", "100.64.0.1:5060",    "223.255.255.254:5060",
                            "[fd00::10]:5060",   "[2001:db8::1]:4000", "[::2]:5060"};
    for (const char *t : phones) {
        auto h = RaHeader::parse(t);
        ASSERT_TRUE(h) << t;
        EXPECT_TRUE(may_name_lan_phone(*h)) << t;
    }
    const char *not_phones[] = {"192.168.1.10:0",
                                "0.0.0.0:5060",
                                "0.1.2.3:5060",
                                "127.0.0.1:5060",
                                "127.9.9.9:5060",
                                "169.254.1.1:5060",
                                "169.254.169.254:80",
                                "224.0.0.1:5060",
                                "239.1.1.1:5060",
                                "240.0.0.1:5060",
                                "255.255.255.255:5060",
                                "[::]:5060",
                                "[::1]:5060",
                                "[fe80::1]:5060",
                                "[febf::1]:5060",
                                "[ff02::1]:5060",
                                "[::ffff:127.0.0.1]:5060",
                                "[::ffff:192.168.1.10]:5060",
                                "[fd00::1]:0"};
    for (const char *t : not_phones) {
        auto h = RaHeader::parse(t);
        ASSERT_TRUE(h) << t;
        EXPECT_FALSE(may_name_lan_phone(*h)) << t;
    }
    RaHeader bad;
    bad.family = 5;  // not what decode() makes, but a caller might
    bad.port = 5060;
    bad.addr[0] = 10;
    EXPECT_FALSE(may_name_lan_phone(bad));
}
