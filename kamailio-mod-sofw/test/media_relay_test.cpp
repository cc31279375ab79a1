// The HRAS media plan and relay in HRAS's real wiring, between a real
// tunnel server (with the test's HRAC client on loopback) and UDP sockets
// standing for the far side. SIP is handed to the media planner directly,
// as the tunnel boundary does; the RAT, the control frames, the rewritten
// SDP and the media both ways are checked.
#include "core/hras_process.hpp"

#include "sofw/control.hpp"
#include "tunnel_client.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

using namespace sofw;
using namespace sofw::hras;
using namespace sofw::test;

namespace {

const std::string acme_secret = "acme-0123456789abcdef";
const std::string beta_secret = "beta-0123456789abcdef";
const HostPort acme_hrac{"10.0.0.2", 5060};
const HostPort beta_hrac{"10.0.1.2", 5070};
constexpr int prompt_ms = 500;  // well under the 1 s tick

const std::string alice_ip = "192.168.1.10";  // phone 1 of acme
const std::string carol_ip = "192.168.1.11";  // phone 2 of acme
constexpr uint64_t alice = 1, carol = 2;
const std::string far_ip = "127.0.0.1";  // the outside phone's media

// HRAS's public media address: one per test process, so that tests run in
// parallel (ctest -j) never compete for the fixed port ranges below.
std::string own_media_ip()
{
    unsigned p = unsigned(getpid());
    return "127.42." + std::to_string(p / 250 % 250 + 1) + "." + std::to_string(p % 250 + 1);
}

std::string sdp(const std::string &ip, uint16_t port, uint16_t rtcp = 0)
{
    std::string s = "v=0\r\n"
                    "o=- 8000 8001 IN IP4 " +
                    ip +
                    "\r\n"
                    "s=call\r\n"
                    "c=IN IP4 " +
                    ip +
                    "\r\n"
                    "t=0 0\r\n"
                    "m=audio " +
                    std::to_string(port) + " RTP/AVP 0 8 101\r\n";
    if (rtcp)
        s += "a=rtcp:" + std::to_string(rtcp) + "\r\n";
    return s + "a=rtpmap:0 PCMU/8000\r\n"
               "a=rtpmap:8 PCMA/8000\r\n"
               "a=rtpmap:101 telephone-event/8000\r\n"
               "a=sendrecv\r\n";
}

// One call as its SIP looks at the boundary: who calls whom, and the Via of
// the side that sends requests (replies carry the same).
struct Dialog {
    std::string call_id;
    std::string from, to;  // header values
    std::string via;       // top Via of requests
    std::string ruri;
};

Dialog wan_to_lan(const std::string &call_id, const std::string &phone_ip = alice_ip)
{
    return {call_id, "\"Bob\" <sip:bob@wan.example>;tag=b-" + call_id, "<sip:alice@acme.example>",
            "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-k-" + call_id +
                "\r\n"
                "Via: SIP/2.0/UDP 198.51.100.20:5060;received=198.51.100.20;rport=5060;branch=z9hG4bK-b",
            "sip:alice@" + phone_ip + ":5060"};
}

Dialog lan_to_wan(const std::string &call_id, const std::string &phone_ip = alice_ip)
{
    return {call_id, "<sip:alice@acme.example>;tag=a-" + call_id, "<sip:bob@wan.example>",
            "SIP/2.0/UDP " + phone_ip + ":5060;rport;branch=z9hG4bK-a-" + call_id, "sip:bob@wan.example"};
}

std::string sip(const std::string &start, const Dialog &d, bool to_tag, const std::string &cseq,
                const std::string &body)
{
    std::string m = start +
                    "\r\n"
                    "Via: " +
                    d.via +
                    "\r\n"
                    "Max-Forwards: 70\r\n"
                    "From: " +
                    d.from +
                    "\r\n"
                    "To: " +
                    d.to + (to_tag ? ";tag=t-" + d.call_id : "") +
                    "\r\n"
                    "Call-ID: " +
                    d.call_id +
                    "\r\n"
                    "CSeq: " +
                    cseq +
                    "\r\n"
                    "Contact: <sip:contact@192.0.2.1:5060>\r\n"
                    "User-Agent: sofw-test\r\n";
    if (!body.empty())
        m += "Content-Type: application/sdp\r\n";
    return m + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string request(const std::string &method, const Dialog &d, int cseq, const std::string &body = "",
                    bool in_dialog = false)
{
    return sip(method + " " + d.ruri + " SIP/2.0", d, in_dialog, std::to_string(cseq) + " " + method, body);
}

std::string reply(int code, const std::string &reason, const Dialog &d, int cseq, const std::string &method,
                  const std::string &body = "")
{
    return sip("SIP/2.0 " + std::to_string(code) + " " + reason, d, true, std::to_string(cseq) + " " + method, body);
}

Frame sip_frame(const std::string &ra, const std::string &payload)
{
    Frame f;
    f.type = FrameType::sip;
    f.ra = RaHeader::parse(ra).value();
    f.payload.assign(payload.begin(), payload.end());
    return f;
}

Frame media_frame(const std::string &ra, uint16_t relay_port, const std::string &payload)
{
    Frame f;
    f.type = FrameType::media;
    f.ra = RaHeader::parse(ra).value();
    f.ra->relay_port = relay_port;
    f.payload.assign(payload.begin(), payload.end());
    return f;
}

std::string ep(const std::string &ip, uint16_t port) { return ip + ":" + std::to_string(port); }
std::string ep(const MediaEndpoint &m) { return m.to_string(); }

// A phone address as the relay takes it: binary, network order.
in_addr_t v4(const std::string &ip) { return inet_addr(ip.c_str()); }

// Whether nobody (no relay socket) holds ip:port any more.
bool port_free(const std::string &ip, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
    bool ok = bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) == 0;
    close(fd);
    return ok;
}

class MediaRelayTest : public ::testing::Test {
protected:
    virtual void configure(MediaConfig &) {}

    void SetUp() override
    {
        ASSERT_EQ("", sites.add("name=acme;secret=" + acme_secret + ";addr=127.1.0.1"));
        ASSERT_EQ("", sites.add("name=beta;secret=" + beta_secret + ";addr=127.1.0.2"));
        ASSERT_EQ("", sites.assign_addresses());
        TunnelConfig tcfg;
        tcfg.listen = "127.0.0.1:0";
        mcfg.address = media_ip;
        mcfg.port_min = 30000;
        mcfg.port_max = 30099;
        configure(mcfg);
        process = std::make_unique<HrasProcess>(loop, sites, tcfg, HostPort{"127.0.0.1", 5062}, 3600, mcfg, stats);
        server = &process->tunnel();
        media = process->media();
        ASSERT_TRUE(media);
        ASSERT_EQ("", server->start());
    }
    void TearDown() override { process.reset(); }

