// The tunnel server on loopback, driven request by request by a hand-made
// client (test/tunnel_client.hpp) that can also do what HRAC never does:
// bad signatures, replays, half-open and conflicting sessions, frames cut
// anywhere. Authentication, sessions, frames both ways, keep-alives and the
// ways a session ends; the streaming probe (STREAM_OK), the polling mode,
// and HTTPS refusals (throwaway certificates, tests/unit/test_pki.hpp).
// HRAC's real client against this server: tests/unit/tunnel_pair_test.cpp.
#include "core/tunnel_server.hpp"

#include "sofw/control.hpp"
#include "sofw/lanes.hpp"
#include "published_hooks.hpp"
#include "test_pki.hpp"
#include "tunnel_client.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace sofw;
using namespace sofw::hras;
using namespace sofw::test;

namespace {


struct Recorder : TunnelListener {
    std::vector<std::pair<size_t, Frame>> frames;
    std::vector<std::pair<size_t, bool>> changes;
    void on_frame(size_t site, const Frame &f) override { frames.emplace_back(site, f); }
    void on_session_change(size_t site, bool up) override { changes.emplace_back(site, up); }
    unsigned long phone_count(size_t) const override { return 0; }
};

using Changes = std::vector<std::pair<size_t, bool>>;

Frame sip_frame(const std::string &ra, const std::string &payload)
{
    Frame f;
    f.type = FrameType::sip;
    f.ra = RaHeader::parse(ra).value();
    f.payload.assign(payload.begin(), payload.end());
    return f;
}

bool is_exact_stream_ok(const Frame &f)
{
    if (f.type != FrameType::control || f.ra)
        return false;
    auto c = decode_control(f.payload.data(), f.payload.size());
    return c && c->op == ControlOp::stream_ok && c->port == 0;
}

const std::string options = "OPTIONS sip:192.168.1.2 SIP/2.0\r\n"
                            "Via: SIP/2.0/UDP 192.168.1.10:5060;rport;branch=z9hG4bKo1\r\n"
                            "Call-ID: o1\r\n"
                            "CSeq: 1 OPTIONS\r\n"
                            "Content-Length: 0\r\n\r\n";

class TunnelServerTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_EQ("", sites.add("name=acme;secret=" + acme_secret));
        ASSERT_EQ("", sites.add("name=beta;secret=" + beta_secret));
        ASSERT_EQ("", sites.assign_addresses());
        cfg.listen = "127.0.0.1:0";
        cfg.keepalive_s = 1;
        cfg.half_open_timeout_s = 1;
        cfg.auth_window_s = 30;
        cfg.poll_wait_ms = 1000;
        configure();
        g_published = {};
        stats.set_hooks(&test_hooks);
        server = std::make_unique<TunnelServer>(loop, sites, cfg, stats);
        server->set_listener(&rec);
        ASSERT_EQ("", server->start());
        ASSERT_NE(0, server->port());
    }
    void TearDown() override
    {
        if (server)
            server->set_listener(nullptr);
        server.reset();
    }
    virtual void configure() {}  // cfg before the server starts

    TunnelClient &client(const std::string &site = "acme", const std::string &secret = acme_secret,
                         const std::string &lan = "10.0.0.2:5060", const TlsOptions *tls = nullptr)
    {
        clients.push_back(std::make_unique<TunnelClient>(server->port(), site, secret, lan, tls));
        drive.watch(clients.back().get());
        return *clients.back();
    }
    HttpConn &request(const TunnelRequest &r, const TlsOptions *tls = nullptr)
    {
        conns.push_back(std::make_unique<HttpConn>(server->port(), tls));
        conns.back()->write(r.http());
        drive.watch(conns.back().get());
        return *conns.back();
    }
    TunnelRequest acme_request() const
    {
        TunnelRequest r;
        r.site = "acme";
        r.secret = acme_secret;
        return r;
    }
    // For what must happen at once: well under the 1 s tick, so work left
    // for the tick fails the test.
    bool soon(const std::function<bool()> &cond) { return drive.until(cond, prompt_ms); }

    // Opens GET + POST and waits until the server calls the site up.
    ::testing::AssertionResult open(TunnelClient &c, size_t site = 0)
    {
        c.open();
        if (!soon([&] { return server->is_up(site) && c.down_ok(); }))
            return ::testing::AssertionFailure()
                   << "session did not come up (down status " << (c.down ? c.down->status() : -1) << ")";
        return ::testing::AssertionSuccess();
    }
    // Starts polling as HRAC does and waits until the server calls the
    // site up: the first poll (answered at once, with the keys), then the
    // long poll, which is c.polls.back() afterwards.
    ::testing::AssertionResult start_polling(TunnelClient &c, size_t site = 0)
    {
        auto &first = c.start_poll();
        if (!soon([&] { return server->is_up(site) && first.done; }))
            return ::testing::AssertionFailure() << "polling session did not come up";
        if (first.status() != 200 || !first.proof_ok() || !c.keyed())
            return ::testing::AssertionFailure() << "first poll: " << first.status() << ", proof " << first.proof_ok();
        c.start_poll();
        return ::testing::AssertionSuccess();
    }
    // Opens a session asking for n lanes and waits until every lane's GET
    // and POST are open on both ends (a keep-alive up each lane arrived).
    ::testing::AssertionResult open_lanes(TunnelClient &c, unsigned n, size_t site = 0)
    {
        c.lanes_asked = n;
        if (auto r = open(c, site); !r)
            return r;
        if (!soon([&] { return c.lanes_ok(); }))
            return ::testing::AssertionFailure() << "lanes did not open (" << c.lane_count() << " given)";
        const uint64_t before = stats.get(HRAS_CNT_KEEPALIVES_RECEIVED);
        for (unsigned lane = 1; lane < c.lane_count(); lane++)
            c.send_frame_on(lane, Frame{});
        if (!soon([&] { return stats.get(HRAS_CNT_KEEPALIVES_RECEIVED) == before + c.lane_count() - 1; }))
            return ::testing::AssertionFailure() << "lane upstreams not open at the server";
        return ::testing::AssertionSuccess();
    }
    // A refused request: its status and the reason line in the body.
    void expect_refused(const TunnelRequest &r, int status, const std::string &reason, const TlsOptions *tls = nullptr)
    {
        HttpConn &c = request(r, tls);
        ASSERT_TRUE(soon([&] { return c.body_complete(); })) << "no complete response";
        EXPECT_EQ(status, c.status());
        EXPECT_EQ(reason + "\n", c.body());
        EXPECT_FALSE(c.has_header(hdr::server_signature));
    }

    EventLoop loop;
    SiteTable sites;
    Stats stats;
    TunnelConfig cfg;
    Recorder rec;
    std::unique_ptr<TunnelServer> server;
    Driver drive{loop};
    std::vector<std::unique_ptr<TunnelClient>> clients;
    std::vector<std::unique_ptr<HttpConn>> conns;
};

}  // namespace

// --- authentication -------------------------------------------------------

TEST_F(TunnelServerTest, UnknownSiteIsRefused)
{
    TunnelRequest r = acme_request();
    r.site = "nosuch";
    expect_refused(r, 401, "unknown_site");
    EXPECT_EQ(1u, stats.get(HRAS_CNT_AUTH_FAILURES));
}

TEST_F(TunnelServerTest, WrongSecretIsRefused)
{
    TunnelRequest r = acme_request();
    r.secret = beta_secret;
    expect_refused(r, 401, "bad_signature");
    r.method = "POST";
    r.path = "/sofw/v1/up";
    r.nonce = random_hex(16);
    expect_refused(r, 401, "bad_signature");
    EXPECT_EQ(2u, stats.get(HRAS_CNT_AUTH_FAILURES));
    EXPECT_FALSE(server->is_up(0));
}

TEST_F(TunnelServerTest, StaleTimeIsRefusedBothWays)
{
    TunnelRequest r = acme_request();
    r.time = unix_now() - uint64_t(cfg.auth_window_s) - 5;
    expect_refused(r, 401, "stale");
    r.time = unix_now() + uint64_t(cfg.auth_window_s) + 5;
    r.nonce = random_hex(16);
    expect_refused(r, 401, "stale");
    EXPECT_EQ(2u, stats.get(HRAS_CNT_AUTH_FAILURES));
}

TEST_F(TunnelServerTest, ReplayedRequestIsRefused)
{
    TunnelRequest r = acme_request();
    HttpConn &first = request(r);
    ASSERT_TRUE(soon([&] { return first.status() != 0; }));
    EXPECT_EQ(200, first.status());
    EXPECT_EQ(r.expected_proof(first.header(hdr::server_nonce)), first.header(hdr::server_signature));
    EXPECT_EQ(32u, first.header(hdr::server_nonce).size());
    // The same bytes again: the nonce was seen (not "channel already open").
    expect_refused(r, 401, "replay");
    EXPECT_EQ(1u, stats.get(HRAS_CNT_AUTH_FAILURES));
}

