// The two real halves of the tunnel on loopback, without root: HRAC's
// tunnel client (hrac::Tunnel, libcurl driven from the libre loop) against
// HRAS's tunnel server (sofw::hras::TunnelServer, libmicrohttpd driven from
// the relay process's event loop), streaming and polling, over HTTP and
// HTTPS, through a session HRAS closes and a restart of HRAS.
//
// Both run on this thread: libre's loop is the outer one, and a libre timer
// gives the HRAS event loop a pass every few milliseconds. Every wait is for
// a condition, bounded by a deadline; none sleeps.
#include "published_hooks.hpp"
#include "test_pki.hpp"

// HRAC
#include "curl_loop.hpp"
#include "re_handle.hpp"
#include "tunnel.hpp"

// HRAS
#include "core/tunnel_server.hpp"

#include "tamper_relay.hpp"

#include <sofw/control.hpp>
#include <sofw/frame.hpp>
#include <sofw/lanes.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

using sofw::Frame;
using sofw::FrameType;
using sofw::test::g_published;
using sofw::test::test_hooks;

namespace {

const std::string acme_secret = "acme-0123456789abcdef";
const std::string hrac_lan = "10.0.0.2:5060";

// Everything HRAS's tunnel server hands to the rest of HRAS.
struct HrasSide : sofw::hras::TunnelListener {
    std::vector<Frame> frames;  // in arrival order, keep-alives excluded
    std::vector<bool> changes;  // session up/down, in order
    void on_frame(size_t, const Frame &f) override { frames.push_back(f); }
    void on_session_change(size_t, bool up) override { changes.push_back(up); }
    unsigned long phone_count(size_t) const override { return 0; }
    size_t count(FrameType t) const
    {
        size_t n = 0;
        for (const Frame &f : frames)
            n += f.type == t;
        return n;
    }
};

Frame frame(FrameType type, const std::string &ra, const std::string &payload, uint16_t relay_port = 0)
{
    Frame f;
    f.type = type;
    if (!ra.empty()) {
        auto parsed = sofw::RaHeader::parse(ra);
        if (!parsed)
            throw std::invalid_argument("bad RA in a test: " + ra);
        f.ra = *parsed;
        f.ra->relay_port = relay_port;
    }
    f.payload.assign(payload.begin(), payload.end());
    return f;
}

std::vector<uint8_t> wire(const Frame &f) { return sofw::encode_frame(f); }

// The frames' encodings, sorted: the same frames, whatever their order.
std::vector<std::vector<uint8_t>> sorted_wires(const std::vector<Frame> &frames)
{
    std::vector<std::vector<uint8_t>> w;
    for (const Frame &f : frames)
        w.push_back(wire(f));
    std::sort(w.begin(), w.end());
    return w;
}

const std::string options = "OPTIONS sip:192.168.1.2 SIP/2.0\r\n"
                            "Via: SIP/2.0/UDP 192.168.1.10:5060;rport;branch=z9hG4bKo1\r\n"
                            "Call-ID: o1\r\n"
                            "CSeq: 1 OPTIONS\r\n"
                            "Content-Length: 0\r\n\r\n";

// An RTP-sized payload that differs in every byte position per sequence number.
std::string rtp_payload(unsigned seq)
{
    std::string p(172, '\0');
    for (size_t i = 0; i < p.size(); i++)
        p[i] = char((seq * 31 + i) & 0xff);
    return p;
}

class TunnelPairBase : public ::testing::Test {
protected:
    virtual hrac::TunnelMode mode() const = 0;

    void SetUp() override
    {
        ASSERT_EQ(0, libre_.error());
        ASSERT_TRUE(curl_.ok());
        ASSERT_EQ("", sites_.add("name=acme;secret=" + acme_secret));
        ASSERT_EQ("", sites_.assign_addresses());
        g_published = {};
        stats_.set_hooks(&test_hooks);
        server_cfg_.listen = "127.0.0.1:0";
        server_cfg_.keepalive_s = 1;
        server_cfg_.half_open_timeout_s = 2;
        server_cfg_.poll_wait_ms = 500;
        configure_server(server_cfg_);
        ASSERT_TRUE(start_server());

        hrac_cfg_.site = "acme";
        hrac_cfg_.secret = acme_secret;
        hrac_cfg_.sip_listen = hrac_lan;
        hrac_cfg_.sip_host = "10.0.0.2";
        hrac_cfg_.sip_port = 5060;
        hrac_cfg_.keepalive_interval = 1;
        hrac_cfg_.proxy_from_environment = false;  // straight to 127.0.0.1, whatever the environment says
        hrac_cfg_.tunnel_mode = mode();
        configure_hrac(hrac_cfg_);
        hrac_cfg_.server = scheme() + "://127.0.0.1:" + std::to_string(hrac_port());

        curl_loop_ = std::make_unique<hrac::CurlLoop>();
        tunnel_ = std::make_unique<hrac::Tunnel>(hrac_cfg_, *curl_loop_, counters_, proxy_);
        for (FrameType t : {FrameType::sip, FrameType::media, FrameType::control})
            tunnel_->set_frame_handler(t, [this](const Frame &f) { hrac_frames_.push_back(f); });
        // The HRAS loop's turn inside the libre loop.
        tick();
    }
    void TearDown() override
    {
        tunnel_.reset();  // ends HRAC's requests before the server goes
        curl_loop_.reset();
        if (server_)
            server_->set_listener(nullptr);
        server_.reset();
    }
    virtual void configure_server(sofw::hras::TunnelConfig &) {}
    virtual void configure_hrac(hrac::Config &) {}
    virtual std::string scheme() const { return "http"; }
    // Where HRAC connects: HRAS itself, or a relay in between.
    virtual uint16_t hrac_port() { return port_; }

    bool start_server()
    {
        server_ = std::make_unique<sofw::hras::TunnelServer>(loop_, sites_, server_cfg_, stats_);
        server_->set_listener(&hras_);
        const std::string err = server_->start();
        EXPECT_EQ("", err);
        if (!err.empty())
            return false;
        port_ = server_->port();
        return port_ != 0;
    }

    void tick()
    {
        ticker_.start(2, [this] {
            loop_.run_once(0);
            if (cond_ && cond_())
                re_cancel();
            tick();
        });
    }

