// The tunnel boundary with the media relay off, in HRAS's real wiring: a
// real tunnel server, the per-phone loopback endpoints and a UDP socket
// standing for Kamailio's sip_socket. SIP crosses the boundary both ways,
// from and to the right endpoint, with the addresses translated.
#include "core/hras_process.hpp"

#include "sofw/control.hpp"
#include "sofw/text.hpp"
#include "tunnel_client.hpp"

#include <gtest/gtest.h>
#include "text_util.hpp"

using namespace sofw;
using namespace sofw::hras;
using namespace sofw::test;

namespace {

const std::string acme_hrac = "10.0.0.2:5060";
const std::string beta_hrac = "10.0.1.2:5070";

Frame sip_frame(const std::string &ra, const std::string &payload)
{
    Frame f;
    f.type = FrameType::sip;
    f.ra = RaHeader::parse(ra).value();
    f.payload.assign(payload.begin(), payload.end());
    return f;
}

// REGISTER from a phone through its outbound proxy HRAC (`hrac` without port
// stands for HRAC's default port).
std::string phone_register(const std::string &phone, const std::string &hrac, const std::string &call_id)
{
    return crlf("REGISTER sip:" + hrac +
                " SIP/2.0\n"
                "Via: SIP/2.0/UDP " +
                phone + ";rport;branch=z9hG4bK-" + call_id +
                "\n"
                "Route: <sip:" +
                hrac +
                ";lr>\n"
                "Max-Forwards: 70\n"
                "From: <sip:alice@example.com>;tag=a\n"
                "To: <sip:alice@example.com>\n"
                "Call-ID: " +
                call_id +
                "\n"
                "CSeq: 1 REGISTER\n"
                "Contact: <sip:alice@" +
                phone +
                ">\n"
                "Content-Length: 0\n\n");
}

// The message with its Route header naming `to` instead of `from`.
std::string routed_to(std::string msg, const std::string &from, const std::string &to)
{
    std::string route = "Route: <sip:" + from + ";lr>";
    auto at = msg.find(route);
    if (at != std::string::npos)
        msg.replace(at, route.size(), "Route: <sip:" + to + ";lr>");
    return msg;
}

class SipBoundaryTest : public ::testing::Test {
protected:
    virtual MediaConfig media_config() { return {}; }  // relay off

    void SetUp() override
    {
        ASSERT_EQ("", sites.add("name=acme;secret=" + acme_secret + ";addr=127.1.0.1"));
        ASSERT_EQ("", sites.add("name=beta;secret=" + beta_secret + ";addr=127.1.0.2"));
        ASSERT_EQ("", sites.assign_addresses());
        cfg.listen = "127.0.0.1:0";
        cfg.keepalive_s = 1;
        cfg.half_open_timeout_s = 1;
        kamailio = HostPort{"127.0.0.1", kam.port()};
        hras = std::make_unique<HrasProcess>(loop, sites, cfg, kamailio, 3600, media_config(), stats);
        server = &hras->tunnel();
        eps = &hras->endpoints();
        ASSERT_EQ("", server->start());
        drive.watch(&kam);
    }
    void TearDown() override { hras.reset(); }

    bool soon(const std::function<bool()> &cond) { return drive.until(cond, prompt_ms); }

    TunnelClient &open(size_t site)
    {
        auto c = std::make_unique<TunnelClient>(server->port(), site ? "beta" : "acme",
                                                site ? beta_secret : acme_secret, site ? beta_hrac : acme_hrac);
        drive.watch(c.get());
        c->open();
        TunnelClient &ref = *c;
        clients.push_back(std::move(c));
        EXPECT_TRUE(soon([&] { return server->is_up(site) && ref.down_ok(); })) << "site " << site << " not up";
        return ref;
    }
    // Waits for the n-th datagram at "Kamailio" (1-based).
    const UdpSocket::Datagram *kamailio_got(size_t n)
    {
        if (!soon([&] { return kam.received.size() >= n; }))
            return nullptr;
        return &kam.received[n - 1];
    }
    const Frame *tunnel_got(TunnelClient &c, size_t n)
    {
        if (!soon([&] { return c.count(FrameType::sip) >= n; }))
            return nullptr;
        size_t seen = 0;
        for (auto &f : c.frames)
            if (f.type == FrameType::sip && ++seen == n)
                return &f;
        return nullptr;
    }
    std::string ksock() const { return kamailio.to_string(); }

