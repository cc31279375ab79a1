// The tunnel server's limits, on loopback against the real libmicrohttpd:
// connections in total and per address, the deadline for a complete
// request (a slowloris is cut, a streaming session is not), the queue of a
// slow reader, the replay cache's bound and the status page's backoff.
// The bookkeeping alone: connection_limits_test.cpp, auth_backoff_test.cpp.
#include "core/tunnel_server.hpp"

#include "published_hooks.hpp"
#include "tunnel_client.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>

using namespace sofw;
using namespace sofw::hras;
using namespace sofw::test;

namespace {


struct NoListener : TunnelListener {
    void on_frame(size_t, const Frame &) override {}
    void on_session_change(size_t, bool) override {}
    unsigned long phone_count(size_t) const override { return 0; }
};

// A plain TCP connection from a chosen loopback address; it sends only what
// the test writes and notices when the server closes it.
class RawConn : public Pollable {
public:
    RawConn(uint16_t port, const char *from_ip)
    {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in src{};
        src.sin_family = AF_INET;
        inet_pton(AF_INET, from_ip, &src.sin_addr);
        sockaddr_in dst{};
        dst.sin_family = AF_INET;
        dst.sin_port = htons(port);
        dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr *>(&src), sizeof src) != 0 ||
            (connect(fd_, reinterpret_cast<sockaddr *>(&dst), sizeof dst) != 0 && errno != EINPROGRESS))
            throw std::runtime_error("cannot connect from " + std::string(from_ip));
    }
    ~RawConn() override { ::close(fd_); }
    void write(const std::string &s) { (void)::send(fd_, s.data(), s.size(), MSG_NOSIGNAL); }
    void poll() override
    {
        char buf[4096];
        for (;;) {
            ssize_t n = recv(fd_, buf, sizeof buf, 0);
            if (n > 0) {
                in += std::string(buf, size_t(n));
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                closed = true;
            return;
        }
    }
    std::string in;
    bool closed = false;

private:
    int fd_ = -1;
};

class TunnelLimitsTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_EQ("", sites.add("name=acme;secret=" + acme_secret));
        ASSERT_EQ("", sites.add("name=beta;secret=" + beta_secret));
        ASSERT_EQ("", sites.assign_addresses());
        cfg.listen = "127.0.0.1:0";
        cfg.keepalive_s = 30;  // no silence rule during a test
        cfg.half_open_timeout_s = 30;
        cfg.poll_wait_ms = 1000;
        g_published = {};
        stats.set_hooks(&test_hooks);
    }
    void TearDown() override
    {
        clients.clear();
        raws.clear();
        server.reset();
    }
    void start()
    {
        server = std::make_unique<TunnelServer>(loop, sites, cfg, stats);
        server->set_listener(&listener);
        ASSERT_EQ("", server->start());
    }
    RawConn &raw(const char *from = "127.0.0.1")
    {
        raws.push_back(std::make_unique<RawConn>(server->port(), from));
        drive.watch(raws.back().get());
        return *raws.back();
    }
    TunnelClient &client(const std::string &site = "acme", const std::string &secret = acme_secret)
    {
        clients.push_back(std::make_unique<TunnelClient>(server->port(), site, secret));
        drive.watch(clients.back().get());
        return *clients.back();
    }
    bool up(TunnelClient &c, size_t site)
    {
        c.open();
        return drive.until([&] { return server->is_up(site) && c.down_ok(); }, 3000);
    }
    // One signed GET /sofw/v1/poll of a new session written on conn.
    static std::string poll_request(const std::string &site, const std::string &secret)
    {
        TunnelRequest r;
        r.method = "GET";
        r.path = "/sofw/v1/poll";
        r.site = site;
        r.secret = secret;
        return r.http();
    }

    EventLoop loop;
    SiteTable sites;
    Stats stats;
    TunnelConfig cfg;
    NoListener listener;
    std::unique_ptr<TunnelServer> server;
    Driver drive{loop};
    std::vector<std::unique_ptr<TunnelClient>> clients;
    std::vector<std::unique_ptr<RawConn>> raws;
};

}  // namespace

TEST_F(TunnelLimitsTest, OneAddressGetsAtMostItsShareOthersStillConnect)
{
    cfg.connections.max_per_ip = 3;
    start();
    for (int i = 0; i < 3; i++)
        raw("127.0.0.9");
    RawConn &fourth = raw("127.0.0.9");
    ASSERT_TRUE(drive.until([&] { return fourth.closed; })) << "the 4th connection from one address stayed";
    EXPECT_EQ(1u, stats.get(HRAS_CNT_TUNNEL_CONN_REFUSED_IP));
    for (size_t i = 0; i < 3; i++)
        EXPECT_FALSE(raws[i]->closed) << "the first three stay";
    // Another address still gets a session.
    RawConn &other = raw("127.0.0.1");
    other.write(poll_request("acme", acme_secret));
    ASSERT_TRUE(drive.until([&] { return server->is_up(0); }, 3000));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_TUNNEL_CONN_REFUSED));
}