    // Runs both halves until cond() holds (true) or timeout_ms passed (false).
    bool until(const std::function<bool()> &cond, int timeout_ms = 3000)
    {
        if (cond())
            return true;
        cond_ = cond;
        hrac::ReTimer limit;
        limit.start(uint64_t(timeout_ms), [] { re_cancel(); });
        re_main(nullptr);
        cond_ = nullptr;
        return cond();
    }
    // Both ends call the session up: HRAC may send, HRAS has announced it.
    bool both_up(int timeout_ms = 10000)
    {
        return until([&] { return tunnel_->is_up() && server_->is_up(0); }, timeout_ms);
    }
    std::string server_mode()
    {
        auto it = g_published.states.find(0);
        return it == g_published.states.end() ? "" : it->second.mode;
    }
    bool polling() const { return mode() == hrac::TunnelMode::poll; }

    // A SIP frame HRAC sends reaches HRAS's listener byte for byte.
    ::testing::AssertionResult sip_crosses_up()
    {
        const Frame up = frame(FrameType::sip, "192.168.1.10:5060", options);
        const size_t before = hras_.frames.size();
        if (!tunnel_->send(up))
            return ::testing::AssertionFailure() << "HRAC refused to send";
        if (!until([&] { return hras_.frames.size() > before; }))
            return ::testing::AssertionFailure() << "nothing reached HRAS";
        if (wire(up) != wire(hras_.frames[before]))
            return ::testing::AssertionFailure() << "HRAS got other bytes than HRAC sent";
        return ::testing::AssertionSuccess();
    }
    // A SIP frame HRAS sends reaches HRAC's handler byte for byte.
    ::testing::AssertionResult sip_crosses_down()
    {
        const Frame down = frame(FrameType::sip, "192.168.1.11:5062", options);
        const size_t before = hrac_frames_.size();
        if (!server_->send(0, down))
            return ::testing::AssertionFailure() << "HRAS refused to send";
        if (!until([&] { return hrac_frames_.size() > before; }))
            return ::testing::AssertionFailure() << "nothing reached HRAC";
        if (wire(down) != wire(hrac_frames_[before]))
            return ::testing::AssertionFailure() << "HRAC got other bytes than HRAS sent";
        return ::testing::AssertionSuccess();
    }

    hrac::LibreRuntime libre_;
    hrac::CurlRuntime curl_;
    hrac::ReTimer ticker_;
    std::function<bool()> cond_;

    sofw::hras::EventLoop loop_;
    sofw::hras::SiteTable sites_;
    sofw::hras::Stats stats_;
    sofw::hras::TunnelConfig server_cfg_;
    HrasSide hras_;
    std::unique_ptr<sofw::hras::TunnelServer> server_;
    uint16_t port_ = 0;