    EventLoop loop;
    SiteTable sites;
    Stats stats;
    TunnelConfig cfg;
    std::unique_ptr<HrasProcess> hras;
    TunnelServer *server = nullptr;
    UdpSocket kam;  // Kamailio's sip_socket
    HostPort kamailio;
    const SiteEndpoints *eps = nullptr;
    Driver drive{loop};
    std::vector<std::unique_ptr<TunnelClient>> clients;
};

}  // namespace

TEST_F(SipBoundaryTest, SipFromAPhoneReachesKamailioFromTheSiteLoopbackTranslated)
{
    TunnelClient &acme = open(0);
    acme.send_frame(sip_frame("192.168.1.10:5060", phone_register("192.168.1.10:5060", "10.0.0.2", "r1")));
    auto *d = kamailio_got(1);
    ASSERT_TRUE(d);
    EXPECT_EQ("127.1.0.1", d->from_ip);
    EXPECT_EQ(routed_to(phone_register("192.168.1.10:5060", "10.0.0.2", "r1"), "10.0.0.2", ksock()), d->data)
        << "HRAC in Route must become sip_socket, nothing else changes (request URI included)";
    auto eps0 = eps->endpoints(0);
    ASSERT_EQ(1u, eps0.size());
    EXPECT_EQ(HostPort({"127.1.0.1", d->from_port}).to_string(), eps0[0]->loop.to_string());
    EXPECT_EQ("192.168.1.10:5060", eps0[0]->real.to_string());

    // The phone's reply to a request of Kamailio: HRAC's Via on top.
    std::string reply = crlf("SIP/2.0 200 OK\n"
                             "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKk1\n"
                             "Via: SIP/2.0/UDP 198.51.100.20:5060;received=198.51.100.20;branch=z9hG4bKx\n"
                             "Record-Route: <sip:10.0.0.2:5060;lr>\n"
                             "Call-ID: i1\n"
                             "CSeq: 1 INVITE\n"
                             "Content-Length: 0\n\n");
    acme.send_frame(sip_frame("192.168.1.10:5060", reply));
    d = kamailio_got(2);
    ASSERT_TRUE(d);
    EXPECT_EQ("127.1.0.1", d->from_ip);
    EXPECT_EQ(eps0[0]->loop.port, d->from_port) << "the same phone keeps its endpoint";
    EXPECT_EQ(crlf("SIP/2.0 200 OK\n"
                   "Via: SIP/2.0/UDP " +
                   ksock() +
                   ";branch=z9hG4bKk1\n"
                   "Via: SIP/2.0/UDP 198.51.100.20:5060;received=198.51.100.20;branch=z9hG4bKx\n"
                   "Record-Route: <sip:" +
                   ksock() +
                   ";lr>\n"
                   "Call-ID: i1\n"
                   "CSeq: 1 INVITE\n"
                   "Content-Length: 0\n\n"),
              d->data);
    EXPECT_EQ(2u, stats.get(HRAS_CNT_SIP_UP));
    EXPECT_EQ(1u, eps->phone_count(0));
}

TEST_F(SipBoundaryTest, EachPhoneOfASiteHasItsOwnEndpoint)
{
    TunnelClient &acme = open(0);
    acme.send_frame(sip_frame("192.168.1.10:5060", phone_register("192.168.1.10:5060", "10.0.0.2", "p1")));
    acme.send_frame(sip_frame("192.168.1.11:5060", phone_register("192.168.1.11:5060", "10.0.0.2", "p2")));
    acme.send_frame(sip_frame("192.168.1.10:5062", phone_register("192.168.1.10:5062", "10.0.0.2", "p3")));
    ASSERT_TRUE(kamailio_got(3));
    EXPECT_EQ(3u, eps->phone_count(0));
    EXPECT_NE(kam.received[0].from_port, kam.received[1].from_port);
    EXPECT_NE(kam.received[0].from_port, kam.received[2].from_port);
    EXPECT_NE(kam.received[1].from_port, kam.received[2].from_port);
    for (auto &d : kam.received)
        EXPECT_EQ("127.1.0.1", d.from_ip);
}