    bool soon(const std::function<bool()> &cond) { return drive.until(cond, prompt_ms); }

    // HRAC of the site opens its session, announcing its LAN media ports
    // (X-SoFW-Media-Ports on both requests, as hrac-agent does).
    TunnelClient &open(size_t site, const std::string &ports = "20000-20009")
    {
        const HostPort &lan = site ? beta_hrac : acme_hrac;
        auto c = std::make_unique<TunnelClient>(server->port(), site ? "beta" : "acme",
                                                site ? beta_secret : acme_secret, lan.to_string());
        c->extra_headers = std::string(hdr::media_ports) + ": " + ports + "\r\n";
        c->open();
        TunnelClient &ref = *c;
        drive.watch(c.get());
        clients.push_back(std::move(c));
        EXPECT_TRUE(soon([&] { return server->is_up(site) && ref.down_ok(); })) << "site "
            << site << " not up";
        return ref;
    }
    UdpSocket &far_socket()
    {
        sockets.push_back(std::make_unique<UdpSocket>(far_ip.c_str()));
        drive.watch(sockets.back().get());
        return *sockets.back();
    }

    // Control frames the client received, in order: "OPEN_MEDIA 20000 192.168.1.10:4000".
    static std::vector<std::string> controls(const TunnelClient &c)
    {
        std::vector<std::string> r;
        for (auto &f : c.frames) {
            if (f.type != FrameType::control)
                continue;
            auto ctl = decode_control(f.payload.data(), f.payload.size());
            if (!ctl) {
                r.push_back("undecodable");
                continue;
            }
            std::string s = std::string(control_op_name(ctl->op)) + " " + std::to_string(ctl->port);
            if (f.ra)
                s += " " + f.ra->to_string();
            r.push_back(s);
        }
        return r;
    }
    bool controls_arrived(const TunnelClient &c, size_t n)
    {
        return soon([&] { return c.count(FrameType::control) >= n; });
    }
    std::vector<const Frame *> media_frames(const TunnelClient &c) const
    {
        std::vector<const Frame *> r;
        for (auto &f : c.frames)
            if (f.type == FrameType::media)
                r.push_back(&f);
        return r;
    }
    // Waits for the n-th media frame at the client (1-based).
    const Frame *media_got(const TunnelClient &c, size_t n)
    {
        if (!soon([&] { return c.count(FrameType::media) >= n; }))
            return nullptr;
        return media_frames(c)[n - 1];
    }
    const UdpSocket::Datagram *udp_got(UdpSocket &s, size_t n)
    {
        if (!soon([&] { return s.received.size() >= n; }))
            return nullptr;
        return &s.received[n - 1];
    }
    // Passes a message the relay let through down the tunnel to the phone,
    // as SiteEndpoints does right after on_sip_down, and waits for it.
    void deliver(TunnelClient &c, size_t site, const std::string &phone_ip, const std::string &msg)
    {
        size_t before = c.count(FrameType::sip);
        ASSERT_TRUE(server->send(site, sip_frame(ep(phone_ip, 5060), msg)));
        ASSERT_TRUE(soon([&] { return c.count(FrameType::sip) > before; }));
    }

    // What the boundary does with a message's media plan, control frames
    // written at once; the message itself is returned for the test to pass on.
    struct Outcome {
        std::string msg;
        std::optional<std::string> reject;
    };
    Outcome on_sip_down(size_t site, uint64_t phone, const HostPort &hrac, in_addr_t phone_ip, const std::string &text)
    {
        auto m = SipMessage::parse(text);
        EXPECT_TRUE(m) << text;
        if (!m)
            return {text, std::nullopt};
        MediaPlan plan = media->down(site, phone, hrac, phone_ip, *m);
        process->writer().controls(site, plan.controls);
        return {m->str(), plan.reject};
    }
    Outcome on_sip_up(size_t site, uint64_t phone, const std::string &text)
    {
        auto m = SipMessage::parse(text);
        EXPECT_TRUE(m) << text;
        if (!m)
            return {text, std::nullopt};
        MediaPlan plan = media->up(site, phone, *m);
        process->writer().controls(site, plan.controls);
        return {m->str(), plan.reject};
    }

    std::string down_ok(size_t site, uint64_t phone, const std::string &phone_ip, const std::string &msg)
    {
        auto out = on_sip_down(site, phone, site ? beta_hrac : acme_hrac, v4(phone_ip), msg);
        EXPECT_FALSE(out.reject) << *out.reject;
        return out.msg;
    }
    std::string up_ok(size_t site, uint64_t phone, const std::string &msg)
    {
        auto out = on_sip_up(site, phone, msg);
        EXPECT_FALSE(out.reject) << *out.reject;
        return out.msg;
    }

    const RatEntry *entry(uint64_t phone, const std::string &call_id) const
    {
        auto it = media->rat().entries().find({phone, call_id});
        return it == media->rat().entries().end() ? nullptr : it->second.get();
    }

    struct Call {
        Dialog d;
        uint16_t hras = 0, hrac = 0;
    };
    // An answered call from the outside phone (far_rtp/far_rtcp named in its
    // SDP) to alice (media at alice_ip:phone_port): INVITE down, 200 up, ACK
    // down. The client has seen the INVITE.
    Call wan_call(TunnelClient &c, const std::string &call_id, UdpSocket &far_rtp, UdpSocket &far_rtcp,
                  uint16_t phone_port = 4000)
    {
        Call call{wan_to_lan(call_id), 0, 0};
        std::string inv =
            down_ok(0, alice, alice_ip, request("INVITE", call.d, 1, sdp(far_ip, far_rtp.port(), far_rtcp.port())));
        deliver(c, 0, alice_ip, inv);
        up_ok(0, alice, reply(200, "OK", call.d, 1, "INVITE", sdp(alice_ip, phone_port)));
        down_ok(0, alice, alice_ip, request("ACK", call.d, 1, "", true));
        const RatEntry *e = entry(alice, call_id);
        EXPECT_TRUE(e);
        if (e && !e->streams.empty()) {
            call.hras = e->streams[0].hras_port;
            call.hrac = e->streams[0].hrac_port;
        }
        return call;
    }

