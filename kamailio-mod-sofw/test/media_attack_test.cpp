// What an Internet host can do to HRAS's media, and what holds (docs/
// security.md "Media on the public side"): spraying the public ports takes
// no call's media, floods of SDP take no more than the limits allow, an SDP
// naming another call's port does not cut it, and no LAN address leaks in
// bodies HRAS does not relay. In HRAS's real wiring (media_fixture.hpp).
#include "media_fixture.hpp"

#include <sys/resource.h>

namespace {

const std::string intruder_ip = "127.0.0.2";  // any host but the far side
const std::string nat_ip = "127.0.0.3";       // where the far side's SIP came from

// An SDP with n audio streams from base_port on.
std::string sdp_streams(const std::string &ip, uint16_t base_port, size_t n)
{
    std::string s = "v=0\r\no=- 1 1 IN IP4 " + ip + "\r\ns=-\r\nc=IN IP4 " + ip + "\r\nt=0 0\r\n";
    for (size_t i = 0; i < n; i++)
        s += "m=audio " + std::to_string(base_port + 2 * i) + " RTP/AVP 0\r\n";
    return s;
}

std::string with_type(std::string msg, const std::string &type)
{
    auto at = msg.find("Content-Type: application/sdp");
    if (at != std::string::npos)
        msg.replace(at, std::string("Content-Type: application/sdp").size(), "Content-Type: " + type);
    return msg;
}

size_t count(const std::string &s, const std::string &what)
{
    size_t n = 0;
    for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1))
        n++;
    return n;
}

class MediaAttackTest : public MediaRelayTest {};

class MediaLimitsTest : public MediaRelayTest {
protected:
    void configure(MediaConfig &cfg) override
    {
        cfg.max_media_lines = 2;
        cfg.site_max_legs = 3;
        cfg.source_max_legs = 2;
    }
};

class MediaOfferTimeoutTest : public MediaRelayTest {
protected:
    void configure(MediaConfig &cfg) override { cfg.offer_timeout_s = 1; }
};

}  // namespace

TEST_F(MediaAttackTest, AHostSprayingThePublicPortsIsNeitherHeardNorAnsweredAtAnyTime)
{
    TunnelClient &c = open(0);
    UdpSocket &far_rtp = far_socket(), &far_rtcp = far_socket();
    sockets.push_back(std::make_unique<UdpSocket>(intruder_ip.c_str()));
    UdpSocket &intruder = *sockets.back();
    drive.watch(&intruder);

    // While the phone rings: the offer came, the far side has not sent yet.
    Dialog d = wan_to_lan("spray-1");
    std::string inv = down_ok(0, alice, alice_ip, request("INVITE", d, 1, sdp(far_ip, far_rtp.port(), far_rtcp.port())));
    deliver(c, 0, alice_ip, inv);
    const RatEntry *e = entry(alice, "spray-1");
    ASSERT_TRUE(e);
    uint16_t q = e->streams[0].hras_port;
    ASSERT_TRUE(intruder.send_to(media_ip, q, "steal-rtp"));
    ASSERT_TRUE(intruder.send_to(media_ip, uint16_t(q + 1), "steal-rtcp"));
    ASSERT_TRUE(soon([&] { return stats.get(HRAS_CNT_MEDIA_FOREIGN_SOURCE) == 2; }));
    EXPECT_FALSE(e->streams[0].external_latched[0]) << "the intruder must not take the latch";
    EXPECT_FALSE(e->streams[0].external_latched[1]);

    // The phone answers: its media goes to the far side, not the intruder.
    up_ok(0, alice, reply(200, "OK", d, 1, "INVITE", sdp(alice_ip, 4000)));
    down_ok(0, alice, alice_ip, request("ACK", d, 1, "", true));
    e = entry(alice, "spray-1");
    ASSERT_TRUE(e);
    c.send_frame(media_frame(ep(alice_ip, 4000), e->streams[0].hrac_port, "phone-audio"));
    ASSERT_TRUE(udp_got(far_rtp, 1));
    EXPECT_EQ("phone-audio", far_rtp.received[0].data);

    // The real far side is heard and latched; the intruder still is not.
    ASSERT_TRUE(far_rtp.send_to(media_ip, q, "far-audio"));
    const Frame *f = media_got(c, 1);
    ASSERT_TRUE(f);
    EXPECT_EQ("far-audio", f->payload_string());
    ASSERT_TRUE(intruder.send_to(media_ip, q, "steal-again"));
    ASSERT_TRUE(soon([&] { return stats.get(HRAS_CNT_MEDIA_FOREIGN_SOURCE) == 3; }));

    // A new SDP of the far side (re-INVITE) opens the latch to its IPs only.
    down_ok(0, alice, alice_ip, request("INVITE", d, 2, sdp(far_ip, far_rtp.port(), far_rtcp.port()), true));
    up_ok(0, alice, reply(200, "OK", d, 2, "INVITE", sdp(alice_ip, 4000)));
    ASSERT_TRUE(intruder.send_to(media_ip, q, "steal-after-reoffer"));
    ASSERT_TRUE(soon([&] { return stats.get(HRAS_CNT_MEDIA_FOREIGN_SOURCE) == 4; }));
    ASSERT_TRUE(far_rtp.send_to(media_ip, q, "far-again"));
    f = media_got(c, 2);
    ASSERT_TRUE(f);
    EXPECT_EQ("far-again", f->payload_string());
    c.send_frame(media_frame(ep(alice_ip, 4000), e->streams[0].hrac_port, "phone-again"));
    ASSERT_TRUE(udp_got(far_rtp, 2));

    drive.run_for(20);
    EXPECT_TRUE(intruder.received.empty()) << "the intruder received the call's media";
    EXPECT_EQ(2u, c.count(FrameType::media)) << "the intruder's packets reached the phone";
}