TEST_F(TunnelServerTest, MalformedHeadersAreRefused)
{
    TunnelRequest r = acme_request();
    r.session = "not-hex";
    expect_refused(r, 401, "malformed");
    r = acme_request();
    r.lan = "";  // signed, but no LAN address
    expect_refused(r, 401, "malformed");
    EXPECT_EQ(2u, stats.get(HRAS_CNT_AUTH_FAILURES));
}

TEST_F(TunnelServerTest, OtherPathsAre404WithoutAuthentication)
{
    for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{{"GET", "/"},
                                                                                {"GET", "/sofw/v1/up"},
                                                                                {"POST", "/sofw/v1/down"},
                                                                                {"GET", "/sofw/v1/down/x"},
                                                                                {"GET", "/sofw/v2/down"}}) {
        SCOPED_TRACE(method + " " + path);
        TunnelRequest r = acme_request();
        r.method = method;
        r.path = path;
        expect_refused(r, 404, "not a SoFW tunnel endpoint");
    }
    EXPECT_EQ(0u, stats.get(HRAS_CNT_AUTH_FAILURES));
    EXPECT_FALSE(server->is_up(0));
}

// --- sessions -------------------------------------------------------------

TEST_F(TunnelServerTest, GetAloneIsNotUp)
{
    TunnelClient &c = client();
    c.open_down();
    ASSERT_TRUE(soon([&] { return c.down->status() != 0; }));
    EXPECT_TRUE(c.down_ok());
    drive.run_for(200);
    EXPECT_FALSE(server->is_up(0));
    EXPECT_FALSE(server->hrac_addr(0));
    EXPECT_TRUE(rec.changes.empty());
    EXPECT_EQ(0u, stats.get(HRAS_CNT_SESSIONS_OPENED));
    EXPECT_FALSE(c.down->closed());
}

TEST_F(TunnelServerTest, GetAndPostOfOneSessionAreUp)
{
    TunnelClient &c = client("acme", acme_secret, "10.0.0.2:5070");
    ASSERT_TRUE(open(c));
    EXPECT_EQ(200, c.down->status());
    EXPECT_TRUE(c.down_ok()) << "the proof covers the server nonce";
    EXPECT_NE(c.down_request().expected_proof(std::string(32, '0')), c.down->header(hdr::server_signature));
    EXPECT_EQ("application/x-sofw-frames", c.down->header("Content-Type"));
    EXPECT_EQ("chunked", c.down->header("Transfer-Encoding"));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SESSIONS_OPENED));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_AUTH_FAILURES));
    EXPECT_EQ((Changes{{0, true}}), rec.changes);
    ASSERT_TRUE(server->hrac_addr(0));
    EXPECT_EQ("10.0.0.2:5070", server->hrac_addr(0)->to_string());
    EXPECT_FALSE(server->is_up(1));
}

TEST_F(TunnelServerTest, PostBeforeGetIsRefused)
{
    // Only the GET opens a session: its 200 brings the server nonce the
    // first up record needs (docs/protocol.md "Handshake").
    TunnelClient &c = client();
    expect_refused(c.request("POST", "/sofw/v1/up"), 409, "session not open");
    EXPECT_FALSE(server->is_up(0));
    ASSERT_TRUE(open(c));
    EXPECT_EQ((Changes{{0, true}}), rec.changes);
}

TEST_F(TunnelServerTest, EachSessionHasItsOwnServerNonce)
{
    TunnelClient &a = client();
    ASSERT_TRUE(open(a));
    const std::string ns = a.down->header(hdr::server_nonce);
    TunnelClient &b = client();
    ASSERT_TRUE(open(b));
    EXPECT_EQ(32u, b.down->header(hdr::server_nonce).size());
    EXPECT_NE(ns, b.down->header(hdr::server_nonce));
}

TEST_F(TunnelServerTest, FramesQueuedTogetherGoDownInOneRecord)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    const size_t before = c.down->body().size();
    size_t frames = 0;
    for (int i = 0; i < 3; i++) {
        Frame f = sip_frame("192.168.1.10:5060", options);
        frames += encode_frame(f).size();
        ASSERT_TRUE(server->send(0, f));
    }
    ASSERT_TRUE(soon([&] { return c.count(FrameType::sip) == 3; }));
    EXPECT_EQ(frames + record_overhead, c.down->body().size() - before) << "19 bytes for the three";
}

TEST_F(TunnelServerTest, TamperedRecordUpDropsTheSessionAndDeliversNothing)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    std::string record = c.seal(bytes(encode_frame(sip_frame("192.168.1.10:5060", options))));
    record[record.size() / 2] ^= 0x20;
    c.send_raw(record);
    ASSERT_TRUE(soon([&] { return c.both_closed(); })) << "channels still open";
    EXPECT_FALSE(server->is_up(0));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_RECORD_ERRORS));
    EXPECT_TRUE(rec.frames.empty());
    ASSERT_TRUE(open(client()));
}

TEST_F(TunnelServerTest, ClearFramesUpAreNotRecords)
{
    // What a proxy without the keys could inject: a clear frame.
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    // Its first bytes read as a record length (0x01010a: version, type,
    // flags): HRAS waits for that many bytes, and they fail the tag.
    c.send_raw(bytes(encode_frame(sip_frame("192.168.1.10:5060", options))));
    drive.run_for(100);
    EXPECT_TRUE(server->is_up(0));
    Frame big = sip_frame("192.168.1.10:5060", "");
    big.payload.assign(frame_max_payload, 'x');
    const std::string record = c.seal(bytes(encode_frame(big)));
    for (size_t at = 0; at < record.size(); at += 8192)  // in chunks of the size HRAC's curl writes
        c.send_raw(record.substr(at, 8192));
    c.send_frame(sip_frame("192.168.1.10:5060", options));  // 65811 bytes in all, at last
    ASSERT_TRUE(soon([&] { return c.both_closed(); })) << "channels still open";
    EXPECT_EQ(1u, stats.get(HRAS_CNT_RECORD_ERRORS));
    EXPECT_TRUE(rec.frames.empty());
}

TEST_F(TunnelServerTest, ReplayedRecordUpDropsTheSession)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    const std::string record = c.seal(bytes(encode_frame(sip_frame("192.168.1.10:5060", options))));
    c.send_raw(record + record);
    ASSERT_TRUE(soon([&] { return c.both_closed(); })) << "channels still open";
    EXPECT_EQ(1u, stats.get(HRAS_CNT_RECORD_ERRORS));
    EXPECT_EQ(1u, rec.frames.size()) << "the first copy was authentic, the replay is not";
}

TEST_F(TunnelServerTest, SecondGetOfTheSameSessionIsAConflict)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    TunnelRequest again = c.request("GET", "/sofw/v1/down");  // fresh nonce
    expect_refused(again, 409, "channel already open for this session");
    drive.run_for(100);
    EXPECT_TRUE(server->is_up(0));
    EXPECT_FALSE(c.down->closed());
}

TEST_F(TunnelServerTest, HalfOpenGetIsForgotten)
{
    TunnelClient &c = client();
    int64_t t0 = now_ms();
    c.open_down();
    ASSERT_TRUE(drive.until([&] { return c.down->closed(); }, 4000)) << "server kept the half-open GET";
    EXPECT_GE(now_ms() - t0, cfg.half_open_timeout_s * 1000);
    EXPECT_LT(now_ms() - t0, cfg.half_open_timeout_s * 1000 + 1500);  // checked on the 1 s tick
    EXPECT_EQ(200, c.down->status());
    EXPECT_FALSE(server->is_up(0));
    EXPECT_TRUE(rec.changes.empty());
    // The session is gone: a POST of it now is refused.
    c.open_up();
    drive.run_for(200);
    EXPECT_FALSE(server->is_up(0));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_SESSIONS_OPENED));
}

TEST_F(TunnelServerTest, NewSessionReplacesTheOld)
{
    TunnelClient &a = client();
    ASSERT_TRUE(open(a));
    TunnelClient &b = client();
    b.open_down();
    ASSERT_TRUE(soon([&] { return a.both_closed(); })) << "old channels still open";
    EXPECT_EQ((Changes{{0, true}, {0, false}}), rec.changes);
    b.open_up();
    ASSERT_TRUE(soon([&] { return server->is_up(0) && b.down_ok(); }));
    EXPECT_EQ((Changes{{0, true}, {0, false}, {0, true}}), rec.changes);
    EXPECT_EQ(2u, stats.get(HRAS_CNT_SESSIONS_OPENED));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SESSIONS_CLOSED));
    // Frames now go down the new session.
    Frame f = sip_frame("192.168.1.10:5060", options);
    ASSERT_TRUE(server->send(0, f));
    ASSERT_TRUE(soon([&] { return b.count(FrameType::sip) == 1; }));
    EXPECT_EQ(0u, a.count(FrameType::sip));
}