    const std::string media_ip = own_media_ip();
    EventLoop loop;
    SiteTable sites;
    Stats stats;
    MediaConfig mcfg;
    std::unique_ptr<HrasProcess> process;
    TunnelServer *server = nullptr;
    MediaPlanner *media = nullptr;
    Driver drive{loop};
    std::vector<std::unique_ptr<TunnelClient>> clients;
    std::vector<std::unique_ptr<UdpSocket>> sockets;
};

}  // namespace

TEST_F(MediaRelayTest, OfferDownGetsHracAddressAndOpensThePortFirstAnswerUpGetsHrasAddress)
{
    TunnelClient &c = open(0, "20000-20009");
    UdpSocket &far_rtp = far_socket(), &far_rtcp = far_socket();
    Dialog d = wan_to_lan("in-1");
    std::string invite = request("INVITE", d, 1, sdp(far_ip, far_rtp.port(), far_rtcp.port()));

    // As the boundary does: the media plan on the parsed message, then one
    // crossing through the tunnel writer.
    auto m = SipMessage::parse(invite);
    ASSERT_TRUE(m);
    MediaPlan plan = media->down(0, alice, acme_hrac, v4(alice_ip), *m);
    ASSERT_FALSE(plan.reject);
    ASSERT_EQ(1u, plan.controls.size()) << "the OPEN_MEDIA travels with the plan";
    Outcome out{m->str(), std::nullopt};
    ASSERT_EQ(1u, media->rat().size());
    const RatEntry *e = entry(alice, "in-1");
    ASSERT_TRUE(e);
    ASSERT_EQ(1u, e->streams.size());
    uint16_t hrac = e->streams[0].hrac_port;
    EXPECT_GE(hrac, 20000);
    EXPECT_LE(hrac, 20008);
    EXPECT_EQ(0, hrac % 2);
    EXPECT_EQ(request("INVITE", d, 1, sdp("10.0.0.2", hrac, uint16_t(hrac + 1))), out.msg)
        << "the phone sends its media to HRAC; nothing but the SDP (and Content-Length) changes";

    // The writer puts the control frame ahead of the SIP on the channel.
    ASSERT_TRUE(process->writer().crossing(0, plan.controls, RaHeader::parse(ep(alice_ip, 5060)).value(), out.msg));
    ASSERT_TRUE(soon([&] { return c.count(FrameType::sip) == 1; }));
    size_t open_at = c.frames.size(), sip_at = c.frames.size();
    for (size_t i = 0; i < c.frames.size(); i++) {
        if (c.frames[i].type == FrameType::control && open_at == c.frames.size())
            open_at = i;
        if (c.frames[i].type == FrameType::sip)
            sip_at = i;
    }
    ASSERT_LT(open_at, c.frames.size()) << "no OPEN_MEDIA";
    EXPECT_LT(open_at, sip_at) << "OPEN_MEDIA must reach HRAC before the SIP naming the port";
    EXPECT_EQ((std::vector<std::string>{"OPEN_MEDIA " + std::to_string(hrac) + " " + alice_ip + ":0"}), controls(c))
        << "the phone's media port is not known before its answer";
    EXPECT_EQ(out.msg, c.frames[sip_at].payload_string());

    // The phone answers: the far side is told to send to HRAS.
    std::string ok = reply(200, "OK", d, 1, "INVITE", sdp(alice_ip, 4000));
    out = on_sip_up(0, alice, ok);
    ASSERT_FALSE(out.reject);
    ASSERT_EQ(1u, media->rat().size());
    e = entry(alice, "in-1");
    ASSERT_TRUE(e);
    uint16_t hras = e->streams[0].hras_port;
    EXPECT_GE(hras, 30000);
    EXPECT_LE(hras, 30098);
    EXPECT_EQ(0, hras % 2);
    EXPECT_EQ(reply(200, "OK", d, 1, "INVITE", sdp(media_ip, hras)), out.msg);
    EXPECT_EQ(hrac, e->streams[0].hrac_port) << "the offer's HRAC port is kept";

    // The RAT entry: the paper's fields.
    EXPECT_EQ(0u, e->site);
    EXPECT_EQ(alice, e->phone);
    EXPECT_EQ("in-1", e->call_id);
    EXPECT_EQ(d.from, e->from);
    EXPECT_EQ(d.to, e->to);
    EXPECT_TRUE(e->answered);
    const RatStream &st = e->streams[0];
    EXPECT_EQ("audio", st.media);
    EXPECT_FALSE(st.bypass);
    EXPECT_EQ(ep(alice_ip, 4000), ep(st.internal[0]));  // IIP/IPort
    EXPECT_EQ(ep(alice_ip, 4001), ep(st.internal[1]));
    EXPECT_EQ(ep(far_ip, far_rtp.port()), ep(st.external[0]));  // OIP/OPort
    EXPECT_EQ(ep(far_ip, far_rtcp.port()), ep(st.external[1]));
    EXPECT_FALSE(st.external_latched[0]);
    EXPECT_EQ(1u, media->rat().hras_pool().used());
    EXPECT_EQ(1u, media->rat().hrac_ports_used());
    EXPECT_FALSE(port_free(media_ip, hras)) << "HRAS listens on its RTP port";
    EXPECT_FALSE(port_free(media_ip, uint16_t(hras + 1))) << "and on RTCP";

    // HRAC now learns the phone's real media endpoint for the port.
    ASSERT_TRUE(controls_arrived(c, 2));
    EXPECT_EQ("OPEN_MEDIA " + std::to_string(hrac) + " " + alice_ip + ":4000", controls(c)[1]);
    EXPECT_EQ(1u, stats.get(HRAS_CNT_RAT_CREATED));
    EXPECT_EQ(2u, stats.get(HRAS_CNT_SDP_REWRITTEN));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_SDP_UNPARSED));
}

TEST_F(MediaRelayTest, OfferUpFromAPhoneAndAnswerDown)
{
    TunnelClient &c = open(0);
    UdpSocket &far_rtp = far_socket();
    Dialog d = lan_to_wan("out-1");
    std::string invite = request("INVITE", d, 1, sdp(alice_ip, 4000));
    std::string up = up_ok(0, alice, invite);
    const RatEntry *e = entry(alice, "out-1");
    ASSERT_TRUE(e);
    uint16_t hras = e->streams[0].hras_port, hrac = e->streams[0].hrac_port;
    EXPECT_NE(0, hras);
    EXPECT_NE(0, hrac) << "both agents' ports are taken at the first SDP";
    EXPECT_EQ(request("INVITE", d, 1, sdp(media_ip, hras)), up);
    ASSERT_TRUE(controls_arrived(c, 1));
    EXPECT_EQ("OPEN_MEDIA " + std::to_string(hrac) + " " + alice_ip + ":4000", controls(c)[0]);

    std::string answer = down_ok(0, alice, alice_ip, reply(200, "OK", d, 1, "INVITE", sdp(far_ip, far_rtp.port())));
    EXPECT_EQ(reply(200, "OK", d, 1, "INVITE", sdp("10.0.0.2", hrac)), answer);
    e = entry(alice, "out-1");
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->answered);
    EXPECT_EQ(hras, e->streams[0].hras_port);
    EXPECT_EQ(ep(far_ip, far_rtp.port()), ep(e->streams[0].external[0]));
    EXPECT_EQ(ep(far_ip, uint16_t(far_rtp.port() + 1)), ep(e->streams[0].external[1]));
    EXPECT_EQ(ep(alice_ip, 4000), ep(e->streams[0].internal[0]));
}