TEST_F(MediaAttackTest, TheFarSidesSipSourceMayFeedThePortWhenItsSdpNamesAnotherAddress)
{
    // A far side behind a NAT: its SDP names its private address, its SIP
    // and its media come from the NAT's (here nat_ip).
    TunnelClient &c = open(0);
    sockets.push_back(std::make_unique<UdpSocket>(nat_ip.c_str()));
    UdpSocket &nat = *sockets.back();
    drive.watch(&nat);
    sockets.push_back(std::make_unique<UdpSocket>(intruder_ip.c_str()));
    UdpSocket &intruder = *sockets.back();
    drive.watch(&intruder);
    Dialog d = lan_to_wan("nat-far-1");
    up_ok(0, alice, request("INVITE", d, 1, sdp(alice_ip, 4000)));
    down_ok(0, alice, alice_ip, reply(200, "OK", d, 1, "INVITE", sdp("10.9.9.9", 5000)), v4(nat_ip));
    const RatEntry *e = entry(alice, "nat-far-1");
    ASSERT_TRUE(e);
    uint16_t q = e->streams[0].hras_port;
    ASSERT_TRUE(intruder.send_to(media_ip, q, "first-but-foreign"));
    ASSERT_TRUE(soon([&] { return stats.get(HRAS_CNT_MEDIA_FOREIGN_SOURCE) == 1; }));
    ASSERT_TRUE(nat.send_to(media_ip, q, "from-the-nat"));
    const Frame *f = media_got(c, 1);
    ASSERT_TRUE(f);
    EXPECT_EQ("from-the-nat", f->payload_string());
    c.send_frame(media_frame(ep(alice_ip, 4000), e->streams[0].hrac_port, "back"));
    ASSERT_TRUE(udp_got(nat, 1)) << "symmetric RTP: back to the latched NAT source";
    EXPECT_TRUE(intruder.received.empty());
}

TEST_F(MediaAttackTest, AnSdpNamingAnotherCallsPublicPortDoesNotCutThatCall)
{
    TunnelClient &c = open(0);
    UdpSocket &far_rtp = far_socket(), &far_rtcp = far_socket();
    Call call = wan_call(c, "victim-1", far_rtp, far_rtcp);
    ASSERT_NE(0, call.hras);
    // An Internet host calls carol, naming HRAS's own address and the
    // victim's public port: not the other leg of its call.
    Dialog evil = wan_to_lan("evil-1", carol_ip);
    std::string down = down_ok(0, carol, carol_ip, request("INVITE", evil, 1, sdp(media_ip, call.hras)));
    const RatEntry *v = entry(alice, "victim-1");
    const RatEntry *b = entry(carol, "evil-1");
    ASSERT_TRUE(v && b);
    EXPECT_FALSE(v->streams[0].bypass);
    EXPECT_EQ(call.hras, v->streams[0].hras_port);
    EXPECT_EQ(call.hrac, v->streams[0].hrac_port);
    EXPECT_FALSE(b->streams[0].bypass);
    EXPECT_EQ(request("INVITE", evil, 1, sdp("10.0.0.2", b->streams[0].hrac_port)), down)
        << "carol gets HRAC's address, not alice's";
    EXPECT_EQ(1u, stats.get(HRAS_CNT_BYPASS_REFUSED));
    ASSERT_TRUE(far_rtp.send_to(media_ip, call.hras, "still-mine"));
    const Frame *f = media_got(c, 1);
    ASSERT_TRUE(f);
    EXPECT_EQ("still-mine", f->payload_string());
    EXPECT_EQ(ep(alice_ip, 4000), f->ra->to_string());
}

