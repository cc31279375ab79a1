// Media quality measured by the HRAS relay in its real wiring
// (media_fixture.hpp): figures per call and per direction in the RAT rows,
// what is not RTP left out, the clock rate from the SDP, the rtp_* counters
// and the per-second history the status page draws.
#include "media_fixture.hpp"

#include <algorithm>

namespace {

// An RTP packet as text for the test sockets: seq, timestamp, 160 bytes.
std::string rtp(uint16_t seq, uint32_t ts, uint32_t ssrc = 0x0a0b0c0d)
{
    std::string p(12 + 160, '\xd5');
    p[0] = '\x80';
    p[1] = 0;  // PCMU
    p[2] = char(seq >> 8);
    p[3] = char(seq & 0xff);
    for (int i = 0; i < 4; i++) {
        p[4 + size_t(i)] = char((ts >> (24 - 8 * i)) & 0xff);
        p[8 + size_t(i)] = char((ssrc >> (24 - 8 * i)) & 0xff);
    }
    return p;
}

class MediaQualityTest : public MediaRelayTest {
protected:
    const hras_rat_row *row(const std::vector<hras_rat_row> &rows, const std::string &call_id)
    {
        for (auto &r : rows)
            if (call_id == r.call_id)
                return &r;
        return nullptr;
    }
    // Far side -> HRAS: each packet, and waits until the tunnel carried it.
    void send_down(TunnelClient &c, UdpSocket &far, const Call &call, const std::vector<std::string> &packets)
    {
        for (auto &p : packets) {
            size_t before = c.count(FrameType::media);
            ASSERT_TRUE(far.send_to(media_ip, call.hras, p));
            ASSERT_TRUE(media_got(c, before + 1));
        }
    }
    // Phone -> HRAC -> tunnel: the packets in one go; waits until the far side has them all.
    void send_up(TunnelClient &c, UdpSocket &far, const Call &call, const std::vector<std::string> &packets,
                 uint16_t phone_port = 4000)
    {
        size_t before = far.received.size();
        for (auto &p : packets)
            c.send_frame(media_frame(ep(alice_ip, phone_port), call.hrac, p));
        ASSERT_TRUE(udp_got(far, before + packets.size()));
    }
    // Quality points kept so far for the only call.
    size_t points()
    {
        std::vector<RtpQualityHistory> h;
        media->rows(&h);
        return h.size() == 1 ? h[0].down.size() : 0;
    }
};

}  // namespace

TEST_F(MediaQualityTest, EachCallHasItsOwnFiguresEachWay)
{
    TunnelClient &c = open(0);
    UdpSocket &clean_rtp = far_socket(), &clean_rtcp = far_socket();
    UdpSocket &lossy_rtp = far_socket(), &lossy_rtcp = far_socket();
    Call clean = wan_call(c, "q-clean", clean_rtp, clean_rtcp, 4000);
    Call lossy = wan_call(c, "q-lossy", lossy_rtp, lossy_rtcp, 4002);
    ASSERT_NE(0, clean.hras);
    ASSERT_NE(0, lossy.hras);

    // Down: the clean call's far side sends 100..104, the lossy one's
    // misses 102.
    send_down(c, clean_rtp, clean, {rtp(100, 16000), rtp(101, 16160), rtp(102, 16320), rtp(103, 16480), rtp(104, 16640)});
    send_down(c, lossy_rtp, lossy, {rtp(100, 16000), rtp(101, 16160), rtp(103, 16480), rtp(104, 16640)});
    // Up: the clean call's phone sends 1..3 in order. The lossy call's
    // tunnel delivers packet 2 (due at 1 s) after packet 3 (due at 2 s):
    // 2 arrives at least a second behind its schedule, late by any measure.
    send_up(c, clean_rtp, clean, {rtp(1, 0), rtp(2, 160), rtp(3, 320)});
    send_up(c, lossy_rtp, lossy, {rtp(1, 0), rtp(3, 16000), rtp(2, 8000)}, 4002);

    auto rows = media->rows();
    const hras_rat_row *a = row(rows, "q-clean"), *b = row(rows, "q-lossy");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(0.0, a->loss_down);
    EXPECT_EQ(0.0, a->loss_up);
    EXPECT_EQ(0.0, a->late60_up);
    EXPECT_EQ(0.0, a->late150_up);
    EXPECT_GE(a->jitter_down, 0.0);
    EXPECT_GE(a->jitter_up, 0.0);

    EXPECT_EQ(20.0, b->loss_down) << "one of five";
    EXPECT_EQ(0.0, b->loss_up) << "reordered, not lost";
    EXPECT_EQ(33.33, b->late60_up) << "one of three, rounded to 0.01";
    EXPECT_EQ(33.33, b->late150_up);
    EXPECT_EQ(0.0, b->late60_down);
    EXPECT_GT(b->jitter_up, 0.0) << "a second out of step moves the jitter";

    // Whole streams: the figures of the relay's own state agree.
    const RatEntry *e = entry(alice, "q-lossy");
    ASSERT_TRUE(e);
    EXPECT_EQ(4u, e->streams[0].quality_down.figures().packets);
    EXPECT_EQ(5u, e->streams[0].quality_down.figures().expected);
    EXPECT_EQ(3u, e->streams[0].quality_up.figures().packets);
}