TEST_F(MediaRelayTest, RtpAndRtcpFlowBothWaysWithTheRaHeaderNamingThePhone)
{
    TunnelClient &c = open(0);
    UdpSocket &far_rtp = far_socket(), &far_rtcp = far_socket();
    Call call = wan_call(c, "m-1", far_rtp, far_rtcp);
    ASSERT_NE(0, call.hras);

    // Far side -> HRAS public port -> tunnel -> HRAC port -> phone.
    ASSERT_TRUE(far_rtp.send_to(media_ip, call.hras, "rtp-down-1"));
    const Frame *f = media_got(c, 1);
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->ra);
    EXPECT_EQ(ep(alice_ip, 4000), f->ra->to_string());
    EXPECT_EQ(call.hrac, f->ra->relay_port);
    EXPECT_EQ(Transport::udp, f->ra->transport);
    EXPECT_EQ("rtp-down-1", f->payload_string());

    ASSERT_TRUE(far_rtcp.send_to(media_ip, uint16_t(call.hras + 1), "rtcp-down-1"));
    f = media_got(c, 2);
    ASSERT_TRUE(f);
    EXPECT_EQ(ep(alice_ip, 4001), f->ra->to_string());
    EXPECT_EQ(call.hrac + 1, f->ra->relay_port);
    EXPECT_EQ("rtcp-down-1", f->payload_string());

    // Phone -> HRAC -> tunnel -> out of the HRAS port to the far side.
    c.send_frame(media_frame(ep(alice_ip, 4000), call.hrac, "rtp-up-1"));
    auto *d = udp_got(far_rtp, 1);
    ASSERT_TRUE(d);
    EXPECT_EQ(media_ip, d->from_ip);
    EXPECT_EQ(call.hras, d->from_port);
    EXPECT_EQ("rtp-up-1", d->data);

    c.send_frame(media_frame(ep(alice_ip, 4001), uint16_t(call.hrac + 1), "rtcp-up-1"));
    d = udp_got(far_rtcp, 1);
    ASSERT_TRUE(d);
    EXPECT_EQ(media_ip, d->from_ip);
    EXPECT_EQ(call.hras + 1, d->from_port);
    EXPECT_EQ("rtcp-up-1", d->data);

    EXPECT_EQ(2u, stats.get(HRAS_CNT_MEDIA_PACKETS_DOWN));
    EXPECT_EQ(2u, stats.get(HRAS_CNT_MEDIA_PACKETS_UP));
    EXPECT_EQ(std::string("rtp-down-1rtcp-down-1").size(), stats.get(HRAS_CNT_MEDIA_BYTES_DOWN));
    EXPECT_EQ(std::string("rtp-up-1rtcp-up-1").size(), stats.get(HRAS_CNT_MEDIA_BYTES_UP));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_MEDIA_DROPPED));
    const RatEntry *e = entry(alice, "m-1");
    ASSERT_TRUE(e);
    EXPECT_EQ(2u, e->streams[0].packets_down);
    EXPECT_EQ(2u, e->streams[0].packets_up);
    EXPECT_TRUE(e->streams[0].external_latched[0]);
    EXPECT_TRUE(e->streams[0].external_latched[1]);
    EXPECT_EQ(1u, far_rtp.received.size());
    EXPECT_EQ(1u, far_rtcp.received.size());
}

TEST_F(MediaRelayTest, TheFirstSourceIsLatchedAndOthersAreDropped)
{
    TunnelClient &c = open(0);
    UdpSocket &far_rtp = far_socket(), &far_rtcp = far_socket();
    UdpSocket &intruder = far_socket();
    Call call = wan_call(c, "latch-1", far_rtp, far_rtcp);

    ASSERT_TRUE(far_rtp.send_to(media_ip, call.hras, "first"));
    ASSERT_TRUE(media_got(c, 1));
    ASSERT_TRUE(intruder.send_to(media_ip, call.hras, "intruder"));
    ASSERT_TRUE(soon([&] { return stats.get(HRAS_CNT_MEDIA_WRONG_SOURCE) == 1; }));
    ASSERT_TRUE(far_rtp.send_to(media_ip, call.hras, "second"));
    const Frame *f = media_got(c, 2);
    ASSERT_TRUE(f);
    EXPECT_EQ("second", f->payload_string()) << "the intruder's packet must not be relayed";
    EXPECT_EQ(2u, c.count(FrameType::media));

    // Media up still goes to the latched source, not to the intruder.
    c.send_frame(media_frame(ep(alice_ip, 4000), call.hrac, "to-far"));
    ASSERT_TRUE(udp_got(far_rtp, 1));
    EXPECT_TRUE(intruder.received.empty());
    EXPECT_EQ(1u, stats.get(HRAS_CNT_MEDIA_WRONG_SOURCE));
    EXPECT_EQ(2u, stats.get(HRAS_CNT_MEDIA_PACKETS_DOWN));
}

TEST_F(MediaRelayTest, SymmetricRtpSendsToTheLatchedSourceRatherThanTheSdpAddress)
{
    TunnelClient &c = open(0);
    UdpSocket &far_sdp = far_socket(), &far_rtcp = far_socket();
    UdpSocket &far_nat = far_socket();  // where the far side's packets really come from
    Call call = wan_call(c, "nat-1", far_sdp, far_rtcp);
    ASSERT_TRUE(far_nat.send_to(media_ip, call.hras, "from-nat"));
    ASSERT_TRUE(media_got(c, 1));
    const RatEntry *e = entry(alice, "nat-1");
    ASSERT_TRUE(e);
    EXPECT_EQ(ep(far_ip, far_nat.port()), ep(e->streams[0].external[0]));
    c.send_frame(media_frame(ep(alice_ip, 4000), call.hrac, "back"));
    auto *d = udp_got(far_nat, 1);
    ASSERT_TRUE(d);
    EXPECT_EQ("back", d->data);
    EXPECT_TRUE(far_sdp.received.empty());
}