TEST_F(SipBoundaryTest, ASiteOverSiteMaxPhonesIsRefusedAndOtherSitesAreNot)
{
    hras->set_site_max_phones(2);
    TunnelClient &acme = open(0);
    TunnelClient &beta = open(1);
    for (int i = 0; i < 5; i++) {
        std::string phone = "192.168.1." + std::to_string(10 + i) + ":5060";
        acme.send_frame(sip_frame(phone, phone_register(phone, "10.0.0.2", "full" + std::to_string(i))));
    }
    ASSERT_TRUE(soon([&] { return stats.get(HRAS_CNT_SITE_PHONES_REFUSED) == 3; }));
    EXPECT_EQ(2u, eps->phone_count(0));
    // A phone that has its endpoint keeps it.
    acme.send_frame(sip_frame("192.168.1.10:5060", phone_register("192.168.1.10:5060", "10.0.0.2", "again")));
    ASSERT_TRUE(kamailio_got(3));
    EXPECT_EQ(3u, stats.get(HRAS_CNT_SITE_PHONES_REFUSED));
    // The other site is not affected by acme's full table.
    for (int i = 0; i < 2; i++) {
        std::string phone = "192.168.1." + std::to_string(10 + i) + ":5060";
        beta.send_frame(sip_frame(phone, phone_register(phone, "10.0.1.2:5070", "beta" + std::to_string(i))));
    }
    ASSERT_TRUE(kamailio_got(5));
    EXPECT_EQ(2u, eps->phone_count(1));
    EXPECT_EQ(3u, stats.get(HRAS_CNT_SITE_PHONES_REFUSED));
    EXPECT_TRUE(server->is_up(0)) << "refusing phones does not drop the session";
}

TEST_F(SipBoundaryTest, SameLanAddressInTwoSitesGetsTwoEndpointsAndRepliesGoToTheRightSite)
{
    TunnelClient &acme = open(0);
    TunnelClient &beta = open(1);
    const std::string phone = "192.168.1.10:5060";
    acme.send_frame(sip_frame(phone, phone_register(phone, "10.0.0.2", "reg-acme")));
    ASSERT_TRUE(kamailio_got(1));
    beta.send_frame(sip_frame(phone, phone_register(phone, "10.0.1.2:5070", "reg-beta")));
    ASSERT_TRUE(kamailio_got(2));
    auto from_acme = kam.received[0], from_beta = kam.received[1];
    EXPECT_EQ("127.1.0.1", from_acme.from_ip);
    EXPECT_EQ("127.1.0.2", from_beta.from_ip);
    EXPECT_EQ(routed_to(phone_register(phone, "10.0.1.2:5070", "reg-beta"), "10.0.1.2:5070", ksock()), from_beta.data);
    EXPECT_EQ(1u, eps->phone_count(0));
    EXPECT_EQ(1u, eps->phone_count(1));

    // Kamailio answers each REGISTER to where it came from (received/rport).
    auto reply_to = [&](const UdpSocket::Datagram &d, const std::string &call_id) {
        std::string r = crlf("SIP/2.0 200 OK\n"
                             "Via: SIP/2.0/UDP " +
                             phone + ";branch=z9hG4bK-" + call_id + ";received=" + d.from_ip +
                             ";rport=" + std::to_string(d.from_port) +
                             "\n"
                             "From: <sip:alice@example.com>;tag=a\n"
                             "To: <sip:alice@example.com>;tag=k\n"
                             "Call-ID: " +
                             call_id +
                             "\n"
                             "CSeq: 1 REGISTER\n"
                             "Contact: <sip:alice@" +
                             phone +
                             ">;expires=60\n"
                             "Content-Length: 0\n\n");
        ASSERT_TRUE(kam.send_to(d.from_ip, d.from_port, r));
    };
    auto expected = [&](const std::string &call_id) {
        return crlf("SIP/2.0 200 OK\n"
                    "Via: SIP/2.0/UDP " +
                    phone + ";branch=z9hG4bK-" + call_id +
                    ";received=192.168.1.10;rport=5060\n"
                    "From: <sip:alice@example.com>;tag=a\n"
                    "To: <sip:alice@example.com>;tag=k\n"
                    "Call-ID: " +
                    call_id +
                    "\n"
                    "CSeq: 1 REGISTER\n"
                    "Contact: <sip:alice@" +
                    phone +
                    ">;expires=60\n"
                    "Content-Length: 0\n\n");
    };
    reply_to(from_beta, "reg-beta");
    reply_to(from_acme, "reg-acme");
    const Frame *fa = tunnel_got(acme, 1);
    const Frame *fb = tunnel_got(beta, 1);
    ASSERT_TRUE(fa);
    ASSERT_TRUE(fb);
    for (const Frame *f : {fa, fb}) {
        ASSERT_TRUE(f->ra);
        EXPECT_EQ(phone, f->ra->to_string());
        EXPECT_EQ(0, f->ra->relay_port);
        EXPECT_EQ(Transport::udp, f->ra->transport);
    }
    EXPECT_EQ(expected("reg-acme"), fa->payload_string());
    EXPECT_EQ(expected("reg-beta"), fb->payload_string());
    drive.run_for(50);
    EXPECT_EQ(1u, acme.count(FrameType::sip));
    EXPECT_EQ(1u, beta.count(FrameType::sip));
    EXPECT_EQ(2u, stats.get(HRAS_CNT_SIP_DOWN));
}