TEST_F(TunnelServerTest, SitesHaveIndependentSessions)
{
    TunnelClient &a = client();
    TunnelClient &b = client("beta", beta_secret, "10.0.1.2:5060");
    ASSERT_TRUE(open(a, 0));
    ASSERT_TRUE(open(b, 1));
    EXPECT_TRUE(server->is_up(0));
    EXPECT_FALSE(a.down->closed());
    ASSERT_TRUE(server->send(1, sip_frame("192.168.1.10:5060", options)));
    ASSERT_TRUE(soon([&] { return b.count(FrameType::sip) == 1; }));
    EXPECT_EQ(0u, a.count(FrameType::sip));
}

TEST_F(TunnelServerTest, ClosedUpstreamEndsTheSession)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    c.up->close();  // HRAC drops its upstream
    ASSERT_TRUE(soon([&] { return !server->is_up(0) && c.down->closed(); }));
    EXPECT_EQ((Changes{{0, true}, {0, false}}), rec.changes);
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SESSIONS_CLOSED));
}

TEST_F(TunnelServerTest, ClosedDownstreamIsNoticedByTheNextKeepalive)
{
    // An idle downstream is suspended in libmicrohttpd, which then does not
    // watch its socket: a close is seen when the next frame is written.
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    c.down->close();
    ASSERT_TRUE(drive.until([&] { return !server->is_up(0) && c.up->closed(); }, 30000));
    EXPECT_EQ((Changes{{0, true}, {0, false}}), rec.changes);
}

// --- frames ---------------------------------------------------------------

TEST_F(TunnelServerTest, SipFrameUpReachesTheListenerWithItsRaHeader)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    Frame f = sip_frame("192.168.1.10:5062", options);
    f.ra->relay_port = 20000;
    std::string wire = bytes(encode_frame(f));
    // One record cut across two chunks, then a keep-alive and a second
    // frame in one record of one chunk.
    const std::string first = c.seal(wire);
    c.send_raw(first.substr(0, 5));
    c.send_raw(first.substr(5));
    Frame ka;
    c.send_raw(c.seal(bytes(encode_frame(ka)) + wire));
    ASSERT_TRUE(soon([&] { return rec.frames.size() == 2; }));
    for (auto &[site, got] : rec.frames) {
        EXPECT_EQ(0u, site);
        EXPECT_EQ(FrameType::sip, got.type);
        ASSERT_TRUE(got.ra);
        EXPECT_TRUE(got.ra->same_endpoint(*f.ra));
        EXPECT_EQ("192.168.1.10:5062", got.ra->to_string());
        EXPECT_EQ(20000, got.ra->relay_port);
        EXPECT_EQ(options, got.payload_string());
    }
    EXPECT_EQ(3u, stats.get(HRAS_CNT_FRAMES_UP));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_KEEPALIVES_RECEIVED));
    EXPECT_EQ(2 * wire.size() + frame_header_size, stats.get(HRAS_CNT_BYTES_UP));
}

TEST_F(TunnelServerTest, SendDeliversFramesDownByteExact)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    std::vector<Frame> sent;
    sent.push_back(sip_frame("192.168.1.10:5060", options));
    Frame big = sip_frame("[2001:db8::1]:5060", "");
    for (size_t i = 0; i < frame_max_payload; i++)
        big.payload.push_back(uint8_t(i * 7 + 3));  // every byte value, CR and LF included
    sent.push_back(big);
    Frame media;
    media.type = FrameType::media;
    media.ra = RaHeader::parse("192.168.1.11:4000").value();
    media.payload = {0x80, 0x00, 0x0d, 0x0a, 0x00};
    sent.push_back(media);
    for (auto &f : sent)
        ASSERT_TRUE(server->send(0, f));
    ASSERT_TRUE(soon([&] { return c.frames.size() >= sent.size() || c.decode_error(); }));
    ASSERT_FALSE(c.decode_error());
    ASSERT_EQ(sent.size(), c.frames.size());
    for (size_t i = 0; i < sent.size(); i++)
        EXPECT_EQ(encode_frame(sent[i]), encode_frame(c.frames[i])) << "frame " << i;
    EXPECT_EQ(3u, stats.get(HRAS_CNT_FRAMES_DOWN));
}

TEST_F(TunnelServerTest, SendIsRefusedWithoutASession)
{
    Frame f = sip_frame("192.168.1.10:5060", options);
    EXPECT_FALSE(server->send(0, f));  // no session at all
    EXPECT_FALSE(server->send(7, f));  // no such site
    TunnelClient &c = client();
    c.open_down();
    ASSERT_TRUE(soon([&] { return c.down->status() != 0; }));
    EXPECT_FALSE(server->send(0, f));  // half-open
    c.open_up();
    ASSERT_TRUE(soon([&] { return server->is_up(0); }));
    EXPECT_FALSE(server->send(1, f));  // the other site
    EXPECT_TRUE(server->send(0, f));
    Frame no_ra = f;
    no_ra.ra.reset();
    EXPECT_FALSE(server->send(0, no_ra));  // not encodable
    EXPECT_EQ(1u, stats.get(HRAS_CNT_FRAMES_DOWN));
}

TEST_F(TunnelServerTest, MalformedFrameUpDropsTheSession)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    std::string good = bytes(encode_frame(sip_frame("192.168.1.10:5060", options)));
    std::string bad = "\x02\x04\x00\x00\x00\x00\x00\x00";  // version 2
    bad.resize(8);
    const std::string first = c.seal(good);  // sealed in this order: sequence 0, then 1
    c.send_raw(first + c.seal(bad));
    ASSERT_TRUE(soon([&] { return c.both_closed(); })) << "channels still open";
    EXPECT_FALSE(server->is_up(0));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_FRAME_ERRORS));
    EXPECT_EQ(1u, rec.frames.size());  // what came before the error still counts
    EXPECT_EQ((Changes{{0, true}, {0, false}}), rec.changes);
    // HRAC opens a new session and is back.
    ASSERT_TRUE(open(client()));
}

TEST_F(TunnelServerTest, KeepalivesFlowAndKeepTheSessionUp)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    int64_t start = now_ms(), last_ka = start;
    uint64_t sent = 0;
    // 3.5 intervals with no traffic but keep-alives from HRAC every half interval.
    drive.run_for(3500, [&] {
        if (now_ms() - last_ka >= 500) {
            c.send_frame(Frame{});
            ++sent;
            last_ka = now_ms();
        }
    });
    EXPECT_TRUE(server->is_up(0));
    EXPECT_FALSE(c.down->closed());
    EXPECT_GE(c.count(FrameType::keepalive), 2u);
    ASSERT_FALSE(c.frames.empty());
    EXPECT_TRUE(is_exact_stream_ok(c.frames[0]));  // the answer to the first keep-alive up
    EXPECT_EQ(c.frames.size() - 1, c.count(FrameType::keepalive));
    for (auto &f : c.frames) {
        if (f.type != FrameType::keepalive)
            continue;
        EXPECT_FALSE(f.ra);
        EXPECT_EQ(8u, f.payload.size());  // the sender's monotonic milliseconds
    }
    EXPECT_EQ(c.count(FrameType::keepalive), stats.get(HRAS_CNT_KEEPALIVES_SENT));
    // Every keep-alive HRAC sent arrived (how many fit in 3.5 s depends on
    // the machine's load, so the count is the client's, not the clock's).
    EXPECT_GE(sent, 2u);
    EXPECT_TRUE(soon([&] { return stats.get(HRAS_CNT_KEEPALIVES_RECEIVED) == sent; }))
        << stats.get(HRAS_CNT_KEEPALIVES_RECEIVED) << " of " << sent;
    EXPECT_EQ((Changes{{0, true}}), rec.changes);
}

TEST_F(TunnelServerTest, KeepalivesWaitForIdleness)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    // Frames down more often than the interval: no keep-alive is needed.
    int64_t last = 0;
    drive.run_for(2500, [&] {
        if (now_ms() - last >= 300) {
            ASSERT_TRUE(server->send(0, sip_frame("192.168.1.10:5060", options)));
            c.send_frame(Frame{});
            last = now_ms();
        }
    });
    EXPECT_EQ(0u, c.count(FrameType::keepalive));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_KEEPALIVES_SENT));
    EXPECT_GE(c.count(FrameType::sip), 7u);
}