TEST_F(MediaRelayTest, ByeRemovesTheEntryClosesItsPortsAndSendsCloseMedia)
{
    TunnelClient &c = open(0);
    UdpSocket &far_rtp = far_socket(), &far_rtcp = far_socket();
    Call call = wan_call(c, "bye-1", far_rtp, far_rtcp);
    ASSERT_NE(0, call.hras);
    ASSERT_TRUE(controls_arrived(c, 2));  // OPEN_MEDIA at the offer and at the answer

    // The phone hangs up.
    up_ok(0, alice, request("BYE", lan_to_wan("bye-1"), 2, "", true));
    EXPECT_EQ(0u, media->rat().size());
    EXPECT_EQ(0u, media->rat().hras_pool().used());
    EXPECT_EQ(0u, media->rat().hrac_ports_used());
    EXPECT_TRUE(port_free(media_ip, call.hras)) << "the public sockets are closed";
    EXPECT_TRUE(port_free(media_ip, uint16_t(call.hras + 1)));
    ASSERT_TRUE(controls_arrived(c, 3));
    EXPECT_EQ("CLOSE_MEDIA " + std::to_string(call.hrac), controls(c)[2]);
    EXPECT_EQ(1u, stats.get(HRAS_CNT_RAT_REMOVED));

    // The 200 to the BYE finds nothing to do.
    down_ok(0, alice, alice_ip, reply(200, "OK", lan_to_wan("bye-1"), 2, "BYE"));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_RAT_REMOVED));

    // A far-side BYE ends a call the same way.
    Call second = wan_call(c, "bye-2", far_rtp, far_rtcp);
    ASSERT_TRUE(entry(alice, "bye-2"));
    down_ok(0, alice, alice_ip, request("BYE", second.d, 2, "", true));
    EXPECT_EQ(0u, media->rat().size());
    ASSERT_TRUE(soon([&] { return controls(c).size() == 6; }));
    EXPECT_EQ("CLOSE_MEDIA " + std::to_string(second.hrac), controls(c)[5]);
    EXPECT_EQ(2u, stats.get(HRAS_CNT_RAT_REMOVED));
}

TEST_F(MediaRelayTest, CancelRemovesTheEntry)
{
    TunnelClient &c = open(0);
    UdpSocket &far_rtp = far_socket();
    Dialog d = wan_to_lan("cancel-1");
    down_ok(0, alice, alice_ip, request("INVITE", d, 1, sdp(far_ip, far_rtp.port())));
    const RatEntry *e = entry(alice, "cancel-1");
    ASSERT_TRUE(e);
    uint16_t hrac = e->streams[0].hrac_port;
    up_ok(0, alice, reply(180, "Ringing", d, 1, "INVITE"));
    ASSERT_TRUE(entry(alice, "cancel-1")) << "a provisional reply changes nothing";
    down_ok(0, alice, alice_ip, request("CANCEL", d, 1));
    EXPECT_FALSE(entry(alice, "cancel-1"));
    EXPECT_EQ(0u, media->rat().hrac_ports_used());
    ASSERT_TRUE(controls_arrived(c, 2));
    EXPECT_EQ("CLOSE_MEDIA " + std::to_string(hrac), controls(c)[1]);
    // The 487 that follows is harmless.
    up_ok(0, alice, reply(487, "Request Terminated", d, 1, "INVITE"));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_RAT_REMOVED));
}

TEST_F(MediaRelayTest, AFailedInitialInviteRemovesTheEntry)
{
    TunnelClient &c = open(0);
    UdpSocket &far_rtp = far_socket();
    // Incoming call, the phone is busy.
    Dialog in = wan_to_lan("busy-1");
    down_ok(0, alice, alice_ip, request("INVITE", in, 1, sdp(far_ip, far_rtp.port())));
    ASSERT_TRUE(entry(alice, "busy-1"));
    up_ok(0, alice, reply(486, "Busy Here", in, 1, "INVITE"));
    EXPECT_FALSE(entry(alice, "busy-1"));
    // Outgoing call, refused by the far side.
    Dialog out = lan_to_wan("busy-2");
    up_ok(0, alice, request("INVITE", out, 1, sdp(alice_ip, 4000)));
    ASSERT_TRUE(entry(alice, "busy-2"));
    down_ok(0, alice, alice_ip, reply(603, "Decline", out, 1, "INVITE"));
    EXPECT_FALSE(entry(alice, "busy-2"));
    EXPECT_EQ(0u, media->rat().size());
    EXPECT_EQ(0u, media->rat().hras_pool().used());
    EXPECT_EQ(0u, media->rat().hrac_ports_used());
    EXPECT_EQ(2u, stats.get(HRAS_CNT_RAT_REMOVED));
    ASSERT_TRUE(controls_arrived(c, 4));
    auto ctl = controls(c);
    EXPECT_EQ(0u, ctl[1].rfind("CLOSE_MEDIA ", 0));
    EXPECT_EQ(0u, ctl[3].rfind("CLOSE_MEDIA ", 0));
}

TEST_F(MediaRelayTest, AFailedReInviteKeepsTheCall)
{
    TunnelClient &c = open(0);
    UdpSocket &far_rtp = far_socket(), &far_rtcp = far_socket();
    Call call = wan_call(c, "re-1", far_rtp, far_rtcp);
    down_ok(0, alice, alice_ip, request("INVITE", call.d, 2, sdp(far_ip, far_rtp.port(), far_rtcp.port()), true));
    up_ok(0, alice, reply(491, "Request Pending", call.d, 2, "INVITE"));
    const RatEntry *e = entry(alice, "re-1");
    ASSERT_TRUE(e) << "a 491 to a re-INVITE does not end the call";
    EXPECT_EQ(call.hras, e->streams[0].hras_port);
    EXPECT_EQ(call.hrac, e->streams[0].hrac_port);
    EXPECT_EQ(0u, stats.get(HRAS_CNT_RAT_REMOVED));
    // And media still flows.
    ASSERT_TRUE(far_rtp.send_to(media_ip, call.hras, "still"));
    const Frame *f = media_got(c, 1);
    ASSERT_TRUE(f);
    EXPECT_EQ("still", f->payload_string());
}