TEST_F(MediaAttackTest, SdpOutsideAnInviteUpdatePrackOrAckTakesNoPortAndLeaksNoLanAddress)
{
    TunnelClient &c = open(0);
    Dialog d = wan_to_lan("msg-1");
    for (const char *method : {"MESSAGE", "OPTIONS", "INFO", "NOTIFY", "UPDATE"}) {
        std::string out = down_ok(0, alice, alice_ip, request(method, d, 1, sdp(far_ip, 5000)));
        EXPECT_NE(std::string::npos, out.find("m=audio 0 RTP/AVP")) << method << ": streams declined";
        EXPECT_EQ(std::string::npos, out.find(far_ip)) << method;
    }
    // A phone's capabilities in its answer to OPTIONS: no LAN address leaves.
    std::string caps = up_ok(0, alice, reply(200, "OK", d, 2, "OPTIONS", sdp(alice_ip, 4000)));
    EXPECT_EQ(std::string::npos, caps.find(alice_ip, caps.find("\r\n\r\n"))) << caps;
    EXPECT_NE(std::string::npos, caps.find("c=IN IP4 " + media_ip));
    EXPECT_NE(std::string::npos, caps.find("m=audio 0 RTP/AVP"));
    EXPECT_EQ(0u, media->rat().size());
    EXPECT_EQ(0u, media->rat().hras_pool().used());
    EXPECT_EQ(0u, media->rat().hrac_ports_used());
    EXPECT_EQ(6u, stats.get(HRAS_CNT_SDP_NO_CALL));
    drive.run_for(20);
    EXPECT_EQ(0u, c.count(FrameType::control)) << "no OPEN_MEDIA";
}

TEST_F(MediaAttackTest, TheSameCallOfferingAgainReusesItsLegAndPorts)
{
    open(0);
    Dialog d = wan_to_lan("again-1");
    std::string first = down_ok(0, alice, alice_ip, request("INVITE", d, 1, sdp(far_ip, 5000)), v4(nat_ip));
    for (int i = 0; i < 20; i++)
        EXPECT_EQ(first, down_ok(0, alice, alice_ip, request("INVITE", d, 1, sdp(far_ip, 5000)), v4(nat_ip)));
    EXPECT_EQ(1u, media->rat().size());
    EXPECT_EQ(1u, media->rat().hras_pool().used());
    EXPECT_EQ(1u, media->rat().hrac_ports_used());
    EXPECT_EQ(1u, media->rat().legs_of_source(v4(nat_ip)));
}

TEST_F(MediaAttackTest, APhonesIpv6MediaAddressIsDeclinedWithoutAnOpenMediaNamingNobody)
{
    TunnelClient &c = open(0);
    std::string v6 = "v=0\r\no=- 1 1 IN IP6 fd00::10\r\ns=-\r\nc=IN IP6 fd00::10\r\nt=0 0\r\n"
                     "m=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/AVP 0\r\nc=IN IP4 " +
                     alice_ip + "\r\n";
    std::string up = up_ok(0, alice, request("INVITE", lan_to_wan("v6-1"), 1, v6));
    EXPECT_EQ(std::string::npos, up.find("fd00::10")) << up;
    EXPECT_EQ(std::string::npos, up.find(alice_ip, up.find("\r\n\r\n"))) << up;
    EXPECT_NE(std::string::npos, up.find("m=audio 0 RTP/AVP 0")) << "the IPv6 stream is declined";
    const RatEntry *e = entry(alice, "v6-1");
    ASSERT_TRUE(e);
    ASSERT_EQ(2u, e->streams.size());
    EXPECT_EQ(0, e->streams[0].hras_port);
    EXPECT_NE(0, e->streams[1].hras_port) << "the IPv4 stream is relayed";
    EXPECT_NE(std::string::npos, up.find("m=audio " + std::to_string(e->streams[1].hras_port)));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SDP_UNRELAYABLE));
    ASSERT_TRUE(controls_arrived(c, 1));
    drive.run_for(20);
    EXPECT_EQ((std::vector<std::string>{"OPEN_MEDIA " + std::to_string(e->streams[1].hrac_port) + " " + alice_ip +
                                        ":4002"}),
              controls(c))
        << "every OPEN_MEDIA names the phone";
}