TEST_F(TunnelServerTest, SilentSessionIsDroppedAfterThreeIntervals)
{
    TunnelClient &c = client();
    // The server counts silence from the channels' opening: take the time
    // before opening them, so a slow start cannot make a timely drop look early.
    int64_t opened_at = now_ms();
    ASSERT_TRUE(open(c));
    // The deadline is generous: only "not before three intervals" is the
    // rule; how late a loaded machine notices is not.
    ASSERT_TRUE(drive.until([&] { return !server->is_up(0); }, 30000)) << "silent session kept";
    int64_t after = now_ms() - opened_at;
    EXPECT_GE(after, 3 * cfg.keepalive_s * 1000 - 100);
    ASSERT_TRUE(soon([&] { return c.both_closed(); }));
    EXPECT_GE(c.count(FrameType::keepalive), 2u);  // the server kept talking meanwhile
    EXPECT_EQ((Changes{{0, true}, {0, false}}), rec.changes);
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SESSIONS_CLOSED));
}

TEST_F(TunnelServerTest, CloseSessionClosesBothChannels)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    server->close_session(0, "test");
    EXPECT_FALSE(server->is_up(0));
    ASSERT_TRUE(soon([&] { return c.both_closed(); }));
    EXPECT_EQ((Changes{{0, true}, {0, false}}), rec.changes);
}

// --- streaming probe --------------------------------------------------------

TEST_F(TunnelServerTest, StreamOkFollowsTheFirstUpstreamFrameOnce)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    drive.run_for(100);
    EXPECT_EQ(0u, c.count(FrameType::control)) << "STREAM_OK before anything came up";
    c.send_frame(Frame{});  // HRAC's probe: a keep-alive at once
    ASSERT_TRUE(soon([&] { return c.count(FrameType::control) == 1; }));
    EXPECT_TRUE(is_exact_stream_ok(c.frames.back()));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_FRAMES_DOWN));
    // More frames up, any type: no second STREAM_OK.
    c.send_frame(sip_frame("192.168.1.10:5060", options));
    c.send_frame(Frame{});
    ASSERT_TRUE(soon([&] { return rec.frames.size() == 1; }));
    drive.run_for(200);
    EXPECT_EQ(1u, c.count(FrameType::control));
    EXPECT_FALSE(c.decode_error());
}

TEST_F(TunnelServerTest, EachStreamingSessionGetsItsOwnStreamOk)
{
    TunnelClient &a = client();
    ASSERT_TRUE(open(a));
    a.send_frame(Frame{});
    ASSERT_TRUE(soon([&] { return a.count(FrameType::control) == 1; }));
    TunnelClient &b = client();
    ASSERT_TRUE(open(b));
    b.send_frame(Frame{});
    ASSERT_TRUE(soon([&] { return b.count(FrameType::control) == 1; }));
    EXPECT_TRUE(is_exact_stream_ok(b.frames.front()));
}

// --- polling ----------------------------------------------------------------

TEST_F(TunnelServerTest, PollingSessionIsUpAfterTheFirstPoll)
{
    TunnelClient &c = client("acme", acme_secret, "10.0.0.2:5070");
    auto &p = c.start_poll();
    ASSERT_TRUE(soon([&] { return server->is_up(0); }));
    EXPECT_EQ((Changes{{0, true}}), rec.changes);
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SESSIONS_OPENED));
    ASSERT_TRUE(server->hrac_addr(0));
    EXPECT_EQ("10.0.0.2:5070", server->hrac_addr(0)->to_string());
    ASSERT_TRUE(g_published.states.count(0));
    EXPECT_TRUE(g_published.states[0].up);
    EXPECT_STREQ("poll", g_published.states[0].mode);
    EXPECT_EQ(c.session(), g_published.states[0].session);
    // The first poll is answered at once, empty, with the server nonce.
    ASSERT_TRUE(soon([&] { return p.done; }));
    EXPECT_EQ(200, p.status());
    EXPECT_TRUE(p.proof_ok());
    EXPECT_EQ("", p.conn->body());
    // The next waits: nothing is queued.
    auto &q = c.start_poll();
    drive.run_for(200);
    EXPECT_EQ(0, q.status());
    EXPECT_FALSE(q.conn->closed());
    EXPECT_FALSE(server->is_up(1));
}

TEST_F(TunnelServerTest, StreamingSessionPublishesItsMode)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    EXPECT_STREQ("stream", g_published.states[0].mode);
    server->close_session(0, "test");
    EXPECT_FALSE(g_published.states[0].up);
    EXPECT_STREQ("", g_published.states[0].mode);
}

TEST_F(TunnelServerTest, SendWithoutAPollIsRefused)
{
    TunnelClient &c = client();
    auto &s = c.send_batch(bytes(encode_frame(Frame{})));
    ASSERT_TRUE(soon([&] { return s.done; }));
    EXPECT_EQ(409, s.status());
    EXPECT_EQ("session not open\n", s.conn->body());
    EXPECT_FALSE(server->is_up(0));
    EXPECT_TRUE(rec.frames.empty());
    ASSERT_TRUE(start_polling(c));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SESSIONS_OPENED));
}

TEST_F(TunnelServerTest, EveryAnswerOfAPollingSessionRepeatsItsServerNonce)
{
    TunnelClient &c = client();
    ASSERT_TRUE(start_polling(c));
    auto &s = c.send_frames({Frame{}});
    ASSERT_TRUE(soon([&] { return s.done; }));
    EXPECT_TRUE(s.proof_ok());
    EXPECT_EQ(c.server_nonce(), s.conn->header(hdr::server_nonce));
    ASSERT_TRUE(server->send(0, sip_frame("192.168.1.10:5060", options)));
    auto &p = *c.polls.back();
    ASSERT_TRUE(soon([&] { return p.done; }));
    EXPECT_TRUE(p.proof_ok());
    EXPECT_EQ(c.server_nonce(), p.conn->header(hdr::server_nonce));
}

TEST_F(TunnelServerTest, SuspendedPollIsAnsweredPromptlyBySend)
{
    TunnelClient &c = client();
    ASSERT_TRUE(start_polling(c));
    auto &p = *c.polls.back();
    drive.run_for(100);
    ASSERT_EQ(0, p.status());
    Frame f = sip_frame("192.168.1.10:5060", options);
    int64_t t0 = now_ms();
    ASSERT_TRUE(server->send(0, f));
    ASSERT_TRUE(soon([&] { return p.done; }));
    EXPECT_LT(now_ms() - t0, 100) << "answered by a timer, not by send()";
    EXPECT_EQ(200, p.status());
    EXPECT_TRUE(p.proof_ok());
    EXPECT_EQ("application/x-sofw-frames", p.conn->header("Content-Type"));
    EXPECT_EQ(std::to_string(encode_frame(f).size() + record_overhead), p.conn->header("Content-Length"));
    EXPECT_FALSE(p.conn->has_header("Transfer-Encoding"));
    ASSERT_EQ(1u, p.frames.size());
    EXPECT_EQ(encode_frame(f), encode_frame(p.frames[0]));
    EXPECT_FALSE(p.decode_error);
    EXPECT_EQ(1u, stats.get(HRAS_CNT_FRAMES_DOWN));
}

TEST_F(TunnelServerTest, PollIsAnsweredAtOnceWhenFramesAreQueued)
{
    TunnelClient &c = client();
    ASSERT_TRUE(start_polling(c));
    ASSERT_TRUE(server->send(0, sip_frame("192.168.1.10:5060", "first")));
    ASSERT_TRUE(soon([&] { return c.polls.back()->done; }));
    // No poll outstanding now: frames queue up for the next one.
    std::vector<Frame> sent;
    sent.push_back(sip_frame("192.168.1.10:5060", options));
    Frame media;
    media.type = FrameType::media;
    media.ra = RaHeader::parse("192.168.1.11:4000").value();
    media.payload = {0x80, 0x00, 0x0d, 0x0a, 0x00};
    sent.push_back(media);
    sent.push_back(make_control_frame({ControlOp::close_media, 20000}));
    for (auto &f : sent)
        ASSERT_TRUE(server->send(0, f));
    drive.run_for(50);
    auto &p = c.start_poll();
    int64_t t0 = now_ms();
    ASSERT_TRUE(soon([&] { return p.done; }));
    EXPECT_LT(now_ms() - t0, 100);
    EXPECT_EQ(200, p.status());
    EXPECT_TRUE(p.proof_ok());
    ASSERT_EQ(sent.size(), p.frames.size());
    for (size_t i = 0; i < sent.size(); i++)
        EXPECT_EQ(encode_frame(sent[i]), encode_frame(p.frames[i])) << "frame " << i;
    EXPECT_FALSE(p.decode_error);
    EXPECT_TRUE(server->is_up(0));
}