TEST_F(MediaRelayTest, ReInviteUpdatesTheEndpointsAndKeepsThePorts)
{
    TunnelClient &c = open(0);
    UdpSocket &far_rtp = far_socket(), &far_rtcp = far_socket();
    Call call = wan_call(c, "move-1", far_rtp, far_rtcp);
    ASSERT_TRUE(far_rtp.send_to(media_ip, call.hras, "before"));
    ASSERT_TRUE(media_got(c, 1));

    // The far side moves its media (re-INVITE), the phone moves too (200).
    UdpSocket &far2_rtp = far_socket(), &far2_rtcp = far_socket();
    std::string reinvite =
        down_ok(0, alice, alice_ip, request("INVITE", call.d, 2, sdp(far_ip, far2_rtp.port(), far2_rtcp.port()), true));
    EXPECT_EQ(request("INVITE", call.d, 2, sdp("10.0.0.2", call.hrac, uint16_t(call.hrac + 1)), true), reinvite);
    std::string ok = up_ok(0, alice, reply(200, "OK", call.d, 2, "INVITE", sdp(alice_ip, 4002)));
    EXPECT_EQ(reply(200, "OK", call.d, 2, "INVITE", sdp(media_ip, call.hras)), ok);
    const RatEntry *e = entry(alice, "move-1");
    ASSERT_TRUE(e);
    EXPECT_EQ(1u, media->rat().size());
    EXPECT_EQ(call.hras, e->streams[0].hras_port);
    EXPECT_EQ(call.hrac, e->streams[0].hrac_port);
    EXPECT_EQ(ep(alice_ip, 4002), ep(e->streams[0].internal[0]));
    EXPECT_EQ(ep(far_ip, far2_rtp.port()), ep(e->streams[0].external[0]));
    EXPECT_EQ(ep(far_ip, far2_rtcp.port()), ep(e->streams[0].external[1]));
    EXPECT_FALSE(e->streams[0].external_latched[0]) << "the new far side is latched anew";
    EXPECT_EQ(1u, media->rat().hras_pool().used());
    EXPECT_EQ(1u, media->rat().hrac_ports_used());
    EXPECT_EQ(1u, stats.get(HRAS_CNT_RAT_CREATED));
    ASSERT_TRUE(soon([&] { return controls(c).size() == 4; }));
    EXPECT_EQ("OPEN_MEDIA " + std::to_string(call.hrac) + " " + alice_ip + ":4002", controls(c)[3])
        << "HRAC learns the phone's new endpoint";

    ASSERT_TRUE(far2_rtp.send_to(media_ip, call.hras, "after"));
    const Frame *f = media_got(c, 2);
    ASSERT_TRUE(f);
    EXPECT_EQ(ep(alice_ip, 4002), f->ra->to_string());
    EXPECT_EQ(call.hrac, f->ra->relay_port);
    EXPECT_EQ("after", f->payload_string());
    c.send_frame(media_frame(ep(alice_ip, 4002), call.hrac, "up-after"));
    auto *d = udp_got(far2_rtp, 1);
    ASSERT_TRUE(d);
    EXPECT_EQ("up-after", d->data);
    EXPECT_EQ(call.hras, d->from_port);
    // The old far side is no longer who this port listens to.
    ASSERT_TRUE(far_rtp.send_to(media_ip, call.hras, "stale"));
    ASSERT_TRUE(soon([&] { return stats.get(HRAS_CNT_MEDIA_WRONG_SOURCE) == 1; }));
    EXPECT_TRUE(far_rtp.received.empty());
}

TEST_F(MediaRelayTest, LanToLanCallsKeepTheirMediaInTheLan)
{
    TunnelClient &c = open(0);
    Dialog d = lan_to_wan("lan-1", alice_ip);
    d.to = "<sip:carol@acme.example>";
    d.ruri = "sip:carol@acme.example";
    std::string invite = request("INVITE", d, 1, sdp(alice_ip, 4000));

    // alice -> Kamailio: rewritten towards HRAS as for any call.
    std::string up = up_ok(0, alice, invite);
    const RatEntry *a = entry(alice, "lan-1");
    ASSERT_TRUE(a);
    uint16_t a_hras = a->streams[0].hras_port, a_hrac = a->streams[0].hrac_port;
    EXPECT_EQ(request("INVITE", d, 1, sdp(media_ip, a_hras)), up);

    // Kamailio -> carol, same site: carol gets alice's real address.
    std::string down = down_ok(0, carol, carol_ip, up);
    EXPECT_EQ(invite, down);
    a = entry(alice, "lan-1");
    const RatEntry *b = entry(carol, "lan-1");
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(a->streams[0].bypass);
    EXPECT_TRUE(b->streams[0].bypass);

    // carol answers; alice gets carol's real address.
    std::string ok = reply(200, "OK", d, 1, "INVITE", sdp(carol_ip, 4100));
    std::string ok_up = up_ok(0, carol, ok);
    b = entry(carol, "lan-1");
    ASSERT_TRUE(b);
    uint16_t b_hrac = b->streams[0].hrac_port;
    EXPECT_EQ(reply(200, "OK", d, 1, "INVITE", sdp(media_ip, b->streams[0].hras_port)), ok_up);
    std::string ok_down = down_ok(0, alice, alice_ip, ok_up);
    EXPECT_EQ(ok, ok_down);

    a = entry(alice, "lan-1");
    b = entry(carol, "lan-1");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(2u, media->rat().size());
    for (const RatEntry *leg : {a, b}) {
        ASSERT_EQ(1u, leg->streams.size());
        EXPECT_TRUE(leg->streams[0].bypass) << "phone " << leg->phone;
        EXPECT_EQ(0, leg->streams[0].hras_port) << "phone " << leg->phone;
        EXPECT_EQ(0, leg->streams[0].hrac_port) << "phone " << leg->phone;
    }
    EXPECT_EQ(0u, media->rat().hras_pool().used());
    EXPECT_EQ(0u, media->rat().hrac_ports_used());
    EXPECT_TRUE(port_free(media_ip, a_hras));
    // Every HRAC port that was opened is closed again.
    ASSERT_TRUE(soon([&] { return controls(c).size() == 4; }));
    EXPECT_EQ((std::vector<std::string>{"OPEN_MEDIA " + std::to_string(a_hrac) + " " + alice_ip + ":4000",
                                        "CLOSE_MEDIA " + std::to_string(a_hrac),
                                        "OPEN_MEDIA " + std::to_string(b_hrac) + " " + carol_ip + ":4100",
                                        "CLOSE_MEDIA " + std::to_string(b_hrac)}),
              controls(c));

    // BYE ends both legs without any port to close.
    up_ok(0, alice, request("BYE", d, 2, "", true));
    down_ok(0, carol, carol_ip, request("BYE", d, 2, "", true));
    EXPECT_EQ(0u, media->rat().size());
    drive.run_for(50);
    EXPECT_EQ(4u, controls(c).size());
}