    hrac::Config hrac_cfg_;
    hrac::Counters counters_;
    hrac::ProxyChoice proxy_;  // direct
    std::unique_ptr<hrac::CurlLoop> curl_loop_;
    std::unique_ptr<hrac::Tunnel> tunnel_;
    std::vector<Frame> hrac_frames_;  // what HRAC's handlers got, in order
};

class TunnelPairTest : public TunnelPairBase, public ::testing::WithParamInterface<hrac::TunnelMode> {
protected:
    hrac::TunnelMode mode() const override { return GetParam(); }
};

std::string mode_name(const ::testing::TestParamInfo<hrac::TunnelMode> &info)
{
    return info.param == hrac::TunnelMode::poll ? "polling" : "streaming";
}

// --- HTTP: streaming and polling ------------------------------------------

class TunnelPair : public TunnelPairTest {};
INSTANTIATE_TEST_SUITE_P(Modes, TunnelPair, ::testing::Values(hrac::TunnelMode::stream, hrac::TunnelMode::poll),
                         mode_name);

TEST_P(TunnelPair, ComesUpInTheModeHracChose)
{
    tunnel_->start();
    ASSERT_TRUE(both_up()) << "HRAC up " << tunnel_->is_up() << ", HRAS up " << server_->is_up(0);
    EXPECT_EQ(polling() ? "poll" : "stream", server_mode());
    EXPECT_EQ(polling() ? 1u : 0u, counters_.polling);
    EXPECT_EQ(1u, counters_.sessions_up);
    EXPECT_EQ(1u, stats_.get(HRAS_CNT_SESSIONS_OPENED));
    EXPECT_EQ(std::vector<bool>{true}, hras_.changes);
    EXPECT_EQ(0u, stats_.get(HRAS_CNT_AUTH_FAILURES));
}

TEST_P(TunnelPair, SipGoesBothWaysByteExactWithItsRaHeader)
{
    tunnel_->start();
    ASSERT_TRUE(both_up());
    EXPECT_TRUE(sip_crosses_up());
    EXPECT_TRUE(sip_crosses_down());
}

TEST_P(TunnelPair, ControlAndMediaFramesGoBothWaysInOrder)
{
    tunnel_->start();
    ASSERT_TRUE(both_up());
    const unsigned n = 300;  // more than one poll answer and one send batch hold
    std::vector<Frame> sent_down, sent_up;
    sent_down.push_back(
        sofw::make_control_frame({sofw::ControlOp::open_media, 40000}, sofw::RaHeader::parse("192.168.1.10:4000")));
    for (unsigned i = 0; i < n; i++) {
        sent_down.push_back(frame(FrameType::media, "192.168.1.10:4000", rtp_payload(i), 40000));
        sent_up.push_back(frame(FrameType::media, "192.168.1.10:4000", rtp_payload(i + n), 40000));
    }
    for (const Frame &f : sent_down)
        ASSERT_TRUE(server_->send(0, f));
    for (const Frame &f : sent_up)
        ASSERT_TRUE(tunnel_->send(f));
    ASSERT_TRUE(until([&] { return hrac_frames_.size() == sent_down.size() && hras_.frames.size() == n; }))
        << hrac_frames_.size() << " of " << sent_down.size() << " down, " << hras_.frames.size() << " of " << n
        << " up";
    if (counters_.lanes > 1) {
        // Media spread over lanes arrives once each, but not necessarily
        // in the order sent, nor behind the control frame lane 0 carried.
        EXPECT_EQ(sorted_wires(sent_down), sorted_wires(hrac_frames_));
        EXPECT_EQ(sorted_wires(sent_up), sorted_wires(hras_.frames));
    } else {
        for (size_t i = 0; i < sent_down.size(); i++)
            ASSERT_EQ(wire(sent_down[i]), wire(hrac_frames_[i])) << "down #" << i;
        for (size_t i = 0; i < n; i++)
            ASSERT_EQ(wire(sent_up[i]), wire(hras_.frames[i])) << "up #" << i;
    }
    EXPECT_EQ(0u, counters_.decode_errors);
    EXPECT_EQ(0u, counters_.dropped_queue_full);
}

TEST_P(TunnelPair, IdleSessionIsKeptUpByKeepalivesBothWays)
{
    tunnel_->start();
    ASSERT_TRUE(both_up());
    // Each side drops a session silent for three keep-alive intervals (1 s
    // here): seeing four keep-alives each way while nothing else moves
    // shows the session outlived that.
    ASSERT_TRUE(
        until([&] { return counters_.keepalives_received >= 4 && stats_.get(HRAS_CNT_KEEPALIVES_RECEIVED) >= 4; },
              polling() ? 8000 : 6000))
        << "keep-alives: HRAC got " << counters_.keepalives_received << ", HRAS got "
        << stats_.get(HRAS_CNT_KEEPALIVES_RECEIVED);
    EXPECT_TRUE(tunnel_->is_up());
    EXPECT_TRUE(server_->is_up(0));
    EXPECT_EQ(1u, counters_.sessions_up);
    EXPECT_EQ(1u, stats_.get(HRAS_CNT_SESSIONS_OPENED));
    EXPECT_EQ(0u, stats_.get(HRAS_CNT_SESSIONS_CLOSED));
}

TEST_P(TunnelPair, SessionClosedByHrasIsReopenedAndCarriesFramesAgain)
{
    tunnel_->start();
    ASSERT_TRUE(both_up());
    server_->close_session(0, "closed by the test");
    ASSERT_FALSE(server_->is_up(0));
    ASSERT_TRUE(until([&] { return counters_.sessions_up == 2 && server_->is_up(0) && tunnel_->is_up(); }, 8000))
        << "HRAC sessions " << counters_.sessions_up << ", reconnects " << counters_.reconnects;
    EXPECT_GE(counters_.reconnects, 1u);
    EXPECT_EQ(2u, stats_.get(HRAS_CNT_SESSIONS_OPENED));
    EXPECT_EQ((std::vector<bool>{true, false, true}), hras_.changes);

    EXPECT_TRUE(sip_crosses_up());
    EXPECT_TRUE(sip_crosses_down());
}

TEST_P(TunnelPair, HrasRestartIsFollowedByANewSession)
{
    tunnel_->start();
    ASSERT_TRUE(both_up());
    server_->set_listener(nullptr);
    server_.reset();  // HRAS goes away: its connections close
    ASSERT_TRUE(until([&] { return !tunnel_->is_up(); }, 5000)) << "HRAC did not notice HRAS going away";
    EXPECT_FALSE(tunnel_->send(frame(FrameType::sip, "192.168.1.10:5060", options)));

    // HRAS comes back on the same port.
    server_cfg_.listen = "127.0.0.1:" + std::to_string(port_);
    ASSERT_TRUE(start_server());
    ASSERT_TRUE(until([&] { return counters_.sessions_up == 2 && server_->is_up(0) && tunnel_->is_up(); }, 10000))
        << "HRAC sessions " << counters_.sessions_up << ", reconnects " << counters_.reconnects;
    EXPECT_TRUE(sip_crosses_up());
}

// tunnel_mode = auto: HRAC streams once the probe (the GET's proven 200
// and HRAS's STREAM_OK) has passed.
class TunnelPairAuto : public TunnelPairTest {};
INSTANTIATE_TEST_SUITE_P(Auto, TunnelPairAuto, ::testing::Values(hrac::TunnelMode::automatic),
                         [](const auto &) { return std::string("auto"); });

TEST_P(TunnelPairAuto, StreamsWhenTheProbePasses)
{
    tunnel_->start();
    ASSERT_TRUE(both_up());
    // Frames may flow once the GET's 200 is proven; "up" waits for STREAM_OK too.
    ASSERT_TRUE(until([&] { return counters_.sessions_up == 1; }));
    EXPECT_EQ("stream", server_mode());
    EXPECT_EQ(0u, counters_.polling);
    EXPECT_EQ(0u, counters_.stream_fallbacks);
    EXPECT_EQ(1u, counters_.sessions_up);
    EXPECT_TRUE(sip_crosses_down()) << "STREAM_OK must not reach a handler";
}

// --- a proxy in the path tampering with records ---------------------------
// Over plain HTTP, a relay between the halves changes one record of one
// direction. Each time: the session ends, nothing of that record reaches
// the receiving side, the receiver counts a record error, and the tunnel
// comes back and carries a frame again.

using TamperCase = std::tuple<hrac::TunnelMode, sofw::test::Direction, sofw::test::Tamper>;

class TunnelPairTamper : public TunnelPairBase, public ::testing::WithParamInterface<TamperCase> {
protected:
    hrac::TunnelMode mode() const override { return std::get<0>(GetParam()); }
    sofw::test::Direction direction() const { return std::get<1>(GetParam()); }
    sofw::test::Tamper tamper() const { return std::get<2>(GetParam()); }
    bool up() const { return direction() == sofw::test::Direction::up; }
    uint16_t hrac_port() override
    {
        relay_ = std::make_unique<sofw::test::TamperRelay>(port_);
        return relay_->port();
    }
    void TearDown() override
    {
        TunnelPairBase::TearDown();
        relay_.reset();
    }