TEST_F(SipBoundaryTest, KamailioRequestToAPhoneGoesDownWithHracInViaAndRecordRoute)
{
    TunnelClient &beta = open(1);
    beta.send_frame(sip_frame("192.168.1.10:5060", phone_register("192.168.1.10:5060", "10.0.1.2:5070", "r")));
    auto *d = kamailio_got(1);
    ASSERT_TRUE(d);
    std::string invite = "INVITE sip:alice@192.168.1.10:5060 SIP/2.0\n"
                         "Record-Route: <sip:" +
                         ksock() +
                         ";lr>, <sip:198.51.100.1;lr>\n"
                         "Via: SIP/2.0/UDP " +
                         ksock() +
                         ";branch=z9hG4bKk1.0\n"
                         "Via: SIP/2.0/UDP 198.51.100.20:5060;received=198.51.100.20;rport=5060;branch=z9hG4bKx\n"
                         "From: <sip:bob@wan.example>;tag=1\n"
                         "To: <sip:alice@beta.example>\n"
                         "Call-ID: c1\n"
                         "CSeq: 1 INVITE\n"
                         "Contact: <sip:bob@198.51.100.20:5060>\n"
                         "Content-Type: application/sdp\n"
                         "Content-Length: 20\n"
                         "\n"
                         "c=IN IP4 127.0.0.1\n";  // the body is not the boundary's business
    std::string want = invite;
    for (size_t p; (p = want.find(ksock())) != std::string::npos;)
        want.replace(p, ksock().size(), beta_hrac);
    ASSERT_TRUE(kam.send_to(d->from_ip, d->from_port, crlf(invite)));
    const Frame *f = tunnel_got(beta, 1);
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->ra);
    EXPECT_EQ("192.168.1.10:5060", f->ra->to_string());
    EXPECT_EQ(crlf(want), f->payload_string());
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SIP_DOWN));
}

TEST_F(SipBoundaryTest, MalformedSipFromAPhoneIsDroppedAndTheSessionStaysUp)
{
    TunnelClient &acme = open(0);
    acme.send_frame(sip_frame("192.168.1.10:5060", "hello world"));
    acme.send_frame(sip_frame("192.168.1.10:5060", crlf("OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/UDP 192.168.1.10")));
    ASSERT_TRUE(soon([&] { return stats.get(HRAS_CNT_SIP_MALFORMED) == 2; }));
    // What comes next still goes through, and is the first thing Kamailio sees.
    acme.send_frame(sip_frame("192.168.1.10:5060", phone_register("192.168.1.10:5060", "10.0.0.2", "ok")));
    auto *d = kamailio_got(1);
    ASSERT_TRUE(d);
    EXPECT_NE(std::string::npos, d->data.find("Call-ID: ok\r\n"));
    EXPECT_TRUE(server->is_up(0));
    EXPECT_FALSE(acme.down->closed());
    EXPECT_EQ(0u, stats.get(HRAS_CNT_FRAME_ERRORS));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SIP_UP));
    EXPECT_EQ(1u, kam.received.size());
}