TEST_F(TunnelServerTest, PollAnswerIsCappedAtWholeFrames)
{
    TunnelClient &c = client();
    ASSERT_TRUE(start_polling(c));
    ASSERT_TRUE(server->send(0, sip_frame("192.168.1.10:5060", "first")));
    ASSERT_TRUE(soon([&] { return c.polls.back()->done; }));
    Frame big = sip_frame("192.168.1.10:5060", "");
    big.payload.assign(frame_max_payload, 'x');
    const size_t n = 20, size = encode_frame(big).size();
    for (size_t i = 0; i < n; i++) {
        big.payload[0] = uint8_t(i);
        ASSERT_TRUE(server->send(0, big));
    }
    auto &p1 = c.start_poll();
    ASSERT_TRUE(soon([&] { return p1.done; }));
    EXPECT_LE(p1.conn->body().size(), cfg.poll_max_body + 2 * record_overhead);
    EXPECT_EQ(cfg.poll_max_body / size, p1.frames.size());
    EXPECT_FALSE(p1.decode_error);
    auto &p2 = c.start_poll();
    ASSERT_TRUE(soon([&] { return p2.done; }));
    EXPECT_EQ(n - p1.frames.size(), p2.frames.size());
    EXPECT_FALSE(p2.decode_error);
    ASSERT_EQ(n + 1, c.frames.size());
    for (size_t i = 0; i < n; i++)
        EXPECT_EQ(uint8_t(i), c.frames[1 + i].payload[0]) << "in order";
}

TEST_F(TunnelServerTest, PollWaitEndsWithAKeepalive)
{
    TunnelClient &c = client();
    int64_t t0 = now_ms();
    ASSERT_TRUE(start_polling(c));
    auto &p = *c.polls.back();
    ASSERT_TRUE(drive.until([&] { return p.done; }, cfg.poll_wait_ms + 1000));
    int64_t took = now_ms() - t0;
    EXPECT_GE(took, cfg.poll_wait_ms - 50);
    EXPECT_LT(took, cfg.poll_wait_ms + 300);
    EXPECT_EQ(200, p.status());
    EXPECT_TRUE(p.proof_ok());
    ASSERT_EQ(1u, p.frames.size());
    EXPECT_EQ(FrameType::keepalive, p.frames[0].type);
    EXPECT_EQ(8u, p.frames[0].payload.size());
    EXPECT_EQ(1u, stats.get(HRAS_CNT_KEEPALIVES_SENT));
    EXPECT_TRUE(server->is_up(0));
}

TEST_F(TunnelServerTest, PollingKeepsTheSessionUpAndStopsWhenRequestsStop)
{
    TunnelClient &c = client();
    ASSERT_TRUE(start_polling(c));
    // HRAC keeps one poll outstanding for 3.5 keep-alive intervals: each
    // poll_wait answer is a keep-alive, no others are sent.
    int64_t last_poll = now_ms();
    drive.run_for(3500, [&] {
        if (c.polls.back()->done) {
            last_poll = now_ms();  // before the server sees it
            c.start_poll();
        }
    });
    EXPECT_TRUE(server->is_up(0));
    EXPECT_EQ((Changes{{0, true}}), rec.changes);
    EXPECT_GE(c.count(FrameType::keepalive), 3u);
    EXPECT_EQ(c.frames.size(), c.count(FrameType::keepalive));
    EXPECT_EQ(c.frames.size(), stats.get(HRAS_CNT_KEEPALIVES_SENT));
    // HRAC stops: the outstanding poll is answered after poll_wait, then
    // nothing for 3 keep-alive intervals drops the session.
    // Only "not before three silent intervals" is the rule; how late a
    // loaded machine notices is not, hence the generous deadlines.
    ASSERT_TRUE(drive.until([&] { return c.polls.back()->done; }, 30000));
    ASSERT_TRUE(drive.until([&] { return !server->is_up(0); }, 30000)) << "silent polling session kept";
    int64_t after = now_ms() - last_poll;
    EXPECT_GE(after, 3 * cfg.keepalive_s * 1000 - 100);
    EXPECT_EQ((Changes{{0, true}, {0, false}}), rec.changes);
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SESSIONS_CLOSED));
    EXPECT_FALSE(server->send(0, sip_frame("192.168.1.10:5060", options)));
}

TEST_F(TunnelServerTest, SecondPollReplacesTheFirst)
{
    TunnelClient &c = client();
    ASSERT_TRUE(start_polling(c));
    auto &p1 = *c.polls.back();
    auto &p2 = c.start_poll();
    ASSERT_TRUE(soon([&] { return p1.done; }));
    EXPECT_EQ(200, p1.status());
    EXPECT_TRUE(p1.proof_ok());
    EXPECT_EQ("0", p1.conn->header("Content-Length"));
    EXPECT_TRUE(p1.frames.empty());
    EXPECT_EQ(0, p2.status());
    ASSERT_TRUE(server->send(0, sip_frame("192.168.1.10:5060", options)));
    ASSERT_TRUE(soon([&] { return p2.done; }));
    EXPECT_EQ(1u, p2.frames.size());
    EXPECT_EQ((Changes{{0, true}}), rec.changes);
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SESSIONS_OPENED));
}

TEST_F(TunnelServerTest, SendFramesReachTheListener)
{
    TunnelClient &c = client();
    ASSERT_TRUE(start_polling(c));
    Frame sip = sip_frame("192.168.1.10:5062", options);
    sip.ra->relay_port = 20000;
    Frame media;
    media.type = FrameType::media;
    media.ra = RaHeader::parse("192.168.1.11:4000").value();
    media.payload = {0x80, 0x00};
    auto &s = c.send_frames({sip, Frame{}, media});
    ASSERT_TRUE(soon([&] { return s.done; }));
    EXPECT_EQ(200, s.status());
    EXPECT_TRUE(s.proof_ok());
    EXPECT_EQ("", s.conn->body());
    ASSERT_EQ(2u, rec.frames.size());
    EXPECT_EQ(encode_frame(sip), encode_frame(rec.frames[0].second));
    EXPECT_EQ(encode_frame(media), encode_frame(rec.frames[1].second));
    EXPECT_EQ(0u, rec.frames[0].first);
    EXPECT_EQ(3u, stats.get(HRAS_CNT_FRAMES_UP));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_KEEPALIVES_RECEIVED));
    EXPECT_EQ(encode_frame(sip).size() + encode_frame(media).size() + frame_header_size, stats.get(HRAS_CNT_BYTES_UP));
    // No STREAM_OK in polling mode.
    EXPECT_EQ(0u, stats.get(HRAS_CNT_FRAMES_DOWN));
}

TEST_F(TunnelServerTest, SendBodyInPiecesIsReassembled)
{
    TunnelClient &c = client();
    ASSERT_TRUE(start_polling(c));
    const std::string wire = c.seal(bytes(encode_frame(sip_frame("192.168.1.10:5060", options))));
    TunnelRequest r = c.request("POST", "/sofw/v1/send");
    r.body = wire + c.seal(bytes(encode_frame(sip_frame("192.168.1.10:5060", options))));
    std::string http = r.http();
    size_t head = http.size() - r.body->size();
    conns.push_back(std::make_unique<HttpConn>(server->port()));
    HttpConn &s = *conns.back();
    drive.watch(&s);
    // Headers, then the body cut inside each record.
    s.write(http.substr(0, head + 5));
    drive.run_for(50);
    s.write(http.substr(head + 5, wire.size()));
    drive.run_for(50);
    s.write(http.substr(head + 5 + wire.size()));
    ASSERT_TRUE(soon([&] { return s.body_complete(); }));
    EXPECT_EQ(200, s.status());
    EXPECT_EQ(2u, rec.frames.size());
    EXPECT_TRUE(server->is_up(0));
}

TEST_F(TunnelServerTest, MalformedSendDropsTheSession)
{
    TunnelClient &c = client();
    ASSERT_TRUE(start_polling(c));
    auto &p = *c.polls.back();
    std::string good = bytes(encode_frame(sip_frame("192.168.1.10:5060", options)));
    std::string bad = "\x02\x04\x00\x00\x00\x00\x00\x00";  // version 2
    bad.resize(8);
    const std::string first = c.seal(good);
    auto &s = c.send_batch(first + c.seal(bad));
    ASSERT_TRUE(soon([&] { return !server->is_up(0); }));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_FRAME_ERRORS));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_RECORD_ERRORS));
    EXPECT_EQ(1u, rec.frames.size());
    EXPECT_EQ((Changes{{0, true}, {0, false}}), rec.changes);
    ASSERT_TRUE(soon([&] { return s.conn->closed() && p.conn->closed(); }));
    EXPECT_NE(200, s.status());
    EXPECT_NE(200, p.status());
}