    // A SIP frame whose payload names it, sent from the side the relay tampers with.
    bool send_marked(const std::string &marker)
    {
        const std::string sip = "MESSAGE sip:x SIP/2.0\r\nCall-ID: " + marker + "\r\nContent-Length: 0\r\n\r\n";
        const Frame f = frame(FrameType::sip, "192.168.1.10:5060", sip);
        return up() ? tunnel_->send(f) : server_->send(0, f);
    }
    // How many frames the receiving side got that carry marker.
    size_t received(const std::string &marker) const
    {
        size_t n = 0;
        for (const Frame &f : up() ? hras_.frames : hrac_frames_)
            n += f.payload_string().find(marker) != std::string::npos;
        return n;
    }
    uint64_t record_errors() const { return up() ? stats_.get(HRAS_CNT_RECORD_ERRORS) : counters_.record_errors; }

    std::unique_ptr<sofw::test::TamperRelay> relay_;
};

std::string tamper_case_name(const ::testing::TestParamInfo<TamperCase> &info)
{
    return std::string(std::get<0>(info.param) == hrac::TunnelMode::poll ? "polling" : "streaming") + "_" +
           (std::get<1>(info.param) == sofw::test::Direction::up ? "up" : "down") + "_" +
           sofw::test::tamper_name(std::get<2>(info.param));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TunnelPairTamper,
    ::testing::Combine(::testing::Values(hrac::TunnelMode::stream, hrac::TunnelMode::poll),
                       ::testing::Values(sofw::test::Direction::up, sofw::test::Direction::down),
                       ::testing::Values(sofw::test::Tamper::flip, sofw::test::Tamper::inject,
                                         sofw::test::Tamper::replay, sofw::test::Tamper::reorder,
                                         sofw::test::Tamper::truncate)),
    tamper_case_name);

TEST_P(TunnelPairTamper, SessionEndsNothingOfTheRecordIsDeliveredAndTheTunnelComesBack)
{
    tunnel_->start();
    ASSERT_TRUE(both_up());
    ASSERT_TRUE(sip_crosses_up()) << "through the relay, untouched";
    ASSERT_TRUE(sip_crosses_down()) << "through the relay, untouched";
    ASSERT_EQ(0u, record_errors());
    const uint64_t sessions = counters_.sessions_up;

    relay_->arm(direction(), tamper());
    ASSERT_TRUE(send_marked("TAMPERED-1"));
    if (tamper() == sofw::test::Tamper::reorder) {
        // The relay holds the record; the next one (this frame, or a
        // keep-alive) is sent before it.
        ASSERT_TRUE(until([&] { return relay_->holding() || relay_->done(); }, 5000));
        send_marked("TAMPERED-2");
    }
    ASSERT_TRUE(until([&] { return relay_->done(); }, 5000)) << "the relay never saw a record to tamper with";
    ASSERT_TRUE(until([&] { return record_errors() >= 1; }, 5000)) << "the receiver counted no record error";

    // The session that carried the tampered record ended on both sides,
    // and a new one came up.
    ASSERT_TRUE(until([&] { return counters_.sessions_up > sessions && tunnel_->is_up() && server_->is_up(0); },
                      10000))
        << "no new session: HRAC sessions " << counters_.sessions_up;
    EXPECT_GE(stats_.get(HRAS_CNT_SESSIONS_CLOSED), 1u);
    EXPECT_EQ(1u, record_errors()) << "one record error, one session";

    // Nothing of the tampered record got through. A replayed record's
    // first (authentic) copy was delivered; its replay was not.
    const size_t allowed = tamper() == sofw::test::Tamper::replay ? 1 : 0;
    EXPECT_EQ(allowed, received("TAMPERED-1"));
    EXPECT_EQ(0u, received("TAMPERED-2"));
    EXPECT_EQ(0u, received("INJECTED"));
    EXPECT_EQ(0u, stats_.get(HRAS_CNT_AUTH_FAILURES)) << "a cut request resent and refused as a replay";

    // The new session carries frames both ways.
    EXPECT_TRUE(sip_crosses_up());
    EXPECT_TRUE(sip_crosses_down());
}

// A server nonce changed or dropped on the way: the proof does not verify,
// HRAC never calls the tunnel up and retries with its backoff; once the
// path stops meddling, the tunnel comes up.
using NonceCase = std::tuple<hrac::TunnelMode, sofw::test::TamperRelay::Nonce>;

class TunnelPairServerNonce : public TunnelPairBase, public ::testing::WithParamInterface<NonceCase> {
protected:
    hrac::TunnelMode mode() const override { return std::get<0>(GetParam()); }
    uint16_t hrac_port() override
    {
        relay_ = std::make_unique<sofw::test::TamperRelay>(port_);
        relay_->set_nonce(std::get<1>(GetParam()));
        return relay_->port();
    }
    void TearDown() override
    {
        TunnelPairBase::TearDown();
        relay_.reset();
    }
    std::unique_ptr<sofw::test::TamperRelay> relay_;
};

INSTANTIATE_TEST_SUITE_P(
    Cases, TunnelPairServerNonce,
    ::testing::Combine(::testing::Values(hrac::TunnelMode::stream, hrac::TunnelMode::poll),
                       ::testing::Values(sofw::test::TamperRelay::Nonce::change, sofw::test::TamperRelay::Nonce::drop)),
    [](const ::testing::TestParamInfo<NonceCase> &info) {
        return std::string(std::get<0>(info.param) == hrac::TunnelMode::poll ? "polling" : "streaming") +
               (std::get<1>(info.param) == sofw::test::TamperRelay::Nonce::drop ? "_dropped" : "_changed");
    });

TEST_P(TunnelPairServerNonce, ProofFailsAndHracRetriesWithBackoff)
{
    tunnel_->start();
    ASSERT_TRUE(until([&] { return counters_.reconnects >= 1; }, 5000)) << "HRAC did not retry";
    EXPECT_FALSE(tunnel_->is_up());
    EXPECT_EQ(0u, counters_.sessions_up);
    EXPECT_EQ(0u, stats_.get(HRAS_CNT_FRAMES_UP)) << "a frame went up without keys";
    EXPECT_TRUE(hrac_frames_.empty());
    relay_->set_nonce(sofw::test::TamperRelay::Nonce::keep);
    ASSERT_TRUE(both_up(10000));
    EXPECT_TRUE(sip_crosses_up());
}

// --- lanes: an HRAS that grants none ---------------------------------------
// HRAC asks for tunnel_lanes lanes on lane 0's GET, and only there. An
// answer without X-SoFW-Lanes (an HRAS that knows no lanes; here a path
// that drops the request's header, so HRAS never sees it, whichever HRAS
// this is) leaves the session one GET and one POST with plain media
// frames, exactly the protocol before lanes.

class TunnelPairLanesDropped : public TunnelPairBase, public ::testing::WithParamInterface<hrac::TunnelMode> {
protected:
    hrac::TunnelMode mode() const override { return GetParam(); }
    uint16_t hrac_port() override
    {
        relay_ = std::make_unique<sofw::test::TamperRelay>(port_);
        relay_->set_drop_lanes(true);
        return relay_->port();
    }
    void TearDown() override
    {
        TunnelPairBase::TearDown();
        relay_.reset();
    }
    std::unique_ptr<sofw::test::TamperRelay> relay_;
};
INSTANTIATE_TEST_SUITE_P(Modes, TunnelPairLanesDropped,
                         ::testing::Values(hrac::TunnelMode::stream, hrac::TunnelMode::poll), mode_name);

TEST_P(TunnelPairLanesDropped, OnePairCarriesPlainMediaBothWays)
{
    ASSERT_EQ(sofw::default_lanes, hrac_cfg_.tunnel_lanes);
    tunnel_->start();
    ASSERT_TRUE(both_up());

    // Asked for on the opening GET alone; polling never asks.
    const auto requests = relay_->requests();
    ASSERT_FALSE(requests.empty());
    size_t asked = 0;
    for (const auto &r : requests) {
        const bool opening_get = r.line.rfind("GET /sofw/v1/down ", 0) == 0;
        EXPECT_EQ(opening_get && !polling() ? std::to_string(sofw::default_lanes) : std::string(), r.lanes) << r.line;
        asked += !r.lanes.empty();
    }
    EXPECT_EQ(polling() ? 0u : 1u, asked);
    EXPECT_EQ(polling() ? 0u : 1u, counters_.lanes) << "one lane granted (the gauge stays 0 while polling)";

    const unsigned n = 50;
    std::vector<Frame> sent_down, sent_up;
    for (unsigned i = 0; i < n; i++) {
        sent_down.push_back(frame(FrameType::media, "192.168.1.10:4000", rtp_payload(i), 40000));
        sent_up.push_back(frame(FrameType::media, "192.168.1.10:4000", rtp_payload(i + n), 40000));
    }
    for (const Frame &f : sent_down)
        ASSERT_TRUE(server_->send(0, f));
    for (const Frame &f : sent_up)
        ASSERT_TRUE(tunnel_->send(f));
    ASSERT_TRUE(until([&] { return hrac_frames_.size() == n && hras_.frames.size() == n; }))
        << hrac_frames_.size() << " of " << n << " down, " << hras_.frames.size() << " of " << n << " up";
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(wire(sent_down[i]), wire(hrac_frames_[i])) << "down #" << i;
        ASSERT_EQ(wire(sent_up[i]), wire(hras_.frames[i])) << "up #" << i;
    }
    if (!polling()) {
        EXPECT_EQ(2u, server_->open_connections()) << "one GET and one POST";
    }
    EXPECT_EQ(0u, counters_.lane_invalid);
    EXPECT_EQ(0u, counters_.lane_resent);
    EXPECT_EQ(0u, counters_.lane_duplicates);
}