TEST_F(MediaRelayTest, CallsBetweenTwoSitesAreRelayedThroughHras)
{
    TunnelClient &acme = open(0, "20000-20009");
    TunnelClient &beta = open(1, "21000-21009");
    const uint64_t dave = 3;  // beta's phone, same LAN address as alice
    Dialog d = lan_to_wan("x-1", alice_ip);
    d.ruri = "sip:dave@beta.example";
    std::string up = up_ok(0, alice, request("INVITE", d, 1, sdp(alice_ip, 4000)));
    std::string down = on_sip_down(1, dave, beta_hrac, v4(alice_ip), up).msg;
    const RatEntry *a = entry(alice, "x-1");
    const RatEntry *b = entry(dave, "x-1");
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(a->streams[0].bypass) << "two sites are two LANs";
    EXPECT_FALSE(b->streams[0].bypass);
    EXPECT_EQ(request("INVITE", d, 1, sdp("10.0.1.2", b->streams[0].hrac_port)), down);
    EXPECT_GE(b->streams[0].hrac_port, 21000);
    EXPECT_LE(b->streams[0].hrac_port, 21008);
    std::string ok_up = up_ok(1, dave, reply(200, "OK", d, 1, "INVITE", sdp(alice_ip, 4100)));
    down_ok(0, alice, alice_ip, ok_up);
    a = entry(alice, "x-1");
    b = entry(dave, "x-1");
    ASSERT_TRUE(a && b);

    // dave's packet crosses HRAS from one leg's public port to the other's.
    beta.send_frame(media_frame(ep(alice_ip, 4100), b->streams[0].hrac_port, "dave-to-alice"));
    const Frame *f = media_got(acme, 1);
    ASSERT_TRUE(f);
    EXPECT_EQ(ep(alice_ip, 4000), f->ra->to_string());
    EXPECT_EQ(a->streams[0].hrac_port, f->ra->relay_port);
    EXPECT_EQ("dave-to-alice", f->payload_string());
    acme.send_frame(media_frame(ep(alice_ip, 4000), a->streams[0].hrac_port, "alice-to-dave"));
    f = media_got(beta, 1);
    ASSERT_TRUE(f);
    EXPECT_EQ(ep(alice_ip, 4100), f->ra->to_string());
    EXPECT_EQ(b->streams[0].hrac_port, f->ra->relay_port);
    EXPECT_EQ("alice-to-dave", f->payload_string());
}

TEST_F(MediaRelayTest, UnparseableSdpPassesUnchanged)
{
    TunnelClient &c = open(0);
    Dialog d = wan_to_lan("bad-1");
    std::string invite = request("INVITE", d, 1, "this is not SDP\r\n");
    uint64_t frames = stats.get(HRAS_CNT_FRAMES_DOWN);
    auto out = on_sip_down(0, alice, acme_hrac, v4(alice_ip), invite);
    EXPECT_FALSE(out.reject);
    EXPECT_EQ(invite, out.msg);
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SDP_UNPARSED));
    EXPECT_EQ(0u, media->rat().size());
    EXPECT_EQ(frames, stats.get(HRAS_CNT_FRAMES_DOWN)) << "no control frame for it";

    std::string answer = reply(200, "OK", d, 1, "INVITE", "v=0\r\nm=audio 4000 RTP/AVP 0\r\n");  // no c=
    EXPECT_EQ(answer, up_ok(0, alice, answer));
    EXPECT_EQ(2u, stats.get(HRAS_CNT_SDP_UNPARSED));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_SDP_REWRITTEN));
    EXPECT_EQ(0u, media->rat().size());
    drive.run_for(20);
    EXPECT_EQ(0u, c.count(FrameType::control));
    // (Non-SIP never reaches the plan: the boundary drops it as malformed.)
}

TEST_F(MediaRelayTest, ANewSessionOfTheSiteReopensThePortsOfLiveCalls)
{
    TunnelClient &first = open(0);
    UdpSocket &far_rtp = far_socket(), &far_rtcp = far_socket();
    Call call = wan_call(first, "live-1", far_rtp, far_rtcp);
    first.down->close();
    first.up->close();
    ASSERT_TRUE(soon([&] { return !server->is_up(0); }));
    TunnelClient &second = open(0);
    ASSERT_TRUE(controls_arrived(second, 1));
    EXPECT_EQ((std::vector<std::string>{"OPEN_MEDIA " + std::to_string(call.hrac) + " " + alice_ip + ":4000"}),
              controls(second));
    ASSERT_TRUE(far_rtp.send_to(media_ip, call.hras, "again"));
    const Frame *f = media_got(second, 1);
    ASSERT_TRUE(f);
    EXPECT_EQ("again", f->payload_string());
}

TEST_F(MediaRelayTest, APortHeldByAnotherProgramIsSkippedAndNamesNoCall)
{
    open(0);
    // Someone else holds the first port of the public range.
    int blocker = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(30000);
    inet_pton(AF_INET, media_ip.c_str(), &sa.sin_addr);
    ASSERT_EQ(0, bind(blocker, reinterpret_cast<sockaddr *>(&sa), sizeof sa));

    Dialog d = lan_to_wan("skip-1");
    std::string up = up_ok(0, alice, request("INVITE", d, 1, sdp(alice_ip, 4000)));
    const RatEntry *a = entry(alice, "skip-1");
    ASSERT_TRUE(a);
    EXPECT_EQ(30002, a->streams[0].hras_port) << "the next free port";
    EXPECT_EQ(request("INVITE", d, 1, sdp(media_ip, 30002)), up);

    // An SDP naming HRAS's address with the skipped port belongs to no leg:
    // it must not be taken for alice's call (which would lose its relay).
    Dialog other = wan_to_lan("skip-2", carol_ip);
    std::string down = down_ok(0, carol, carol_ip, request("INVITE", other, 1, sdp(media_ip, 30000)));
    a = entry(alice, "skip-1");
    const RatEntry *b = entry(carol, "skip-2");
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(a->streams[0].bypass);
    EXPECT_EQ(30002, a->streams[0].hras_port);
    EXPECT_NE(0, a->streams[0].hrac_port);
    EXPECT_FALSE(b->streams[0].bypass);
    EXPECT_EQ(request("INVITE", other, 1, sdp("10.0.0.2", b->streams[0].hrac_port)), down);

    // Nor once alice's call is over.
    up_ok(0, alice, request("BYE", d, 2, "", true));
    Dialog third = wan_to_lan("skip-3", carol_ip);
    down = down_ok(0, carol, carol_ip, request("INVITE", third, 1, sdp(media_ip, 30000)));
    b = entry(carol, "skip-3");
    ASSERT_TRUE(b);
    EXPECT_FALSE(b->streams[0].bypass);
    EXPECT_EQ(request("INVITE", third, 1, sdp("10.0.0.2", b->streams[0].hrac_port)), down);
    close(blocker);
}

