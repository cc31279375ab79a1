// The media relay on loopback: real libre sockets and a briefly run libre
// loop; the tunnel is a sink that records what would go up to HRAS. Waits
// are bounded by a libre timer or poll(), never by sleeping.
#include "media_relay.hpp"

#include <sofw/control.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

using namespace hrac;

namespace {

constexpr int wait_limit_ms = 2000;

// A phone in the LAN: a plain UDP socket on 127.0.0.1.
class Phone {
public:
    Phone()
    {
        fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0) {
            socklen_t len = sizeof addr;
            getsockname(fd_, reinterpret_cast<sockaddr *>(&addr), &len);
            port_ = ntohs(addr.sin_port);
        }
    }
    ~Phone()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    Phone(const Phone &) = delete;
    Phone &operator=(const Phone &) = delete;

    uint16_t port() const { return port_; }
    sofw::RaHeader endpoint() const { return *sofw::RaHeader::parse("127.0.0.1:" + std::to_string(port_)); }

    bool send_to(uint16_t port, const std::string &payload)
    {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        to.sin_port = htons(port);
        return sendto(fd_, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr *>(&to), sizeof to) ==
               static_cast<ssize_t>(payload.size());
    }

    // The next datagram and the port it came from; "" if none within the limit.
    std::string receive(uint16_t &from_port)
    {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, wait_limit_ms) != 1)
            return "";
        char buf[2048];
        sockaddr_in from{};
        socklen_t len = sizeof from;
        const ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr *>(&from), &len);
        if (n < 0)
            return "";
        from_port = ntohs(from.sin_port);
        return std::string(buf, static_cast<size_t>(n));
    }

private:
    int fd_ = -1;
    uint16_t port_ = 0;
};

// Whether port is free on 127.0.0.1, by binding it for a moment.
bool port_free(uint16_t port)
{
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
    if (fd >= 0)
        ::close(fd);
    return ok;
}

// Holds a port on 127.0.0.1 so the relay cannot have it.
class PortSquatter {
public:
    explicit PortSquatter(uint16_t port)
    {
        fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(port);
        bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
    }
    ~PortSquatter()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    bool bound() const { return bound_; }

private:
    int fd_ = -1;
    bool bound_ = false;
};

std::vector<uint8_t> bytes(const std::string &s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t> &b) { return {b.begin(), b.end()}; }

class MediaRelayTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_EQ(libre_.error(), 0);
        config_.sip_host = "127.0.0.1";
        config_.sip_port = 5060;
        config_.media_port_min = 42000;
        config_.media_port_max = 42999;
        relay_ = std::make_unique<MediaRelay>(config_, counters_, policy_, [this](const sofw::Frame &f) {
            upstream_.push_back(f);
            if (upstream_.size() >= wanted_)
                re_cancel();
            return tunnel_up_;
        });
    }
    void TearDown() override { relay_.reset(); }

    // Runs the loop until count frames went up or the limit passed.
    void run_until_upstream(size_t count)
    {
        wanted_ = count;
        ReTimer limit;
        limit.start(wait_limit_ms, [] { re_cancel(); });
        if (upstream_.size() < count) {
            ASSERT_EQ(re_main(nullptr), 0);
        }
        wanted_ = SIZE_MAX;
    }

    // An even port whose pair is free on loopback, inside the range.
    uint16_t free_pair()
    {
        for (uint32_t p = config_.media_port_min; p + 1 <= config_.media_port_max; p += 2) {
            if (port_free(static_cast<uint16_t>(p)) && port_free(static_cast<uint16_t>(p + 1)))
                return static_cast<uint16_t>(p);
        }
        ADD_FAILURE() << "no free port pair on 127.0.0.1";
        return 0;
    }

    void control(sofw::ControlOp op, uint16_t port, std::optional<sofw::RaHeader> ra = std::nullopt)
    {
        relay_->on_control(sofw::make_control_frame({op, port}, ra));
    }

    static sofw::Frame media_down(const sofw::RaHeader &phone, uint16_t relay_port, const std::string &payload)
    {
        sofw::Frame f;
        f.type = sofw::FrameType::media;
        f.ra = phone;
        f.ra->relay_port = relay_port;
        f.payload = bytes(payload);
        return f;
    }

    // A phone at sip_endpoint registers through HRAC and names media (an
    // RTP port; RTCP is the next) in the SDP of an INVITE it sends up.
    void phone_names(uint16_t rtp_port, const std::string &sip_endpoint = "127.0.0.1:5062")
    {
        const sofw::RaHeader sip = *sofw::RaHeader::parse(sip_endpoint);
        const std::string reg = "REGISTER sip:x SIP/2.0\r\nCSeq: 1 REGISTER\r\n\r\n";
        const std::string ok = "SIP/2.0 200 OK\r\nCSeq: 1 REGISTER\r\nExpires: 60\r\n\r\n";
        std::string why;
        policy_.sip_from_lan(sip, reinterpret_cast<const uint8_t *>(reg.data()), reg.size(), tmr_jiffies());
        ASSERT_TRUE(
            policy_.sip_to_lan(sip, reinterpret_cast<const uint8_t *>(ok.data()), ok.size(), tmr_jiffies(), why));
        const std::string body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                                 "m=audio " +
                                 std::to_string(rtp_port) + " RTP/AVP 0\r\n";
        const std::string invite = "INVITE sip:bob@x SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n" + body;
        ASSERT_EQ(
            policy_.sip_from_lan(sip, reinterpret_cast<const uint8_t *>(invite.data()), invite.size(), tmr_jiffies()),
            LanPolicy::Sdp::recorded);
    }

    // The one MEDIA_FAILED that went up, for port.
    void expect_media_failed(uint16_t port)
    {
        ASSERT_EQ(upstream_.size(), 1u);
        const sofw::Frame &f = upstream_[0];
        EXPECT_EQ(f.type, sofw::FrameType::control);
        const auto c = sofw::decode_control(f.payload.data(), f.payload.size());
        ASSERT_TRUE(c);
        EXPECT_EQ(c->op, sofw::ControlOp::media_failed);
        EXPECT_EQ(c->port, port);
        upstream_.clear();
    }

    LibreRuntime libre_;
    Config config_;
    Counters counters_;
    LanPolicy policy_;
    std::vector<sofw::Frame> upstream_;
    size_t wanted_ = SIZE_MAX;
    bool tunnel_up_ = true;
    std::unique_ptr<MediaRelay> relay_;
};

}  // namespace

TEST_F(MediaRelayTest, RelaysRtpAndRtcpBothWays)
{
    Phone phone;
    ASSERT_NE(phone.port(), 0);
    phone_names(phone.port());
    const uint16_t p = free_pair();
    control(sofw::ControlOp::open_media, p, phone.endpoint());
    ASSERT_TRUE(upstream_.empty()) << "MEDIA_FAILED for a free port";
    EXPECT_EQ(counters_.media_opens, 1u);
    EXPECT_EQ(counters_.media_ports_open, 1u);
    ASSERT_NE(relay_->table().find(p), nullptr);

    // Up: a datagram to P, then one to P+1, each a media frame naming the
    // phone and the port it arrived on.
    for (uint16_t port : {p, static_cast<uint16_t>(p + 1)}) {
        const std::string payload = "up to " + std::to_string(port);
        ASSERT_TRUE(phone.send_to(port, payload));
        run_until_upstream(1);
        ASSERT_EQ(upstream_.size(), 1u) << "nothing went up from port " << port;
        const sofw::Frame &f = upstream_[0];
        EXPECT_EQ(f.type, sofw::FrameType::media);
        ASSERT_TRUE(f.ra);
        EXPECT_TRUE(f.ra->same_endpoint(phone.endpoint())) << f.ra->to_string();
        EXPECT_EQ(f.ra->relay_port, port);
        EXPECT_EQ(text(f.payload), payload);
        upstream_.clear();
    }

    // Down: from P and from P+1 to the phone.
    for (uint16_t port : {p, static_cast<uint16_t>(p + 1)}) {
        const std::string payload = "down from " + std::to_string(port);
        relay_->deliver(media_down(phone.endpoint(), port, payload));
        uint16_t from = 0;
        EXPECT_EQ(phone.receive(from), payload);
        EXPECT_EQ(from, port);
    }

    EXPECT_EQ(counters_.media_frames_up, 2u);
    EXPECT_EQ(counters_.media_frames_down, 2u);
    EXPECT_EQ(counters_.media_bytes_down, 2 * std::string("down from 42000").size());
    EXPECT_EQ(counters_.media_dropped_closed + counters_.media_dropped_down + counters_.media_dropped_up, 0u);
    const MediaPair *pair = relay_->table().find(p);
    ASSERT_NE(pair, nullptr);
    EXPECT_EQ(pair->packets_up, 2u);
    EXPECT_EQ(pair->packets_down, 2u);
}