TEST_F(MediaAttackTest, AMultipartBodyHasItsSdpPartRewrittenAndTheOtherPartsKept)
{
    open(0);
    const std::string isup = "Content-Type: application/isup;version=itu-t92+\r\n\r\n\x01\x02\x03 " + alice_ip + "\r\n";
    auto multipart = [&](const std::string &sdp_text) {
        return "--b1\r\nContent-Type: application/sdp\r\n\r\n" + sdp_text + "\r\n--b1\r\n" + isup + "--b1--\r\n";
    };
    Dialog d = lan_to_wan("mp-1");
    std::string invite =
        with_type(request("INVITE", d, 1, multipart(sdp(alice_ip, 4000))), "multipart/mixed;boundary=b1");
    std::string up = up_ok(0, alice, invite);
    const RatEntry *e = entry(alice, "mp-1");
    ASSERT_TRUE(e);
    uint16_t q = e->streams[0].hras_port;
    ASSERT_NE(0, q);
    EXPECT_EQ(with_type(request("INVITE", d, 1, multipart(sdp(media_ip, q))), "multipart/mixed;boundary=b1"), up)
        << "the SDP part rewritten, delimiters, part headers and the ISUP part kept";
    EXPECT_EQ(1u, count(up, "c=IN IP4 " + media_ip));

    // Down, with a quoted boundary and multipart/alternative.
    std::string answer = with_type(reply(200, "OK", d, 1, "INVITE", multipart(sdp(far_ip, 5000))),
                                   "multipart/alternative; boundary=\"b1\"");
    std::string down = down_ok(0, alice, alice_ip, answer);
    EXPECT_EQ(with_type(reply(200, "OK", d, 1, "INVITE", multipart(sdp("10.0.0.2", e->streams[0].hrac_port))),
                        "multipart/alternative; boundary=\"b1\""),
              down);
    EXPECT_EQ(2u, stats.get(HRAS_CNT_SDP_REWRITTEN));
}

TEST_F(MediaLimitsTest, OnlyMaxMediaLinesStreamsOfOneSdpGetPorts)
{
    TunnelClient &c = open(0);
    std::string up = up_ok(0, alice, request("INVITE", lan_to_wan("lines-1"), 1, sdp_streams(alice_ip, 4000, 40)));
    const RatEntry *e = entry(alice, "lines-1");
    ASSERT_TRUE(e);
    EXPECT_EQ(2u, media->rat().hras_pool().used()) << "max_media_lines = 2";
    EXPECT_EQ(2u, media->rat().hrac_ports_used());
    EXPECT_EQ(38u, count(up, "m=audio 0 RTP/AVP 0")) << "the rest are declined";
    EXPECT_EQ(std::string::npos, up.find(alice_ip, up.find("\r\n\r\n"))) << "and name no LAN address";
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SDP_MEDIA_LINES_LIMIT));
    ASSERT_TRUE(controls_arrived(c, 2));
    drive.run_for(20);
    EXPECT_EQ(2u, c.count(FrameType::control));
}