TEST_F(TunnelLimitsTest, TotalLimitRefusesTheNextConnection)
{
    cfg.connections.max_total = 4;
    start();
    for (int i = 0; i < 4; i++)
        raw(("127.0.0." + std::to_string(10 + i)).c_str());
    RawConn &fifth = raw("127.0.0.20");
    ASSERT_TRUE(drive.until([&] { return fifth.closed; }));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_TUNNEL_CONN_REFUSED));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_TUNNEL_CONN_REFUSED_IP));
}

TEST_F(TunnelLimitsTest, SlowHeadersAreCutAStreamingSessionStays)
{
    cfg.connections.header_timeout_ms = 1000;
    start();
    TunnelClient &acme = client();
    ASSERT_TRUE(up(acme, 0));
    // A slowloris: a request line and one header byte now and then, never
    // the empty line that ends the headers.
    RawConn &slow = raw("127.0.0.9");
    slow.write("GET /sofw/v1/down HTTP/1.1\r\nHost: x\r\n");
    int64_t next = now_ms();
    ASSERT_TRUE(drive.until(
        [&] {
            if (now_ms() >= next) {
                slow.write("X");
                next = now_ms() + 200;
            }
            return slow.closed;
        },
        5000))
        << "a connection trickling its headers was not cut";
    EXPECT_EQ(1u, stats.get(HRAS_CNT_TUNNEL_HEADER_TIMEOUTS));
    // The streaming channels, open for longer than the timeout, are not cut.
    drive.run_for(1200);
    EXPECT_TRUE(server->is_up(0));
    EXPECT_FALSE(acme.down->closed());
    EXPECT_FALSE(acme.up->closed());
    EXPECT_EQ(1u, stats.get(HRAS_CNT_TUNNEL_HEADER_TIMEOUTS));
}

TEST_F(TunnelLimitsTest, ConnectionThatSaysNothingIsCut)
{
    cfg.connections.header_timeout_ms = 1000;
    start();
    RawConn &idle = raw("127.0.0.9");
    ASSERT_TRUE(drive.until([&] { return idle.closed; }, 5000));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_TUNNEL_HEADER_TIMEOUTS));
}

TEST_F(TunnelLimitsTest, EveryClosedConnectionLeavesTheBooks)
{
    cfg.connections.header_timeout_ms = 1000;
    start();
    // A session the client ends, one the server ends, a refused request.
    TunnelClient &a = client();
    ASSERT_TRUE(up(a, 0));
    TunnelClient &b = client("beta", beta_secret);
    ASSERT_TRUE(up(b, 1));
    EXPECT_EQ(4u, server->open_connections());
    a.up->close();
    a.down->close();
    server->close_session(1, "test");
    RawConn &bad = raw();
    bad.write("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(drive.until([&] { return server->open_connections() == 0 && bad.closed; }, 3000))
        << server->open_connections() << " connections still counted";
    drive.run_for(2500);
    EXPECT_EQ(0u, stats.get(HRAS_CNT_TUNNEL_HEADER_TIMEOUTS)) << "a closed connection was cut again";
}

TEST_F(TunnelLimitsTest, SlowReadersSessionIsDroppedAndTheSiteReconnects)
{
    cfg.max_down_queue = 64 * 1024;
    start();
    TunnelClient &acme = client();
    ASSERT_TRUE(up(acme, 0));
    TunnelClient &beta = client("beta", beta_secret);
    ASSERT_TRUE(up(beta, 1));
    // Frames queued faster than anything is written (no loop pass between).
    Frame big;
    big.type = FrameType::media;
    big.ra = RaHeader::parse("192.168.1.10:4000").value();
    big.payload.assign(30000, 'm');
    EXPECT_TRUE(server->send(0, big));
    EXPECT_TRUE(server->send(0, big));
    EXPECT_FALSE(server->send(0, big)) << "a third frame would exceed tunnel_queue_limit";
    EXPECT_FALSE(server->send(0, big)) << "an overflowed session takes nothing more";
    EXPECT_EQ(1u, stats.get(HRAS_CNT_TUNNEL_QUEUE_OVERFLOWS));
    ASSERT_TRUE(drive.until([&] { return !server->is_up(0); })) << "the slow reader's session stayed";
    EXPECT_TRUE(server->is_up(1)) << "another site's session is not touched";
    EXPECT_TRUE(server->send(1, big));
    // The site comes back with a new session and an empty queue.
    TunnelClient &again = client();
    ASSERT_TRUE(up(again, 0));
    EXPECT_TRUE(server->send(0, big));
}

TEST_F(TunnelLimitsTest, TheQueueLimitCountsEveryLaneOfASession)
{
    cfg.max_down_queue = 64 * 1024;
    start();
    TunnelClient &acme = client();
    acme.lanes_asked = 3;
    ASSERT_TRUE(up(acme, 0));
    ASSERT_TRUE(drive.until([&] { return acme.lanes_ok(); }));
    Frame big;
    big.type = FrameType::media;
    big.ra = RaHeader::parse("192.168.1.10:4000").value();
    big.payload.assign(30000, 'm');
    // Each goes to another lane, none of which holds more than one.
    EXPECT_TRUE(server->send(0, big));
    EXPECT_TRUE(server->send(0, big));
    EXPECT_FALSE(server->send(0, big)) << "the lanes together would exceed tunnel_queue_limit";
    EXPECT_EQ(1u, stats.get(HRAS_CNT_TUNNEL_QUEUE_OVERFLOWS));
    ASSERT_TRUE(drive.until([&] { return !server->is_up(0); })) << "the slow reader's session stayed";
}

TEST_F(TunnelLimitsTest, FullReplayCacheAnswers503ToThatSiteOnly)
{
    cfg.replay_cache_size = 2;
    start();
    TunnelClient &acme = client();
    ASSERT_TRUE(up(acme, 0));  // two nonces: the GET and the POST
    TunnelClient &more = client();
    more.start_poll();
    ASSERT_TRUE(drive.until([&] { return more.polls[0]->done; }));
    EXPECT_EQ(503, more.polls[0]->status());
    EXPECT_EQ("replay_cache_full\n", more.polls[0]->conn->body());
    EXPECT_EQ(1u, stats.get(HRAS_CNT_REPLAY_CACHE_FULL));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_AUTH_FAILURES));
    EXPECT_TRUE(server->is_up(0)) << "the session that is up stays up";
    TunnelClient &beta = client("beta", beta_secret);
    EXPECT_TRUE(up(beta, 1)) << "another site has a cache of its own";
}