TEST_F(MediaRelayTest, AnswersPortsItCannotOpenWithMediaFailed)
{
    control(sofw::ControlOp::open_media, 40000);  // below the range
    expect_media_failed(40000);
    control(sofw::ControlOp::open_media, 42998 + 2);  // above it
    expect_media_failed(43000);
    relay_->open(42001, std::nullopt);  // odd (the codec refuses these earlier)
    expect_media_failed(42001);

    // P+1 taken by someone else: nothing stays open, P included.
    const uint16_t p = free_pair();
    PortSquatter squatter(static_cast<uint16_t>(p + 1));
    ASSERT_TRUE(squatter.bound());
    control(sofw::ControlOp::open_media, p);
    expect_media_failed(p);
    EXPECT_TRUE(port_free(p));

    EXPECT_EQ(counters_.media_open_failures, 4u);
    EXPECT_EQ(counters_.media_opens, 0u);
    EXPECT_EQ(counters_.media_ports_open, 0u);
    EXPECT_EQ(relay_->open_pairs(), 0u);
}

// HRAS decides how many refusals there are: a flood of them costs one log
// line per interval, while every one is counted and answered.
TEST_F(MediaRelayTest, RefusalsHrasCanProvokeAreLoggedRateLimited)
{
    testing::internal::CaptureStderr();
    for (int i = 0; i < 50; ++i) {
        control(sofw::ControlOp::open_media, 40000);  // below the range
        control(sofw::ControlOp::media_failed, 42000);  // HRAS never sends this
    }
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_EQ(counters_.media_open_failures, 50u);
    EXPECT_EQ(counters_.control_invalid, 50u);
    EXPECT_EQ(upstream_.size(), 50u);  // one MEDIA_FAILED each
    size_t opens = 0, controls = 0;
    for (size_t at = 0; (at = log.find("cannot open", at)) != std::string::npos; ++at)
        ++opens;
    for (size_t at = 0; (at = log.find("only HRAC sends it", at)) != std::string::npos; ++at)
        ++controls;
    EXPECT_EQ(opens, 1u) << log;
    EXPECT_EQ(controls, 1u) << log;
}

TEST_F(MediaRelayTest, ReopenUpdatesThePhoneAndCloseFreesBothPorts)
{
    Phone first, second;
    const uint16_t p = free_pair();
    control(sofw::ControlOp::open_media, p, first.endpoint());
    control(sofw::ControlOp::open_media, p, second.endpoint());  // re-INVITE
    EXPECT_TRUE(upstream_.empty());
    EXPECT_EQ(counters_.media_opens, 1u);
    EXPECT_EQ(counters_.media_updates, 1u);
    EXPECT_EQ(counters_.media_ports_open, 1u);
    const MediaPair *pair = relay_->table().find(p);
    ASSERT_NE(pair, nullptr);
    ASSERT_TRUE(pair->phone);
    EXPECT_TRUE(pair->phone->same_endpoint(second.endpoint()));

    control(sofw::ControlOp::close_media, p);
    EXPECT_EQ(counters_.media_closes, 1u);
    EXPECT_EQ(counters_.media_ports_open, 0u);
    EXPECT_TRUE(port_free(p));
    EXPECT_TRUE(port_free(static_cast<uint16_t>(p + 1)));

    // Closing again is harmless and not counted.
    control(sofw::ControlOp::close_media, p);
    EXPECT_EQ(counters_.media_closes, 1u);
    EXPECT_TRUE(upstream_.empty());
}