TEST_F(MediaLimitsTest, ASourceAndASiteHoldNoMoreLegsThanTheirLimits)
{
    open(0);
    open(1, "21000-21009");
    const in_addr_t flooder = v4("203.0.113.7"), other = v4("203.0.113.8");
    // One public source: source_max_legs = 2.
    for (int i = 0; i < 2; i++)
        down_ok(0, alice, alice_ip, request("INVITE", wan_to_lan("src-" + std::to_string(i)), 1, sdp(far_ip, 5000)),
                flooder);
    std::string third = request("INVITE", wan_to_lan("src-2"), 1, sdp(far_ip, 5000));
    auto out = on_sip_down(0, alice, acme_hrac, v4(alice_ip), third, flooder);
    ASSERT_TRUE(out.reject);
    EXPECT_EQ(0u, out.reject->rfind("SIP/2.0 503 ", 0));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SOURCE_LEGS_LIMIT));
    EXPECT_FALSE(entry(alice, "src-2"));

    // Another source still gets a leg of the site: site_max_legs = 3.
    down_ok(0, carol, carol_ip, request("INVITE", wan_to_lan("site-1", carol_ip), 1, sdp(far_ip, 5000)), other);
    EXPECT_EQ(3u, media->rat().legs_of_site(0));
    out = on_sip_down(0, carol, acme_hrac, v4(carol_ip),
                      request("INVITE", wan_to_lan("site-2", carol_ip), 1, sdp(far_ip, 5000)), other);
    ASSERT_TRUE(out.reject);
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SITE_LEGS_LIMIT));
    // A phone of the site calling out counts towards the site too.
    auto mine = on_sip_up(0, alice, request("INVITE", lan_to_wan("site-3"), 1, sdp(alice_ip, 4000)));
    ASSERT_TRUE(mine.reject);
    EXPECT_EQ(2u, stats.get(HRAS_CNT_SITE_LEGS_LIMIT));

    // The other site is untouched by the first one's limit.
    const uint64_t dave = 3;
    std::string down = on_sip_down(1, dave, beta_hrac, v4(alice_ip),
                                   request("INVITE", wan_to_lan("beta-1"), 1, sdp(far_ip, 5000)), other)
                           .msg;
    ASSERT_TRUE(entry(dave, "beta-1"));
    EXPECT_NE(std::string::npos, down.find("c=IN IP4 10.0.1.2"));

    // A leg that ends makes room again.
    up_ok(0, alice, reply(486, "Busy Here", wan_to_lan("src-0"), 1, "INVITE"));
    down_ok(0, alice, alice_ip, request("INVITE", wan_to_lan("src-3"), 1, sdp(far_ip, 5000)), flooder);
    EXPECT_TRUE(entry(alice, "src-3"));
}

TEST_F(MediaLimitsTest, AReplyOverTheLimitHasItsStreamsDeclined)
{
    open(0);
    for (int i = 0; i < 3; i++)
        up_ok(0, alice, request("INVITE", lan_to_wan("full-" + std::to_string(i)), 1, sdp(alice_ip, 4000)));
    // A late offer: the phone's INVITE had no SDP, the far side's 200 has.
    Dialog d = lan_to_wan("late-1");
    up_ok(0, alice, request("INVITE", d, 1));
    std::string down = down_ok(0, alice, alice_ip, reply(200, "OK", d, 1, "INVITE", sdp(far_ip, 5000)));
    EXPECT_NE(std::string::npos, down.find("m=audio 0 RTP/AVP")) << down;
    EXPECT_EQ(std::string::npos, down.find(far_ip));
    EXPECT_FALSE(entry(alice, "late-1"));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SITE_LEGS_LIMIT));
}

TEST_F(MediaOfferTimeoutTest, AnOfferWithoutAnyAnswerGivesItsPortsBack)
{
    TunnelClient &c = open(0);
    // Nobody answers this one (the phone is gone); the other one rings.
    down_ok(0, alice, alice_ip, request("INVITE", wan_to_lan("silent-1"), 1, sdp(far_ip, 5000)));
    Dialog ringing = wan_to_lan("ring-1", carol_ip);
    down_ok(0, carol, carol_ip, request("INVITE", ringing, 1, sdp(far_ip, 5002)));
    up_ok(0, carol, reply(100, "Trying", ringing, 1, "INVITE"));
    up_ok(0, carol, reply(180, "Ringing", ringing, 1, "INVITE"));
    uint16_t hrac = entry(alice, "silent-1")->streams[0].hrac_port;
    ASSERT_TRUE(drive.until([&] { return !entry(alice, "silent-1"); }, 3000)) << "the unanswered offer stayed";
    EXPECT_EQ(1u, stats.get(HRAS_CNT_OFFERS_UNANSWERED));
    EXPECT_TRUE(entry(carol, "ring-1")) << "a ringing call keeps its ports";
    EXPECT_EQ(1u, media->rat().hras_pool().used());
    ASSERT_TRUE(soon([&] {
        auto ctl = controls(c);
        return std::find(ctl.begin(), ctl.end(), "CLOSE_MEDIA " + std::to_string(hrac)) != ctl.end();
    }));
}