TEST_F(SipBoundaryTest, MalformedSipFromKamailioIsDropped)
{
    TunnelClient &acme = open(0);
    acme.send_frame(sip_frame("192.168.1.10:5060", phone_register("192.168.1.10:5060", "10.0.0.2", "r")));
    auto *d = kamailio_got(1);
    ASSERT_TRUE(d);
    ASSERT_TRUE(kam.send_to(d->from_ip, d->from_port, "garbage"));
    ASSERT_TRUE(soon([&] { return stats.get(HRAS_CNT_SIP_MALFORMED) == 1; }));
    std::string ok = crlf("OPTIONS sip:alice@192.168.1.10 SIP/2.0\nVia: SIP/2.0/UDP " + ksock() +
                          ";branch=z9hG4bKo\nCall-ID: o\nContent-Length: 0\n\n");
    ASSERT_TRUE(kam.send_to(d->from_ip, d->from_port, ok));
    const Frame *f = tunnel_got(acme, 1);
    ASSERT_TRUE(f);
    EXPECT_NE(std::string::npos, f->payload_string().find("Call-ID: o\r\n"));
    EXPECT_EQ(1u, acme.count(FrameType::sip));
    EXPECT_TRUE(server->is_up(0));
}

TEST_F(SipBoundaryTest, SipForAPhoneWhoseSiteHasNoTunnelIsCounted)
{
    TunnelClient &first = open(0);
    first.send_frame(sip_frame("192.168.1.10:5060", phone_register("192.168.1.10:5060", "10.0.0.2", "r")));
    auto *d = kamailio_got(1);
    ASSERT_TRUE(d);
    auto ep = *d;
    first.up->close();  // HRAC goes away
    first.down->close();
    ASSERT_TRUE(soon([&] { return !server->is_up(0); }));

    std::string options = crlf("OPTIONS sip:alice@192.168.1.10 SIP/2.0\nVia: SIP/2.0/UDP " + ksock() +
                               ";branch=z9hG4bKo\nCall-ID: o\nContent-Length: 0\n\n");
    ASSERT_TRUE(kam.send_to(ep.from_ip, ep.from_port, options));
    ASSERT_TRUE(soon([&] { return stats.get(HRAS_CNT_SIP_NO_TUNNEL) == 1; }));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_SIP_DOWN));

    // The endpoint outlives the session: once HRAC is back, the same
    // endpoint reaches the phone again.
    TunnelClient &second = open(0);
    ASSERT_TRUE(kam.send_to(ep.from_ip, ep.from_port, options));
    const Frame *f = tunnel_got(second, 1);
    ASSERT_TRUE(f);
    EXPECT_EQ("192.168.1.10:5060", f->ra->to_string());
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SIP_NO_TUNNEL));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SIP_DOWN));
}

// An RA header is HRAC's claim about a phone; one that cannot be a LAN
// phone (port 0, 0.0.0.0, loopback, link-local, multicast, broadcast) is
// dropped and counted where the frame enters, costs no endpoint, gets no
// answer, and the relay goes on for everyone, the sending site included.
TEST_F(SipBoundaryTest, SipFromAnAddressNoPhoneCanHaveIsDroppedAndCounted)
{
    TunnelClient &acme = open(0);
    TunnelClient &beta = open(1);
    const char *bad[] = {"192.168.1.10:0", "0.0.0.0:5060",           "127.0.0.1:5060",
                         "224.0.0.1:5060", "255.255.255.255:5060",   "[::1]:5060",
                         "[::]:5060",      "[ff02::1]:5060",         "169.254.169.254:80",
                         "[fe80::1]:5060", "[::ffff:127.0.0.1]:5060"};
    for (const char *ra : bad)
        acme.send_frame(sip_frame(ra, phone_register("192.168.1.10:5060", "10.0.0.2", "bad")));
    ASSERT_TRUE(soon([&] { return stats.get(HRAS_CNT_RA_INVALID) == std::size(bad); }));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_SIP_MALFORMED));
    EXPECT_EQ(0u, eps->phone_count(0));
    EXPECT_TRUE(kam.received.empty());
    EXPECT_EQ(0u, acme.count(FrameType::sip)) << "nothing is answered";

    acme.send_frame(sip_frame("192.168.1.10:5060", phone_register("192.168.1.10:5060", "10.0.0.2", "a")));
    beta.send_frame(sip_frame("192.168.1.10:5060", phone_register("192.168.1.10:5060", "10.0.0.3", "b")));
    ASSERT_TRUE(kamailio_got(2));
    EXPECT_TRUE(server->is_up(0));
    EXPECT_TRUE(server->is_up(1));
    EXPECT_EQ(2u, stats.get(HRAS_CNT_SIP_UP));
}