TEST_F(MediaRelayTest, DropsMediaForPortsThatAreNotOpen)
{
    Phone phone;
    const uint16_t p = free_pair();
    relay_->deliver(media_down(phone.endpoint(), p, "x"));
    relay_->deliver(media_down(phone.endpoint(), 0, "x"));  // 0 is the SIP socket, never media
    EXPECT_EQ(counters_.media_dropped_closed, 2u);

    control(sofw::ControlOp::open_media, p, phone.endpoint());
    relay_->deliver(media_down(phone.endpoint(), static_cast<uint16_t>(p + 2), "x"));
    EXPECT_EQ(counters_.media_dropped_closed, 3u);

    sofw::Frame tcp = media_down(phone.endpoint(), p, "x");
    tcp.ra->transport = sofw::Transport::tcp;
    relay_->deliver(tcp);
    EXPECT_EQ(counters_.media_dropped_down, 1u);
    EXPECT_EQ(counters_.media_frames_down, 0u);
}

TEST_F(MediaRelayTest, CountsMediaTheTunnelCannotTake)
{
    Phone phone;
    phone_names(phone.port());
    const uint16_t p = free_pair();
    control(sofw::ControlOp::open_media, p, phone.endpoint());
    tunnel_up_ = false;
    ASSERT_TRUE(phone.send_to(p, "rtp"));
    run_until_upstream(1);
    EXPECT_EQ(upstream_.size(), 1u);
    EXPECT_EQ(counters_.media_dropped_up, 1u);
    EXPECT_EQ(counters_.media_frames_up, 0u);
    // Still open: the call survives until the tunnel is back.
    EXPECT_EQ(relay_->open_pairs(), 1u);
}

TEST_F(MediaRelayTest, ClosesPairsIdleForTheTimeout)
{
    const uint16_t p = free_pair();
    control(sofw::ControlOp::open_media, p);
    const uint64_t opened = tmr_jiffies();
    relay_->close_idle(opened + 1000);
    EXPECT_EQ(relay_->open_pairs(), 1u);
    relay_->close_idle(opened + config_.media_timeout * 1000ull + 1000);
    EXPECT_EQ(relay_->open_pairs(), 0u);
    EXPECT_EQ(counters_.media_timeouts, 1u);
    EXPECT_EQ(counters_.media_closes, 0u);
    EXPECT_EQ(counters_.media_ports_open, 0u);
    EXPECT_TRUE(port_free(p));
}

TEST_F(MediaRelayTest, IgnoresControlFramesItCannotActOn)
{
    sofw::Frame bad = sofw::make_control_frame({sofw::ControlOp::open_media, 42000});
    bad.payload = {9, 0, 0xa4, 0x10};
    relay_->on_control(bad);
    bad.payload = {1, 0};
    relay_->on_control(bad);
    control(sofw::ControlOp::media_failed, 42000);  // HRAS never sends this
    EXPECT_EQ(counters_.control_invalid, 3u);
    EXPECT_EQ(relay_->open_pairs(), 0u);
    EXPECT_TRUE(upstream_.empty());
}

TEST_F(MediaRelayTest, CloseAllClosesEverything)
{
    const uint16_t p = free_pair();
    control(sofw::ControlOp::open_media, p);
    const uint16_t q = free_pair();
    control(sofw::ControlOp::open_media, q);
    EXPECT_NE(p, q);
    EXPECT_EQ(counters_.media_ports_open, 2u);
    relay_->close_all("test");
    EXPECT_EQ(counters_.media_ports_open, 0u);
    EXPECT_TRUE(port_free(p));
    EXPECT_TRUE(port_free(q));
}