class TunnelPairOneLane : public TunnelPairLanesDropped {
    void configure_hrac(hrac::Config &c) override { c.tunnel_lanes = 1; }
};
INSTANTIATE_TEST_SUITE_P(Modes, TunnelPairOneLane, ::testing::Values(hrac::TunnelMode::stream), mode_name);

TEST_P(TunnelPairOneLane, AsksForNoLanesAtAll)
{
    relay_->set_drop_lanes(false);
    tunnel_->start();
    ASSERT_TRUE(both_up());
    for (const auto &r : relay_->requests())
        EXPECT_EQ("", r.lanes) << r.line;
    EXPECT_EQ(1u, counters_.lanes);
    EXPECT_TRUE(sip_crosses_up());
    EXPECT_TRUE(sip_crosses_down());
}

// --- lanes granted ----------------------------------------------------------
// HRAS grants HRAC's default tunnel_lanes (its own default is higher): the
// session has a GET and a POST per lane, and one connection held back by
// the path (a relay freezing one direction of it, as a lost segment would)
// costs no frame: the other lanes carry its media again, and the copies
// arriving late are dropped as duplicates. Media stays on one lane while
// that is healthy, lane 0 to begin with, so lane 0 is the one frozen.

class TunnelPairLanes : public TunnelPairBase {
protected:
    hrac::TunnelMode mode() const override { return hrac::TunnelMode::stream; }
    uint16_t hrac_port() override
    {
        relay_ = std::make_unique<sofw::test::TamperRelay>(port_);
        return relay_->port();
    }
    void TearDown() override
    {
        TunnelPairBase::TearDown();
        relay_.reset();
    }
    // Up, and every lane's GET and POST open at HRAS.
    bool all_lanes_up()
    {
        return both_up() && until([&] {
                   return counters_.lanes == sofw::default_lanes &&
                          server_->open_connections() == 2 * sofw::default_lanes;
               });
    }
    // n media frames, one every interval_ms (a call's packets are paced too).
    std::vector<Frame> paced_media(unsigned n, unsigned first, const std::function<bool(const Frame &)> &send)
    {
        std::vector<Frame> sent;
        for (unsigned i = 0; i < n; i++) {
            sent.push_back(frame(FrameType::media, "192.168.1.10:4000", rtp_payload(first + i), 40000));
            EXPECT_TRUE(send(sent.back())) << "#" << i;
            until([] { return false; }, interval_ms);
        }
        return sent;
    }
    static constexpr int interval_ms = 5;
    std::unique_ptr<sofw::test::TamperRelay> relay_;
};