TEST_F(TunnelLimitsTest, StatusPageBacksOffAfterWrongPasswords)
{
    start();
    StatusPage page("admin", "correct horse", [] { return StatusSnapshot{}; });
    server->set_status_page(&page);
    auto get = [&](const std::string &user_pass, RawConn &c) {
        static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::string b64;
        for (size_t i = 0; i < user_pass.size(); i += 3) {
            uint32_t n = uint32_t(uint8_t(user_pass[i])) << 16;
            if (i + 1 < user_pass.size())
                n |= uint32_t(uint8_t(user_pass[i + 1])) << 8;
            if (i + 2 < user_pass.size())
                n |= uint8_t(user_pass[i + 2]);
            b64 += tab[n >> 18 & 63];
            b64 += tab[n >> 12 & 63];
            b64 += i + 1 < user_pass.size() ? tab[n >> 6 & 63] : '=';
            b64 += i + 2 < user_pass.size() ? tab[n & 63] : '=';
        }
        c.write("GET /sofw/status.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic " + b64 +
                "\r\n\r\n");
        EXPECT_TRUE(drive.until([&] { return c.closed; }));
        return c.in.substr(0, c.in.find("\r\n"));
    };
    for (int i = 0; i < 4; i++)
        EXPECT_EQ("HTTP/1.1 401 Unauthorized", get("admin:guess" + std::to_string(i), raw()));
    // Backed off now: even the right password waits.
    RawConn &c = raw();
    EXPECT_EQ("HTTP/1.1 429 Too Many Requests", get("admin:correct horse", c));
    EXPECT_NE(std::string::npos, c.in.find("Retry-After: 1\r\n")) << c.in;
    EXPECT_EQ(1u, stats.get(HRAS_CNT_STATUS_BACKOFF));
    // Another address is not backed off.
    EXPECT_EQ("HTTP/1.1 200 OK", get("admin:correct horse", raw("127.0.0.7")));
    // After the wait the right password gets through again.
    std::string line;
    ASSERT_TRUE(drive.until([&] { return (line = get("admin:correct horse", raw())) == "HTTP/1.1 200 OK"; }, 5000))
        << line;
}

TEST_F(TunnelLimitsTest, DescriptorLimitClampsTheConnectionLimit)
{
    rlimit before{};
    ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &before));
    ASSERT_NE(RLIM_INFINITY, before.rlim_max);
    cfg.connections.max_total = size_t(before.rlim_max) + 1000;
    start();
    EXPECT_EQ(1u, stats.get(HRAS_CNT_FD_LIMIT_CLAMPED));
    setrlimit(RLIMIT_NOFILE, &before);
}