TEST_F(MediaRelayTest, SendsMediaOnlyWhereTheLanPolicyAllows)
{
    Phone phone, other_port, other_host_port;
    const uint16_t p = free_pair();
    control(sofw::ControlOp::open_media, p, phone.endpoint());
    // Nobody named anything yet: HRAS's OPEN_MEDIA alone opens nothing.
    relay_->deliver(media_down(phone.endpoint(), p, "not yet"));
    EXPECT_EQ(counters_.lan_refused_media, 1u);

    phone_names(phone.port());
    // Another host (127.0.0.2 is loopback too, and would receive it).
    sofw::RaHeader elsewhere = *sofw::RaHeader::parse("127.0.0.2:" + std::to_string(phone.port()));
    relay_->deliver(media_down(elsewhere, p, "not for you"));
    EXPECT_EQ(counters_.lan_refused_media, 2u);
    // The phone's IP, a port its SDP never named.
    relay_->deliver(media_down(other_port.endpoint(), p, "not there"));
    EXPECT_EQ(counters_.lan_refused_media, 3u);
    EXPECT_EQ(counters_.media_frames_down, 0u);

    // A pair whose OPEN_MEDIA named nobody: still only the named endpoint.
    const uint16_t q = free_pair();
    control(sofw::ControlOp::open_media, q);
    relay_->deliver(media_down(other_port.endpoint(), q, "x"));
    EXPECT_EQ(counters_.lan_refused_media, 4u);
    relay_->deliver(media_down(phone.endpoint(), q, "now yes"));
    uint16_t from = 0;
    EXPECT_EQ(phone.receive(from), "now yes");
    EXPECT_EQ(from, q);
    EXPECT_EQ(counters_.lan_refused_media, 4u);
    EXPECT_EQ(counters_.media_frames_down, 1u);
    // Nothing reached the refused sockets (the poll waits its full limit).
    EXPECT_EQ(other_port.receive(from), "");
}

TEST_F(MediaRelayTest, AcceptsLanMediaOnlyFromTheNamedEndpoint)
{
    Phone phone, intruder;
    phone_names(phone.port());
    const uint16_t p = free_pair();
    control(sofw::ControlOp::open_media, p, phone.endpoint());

    // The intruder (the phone's IP, another port) sends first, then the
    // phone: only the phone's datagram goes up.
    ASSERT_TRUE(intruder.send_to(p, "injected"));
    ASSERT_TRUE(intruder.send_to(static_cast<uint16_t>(p + 1), "injected rtcp"));
    ASSERT_TRUE(phone.send_to(p, "voice"));
    ASSERT_TRUE(phone.send_to(static_cast<uint16_t>(p + 1), "rtcp"));
    // Each socket reads in order: once both of the phone's went up, the
    // intruder's were read before them.
    run_until_upstream(2);
    ASSERT_EQ(upstream_.size(), 2u);
    for (const sofw::Frame &f : upstream_) {
        EXPECT_NE(text(f.payload).find("injected"), 0u);
        ASSERT_TRUE(f.ra);
        EXPECT_TRUE(f.ra->same_endpoint(phone.endpoint()));
    }
    EXPECT_EQ(counters_.lan_refused_source, 2u);
    EXPECT_EQ(counters_.media_frames_up, 2u);

    // And the phone's media still goes to the phone, not to the intruder.
    relay_->deliver(media_down(phone.endpoint(), p, "for the phone"));
    uint16_t from = 0;
    EXPECT_EQ(phone.receive(from), "for the phone");
}

TEST_F(MediaRelayTest, OpensNoMorePairsThanTheDescriptorsHold)
{
    relay_->set_max_pairs(1);
    const uint16_t p = free_pair();
    control(sofw::ControlOp::open_media, p);
    ASSERT_TRUE(upstream_.empty());
    const uint16_t q = free_pair();
    control(sofw::ControlOp::open_media, q);
    expect_media_failed(q);
    EXPECT_EQ(counters_.media_pairs_limit, 1u);
    EXPECT_EQ(relay_->open_pairs(), 1u);
    EXPECT_TRUE(port_free(q));
    // Re-announcing the open pair is not a new one.
    control(sofw::ControlOp::open_media, p);
    EXPECT_TRUE(upstream_.empty());
    control(sofw::ControlOp::close_media, p);
    control(sofw::ControlOp::open_media, q);
    EXPECT_TRUE(upstream_.empty());
    EXPECT_EQ(relay_->open_pairs(), 1u);
}