TEST_F(TunnelPairLanes, MediaCrossesOnceEachWayAndSipKeepsItsOrder)
{
    tunnel_->start();
    ASSERT_TRUE(all_lanes_up()) << "lanes " << counters_.lanes << ", connections " << server_->open_connections();
    for (const auto &r : relay_->requests())
        EXPECT_EQ(r.line.rfind("GET /sofw/v1/down ", 0) == 0 ? std::to_string(sofw::default_lanes) : "", r.lanes)
            << r.line;

    const unsigned n = 100;
    const auto up = paced_media(n, 0, [&](const Frame &f) { return tunnel_->send(f); });
    const auto down = paced_media(n, n, [&](const Frame &f) { return server_->send(0, f); });
    ASSERT_TRUE(until([&] { return hras_.frames.size() >= n && hrac_frames_.size() >= n; }))
        << hras_.frames.size() << " up, " << hrac_frames_.size() << " down";
    EXPECT_EQ(sorted_wires(up), sorted_wires(hras_.frames));
    EXPECT_EQ(sorted_wires(down), sorted_wires(hrac_frames_));
    EXPECT_EQ(0u, counters_.lane_invalid);
    // SIP keeps to lane 0 and its order.
    EXPECT_TRUE(sip_crosses_up());
    EXPECT_TRUE(sip_crosses_down());
}

TEST_F(TunnelPairLanes, AStuckUpstreamLaneCostsNoFrame)
{
    tunnel_->start();
    ASSERT_TRUE(all_lanes_up());
    relay_->freeze(sofw::test::Direction::up, "POST /sofw/v1/up ");
    const unsigned n = 100;
    const auto up = paced_media(n, 0, [&](const Frame &f) { return tunnel_->send(f); });
    // All of them, while lane 0's POST still holds whatever went its way.
    ASSERT_TRUE(until([&] { return hras_.frames.size() >= n; })) << hras_.frames.size() << " of " << n;
    EXPECT_EQ(sorted_wires(up), sorted_wires(hras_.frames));
    EXPECT_GE(counters_.lane_stalls, 1u);
    EXPECT_GE(counters_.lane_resent, 1u);
    EXPECT_TRUE(tunnel_->is_up());

    // The held copies arrive at last, before a SIP frame sent after them
    // on lane 0: HRAS hands none of them on again.
    relay_->thaw();
    ASSERT_TRUE(sip_crosses_up());
    EXPECT_EQ(n, hras_.count(FrameType::media));
    EXPECT_TRUE(server_->is_up(0));
}

TEST_F(TunnelPairLanes, AStuckDownstreamLaneCostsNoFrameAndItsCopiesAreDropped)
{
    tunnel_->start();
    ASSERT_TRUE(all_lanes_up());
    relay_->freeze(sofw::test::Direction::down, "GET /sofw/v1/down ");
    const unsigned n = 100;
    const auto down = paced_media(n, 0, [&](const Frame &f) { return server_->send(0, f); });
    ASSERT_TRUE(until([&] { return hrac_frames_.size() >= n; })) << hrac_frames_.size() << " of " << n;
    EXPECT_EQ(sorted_wires(down), sorted_wires(hrac_frames_));

    // The held copies arrive at last, before a SIP frame sent after them
    // on lane 0: HRAC drops them as duplicates.
    relay_->thaw();
    ASSERT_TRUE(sip_crosses_down());
    EXPECT_GE(counters_.lane_duplicates, 1u);
    EXPECT_EQ(n + 1, hrac_frames_.size()) << "the media once, and the SIP frame";
    EXPECT_EQ(0u, counters_.lane_invalid);
    EXPECT_TRUE(tunnel_->is_up());
}

// --- coalescing up -----------------------------------------------------------
// HRAC's tunnel_coalesce_ms seen from the path: the relay counts the records
// going up. Media waits up to the window for more media to share its write;
// SIP goes at once and takes the waiting media along.
//
// Whether the window had passed is read from libre's clock (the one HRAC's
// timers run on), never asserted on: an attempt the scheduler stretched
// past the window proves nothing and is made again; the records of one
// that stayed inside it are what the test judges, unless lanes sent a
// copy again (a record of its own). Only an HRAC that never once gets a
// SIP frame to HRAS within the media's window fails on that count.
//
// Streaming only: a polling HRAC sends what queued while a send was out as
// soon as that send is answered, window or not (its batch waited for the
// round trip already), and when HRAC has read that answer is not something
// the test can see from outside.

// The parameter: tunnel_lanes.
class TunnelPairCoalesce : public TunnelPairBase, public ::testing::WithParamInterface<unsigned> {
protected:
    static constexpr unsigned window_ms = 20;
    static constexpr int attempts = 5;

    hrac::TunnelMode mode() const override { return hrac::TunnelMode::stream; }
    // Keep-alives (after 15 s of quiet) stay out of the records counted.
    void configure_server(sofw::hras::TunnelConfig &c) override { c.keepalive_s = 15; }
    void configure_hrac(hrac::Config &c) override
    {
        c.keepalive_interval = 15;
        c.tunnel_lanes = GetParam();
        c.tunnel_coalesce_ms = window_ms;
    }
    uint16_t hrac_port() override
    {
        relay_ = std::make_unique<sofw::test::TamperRelay>(port_);
        return relay_->port();
    }
    void TearDown() override
    {
        TunnelPairBase::TearDown();
        relay_.reset();
    }

    // Up, every lane open, and HRAC's first frames through: a SIP frame
    // behind them reached HRAS, so the relay has counted all there was.
    ::testing::AssertionResult quiet_and_up()
    {
        tunnel_->start();
        if (!both_up())
            return ::testing::AssertionFailure() << "not up";
        const unsigned lanes = GetParam();
        if (!until([&] { return counters_.lanes == lanes && server_->open_connections() == 2 * lanes; }))
            return ::testing::AssertionFailure() << "lanes " << counters_.lanes << " of " << lanes;
        return sip_crosses_up();
    }
    // One turn of the loops: until the HRAS ticker has run once more.
    void turn()
    {
        int checks = 0;
        until([&] { return ++checks > 1; });
    }
    // After a record went up, curl asks for more of the body on its next
    // turn of the loop (its socket is writable at once), and what is
    // queued by then goes along without waiting. An attempt starts after
    // that turn, from a channel that pauses for want of frames.
    void settle() { turn(); }
    static Frame media(unsigned attempt, unsigned i)
    {
        return frame(FrameType::media, "192.168.1.10:4000",
                     "coalesce " + std::to_string(attempt) + "." + std::to_string(i), 40000);
    }
    static Frame sip(unsigned attempt)
    {
        return frame(FrameType::sip, "192.168.1.10:5060",
                     "MESSAGE sip:x SIP/2.0\r\nCall-ID: coalesce-" + std::to_string(attempt) +
                         "\r\nContent-Length: 0\r\n\r\n");
    }
    // HRAS got all of these, from index `from` of what it got on.
    bool arrived(const std::vector<Frame> &sent, size_t from)
    {
        return until([&] {
            size_t found = 0;
            for (const Frame &f : sent)
                found += std::any_of(hras_.frames.begin() + std::ptrdiff_t(from), hras_.frames.end(),
                                     [&](const Frame &g) { return wire(g) == wire(f); });
            return found == sent.size();
        });
    }
    static uint64_t jiffies() { return tmr_jiffies(); }
    // Media is flowing: coalescing waits only for media that follows other
    // media within the window (a lone packet goes at once). One frame of
    // another attempt number goes up first, and is in before the test's.
    bool prime(unsigned a)
    {
        const size_t from = hras_.frames.size();
        const Frame f = media(a + 100, 0);
        return tunnel_->send(f) && arrived({f}, from);
    }

