// The tunnel's HTTP names and the defaults both halves share, against
// docs/protocol.md: a change here is a change of the protocol.
#include "sofw/defaults.h"
#include "sofw/lanes.hpp"
#include "sofw/tunnel_http.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace sofw;

TEST(TunnelHttp, PathsAsSpecified)
{
    EXPECT_STREQ(tunnel_path::down, "/sofw/v1/down");
    EXPECT_STREQ(tunnel_path::up, "/sofw/v1/up");
    EXPECT_STREQ(tunnel_path::poll, "/sofw/v1/poll");
    EXPECT_STREQ(tunnel_path::send, "/sofw/v1/send");
    for (const char *p : {tunnel_path::down, tunnel_path::up, tunnel_path::poll, tunnel_path::send})
        EXPECT_EQ(std::string(p).rfind(tunnel_path::prefix, 0), 0u) << p;
}

TEST(TunnelHttp, ContentTypeAndHeadersAsSpecified)
{
    EXPECT_STREQ(frames_content_type, "application/x-sofw-frames");
    EXPECT_STREQ(hdr::site, "X-SoFW-Site");
    EXPECT_STREQ(hdr::session, "X-SoFW-Session");
    EXPECT_STREQ(hdr::lan, "X-SoFW-Lan");
    EXPECT_STREQ(hdr::time, "X-SoFW-Time");
    EXPECT_STREQ(hdr::nonce, "X-SoFW-Nonce");
    EXPECT_STREQ(hdr::signature, "X-SoFW-Signature");
    EXPECT_STREQ(hdr::server_signature, "X-SoFW-Server-Signature");
    EXPECT_STREQ(hdr::media_ports, "X-SoFW-Media-Ports");
    EXPECT_STREQ(hdr::lanes, "X-SoFW-Lanes");
}

TEST(LanePath, Builds)
{
    EXPECT_EQ(lane_path(Channel::down, 0), tunnel_path::down);
    EXPECT_EQ(lane_path(Channel::up, 0), tunnel_path::up);
    EXPECT_EQ(lane_path(Channel::down, 1), "/sofw/v1/down/1");
    EXPECT_EQ(lane_path(Channel::up, 7), "/sofw/v1/up/7");
}

TEST(LanePath, ParsesWhatItBuilds)
{
    for (const Channel c : {Channel::down, Channel::up})
        for (unsigned lane = 0; lane < lanes_max; ++lane) {
            const auto p = parse_lane_path(lane_path(c, lane));
            ASSERT_TRUE(p) << lane_path(c, lane);
            EXPECT_EQ(p->channel, c);
            EXPECT_EQ(p->lane, lane);
        }
}

TEST(LanePath, RefusesMalformedLanePaths)
{
    for (const char *path : {"/sofw/v1/down/0", "/sofw/v1/down/01", "/sofw/v1/down/x", "/sofw/v1/down/8",
                             "/sofw/v1/down/9", "/sofw/v1/down/10", "/sofw/v1/up/0", "/sofw/v1/up/", "/sofw/v1/down/",
                             "/sofw/v1/down/1/", "/sofw/v1/down/1x", "/sofw/v1/down/+1", "/sofw/v1/down/ 1",
                             "/sofw/v1/downs", "/sofw/v1/down1", "/sofw/v1/poll", "/sofw/v1/send", "/sofw/v1/poll/1",
                             "/sofw/v2/down/1", "", "/"})
        EXPECT_FALSE(parse_lane_path(path)) << path;
}

TEST(LanesValue, FormatsAndParses)
{
    for (unsigned n = 1; n <= lanes_max; ++n) {
        EXPECT_EQ(lanes_value(n), std::to_string(n));
        EXPECT_EQ(parse_lanes_value(lanes_value(n)), n);
    }
    EXPECT_EQ(parse_lanes_value(" 3\t"), 3u);  // HTTP's optional whitespace
    EXPECT_EQ(lanes_value(default_lanes), "3");
}

TEST(LanesValue, AnythingElseIsInvalid)
{
    for (const char *v : {"", " ", "0", "9", "10", "03", "3,4", "3 4", "+3", "-1", "3x", "x", "three"})
        EXPECT_FALSE(parse_lanes_value(v)) << v;
    EXPECT_FALSE(parse_lanes_value(std::string_view("3\0", 2)));
}

TEST(MediaPortsValue, Formats)
{
    EXPECT_EQ(media_ports_value(20000, 29999), "20000-29999");
    EXPECT_EQ(media_ports_value(1024, 65535), "1024-65535");
}

TEST(MediaPortsValue, ParsesWhatHrasMayUse)
{
    using Range = std::pair<uint16_t, uint16_t>;
    EXPECT_EQ(parse_media_ports_value("20000-29999"), Range(20000, 29999));
    EXPECT_EQ(parse_media_ports_value("1024-65535"), Range(1024, 65535));
    EXPECT_EQ(parse_media_ports_value("1024-1025"), Range(1024, 1025));
    EXPECT_EQ(parse_media_ports_value(media_ports_value(40000, 40100)), Range(40000, 40100));
}

TEST(MediaPortsValue, RefusesRangesHrasMustNotUse)
{
    for (const char *v :
         {"", "20000", "20000-", "-29999", "x-y", "1023-2000", "2000-2000", "3000-2000", "1024-65536", "20000 29999"})
        EXPECT_FALSE(parse_media_ports_value(v)) << v;
}

TEST(Defaults, AsDocumented)
{
    // C and C++ see the same numbers (the module's C glue uses the enum).
    EXPECT_EQ(default_keepalive_interval_s, unsigned(SOFW_DEFAULT_KEEPALIVE_INTERVAL_S));
    EXPECT_EQ(default_auth_window_s, unsigned(SOFW_DEFAULT_AUTH_WINDOW_S));
    EXPECT_EQ(default_keepalive_interval_s, 15u);
    EXPECT_EQ(keepalive_intervals_before_drop, 3u);
    EXPECT_EQ(default_auth_window_s, 120u);
    EXPECT_EQ(media_ports_value(default_media_port_min, default_media_port_max), "20000-29999");
    EXPECT_TRUE(parse_media_ports_value(media_ports_value(default_media_port_min, default_media_port_max)));
    EXPECT_EQ(poll_wait_s, 20u);
    EXPECT_EQ(poll_answer_max_bytes, 1024u * 1024u);
    EXPECT_EQ(send_batch_max_bytes, 256u * 1024u);
    // Proxies seen cut idle streams after 60 s: the default must stay under.
    EXPECT_LT(default_keepalive_interval_s, 60u);
    EXPECT_GE(default_keepalive_interval_s, keepalive_interval_min_s);
    EXPECT_LE(default_keepalive_interval_s, keepalive_interval_max_s);
}