TEST_F(MediaRelayTest, StrayMediaAndFailureReportsAreCounted)
{
    TunnelClient &c = open(0);
    c.send_frame(media_frame(ep(alice_ip, 4000), 20000, "nobody's"));
    ASSERT_TRUE(soon([&] { return stats.get(HRAS_CNT_MEDIA_DROPPED) == 1; }));
    c.send_frame(make_control_frame({ControlOp::media_failed, 20002}));
    ASSERT_TRUE(soon([&] { return stats.get(HRAS_CNT_HRAC_MEDIA_FAILED) == 1; }));
    EXPECT_TRUE(server->is_up(0));
}

namespace {

class MediaRelayTimeoutTest : public MediaRelayTest {
protected:
    void configure(MediaConfig &cfg) override { cfg.timeout_s = 1; }
};

class MediaRelayOnePairTest : public MediaRelayTest {
protected:
    void configure(MediaConfig &cfg) override
    {
        cfg.port_min = 31000;
        cfg.port_max = 31001;
    }
};

}  // namespace

TEST_F(MediaRelayTimeoutTest, AnEntryWithoutSipOrMediaExpires)
{
    TunnelClient &c = open(0);
    UdpSocket &far_rtp = far_socket();
    int64_t start = now_ms();
    down_ok(0, alice, alice_ip, request("INVITE", wan_to_lan("idle-1"), 1, sdp(far_ip, far_rtp.port())));
    const RatEntry *e = entry(alice, "idle-1");
    ASSERT_TRUE(e);
    uint16_t hrac = e->streams[0].hrac_port;
    ASSERT_TRUE(drive.until([&] { return media->rat().size() == 0; }, 3000)) << "not expired";
    int64_t took = now_ms() - start;
    EXPECT_GE(took, 1000) << "expired before its timeout";
    EXPECT_EQ(1u, stats.get(HRAS_CNT_RAT_EXPIRED));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_RAT_REMOVED));
    EXPECT_EQ(0u, media->rat().hrac_ports_used());
    ASSERT_TRUE(controls_arrived(c, 2));
    EXPECT_EQ("CLOSE_MEDIA " + std::to_string(hrac), controls(c)[1]);
}

TEST_F(MediaRelayOnePairTest, ExhaustedPortsRejectANewCallAndComeBackAfterBye)
{
    TunnelClient &c = open(0);
    UdpSocket &far_rtp = far_socket();
    Dialog first = lan_to_wan("one-1", alice_ip);
    std::string up = up_ok(0, alice, request("INVITE", first, 1, sdp(alice_ip, 4000)));
    const RatEntry *e = entry(alice, "one-1");
    ASSERT_TRUE(e);
    EXPECT_EQ(31000, e->streams[0].hras_port);
    EXPECT_EQ(request("INVITE", first, 1, sdp(media_ip, 31000)), up);

    // carol calls while the only pair is in use.
    Dialog second = lan_to_wan("one-2", carol_ip);
    std::string invite2 = request("INVITE", second, 1, sdp(carol_ip, 4100));
    auto out = on_sip_up(0, carol, invite2);
    ASSERT_TRUE(out.reject);
    EXPECT_EQ(sip_make_reply(invite2, 503, "Service Unavailable (no media ports)"), out.reject);
    EXPECT_EQ(0u, out.reject->rfind("SIP/2.0 503 ", 0));
    EXPECT_NE(std::string::npos, out.reject->find("Call-ID: one-2\r\n"));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_PORTS_EXHAUSTED));
    EXPECT_FALSE(entry(carol, "one-2")) << "the refused call leaves nothing behind";
    EXPECT_EQ(1u, media->rat().size());
    EXPECT_EQ(1u, media->rat().hrac_ports_used()) << "no HRAC port kept for the refused call";

    // The first call is unaffected: answered, media flows.
    std::string ans = down_ok(0, alice, alice_ip, reply(200, "OK", first, 1, "INVITE", sdp(far_ip, far_rtp.port())));
    e = entry(alice, "one-1");
    ASSERT_TRUE(e);
    EXPECT_EQ(reply(200, "OK", first, 1, "INVITE", sdp("10.0.0.2", e->streams[0].hrac_port)), ans);
    ASSERT_TRUE(far_rtp.send_to(media_ip, 31000, "first-call"));
    const Frame *f = media_got(c, 1);
    ASSERT_TRUE(f);
    EXPECT_EQ("first-call", f->payload_string());
    EXPECT_EQ(ep(alice_ip, 4000), f->ra->to_string());

    // After its BYE the pair is free again.
    up_ok(0, alice, request("BYE", first, 2, "", true));
    EXPECT_EQ(0u, media->rat().hras_pool().used());
    Dialog third = lan_to_wan("one-3", carol_ip);
    std::string up3 = up_ok(0, carol, request("INVITE", third, 1, sdp(carol_ip, 4100)));
    e = entry(carol, "one-3");
    ASSERT_TRUE(e);
    EXPECT_EQ(31000, e->streams[0].hras_port);
    EXPECT_EQ(request("INVITE", third, 1, sdp(media_ip, 31000)), up3);
    EXPECT_EQ(1u, stats.get(HRAS_CNT_PORTS_EXHAUSTED));
}

TEST_F(MediaRelayTest, ExhaustedHracRangeRejectsAnIncomingCall)
{
    open(0, "20000-20001");  // HRAC offers one pair
    UdpSocket &far_rtp = far_socket();
    down_ok(0, alice, alice_ip, request("INVITE", wan_to_lan("h-1"), 1, sdp(far_ip, far_rtp.port())));
    std::string invite2 = request("INVITE", wan_to_lan("h-2", carol_ip), 1, sdp(far_ip, far_rtp.port()));
    auto out = on_sip_down(0, carol, acme_hrac, v4(carol_ip), invite2);
    ASSERT_TRUE(out.reject) << "the reply goes back to Kamailio as if the phone had sent it";
    EXPECT_EQ(0u, out.reject->rfind("SIP/2.0 503 ", 0));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_PORTS_EXHAUSTED));
    EXPECT_FALSE(entry(carol, "h-2"));
    EXPECT_EQ(1u, media->rat().hras_pool().used()) << "the refused call's HRAS port is given back";
    EXPECT_EQ(1u, media->rat().hrac_ports_used());
}
