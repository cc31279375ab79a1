// hrac-agent --check: its wording and verdict rules, its bounded TCP probe
// on loopback, and a whole run against loopback ports where nothing listens.
#include "check.hpp"
#include "check_probe.hpp"
#include "log.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

using namespace hrac;

namespace {

std::string run_to_text(const std::vector<std::string> &args, int &rc)
{
    char *buf = nullptr;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    rc = run_check(parse_command_line(args), out);
    fclose(out);
    std::string text(buf, len);
    free(buf);
    return text;
}

// A loopback port with nothing listening on it: bound, never listened to.
class FreePort {
public:
    FreePort()
    {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a);
        socklen_t len = sizeof a;
        getsockname(fd_, reinterpret_cast<sockaddr *>(&a), &len);
        port_ = ntohs(a.sin_port);
    }
    ~FreePort() { close(fd_); }
    uint16_t port() const { return port_; }

private:
    int fd_ = -1;
    uint16_t port_ = 0;
};

}  // namespace

TEST(CheckEndpoint, ServerAndProxyPortsDefaultAsCurlDoes)
{
    EXPECT_EQ(endpoint_text(server_endpoint("http://198.51.100.1")), "198.51.100.1:80");
    EXPECT_EQ(endpoint_text(server_endpoint("https://sofw.example.com/prefix")), "sofw.example.com:443");
    EXPECT_EQ(endpoint_text(server_endpoint("https://[2001:db8::1]:8443/x")), "[2001:db8::1]:8443");
    EXPECT_EQ(endpoint_text(proxy_endpoint("http://user:p@ss@proxy:3128")), "proxy:3128");
    EXPECT_EQ(endpoint_text(proxy_endpoint("http://proxy")), "proxy:1080");
    EXPECT_EQ(endpoint_text(proxy_endpoint("https://proxy")), "proxy:443");
    EXPECT_EQ(endpoint_text(proxy_endpoint("proxy.corp:8080")), "proxy.corp:8080");
}

TEST(CheckWording, TcpOutcomesInPlainWords)
{
    TcpOutcome o;
    o.address = "198.51.100.1:80";
    o.kind = TcpOutcome::works;
    o.ms = 0.42;
    EXPECT_EQ(describe_tcp(o, 3), "works (TCP to 198.51.100.1:80 connected in 0.4 ms)");
    o.kind = TcpOutcome::timeout;
    EXPECT_EQ(describe_tcp(o, 3), "blocked (no answer from 198.51.100.1:80 within 3 s)");
    o.kind = TcpOutcome::refused;
    EXPECT_EQ(describe_tcp(o, 3), "refused (198.51.100.1:80: connection refused)");
    o.kind = TcpOutcome::unreachable;
    o.detail = "No route to host";
    EXPECT_EQ(describe_tcp(o, 3), "unreachable (198.51.100.1:80: No route to host)");
}

TEST(CheckWording, AuthRefusalsSayWhatToDo)
{
    EXPECT_NE(auth_hint("bad_signature", "acme").find("secret"), std::string::npos);
    EXPECT_NE(auth_hint("unknown_site", "acme").find("no site 'acme'"), std::string::npos);
    EXPECT_NE(auth_hint("stale", "acme").find("NTP"), std::string::npos);
    EXPECT_NE(auth_hint("replay", "acme").find("replaying"), std::string::npos);
    EXPECT_NE(auth_hint("malformed", "acme").find("X-SoFW"), std::string::npos);
    EXPECT_EQ(auth_hint("something else", "acme"), "");
}

TEST(CheckVerdict, AutoPrefersStreamingThenPolling)
{
    EXPECT_EQ(choose_mode(TunnelMode::automatic, true, false).mode, "stream");
    EXPECT_EQ(choose_mode(TunnelMode::automatic, false, true).mode, "poll");
    const ModeVerdict none = choose_mode(TunnelMode::automatic, false, false);
    EXPECT_EQ(none.mode, "");
    EXPECT_EQ(none.why, "neither streaming nor polling gets through");
}

TEST(CheckVerdict, ForcedModesMustWorkThemselves)
{
    EXPECT_EQ(choose_mode(TunnelMode::stream, true, false).mode, "stream");
    const ModeVerdict stream_only = choose_mode(TunnelMode::stream, false, true);
    EXPECT_EQ(stream_only.mode, "");
    EXPECT_NE(stream_only.why.find("set tunnel_mode = auto"), std::string::npos);
    EXPECT_EQ(choose_mode(TunnelMode::poll, false, true).mode, "poll");
    EXPECT_EQ(choose_mode(TunnelMode::poll, true, false).mode, "");
}