// With the media relay on, the whole crossing: the INVITE from Kamailio
// reaches the phone with HRAC's port in its SDP, and the OPEN_MEDIA for
// that port is ahead of it in the tunnel; the answer reaches Kamailio with
// HRAS's public port.
class SipBoundaryMediaTest : public SipBoundaryTest {
protected:
    MediaConfig media_config() override
    {
        MediaConfig m;
        m.address = "127.0.0.1";
        m.port_min = 31000;
        m.port_max = 31099;
        return m;
    }
};

TEST_F(SipBoundaryMediaTest, ControlFramesGoDownBeforeTheSipThatNamesTheirPort)
{
    TunnelClient &acme = open(0);
    acme.send_frame(sip_frame("192.168.1.10:5060", phone_register("192.168.1.10:5060", acme_hrac, "r")));
    auto *d = kamailio_got(1);
    ASSERT_TRUE(d);
    std::string sdp = "v=0\r\no=- 1 1 IN IP4 198.51.100.20\r\ns=-\r\nc=IN IP4 198.51.100.20\r\nt=0 0\r\n"
                      "m=audio 40000 RTP/AVP 0\r\n";
    std::string invite = crlf("INVITE sip:alice@192.168.1.10:5060 SIP/2.0\n"
                              "Via: SIP/2.0/UDP " +
                              ksock() +
                              ";branch=z9hG4bKm1\n"
                              "From: <sip:bob@wan.example>;tag=1\n"
                              "To: <sip:alice@acme.example>\n"
                              "Call-ID: m1\n"
                              "CSeq: 1 INVITE\n"
                              "Content-Type: application/sdp\n"
                              "Content-Length: " +
                              std::to_string(sdp.size()) + "\n\n") +
                         sdp;
    ASSERT_TRUE(kam.send_to(d->from_ip, d->from_port, invite));
    const Frame *f = tunnel_got(acme, 1);
    ASSERT_TRUE(f);

    size_t open_at = acme.frames.size(), sip_at = acme.frames.size();
    std::optional<Control> open_media;
    for (size_t i = 0; i < acme.frames.size(); i++) {
        const Frame &fr = acme.frames[i];
        auto ctl = fr.type == FrameType::control ? decode_control(fr.payload.data(), fr.payload.size()) : std::nullopt;
        if (ctl && ctl->op == ControlOp::open_media && open_at == acme.frames.size()) {
            open_at = i;
            open_media = ctl;
        }
        if (fr.type == FrameType::sip && sip_at == acme.frames.size())
            sip_at = i;
    }
    ASSERT_LT(open_at, acme.frames.size()) << "no OPEN_MEDIA";
    ASSERT_LT(open_at, sip_at) << "OPEN_MEDIA must be ahead of the INVITE";
    ASSERT_TRUE(open_media);
    std::string down = acme.frames[sip_at].payload_string();
    EXPECT_NE(std::string::npos, down.find("m=audio " + std::to_string(open_media->port) + " RTP/AVP 0"))
        << "the SDP names the port OPEN_MEDIA opened: " << down;
    EXPECT_NE(std::string::npos, down.find("c=IN IP4 10.0.0.2")) << down;
    EXPECT_NE(std::string::npos, down.find("Via: SIP/2.0/UDP " + acme_hrac + ";branch=z9hG4bKm1")) << down;

    std::string answer_sdp = "v=0\r\no=- 2 2 IN IP4 192.168.1.10\r\ns=-\r\nc=IN IP4 192.168.1.10\r\nt=0 0\r\n"
                             "m=audio 4000 RTP/AVP 0\r\n";
    std::string ok = crlf("SIP/2.0 200 OK\n"
                          "Via: SIP/2.0/UDP " +
                          acme_hrac +
                          ";branch=z9hG4bKm1\n"
                          "From: <sip:bob@wan.example>;tag=1\n"
                          "To: <sip:alice@acme.example>;tag=2\n"
                          "Call-ID: m1\n"
                          "CSeq: 1 INVITE\n"
                          "Content-Type: application/sdp\n"
                          "Content-Length: " +
                          std::to_string(answer_sdp.size()) + "\n\n") +
                     answer_sdp;
    acme.send_frame(sip_frame("192.168.1.10:5060", ok));
    auto *up = kamailio_got(2);
    ASSERT_TRUE(up);
    EXPECT_NE(std::string::npos, up->data.find("Via: SIP/2.0/UDP " + ksock() + ";branch=z9hG4bKm1")) << up->data;
    EXPECT_NE(std::string::npos, up->data.find("c=IN IP4 127.0.0.1")) << "the far side sends to HRAS: " << up->data;
    EXPECT_EQ(std::string::npos, up->data.find("192.168.1.10")) << "no LAN address leaves: " << up->data;
    ASSERT_TRUE(hras->media());
    EXPECT_EQ(1u, hras->media()->rat().size());
}