TEST_F(TunnelServerTest, SendEndingInsideARecordDropsTheSession)
{
    TunnelClient &c = client();
    ASSERT_TRUE(start_polling(c));
    std::string good = bytes(encode_frame(sip_frame("192.168.1.10:5060", options)));
    const std::string first = c.seal(good);
    auto &s = c.send_batch(first + c.seal(good).substr(0, 10));
    ASSERT_TRUE(soon([&] { return !server->is_up(0); }));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_FRAME_ERRORS));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_RECORD_ERRORS));
    EXPECT_EQ(1u, rec.frames.size());
    ASSERT_TRUE(soon([&] { return s.conn->closed(); }));
    EXPECT_NE(200, s.status());
}

TEST_F(TunnelServerTest, PollAndSendAreAuthenticated)
{
    TunnelClient &c = client();
    TunnelRequest r = c.request("GET", "/sofw/v1/poll");
    r.secret = beta_secret;
    expect_refused(r, 401, "bad_signature");
    r = c.request("POST", "/sofw/v1/send");
    r.body = bytes(encode_frame(Frame{}));
    r.secret = beta_secret;
    expect_refused(r, 401, "bad_signature");
    r = c.request("GET", "/sofw/v1/poll");
    r.time = unix_now() - uint64_t(cfg.auth_window_s) - 5;
    expect_refused(r, 401, "stale");
    EXPECT_EQ(3u, stats.get(HRAS_CNT_AUTH_FAILURES));
    EXPECT_FALSE(server->is_up(0));
    EXPECT_TRUE(rec.frames.empty());
    // Each request has its own nonce: a replayed poll is refused.
    auto &p = c.start_poll();
    ASSERT_TRUE(soon([&] { return server->is_up(0); }));
    expect_refused(p.req, 401, "replay");
    // Wrong methods are not endpoints.
    r = c.request("POST", "/sofw/v1/poll");
    expect_refused(r, 404, "not a SoFW tunnel endpoint");
    r = c.request("GET", "/sofw/v1/send");
    expect_refused(r, 404, "not a SoFW tunnel endpoint");
}

TEST_F(TunnelServerTest, StreamingSessionIsReplacedByAPollingOne)
{
    TunnelClient &a = client();
    ASSERT_TRUE(open(a));
    TunnelClient &b = client();
    ASSERT_TRUE(start_polling(b));
    auto &p = *b.polls.back();
    ASSERT_TRUE(soon([&] { return a.both_closed(); })) << "streaming channels still open";
    EXPECT_EQ((Changes{{0, true}, {0, false}, {0, true}}), rec.changes);
    EXPECT_STREQ("poll", g_published.states[0].mode);
    ASSERT_TRUE(server->send(0, sip_frame("192.168.1.10:5060", options)));
    ASSERT_TRUE(soon([&] { return p.done; }));
    EXPECT_EQ(1u, p.frames.size());
    EXPECT_EQ(0u, a.count(FrameType::sip));
}

TEST_F(TunnelServerTest, PollingSessionIsReplacedByAStreamingOne)
{
    TunnelClient &a = client();
    ASSERT_TRUE(start_polling(a));
    auto &p = *a.polls.back();
    TunnelClient &b = client();
    ASSERT_TRUE(open(b));
    ASSERT_TRUE(soon([&] { return p.conn->closed(); })) << "old poll still open";
    EXPECT_NE(200, p.status());
    EXPECT_EQ((Changes{{0, true}, {0, false}, {0, true}}), rec.changes);
    EXPECT_STREQ("stream", g_published.states[0].mode);
    ASSERT_TRUE(server->send(0, sip_frame("192.168.1.10:5060", options)));
    ASSERT_TRUE(soon([&] { return b.count(FrameType::sip) == 1; }));
    // A late request of the old session replaces the new one in turn (a new
    // session id wins), as for streaming.
    EXPECT_EQ(2u, stats.get(HRAS_CNT_SESSIONS_OPENED));
}

TEST_F(TunnelServerTest, NewPollingSessionReplacesTheOld)
{
    TunnelClient &a = client();
    ASSERT_TRUE(start_polling(a));
    auto &p = *a.polls.back();
    TunnelClient &b = client();
    ASSERT_TRUE(start_polling(b));
    auto &q = *b.polls.back();
    ASSERT_TRUE(soon([&] { return p.conn->closed(); }));
    EXPECT_EQ((Changes{{0, true}, {0, false}, {0, true}}), rec.changes);
    ASSERT_TRUE(server->send(0, sip_frame("192.168.1.10:5060", options)));
    ASSERT_TRUE(soon([&] { return q.done; }));
    EXPECT_EQ(1u, q.frames.size());
}

TEST_F(TunnelServerTest, SameSessionIdSwitchingToPollingIsANewSession)
{
    // HRAC's fallback may keep its session id: the streaming channels go.
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    ASSERT_TRUE(start_polling(c));  // a new session: new server nonce, new keys
    auto &p = *c.polls.back();
    ASSERT_TRUE(soon([&] { return c.both_closed(); }));
    EXPECT_EQ((Changes{{0, true}, {0, false}, {0, true}}), rec.changes);
    ASSERT_TRUE(server->send(0, sip_frame("192.168.1.10:5060", options)));
    ASSERT_TRUE(soon([&] { return p.done; }));
    EXPECT_EQ(1u, p.frames.size());
}

TEST_F(TunnelServerTest, PollingSitesAreIndependent)
{
    TunnelClient &a = client();
    TunnelClient &b = client("beta", beta_secret, "10.0.1.2:5060");
    ASSERT_TRUE(start_polling(a, 0));
    ASSERT_TRUE(open(b, 1));
    ASSERT_TRUE(server->send(1, sip_frame("192.168.1.10:5060", options)));
    ASSERT_TRUE(soon([&] { return b.count(FrameType::sip) == 1; }));
    drive.run_for(50);
    EXPECT_FALSE(a.polls.back()->done);
    EXPECT_TRUE(server->is_up(0));
}

// --- lanes ------------------------------------------------------------------

namespace {

// A sequenced media frame as HRAC sends it on a lane.
Frame lane_media_frame(const std::string &ra, uint32_t mseq, const std::vector<uint8_t> &packet)
{
    Frame f;
    f.type = FrameType::lane_media;
    f.ra = RaHeader::parse(ra).value();
    f.payload = {uint8_t(mseq >> 24), uint8_t(mseq >> 16), uint8_t(mseq >> 8), uint8_t(mseq)};
    f.payload.insert(f.payload.end(), packet.begin(), packet.end());
    return f;
}

Frame media_frame(const std::string &ra, const std::vector<uint8_t> &packet)
{
    Frame f;
    f.type = FrameType::media;
    f.ra = RaHeader::parse(ra).value();
    f.payload = packet;
    return f;
}

Frame lane_ack_frame(std::vector<uint32_t> counts)
{
    LaneAck a;
    a.lanes = unsigned(counts.size());
    for (size_t i = 0; i < counts.size(); i++)
        a.received[i] = counts[i];
    return make_lane_ack_frame(a);
}

std::optional<LaneAck> last_ack(const TunnelClient &c)
{
    std::optional<LaneAck> found;
    for (unsigned lane = 0; lane < c.lane_count(); lane++)
        for (auto &f : c.frames_of(lane))
            if (auto a = decode_lane_ack(f))
                if (!found || a->received[0] + a->received[1] + a->received[2] >=
                                  found->received[0] + found->received[1] + found->received[2])
                    found = a;
    return found;
}

}  // namespace

TEST_F(TunnelServerTest, LanesOpenWithTheSmallerOfBothCounts)
{
    TunnelClient &c = client();
    c.lanes_asked = 3;
    ASSERT_TRUE(open(c));
    EXPECT_EQ("3", c.down->header(hdr::lanes));
    ASSERT_TRUE(soon([&] { return c.lanes_ok(); })) << "lanes 1 and 2 did not open";
    for (auto &l : c.lanes) {
        EXPECT_EQ(200, l->down->status());
        EXPECT_FALSE(l->down->has_header(hdr::lanes));
    }
    EXPECT_TRUE(server->is_up(0));
    EXPECT_EQ(3, g_published.states[0].lanes);
    EXPECT_EQ(1u, stats.get(HRAS_CNT_SESSIONS_OPENED));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_AUTH_FAILURES));
    // More than tunnel_lanes (4): the session gets 4.
    TunnelClient &b = client("beta", beta_secret, "10.0.1.2:5060");
    b.lanes_asked = 8;
    ASSERT_TRUE(open(b, 1));
    EXPECT_EQ("4", b.down->header(hdr::lanes));
    ASSERT_TRUE(soon([&] { return b.lanes_ok(); }));
    EXPECT_EQ(3u, b.lanes.size());
    EXPECT_EQ(4, g_published.states[1].lanes);
}