TEST_F(MediaQualityTest, RtcpAndWhatIsNotRtpAreRelayedButNotMeasured)
{
    TunnelClient &c = open(0);
    UdpSocket &far_rtp = far_socket(), &far_rtcp = far_socket();
    Call call = wan_call(c, "q-rtcp", far_rtp, far_rtcp);

    std::string sr = rtp(1, 0);
    sr[1] = char(200);  // an RTCP sender report on the RTP port (rtcp-mux)
    send_down(c, far_rtp, call, {rtp(7, 0), "not rtp at all", sr, rtp(8, 160)});
    // RTCP on the RTCP port: relayed, never looked at.
    ASSERT_TRUE(far_rtcp.send_to(media_ip, uint16_t(call.hras + 1), sr));
    ASSERT_TRUE(media_got(c, 5));
    send_up(c, far_rtp, call, {rtp(1, 0), sr});

    const RatEntry *e = entry(alice, "q-rtcp");
    ASSERT_TRUE(e);
    EXPECT_EQ(2u, e->streams[0].quality_down.figures().packets);
    EXPECT_EQ(1u, e->streams[0].quality_up.figures().packets);
    EXPECT_EQ(0u, e->streams[0].quality_down.figures().lost);
    EXPECT_EQ(3u, stats.get(HRAS_CNT_MEDIA_NOT_RTP)) << "two down, one up on the RTP port; none on RTCP";
    EXPECT_EQ(5u, e->streams[0].packets_down) << "all relayed all the same";
    EXPECT_EQ(2u, e->streams[0].packets_up);
}

TEST_F(MediaQualityTest, TheClockRateComesFromTheSdp)
{
    TunnelClient &c = open(0);
    UdpSocket &far_rtp = far_socket(), &far_rtcp = far_socket();
    Call call = wan_call(c, "q-clock", far_rtp, far_rtcp);
    const RatEntry *e = entry(alice, "q-clock");
    ASSERT_TRUE(e);
    EXPECT_EQ(8000u, e->streams[0].quality_down.clock()) << "PCMU";

    // A re-INVITE to Opus (dynamic type 111, 48 kHz).
    std::string opus = "v=0\r\no=- 1 2 IN IP4 " + far_ip + "\r\ns=-\r\nc=IN IP4 " + far_ip +
                       "\r\nt=0 0\r\nm=audio " + std::to_string(far_rtp.port()) +
                       " RTP/AVP 111 101\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n";
    down_ok(0, alice, alice_ip, request("INVITE", call.d, 2, opus, true));
    EXPECT_EQ(48000u, e->streams[0].quality_down.clock());
    EXPECT_EQ(48000u, e->streams[0].quality_up.clock());
}

TEST_F(MediaQualityTest, CountersAndHistory)
{
    TunnelClient &c = open(0);
    UdpSocket &far_rtp = far_socket(), &far_rtcp = far_socket();
    Call call = wan_call(c, "q-count", far_rtp, far_rtcp);
    send_down(c, far_rtp, call, {rtp(10, 1600), rtp(11, 1760), rtp(13, 2080), rtp(14, 2240)});
    send_up(c, far_rtp, call, {rtp(1, 0), rtp(3, 16000), rtp(2, 8000), rtp(4, 24000)});

    // Once a second every stream keeps a point and reports to the counters:
    // wait for the next second after all of it.
    const size_t sent = points();
    ASSERT_TRUE(drive.until([&] { return points() > sent; }, 3000));
    std::vector<RtpQualityHistory> h;
    auto rows = media->rows(&h);
    ASSERT_EQ(1u, rows.size());
    ASSERT_EQ(1u, h.size());
    EXPECT_EQ(h[0].up.size(), h[0].down.size());
    float most = 0;
    for (auto &p : h[0].down)
        most = std::max(most, p.loss_percent);
    EXPECT_GT(most, 0.0f) << "the second of the gap shows loss";
    for (auto &p : h[0].up)
        EXPECT_EQ(0.0f, p.loss_percent);
    EXPECT_EQ(4u, stats.get(HRAS_CNT_RTP_PACKETS_DOWN));
    EXPECT_EQ(4u, stats.get(HRAS_CNT_RTP_PACKETS_UP));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_RTP_LOST_DOWN));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_RTP_LOST_UP));
    EXPECT_EQ(1u, stats.get(HRAS_CNT_RTP_LATE_60_UP)) << "packet 2";
    EXPECT_EQ(1u, stats.get(HRAS_CNT_RTP_LATE_150_UP));
    EXPECT_EQ(0u, stats.get(HRAS_CNT_RTP_LATE_60_DOWN));

    // What comes after the last second is reported when the call ends.
    send_down(c, far_rtp, call, {rtp(16, 2560)});
    Dialog back = lan_to_wan("q-count");
    back.from = "<sip:alice@acme.example>;tag=t-q-count";
    back.to = "\"Bob\" <sip:bob@wan.example>;tag=b-q-count";
    up_ok(0, alice, request("BYE", back, 2));
    EXPECT_EQ(0u, media->rat().size());
    EXPECT_EQ(5u, stats.get(HRAS_CNT_RTP_PACKETS_DOWN));
    EXPECT_EQ(2u, stats.get(HRAS_CNT_RTP_LOST_DOWN));
}