TEST_F(SipBoundaryMediaTest, TheSourceKamailioNotedGoesToTheMediaPlanAndNotDownTheTunnel)
{
    TunnelClient &acme = open(0);
    acme.send_frame(sip_frame("192.168.1.10:5060", phone_register("192.168.1.10:5060", acme_hrac, "r")));
    auto *d = kamailio_got(1);
    ASSERT_TRUE(d);
    std::string sdp = "v=0\r\no=- 1 1 IN IP4 10.9.9.9\r\ns=-\r\nc=IN IP4 10.9.9.9\r\nt=0 0\r\n"
                      "m=audio 40000 RTP/AVP 0\r\n";
    auto invite = [&](const std::string &call_id, const std::string &source) {
        return crlf("INVITE sip:alice@192.168.1.10:5060 SIP/2.0\n"
                    "Via: SIP/2.0/UDP " +
                    ksock() +
                    ";branch=z9hG4bK" + call_id +
                    "\n"
                    "From: <sip:bob@wan.example>;tag=1\n"
                    "To: <sip:alice@acme.example>\n"
                    "Call-ID: " +
                    call_id +
                    "\n"
                    "CSeq: 1 INVITE\n"
                    "X-SoFW-Source: " +
                    source +
                    "\n"
                    "Content-Type: application/sdp\n"
                    "Content-Length: " +
                    std::to_string(sdp.size()) + "\n\n") +
               sdp;
    };
    ASSERT_TRUE(kam.send_to(d->from_ip, d->from_port, invite("s1", "203.0.113.9")));
    const Frame *f = tunnel_got(acme, 1);
    ASSERT_TRUE(f);
    std::string down = f->payload_string();
    EXPECT_EQ(std::string::npos, sofw::lower(down).find("x-sofw-source")) << down;
    EXPECT_NE(std::string::npos, down.find("\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n")) << down;
    const Rat &rat = hras->media()->rat();
    ASSERT_EQ(1u, rat.size());
    const RatEntry &e = *rat.entries().begin()->second;
    ASSERT_EQ(1u, e.streams.size());
    EXPECT_EQ(inet_addr("10.9.9.9"), e.streams[0].far_ips[0]) << "the SDP's c=";
    EXPECT_EQ(inet_addr("203.0.113.9"), e.streams[0].far_ips[1]) << "where Kamailio received the SIP from";
    EXPECT_EQ(1u, rat.legs_of_source(inet_addr("203.0.113.9")));

    // A phone of another site (its loopback address) is no public source.
    ASSERT_TRUE(kam.send_to(d->from_ip, d->from_port, invite("s2", "127.1.0.2")));
    ASSERT_TRUE(tunnel_got(acme, 2));
    EXPECT_EQ(0u, rat.legs_of_source(inet_addr("127.1.0.2")));
    EXPECT_EQ(std::string::npos, sofw::lower(tunnel_got(acme, 2)->payload_string()).find("x-sofw-source"));
}