    std::unique_ptr<sofw::test::TamperRelay> relay_;
};

INSTANTIATE_TEST_SUITE_P(Cases, TunnelPairCoalesce, ::testing::Values(sofw::default_lanes, 1u),
                         [](const ::testing::TestParamInfo<unsigned> &info) {
                             return info.param > 1 ? std::to_string(info.param) + "_lanes" : std::string("one_lane");
                         });

TEST_P(TunnelPairCoalesce, MediaSentWithinTheWindowGoesUpInOneRecord)
{
    ASSERT_TRUE(quiet_and_up());
    const unsigned n = 3;
    int inside = 0;
    for (unsigned a = 1; a <= attempts && !inside; a++) {
        settle();
        const uint64_t t0 = jiffies();
        ASSERT_TRUE(prime(a));
        settle();  // curl's next turn after the primer's write
        const size_t records = relay_->records(sofw::test::Direction::up);
        const size_t from = hras_.frames.size();
        const uint64_t resent = counters_.lane_resent;
        std::vector<Frame> sent;
        for (unsigned i = 0; i < n; i++) {
            sent.push_back(media(a, i));
            ASSERT_TRUE(tunnel_->send(sent.back()));
            if (i + 1 < n)
                turn();
        }
        // HRAC's flush timer, started at or after t0, was not yet due when
        // the last frame went in.
        const bool in_window = jiffies() - t0 < window_ms;
        ASSERT_TRUE(arrived(sent, from)) << "attempt " << a;
        if (!in_window || counters_.lane_resent != resent)
            continue;
        inside++;
        EXPECT_EQ(1u, relay_->records(sofw::test::Direction::up) - records)
            << "records up for " << n << " media frames sent within the window";
        EXPECT_EQ(n, hras_.frames.size() - from);
    }
    EXPECT_EQ(1, inside) << "no attempt kept within the window";
}

TEST_P(TunnelPairCoalesce, SipIsNotHeldBackAndTakesTheWaitingMediaAlong)
{
    ASSERT_TRUE(quiet_and_up());
    const unsigned n = 3;
    int inside = 0;
    for (unsigned a = 1; a <= attempts && !inside; a++) {
        settle();
        const uint64_t t0 = jiffies();
        ASSERT_TRUE(prime(a));
        settle();  // curl's next turn after the primer's write
        const size_t records = relay_->records(sofw::test::Direction::up);
        const size_t from = hras_.frames.size();
        const uint64_t resent = counters_.lane_resent;
        std::vector<Frame> media_sent;
        for (unsigned i = 0; i < n; i++) {
            media_sent.push_back(media(a, i));
            ASSERT_TRUE(tunnel_->send(media_sent.back()));
        }
        turn();  // the media waits
        const Frame s = sip(a);
        ASSERT_TRUE(tunnel_->send(s));
        ASSERT_TRUE(arrived({s}, from)) << "attempt " << a;
        // Not a deadline: whether the media's window (which started at or
        // after t0) had ended by the time the SIP frame was in.
        const bool in_window = jiffies() - t0 < window_ms;
        ASSERT_TRUE(arrived(media_sent, from)) << "attempt " << a;
        if (!in_window || counters_.lane_resent != resent)
            continue;
        inside++;
        EXPECT_EQ(1u, relay_->records(sofw::test::Direction::up) - records)
            << "the SIP frame and the media that waited share one record";
        ASSERT_EQ(n + 1, hras_.frames.size() - from);
        for (unsigned i = 0; i < n; i++)
            EXPECT_EQ(wire(media_sent[i]), wire(hras_.frames[from + i])) << "media #" << i;
        EXPECT_EQ(wire(s), wire(hras_.frames.back())) << "behind the media queued before it";
    }
    EXPECT_EQ(1, inside) << "the SIP frame never reached HRAS within the media's window: held back?";
}

// --- what HRAS refuses ----------------------------------------------------

class TunnelPairWrongSecret : public TunnelPairTest {
    void configure_hrac(hrac::Config &c) override { c.secret = "not-the-acme-secret-0123"; }
};
INSTANTIATE_TEST_SUITE_P(Modes, TunnelPairWrongSecret,
                         ::testing::Values(hrac::TunnelMode::stream, hrac::TunnelMode::poll), mode_name);

TEST_P(TunnelPairWrongSecret, NeverComesUpAndBothSidesCountIt)
{
    tunnel_->start();
    ASSERT_TRUE(until([&] { return counters_.hras_refusals >= 1 && stats_.get(HRAS_CNT_AUTH_FAILURES) >= 1; }))
        << "HRAC refusals " << counters_.hras_refusals << ", HRAS auth failures " << stats_.get(HRAS_CNT_AUTH_FAILURES);
    EXPECT_FALSE(tunnel_->is_up());
    EXPECT_FALSE(server_->is_up(0));
    EXPECT_EQ(0u, counters_.sessions_up);
    EXPECT_TRUE(hras_.changes.empty());
}

// --- HTTPS ----------------------------------------------------------------