TEST(CheckVerdict, SummaryLines)
{
    EXPECT_EQ(verdict_ok("direct", "stream"), "verdict: OK \u2014 tunnel via direct, mode stream");
    EXPECT_EQ(verdict_ok("proxy http://192.168.1.1:3128", "poll"),
              "verdict: OK \u2014 tunnel via proxy http://192.168.1.1:3128, mode poll");
    EXPECT_EQ(verdict_blocked("x; do y"), "verdict: BLOCKED \u2014 x; do y");
}

TEST(CheckProbe, TcpConnectRefusedOnAClosedLoopbackPort)
{
    FreePort closed;
    const check::Resolution r = check::resolve("127.0.0.1", closed.port(), 3);
    ASSERT_EQ(r.error, "");
    const TcpOutcome o = check::tcp_connect(r.addresses, 3);
    EXPECT_EQ(o.kind, TcpOutcome::refused);
    EXPECT_EQ(o.address, "127.0.0.1:" + std::to_string(closed.port()));
}

TEST(CheckProbe, TcpConnectWorksOnAListeningLoopbackPort)
{
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
    ASSERT_EQ(listen(fd, 1), 0);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    const check::Resolution r = check::resolve("127.0.0.1", ntohs(a.sin_port), 3);
    const TcpOutcome o = check::tcp_connect(r.addresses, 3);
    EXPECT_EQ(o.kind, TcpOutcome::works);
    close(fd);
}

TEST(CheckRun, BadConfigurationIsBlockedWithTheReason)
{
    int rc = -1;
    const std::string text =
        run_to_text({"--site=acme", "--secret=x", "--server=ftp://x", "--sip_listen=10.0.0.2:5060"}, rc);
    EXPECT_EQ(rc, 1);
    EXPECT_NE(text.find("config:     invalid \u2014 server 'ftp://x' is not an http://"), std::string::npos) << text;
    EXPECT_NE(text.find("direct:     not tried"), std::string::npos) << text;
    EXPECT_NE(text.find("verdict: BLOCKED \u2014 the configuration: server 'ftp://x'"), std::string::npos) << text;
}

TEST(CheckRun, NothingListeningAtTheServerIsBlockedAsRefused)
{
    FreePort closed;
    int rc = -1;
    const auto start = std::chrono::steady_clock::now();
    const std::string text =
        run_to_text({"--site=acme", "--secret=x", "--server=http://127.0.0.1:" + std::to_string(closed.port()),
                     "--sip_listen=127.0.0.1:5060", "--proxy=none"},
                    rc);
    EXPECT_EQ(rc, 1);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
    EXPECT_NE(text.find("address:    127.0.0.1 (an IP address: no DNS needed)"), std::string::npos) << text;
    EXPECT_NE(text.find("direct:     refused (127.0.0.1:"), std::string::npos) << text;
    EXPECT_NE(text.find("auth:       not tried"), std::string::npos) << text;
    EXPECT_NE(text.find("verdict: BLOCKED \u2014 nothing accepts TCP connections at 127.0.0.1:"), std::string::npos)
        << text;
}

TEST(CheckRun, AProxyThatIsNotThereIsNamedAsTheProblem)
{
    FreePort server, proxy;
    int rc = -1;
    const std::string text =
        run_to_text({"--site=acme", "--secret=x", "--server=http://127.0.0.1:" + std::to_string(server.port()),
                     "--sip_listen=127.0.0.1:5060", "--proxy=http://127.0.0.1:" + std::to_string(proxy.port())},
                    rc);
    EXPECT_EQ(rc, 1);
    EXPECT_NE(text.find("direct:     refused"), std::string::npos) << text;
    EXPECT_NE(text.find("proxy:      http://127.0.0.1:" + std::to_string(proxy.port()) + " (proxy setting): refused"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("verdict: BLOCKED \u2014 cannot connect to the proxy http://127.0.0.1:"), std::string::npos)
        << text;
}

TEST(Log, LevelsMapToSyslogPriorities)
{
    EXPECT_EQ(syslog_priority(LogLevel::error), LOG_ERR);
    EXPECT_EQ(syslog_priority(LogLevel::warn), LOG_WARNING);
    EXPECT_EQ(syslog_priority(LogLevel::info), LOG_INFO);
    EXPECT_EQ(syslog_priority(LogLevel::debug), LOG_DEBUG);
    LogTarget t = LogTarget::stderr_stream;
    EXPECT_TRUE(parse_log_target("syslog", t));
    EXPECT_EQ(t, LogTarget::syslog);
    EXPECT_TRUE(parse_log_target("stderr", t));
    EXPECT_EQ(t, LogTarget::stderr_stream);
    EXPECT_FALSE(parse_log_target("journal", t));
}