TEST_F(TunnelServerTest, WithoutAValidLanesHeaderTheSessionHasOneLane)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));
    EXPECT_FALSE(c.down->has_header(hdr::lanes)) << "an older HRAC gets the protocol without lanes";
    EXPECT_EQ(1, g_published.states[0].lanes);
    TunnelClient &b = client("beta", beta_secret, "10.0.1.2:5060");
    b.extra_headers = std::string(hdr::lanes) + ": 9\r\n";
    ASSERT_TRUE(open(b, 1));
    EXPECT_FALSE(b.down->has_header(hdr::lanes));
    EXPECT_EQ(1u, b.lane_count());
    // One asked, one given: said so.
    TunnelClient &one = client();
    one.lanes_asked = 1;
    ASSERT_TRUE(open(one));
    EXPECT_EQ("1", one.down->header(hdr::lanes));
    EXPECT_TRUE(one.lanes.empty());
}

TEST_F(TunnelServerTest, LaneRequestsOutsideTheSessionsLanesAreConflicts)
{
    TunnelClient &c = client();
    // No session at all.
    expect_refused(c.request("GET", "/sofw/v1/down/1"), 409, "no such lane");
    expect_refused(c.request("POST", "/sofw/v1/up/1"), 409, "no such lane");
    EXPECT_FALSE(server->is_up(0));
    // A session without lanes.
    ASSERT_TRUE(open(c));
    expect_refused(c.request("GET", "/sofw/v1/down/1"), 409, "no such lane");
    expect_refused(c.request("POST", "/sofw/v1/up/1"), 409, "no such lane");
    // A session of three lanes: lane 3 is not one of them, and each lane
    // has one channel of each kind.
    TunnelClient &l = client();
    ASSERT_TRUE(open_lanes(l, 3));
    expect_refused(l.request("GET", "/sofw/v1/down/3"), 409, "no such lane");
    expect_refused(l.request("GET", "/sofw/v1/down/1"), 409, "no such lane");
    expect_refused(l.request("POST", "/sofw/v1/up/2"), 409, "no such lane");
    // Another session id of the same site.
    expect_refused(client().request("GET", "/sofw/v1/down/1"), 409, "no such lane");
    drive.run_for(100);
    EXPECT_TRUE(server->is_up(0));
    EXPECT_TRUE(l.lanes_ok()) << "the refusals left the lanes alone";
    // Lane requests are signed like any: a wrong key is an authentication failure.
    TunnelRequest forged = l.request("GET", "/sofw/v1/down/1");
    forged.secret = beta_secret;
    expect_refused(forged, 401, "bad_signature");
    EXPECT_EQ(1u, stats.get(HRAS_CNT_AUTH_FAILURES));
}

TEST_F(TunnelServerTest, MalformedLanePathsAreNotTunnelEndpoints)
{
    TunnelClient &c = client();
    c.lanes_asked = 3;
    ASSERT_TRUE(open(c));
    for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{{"GET", "/sofw/v1/down/0"},
                                                                                {"GET", "/sofw/v1/down/01"},
                                                                                {"GET", "/sofw/v1/down/x"},
                                                                                {"GET", "/sofw/v1/down/9"},
                                                                                {"POST", "/sofw/v1/up/0"},
                                                                                {"GET", "/sofw/v1/up/1"},
                                                                                {"POST", "/sofw/v1/down/1"}}) {
        SCOPED_TRACE(method + " " + path);
        expect_refused(c.request(method, path), 404, "not a SoFW tunnel endpoint");
    }
    EXPECT_EQ(0u, stats.get(HRAS_CNT_AUTH_FAILURES));
    EXPECT_TRUE(server->is_up(0));
}

TEST_F(TunnelServerTest, MediaSpreadOverLanesReachesTheListenerOnceAndIsAcked)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open_lanes(c, 3));
    // Nine packets over the three lanes, then each again on the next lane
    // (as a hedging sender does).
    for (uint32_t m = 0; m < 9; m++)
        c.send_frame_on(m % 3, lane_media_frame("192.168.1.11:4000", m, {0x80, 0x00, uint8_t(m)}));
    for (uint32_t m = 0; m < 9; m++)
        c.send_frame_on((m + 1) % 3, lane_media_frame("192.168.1.11:4000", m, {0x80, 0x00, uint8_t(m)}));
    ASSERT_TRUE(soon([&] { return stats.get(HRAS_CNT_LANE_DUPLICATES) == 9; }))
        << stats.get(HRAS_CNT_LANE_DUPLICATES) << " duplicates";
    ASSERT_EQ(9u, rec.frames.size());
    std::set<uint8_t> seen;
    for (auto &[site, f] : rec.frames) {
        EXPECT_EQ(0u, site);
        EXPECT_EQ(FrameType::media, f.type) << "delivered as plain media";
        ASSERT_EQ(3u, f.payload.size());
        EXPECT_EQ(0x80, f.payload[0]);
        EXPECT_TRUE(seen.insert(f.payload[2]).second) << "packet " << int(f.payload[2]) << " twice";
        ASSERT_TRUE(f.ra);
        EXPECT_EQ("192.168.1.11:4000", f.ra->to_string());
    }
    // HRAS acknowledges what each lane brought: six frames each.
    ASSERT_TRUE(soon([&] {
        auto a = last_ack(c);
        return a && a->received[0] == 6 && a->received[1] == 6 && a->received[2] == 6;
    })) << "no ack of everything";
    EXPECT_EQ(3u, last_ack(c)->lanes);
    EXPECT_EQ(0u, stats.get(HRAS_CNT_LANE_INVALID));
    EXPECT_EQ(0u, c.count(FrameType::lane_media));
    EXPECT_TRUE(server->is_up(0));
}

TEST_F(TunnelServerTest, MediaDownIsSequencedWhileSipStaysOnLaneZero)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open_lanes(c, 3));
    for (uint8_t i = 0; i < 12; i++)
        ASSERT_TRUE(server->send(0, media_frame("192.168.1.11:4000", {0x80, i})));
    ASSERT_TRUE(server->send(0, sip_frame("192.168.1.10:5060", options)));
    LaneReceiver receiver(3);
    std::set<uint8_t> delivered;
    size_t fed[3] = {};
    auto take = [&] {
        for (unsigned lane = 0; lane < 3; lane++)
            for (; fed[lane] < c.frames_of(lane).size(); fed[lane]++) {
                Frame f = c.frames_of(lane)[fed[lane]];
                if (f.type == FrameType::lane_media && receiver.on_frame(lane, f) == LaneReceiver::Verdict::deliver)
                    delivered.insert(f.payload.at(1));
            }
        return delivered.size() == 12;
    };
    ASSERT_TRUE(soon(take)) << delivered.size() << " of 12";
    EXPECT_EQ(1u, c.count(FrameType::sip));
    for (unsigned lane = 1; lane < 3; lane++)
        for (auto &f : c.frames_of(lane)) {
            EXPECT_NE(FrameType::sip, f.type) << "SIP on lane " << lane;
        }
    EXPECT_EQ(0u, c.count(FrameType::media)) << "no plain media when the session has lanes";
    c.send_frame_on(0, make_lane_ack_frame(receiver.take_ack(now_ms())));
    drive.run_for(100);
    EXPECT_EQ(0u, stats.get(HRAS_CNT_LANE_INVALID));
    EXPECT_TRUE(server->is_up(0));
}

TEST_F(TunnelServerTest, AStalledLanesMediaIsSentAgainOnAnother)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open_lanes(c, 3));
    // HRAC acknowledges what lanes 1 and 2 bring, never lane 0's (where
    // media starts).
    auto counts = [&](unsigned lane) {
        uint32_t n = 0;
        for (auto &f : c.frames_of(lane))
            n += f.type == FrameType::lane_media;
        return n;
    };
    auto mseqs = [&](unsigned lane) {
        std::set<uint32_t> m;
        for (auto &f : c.frames_of(lane)) {
            Frame copy = f;
            uint32_t n;
            if (unwrap_lane_media(copy, n))
                m.insert(n);
        }
        return m;
    };
    uint8_t next = 0;
    bool resent = drive.until(
        [&] {
            if (next < 30)
                server->send(0, media_frame("192.168.1.11:4000", {0x80, next++}));
            c.send_frame_on(0, lane_ack_frame({0, counts(1), counts(2)}));
            return stats.get(HRAS_CNT_LANE_RESENT) > 0;
        },
        5000);
    ASSERT_TRUE(resent) << "lane 0 was never hedged";
    EXPECT_GE(stats.get(HRAS_CNT_LANE_STALLS), 1u);
    // What lane 0 carried arrives a second time on a spare.
    ASSERT_TRUE(soon([&] {
        std::set<uint32_t> spares = mseqs(1), two = mseqs(2);
        spares.insert(two.begin(), two.end());
        for (uint32_t m : mseqs(0))
            if (spares.count(m))
                return true;
        return false;
    }));
    EXPECT_TRUE(server->is_up(0));
}