class TunnelPairTls : public TunnelPairTest {
protected:
    static void SetUpTestSuite()
    {
        pki_ = std::make_unique<sofw::test::TestPki>();
        pki_->make();
    }
    static void TearDownTestSuite() { pki_.reset(); }
    void SetUp() override
    {
        ASSERT_EQ("", pki_->error) << "cannot make test certificates (is openssl installed?)";
        TunnelPairTest::SetUp();
    }
    void configure_server(sofw::hras::TunnelConfig &c) override
    {
        c.tls_cert = sofw::test::read_file(pki_->path("server.pem"));
        c.tls_key = sofw::test::read_file(pki_->path("server.key"));
    }
    void configure_hrac(hrac::Config &c) override { c.ca_file = pki_->path("ca.pem"); }
    std::string scheme() const override { return "https"; }

    static std::unique_ptr<sofw::test::TestPki> pki_;
};
std::unique_ptr<sofw::test::TestPki> TunnelPairTls::pki_;

INSTANTIATE_TEST_SUITE_P(Modes, TunnelPairTls, ::testing::Values(hrac::TunnelMode::stream, hrac::TunnelMode::poll),
                         mode_name);

TEST_P(TunnelPairTls, FramesGoBothWaysOverHttps)
{
    tunnel_->start();
    ASSERT_TRUE(both_up());
    EXPECT_NE(std::find_if(g_published.log.begin(), g_published.log.end(),
                           [](const std::string &l) { return l.find("(https)") != std::string::npos; }),
              g_published.log.end());
    EXPECT_TRUE(sip_crosses_up());
    EXPECT_TRUE(sip_crosses_down());
    EXPECT_EQ(0u, counters_.tls_failures);
}

class TunnelPairUnknownCa : public TunnelPairTls {
    void configure_hrac(hrac::Config &c) override { c.ca_file = pki_->path("rogue-ca.pem"); }
};
INSTANTIATE_TEST_SUITE_P(Modes, TunnelPairUnknownCa,
                         ::testing::Values(hrac::TunnelMode::stream, hrac::TunnelMode::poll), mode_name);

TEST_P(TunnelPairUnknownCa, HracRefusesAServerItCannotVerify)
{
    tunnel_->start();
    ASSERT_TRUE(until([&] { return counters_.tls_failures >= 1; })) << "no TLS failure counted";
    EXPECT_FALSE(tunnel_->is_up());
    EXPECT_FALSE(server_->is_up(0));
    EXPECT_EQ(0u, stats_.get(HRAS_CNT_FRAMES_UP)) << "a frame crossed an unverified connection";
}

// HRAS requires client certificates of its CA.
class TunnelPairClientCert : public TunnelPairTls {
protected:
    void configure_server(sofw::hras::TunnelConfig &c) override
    {
        TunnelPairTls::configure_server(c);
        c.tls_client_ca = sofw::test::read_file(pki_->path("ca.pem"));
    }
    void configure_hrac(hrac::Config &c) override
    {
        TunnelPairTls::configure_hrac(c);
        c.client_cert = pki_->path("client.pem");
        c.client_key = pki_->path("client.key");
    }
};
INSTANTIATE_TEST_SUITE_P(Modes, TunnelPairClientCert,
                         ::testing::Values(hrac::TunnelMode::stream, hrac::TunnelMode::poll), mode_name);

TEST_P(TunnelPairClientCert, HracWithItsCertificateGetsThrough)
{
    tunnel_->start();
    ASSERT_TRUE(both_up());
    EXPECT_TRUE(sip_crosses_up());
    EXPECT_TRUE(sip_crosses_down());
    EXPECT_EQ(0u, stats_.get(HRAS_CNT_AUTH_FAILURES));
}

class TunnelPairNoClientCert : public TunnelPairClientCert {
    void configure_hrac(hrac::Config &c) override { TunnelPairTls::configure_hrac(c); }
};
INSTANTIATE_TEST_SUITE_P(Modes, TunnelPairNoClientCert,
                         ::testing::Values(hrac::TunnelMode::stream, hrac::TunnelMode::poll), mode_name);

TEST_P(TunnelPairNoClientCert, HracWithoutACertificateIsRefused)
{
    tunnel_->start();
    ASSERT_TRUE(until([&] { return stats_.get(HRAS_CNT_AUTH_FAILURES) >= 1; }))
        << "HRAS counted no refusal; HRAC refusals " << counters_.hras_refusals << ", TLS failures "
        << counters_.tls_failures;
    EXPECT_FALSE(tunnel_->is_up());
    EXPECT_FALSE(server_->is_up(0));
    EXPECT_EQ(0u, counters_.sessions_up);
}

}  // namespace

// --- the header deadline against the real client ---------------------------

class TunnelPairHeaderDeadline : public TunnelPairTest {
protected:
    void configure_server(sofw::hras::TunnelConfig &c) override { c.connections.header_timeout_ms = 1000; }
};
INSTANTIATE_TEST_SUITE_P(Modes, TunnelPairHeaderDeadline,
                         ::testing::Values(hrac::TunnelMode::stream, hrac::TunnelMode::poll,
                                           hrac::TunnelMode::automatic),
                         [](const auto &info) {
                             return std::string(hrac::tunnel_mode_name(info.param)) == "auto"
                                        ? std::string("auto")
                                        : mode_name(info);
                         });

TEST_P(TunnelPairHeaderDeadline, HracsSessionOutlivesTheDeadlineForCompleteRequests)
{
    tunnel_->start();
    ASSERT_TRUE(both_up());
    // Three deadlines pass while keep-alives flow.
    until([] { return false; }, 3500);
    EXPECT_TRUE(tunnel_->is_up());
    EXPECT_TRUE(server_->is_up(0));
    EXPECT_EQ(1u, stats_.get(HRAS_CNT_SESSIONS_OPENED));
    if (!polling()) {  // a polling HRAC's idle keep-alive connections may be cut; a streaming one has none
        EXPECT_EQ(0u, stats_.get(HRAS_CNT_TUNNEL_HEADER_TIMEOUTS));
        EXPECT_EQ(2u * counters_.lanes, server_->open_connections()) << "a GET and a POST per lane";
    }
    EXPECT_TRUE(sip_crosses_up());
    EXPECT_TRUE(sip_crosses_down());
}
