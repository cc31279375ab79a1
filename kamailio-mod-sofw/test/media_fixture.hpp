// The HRAS media plan and relay in HRAS's real wiring, for the media tests:
// a real tunnel server (with the test's HRAC client on loopback) and UDP
// sockets standing for the far side. SIP is handed to the media planner
// directly, as the tunnel boundary does.
#pragma once
#include "core/hras_process.hpp"

#include "sofw/control.hpp"
#include "tunnel_client.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

using namespace sofw;
using namespace sofw::hras;
using namespace sofw::test;

namespace {

const HostPort acme_hrac{"10.0.0.2", 5060};
const HostPort beta_hrac{"10.0.1.2", 5070};

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
[[maybe_unused]] std::string ep(const MediaEndpoint &m) { return m.to_string(); }

// A phone address as the relay takes it: binary, network order.
in_addr_t v4(const std::string &ip) { return inet_addr(ip.c_str()); }

// Whether nobody (no relay socket) holds ip:port any more.
[[maybe_unused]] bool port_free(const std::string &ip, uint16_t port)
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
    Outcome on_sip_down(size_t site, uint64_t phone, const HostPort &hrac, in_addr_t phone_ip, const std::string &text,
                        in_addr_t sip_source = 0)
    {
        auto m = SipMessage::parse(text);
        EXPECT_TRUE(m) << text;
        if (!m)
            return {text, std::nullopt};
        MediaPlan plan = media->down(site, phone, hrac, phone_ip, *m, sip_source);
        process->writer().controls(site, plan.controls);
        return {m->str(), plan.reject};
    }
    Outcome on_sip_up(size_t site, uint64_t phone, const std::string &text)
    {
        auto m = SipMessage::parse(text);
        EXPECT_TRUE(m) << text;
        if (!m)
            return {text, std::nullopt};
        MediaPlan plan = media->up(site, phone, v4(phone == carol ? carol_ip : alice_ip), *m);
        process->writer().controls(site, plan.controls);
        return {m->str(), plan.reject};
    }

    std::string down_ok(size_t site, uint64_t phone, const std::string &phone_ip, const std::string &msg,
                        in_addr_t sip_source = 0)
    {
        auto out = on_sip_down(site, phone, site ? beta_hrac : acme_hrac, v4(phone_ip), msg, sip_source);
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