TEST_F(TunnelServerTest, LaneFramesTheSessionDoesNotAllowAreCountedNotFatal)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open(c));  // one lane
    c.send_frame(lane_media_frame("192.168.1.11:4000", 0, {0x80}));
    c.send_frame(lane_ack_frame({0}));
    c.send_frame(sip_frame("192.168.1.10:5060", options));
    ASSERT_TRUE(soon([&] { return rec.frames.size() == 1; }));
    EXPECT_EQ(FrameType::sip, rec.frames[0].second.type) << "only the SIP frame reached the listener";
    EXPECT_EQ(2u, stats.get(HRAS_CNT_LANE_INVALID));
    EXPECT_TRUE(server->is_up(0));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_RECORD_ERRORS));

    TunnelClient &b = client("beta", beta_secret, "10.0.1.2:5060");
    ASSERT_TRUE(open_lanes(b, 2, 1));
    b.send_frame_on(0, lane_ack_frame({0, 0, 0}));               // names three lanes of two
    b.send_frame_on(1, sip_frame("192.168.1.10:5060", options));  // SIP keeps to lane 0
    b.send_frame_on(1, lane_media_frame("192.168.1.11:4000", 0, {0x80}));
    ASSERT_TRUE(soon([&] { return rec.frames.size() == 2; }));
    EXPECT_EQ(FrameType::media, rec.frames[1].second.type);
    drive.run_for(100);
    EXPECT_EQ(4u, stats.get(HRAS_CNT_LANE_INVALID));
    EXPECT_EQ(2u, rec.frames.size());
    EXPECT_TRUE(server->is_up(1));
}

TEST_F(TunnelServerTest, LosingAnyChannelOfAnyLaneEndsTheSession)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open_lanes(c, 3));
    c.lanes[1]->up->close();  // lane 2's upstream
    ASSERT_TRUE(soon([&] { return !server->is_up(0); }));
    ASSERT_TRUE(soon([&] {
        return c.down->closed() && c.up->closed() && c.lanes[0]->down->closed() && c.lanes[0]->up->closed() &&
               c.lanes[1]->down->closed();
    })) << "channels still open";
    EXPECT_EQ((Changes{{0, true}, {0, false}}), rec.changes);
    // HRAC comes back with a new session.
    TunnelClient &again = client();
    ASSERT_TRUE(open_lanes(again, 3));
}

TEST_F(TunnelServerTest, EveryLaneGetsKeepalivesAndAnyLaneKeepsTheSessionAlive)
{
    TunnelClient &c = client();
    ASSERT_TRUE(open_lanes(c, 3));
    // 3.5 intervals in which HRAC says something on lane 2 only.
    int64_t last = 0;
    const uint64_t before = stats.get(HRAS_CNT_KEEPALIVES_RECEIVED);
    uint64_t sent = 0;
    drive.run_for(3500, [&] {
        if (now_ms() - last >= 500) {
            c.send_frame_on(2, Frame{});
            ++sent;
            last = now_ms();
        }
    });
    EXPECT_TRUE(server->is_up(0)) << "bytes on any lane count against the silence deadline";
    for (unsigned lane = 0; lane < 3; lane++) {
        size_t ka = 0;
        for (auto &f : c.frames_of(lane))
            ka += f.type == FrameType::keepalive;
        EXPECT_GE(ka, 2u) << "lane " << lane;
    }
    EXPECT_TRUE(soon([&] { return stats.get(HRAS_CNT_KEEPALIVES_RECEIVED) == before + sent; }));
    EXPECT_EQ(0u, c.count(FrameType::control)) << "STREAM_OK answers lane 0's upstream only";
}

namespace {

class TunnelServerOneLaneTest : public TunnelServerTest {
protected:
    void configure() override { cfg.lanes = 1; }  // modparam tunnel_lanes 1
};

}  // namespace

TEST_F(TunnelServerOneLaneTest, TunnelLanesOneGivesEveryoneTheProtocolWithoutLanes)
{
    TunnelClient &c = client();
    c.lanes_asked = 3;
    ASSERT_TRUE(open(c));
    EXPECT_EQ("1", c.down->header(hdr::lanes));
    EXPECT_EQ(1u, c.lane_count());
    expect_refused(c.request("GET", "/sofw/v1/down/1"), 409, "no such lane");
    ASSERT_TRUE(server->send(0, media_frame("192.168.1.11:4000", {0x80, 1})));
    ASSERT_TRUE(soon([&] { return c.count(FrameType::media) == 1; }));
    EXPECT_EQ(0u, c.count(FrameType::lane_media)) << "plain media, as without lanes";
    EXPECT_EQ(1, g_published.states[0].lanes);
}

// --- TLS ------------------------------------------------------------------

namespace {

class TunnelServerTlsTest : public TunnelServerTest {
protected:
    static void SetUpTestSuite()
    {
        pki = std::make_unique<TestPki>();
        pki->make();
    }
    static void TearDownTestSuite() { pki.reset(); }

    void SetUp() override
    {
        ASSERT_EQ("", pki->error) << "cannot make test certificates (is openssl installed?)";
        trust.ca_file = pki->path("ca.pem");
        with_cert = trust;
        with_cert.cert_file = pki->path("client.pem");
        with_cert.key_file = pki->path("client.key");
        with_rogue = trust;
        with_rogue.cert_file = pki->path("rogue.pem");
        with_rogue.key_file = pki->path("rogue.key");
        TunnelServerTest::SetUp();
    }
    void configure() override
    {
        cfg.tls_cert = read_file(pki->path("server.pem"));
        cfg.tls_key = read_file(pki->path("server.key"));
    }

    static std::unique_ptr<TestPki> pki;
    TlsOptions trust, with_cert, with_rogue;
};
std::unique_ptr<TestPki> TunnelServerTlsTest::pki;

class TunnelServerClientCaTest : public TunnelServerTlsTest {
protected:
    void configure() override
    {
        TunnelServerTlsTest::configure();
        cfg.tls_client_ca = read_file(pki->path("ca.pem"));
    }
};

}  // namespace

TEST_F(TunnelServerTlsTest, PlainHttpToTheTlsPortFails)
{
    HttpConn &c = request(TunnelClient(server->port(), "acme", acme_secret).request("GET", "/sofw/v1/poll"));
    ASSERT_TRUE(soon([&] { return c.closed(); })) << "plain HTTP connection kept open";
    EXPECT_NE(200, c.status());
    EXPECT_FALSE(server->is_up(0));
}

TEST_F(TunnelServerClientCaTest, RequestWithoutClientCertificateIsRefused)
{
    TunnelClient c(server->port(), "acme", acme_secret);
    expect_refused(c.request("GET", "/sofw/v1/poll"), 403, "no_client_certificate", &trust);
    expect_refused(c.request("GET", "/sofw/v1/down"), 403, "no_client_certificate", &trust);
    expect_refused(c.request("GET", "/"), 403, "no_client_certificate", &trust);
    EXPECT_EQ(3u, stats.get(HRAS_CNT_AUTH_FAILURES));
    EXPECT_FALSE(server->is_up(0));
}

TEST_F(TunnelServerClientCaTest, ClientCertificateOfAnotherCaIsRefused)
{
    TunnelClient c(server->port(), "acme", acme_secret);
    HttpConn &r = request(c.request("GET", "/sofw/v1/poll"), &with_rogue);
    ASSERT_TRUE(soon([&] { return r.body_complete() || r.closed(); }));
    // Either the client keeps its certificate to itself (the server named
    // its CA) or the server finds it untrusted: refused either way.
    EXPECT_EQ(403, r.status());
    EXPECT_TRUE(r.body() == "no_client_certificate\n" || r.body() == "bad_client_certificate\n") << r.body();
    EXPECT_EQ(1u, stats.get(HRAS_CNT_AUTH_FAILURES));
    EXPECT_FALSE(server->is_up(0));
}

TEST_F(TunnelServerClientCaTest, ValidClientCertificateGetsThrough)
{
    TunnelClient &c = client("acme", acme_secret, "10.0.0.2:5060", &with_cert);
    ASSERT_TRUE(open(c));
    c.send_frame(Frame{});
    ASSERT_TRUE(soon([&] { return c.count(FrameType::control) == 1; }));
    ASSERT_TRUE(server->send(0, sip_frame("192.168.1.10:5060", options)));
    ASSERT_TRUE(soon([&] { return c.count(FrameType::sip) == 1; }));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_AUTH_FAILURES));
    // The site signature is still checked.
    TunnelRequest r = c.request("GET", "/sofw/v1/poll");
    r.secret = beta_secret;
    expect_refused(r, 401, "bad_signature", &with_cert);
}