TEST_F(MediaAttackTest, AnotherDialogWithALiveCallsCallIdNeitherTakesNorEndsIt)
{
    TunnelClient &c = open(0);
    UdpSocket &far_rtp = far_socket(), &far_rtcp = far_socket();
    Call call = wan_call(c, "known-1", far_rtp, far_rtcp);
    sockets.push_back(std::make_unique<UdpSocket>(intruder_ip.c_str()));
    UdpSocket &intruder = *sockets.back();
    drive.watch(&intruder);
    // Someone who learnt the Call-ID offers again from a dialog of its own.
    Dialog forged = wan_to_lan("known-1");
    forged.from = "<sip:mallory@evil.example>;tag=m-1";
    auto out = on_sip_down(0, alice, acme_hrac, v4(alice_ip),
                           request("INVITE", forged, 1, sdp(intruder_ip, intruder.port())), v4(intruder_ip));
    ASSERT_TRUE(out.reject);
    EXPECT_EQ(0u, out.reject->rfind("SIP/2.0 403 ", 0));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SDP_FOREIGN_DIALOG));
    on_sip_down(0, alice, acme_hrac, v4(alice_ip), request("BYE", forged, 2, "", true));
    EXPECT_EQ(2u, stats.get(HRAS_CNT_SDP_FOREIGN_DIALOG));
    const RatEntry *e = entry(alice, "known-1");
    ASSERT_TRUE(e) << "a BYE of another dialog ended the call";
    EXPECT_NE(v4(intruder_ip), e->streams[0].far_ips[0]);
    EXPECT_NE(v4(intruder_ip), e->streams[0].far_ips[1]);
    ASSERT_TRUE(intruder.send_to(media_ip, call.hras, "steal"));
    ASSERT_TRUE(soon([&] { return stats.get(HRAS_CNT_MEDIA_FOREIGN_SOURCE) == 1; }));
    ASSERT_TRUE(far_rtp.send_to(media_ip, call.hras, "mine"));
    const Frame *f = media_got(c, 1);
    ASSERT_TRUE(f);
    EXPECT_EQ("mine", f->payload_string());
    // The call's own re-INVITE (the caller's tag in From) still applies.
    down_ok(0, alice, alice_ip, request("INVITE", call.d, 2, sdp(far_ip, far_rtp.port(), far_rtcp.port()), true));
    EXPECT_EQ(2u, stats.get(HRAS_CNT_SDP_FOREIGN_DIALOG));
}

TEST_F(MediaAttackTest, OutOfDescriptorsACallIsRefusedAndNoPortIsLost)
{
    open(0);
    size_t free_before = media->rat().hras_pool().available();
    // The lowest free descriptor becomes the limit: the next socket() fails
    // with EMFILE, as when a flood has taken them all.
    int lowest = dup(0);
    ASSERT_GE(lowest, 0);
    close(lowest);
    rlimit saved{};
    ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &saved));
    rlimit low = saved;
    low.rlim_cur = rlim_t(lowest);
    ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &low));
    Dialog d = lan_to_wan("emfile-1");
    auto out = on_sip_up(0, alice, request("INVITE", d, 1, sdp(alice_ip, 4000)));
    ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &saved));
    ASSERT_TRUE(out.reject);
    EXPECT_EQ(0u, out.reject->rfind("SIP/2.0 503 ", 0));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_MEDIA_BIND_FAILURES));
    EXPECT_EQ(free_before, media->rat().hras_pool().available()) << "the port went back, not retired";
    EXPECT_EQ(0u, media->rat().hras_pool().parked()) << "EMFILE is not the port's fault";
    EXPECT_EQ(0u, media->rat().hras_pool().used());
    // With descriptors again, the next call gets its ports.
    up_ok(0, alice, request("INVITE", lan_to_wan("emfile-2"), 1, sdp(alice_ip, 4000)));
    EXPECT_EQ(1u, media->rat().hras_pool().used());
}
