// Coalescing down the tunnel (tunnel_coalesce_ms, TunnelConfig::coalesce_ms):
// media for a site waits up to the window for more media to share its
// record; SIP wakes the channel at once and takes the waiting media along;
// 0 writes each frame at once. Seen through the records the hand-made
// client opens (tunnel_client.hpp RecordLog), on a session without lanes
// and on one with three.
//
// Whether the window had passed is read from the monotonic clock, never
// asserted on: an attempt the scheduler stretched past the window proves
// nothing either way and is made again; the records of an attempt that
// stayed inside it are what the test judges. Only a server that never
// once manages an attempt inside the window (SIP held back as long as
// media) fails on that count.
#include "core/tunnel_server.hpp"

#include "published_hooks.hpp"
#include "tunnel_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

using namespace sofw;
using namespace sofw::hras;
using namespace sofw::test;

namespace {

constexpr int attempts = 5;  // for a machine busy enough to stretch a 20 ms window

Frame media_frame(uint8_t attempt, uint8_t i)
{
    Frame f;
    f.type = FrameType::media;
    f.ra = RaHeader::parse("192.168.1.11:4000").value();
    f.payload = {0x80, attempt, i};
    return f;
}

Frame sip_frame(uint8_t attempt)
{
    Frame f;
    f.type = FrameType::sip;
    f.ra = RaHeader::parse("192.168.1.10:5060").value();
    const std::string sip =
        "MESSAGE sip:x SIP/2.0\r\nCall-ID: coalesce-" + std::to_string(attempt) + "\r\nContent-Length: 0\r\n\r\n";
    f.payload.assign(sip.begin(), sip.end());
    return f;
}

// The RTP packet a media frame carries, plain or sequenced (mseq first).
std::optional<std::vector<uint8_t>> packet_of(const Frame &f)
{
    if (f.type == FrameType::media)
        return f.payload;
    if (f.type == FrameType::lane_media && f.payload.size() >= media_seq_size)
        return std::vector<uint8_t>(f.payload.begin() + media_seq_size, f.payload.end());
    return std::nullopt;
}

// Media of this attempt (sent with media_frame(attempt, ...)).
bool is_media_of(const Frame &f, uint8_t attempt)
{
    auto p = packet_of(f);
    return p && p->size() == 3 && (*p)[0] == 0x80 && (*p)[1] == attempt;
}

bool is_sip_of(const Frame &f, uint8_t attempt)
{
    const Frame mine = sip_frame(attempt);
    return f.type == FrameType::sip && f.payload == mine.payload;
}

struct Recorder : TunnelListener {
    void on_frame(size_t, const Frame &) override {}
    void on_session_change(size_t, bool) override {}
    unsigned long phone_count(size_t) const override { return 0; }
};

// One record that came down (a copy of its frames), and on which lane.
struct Record {
    unsigned lane;
    std::vector<Frame> frames;
    size_t count(const std::function<bool(const Frame &)> &which) const
    {
        size_t n = 0;
        for (const Frame &f : frames)
            n += which(f);
        return n;
    }
};

class TunnelCoalesceTest : public ::testing::TestWithParam<unsigned> {
protected:
    unsigned lanes() const { return GetParam(); }  // asked for by the client; 0: none

    void start(unsigned coalesce_ms)
    {
        ASSERT_EQ("", sites.add("name=acme;secret=" + acme_secret));
        ASSERT_EQ("", sites.assign_addresses());
        cfg.listen = "127.0.0.1:0";
        cfg.auth_window_s = 30;
        cfg.coalesce_ms = coalesce_ms;
        // Keep-alives (after 15 s of quiet) stay out of the records counted.
        cfg.keepalive_s = 15;
        g_published = {};
        stats.set_hooks(&test_hooks);
        server = std::make_unique<TunnelServer>(loop, sites, cfg, stats);
        server->set_listener(&rec);
        ASSERT_EQ("", server->start());
        c = std::make_unique<TunnelClient>(server->port(), "acme", acme_secret);
        drive.watch(c.get());
        c->lanes_asked = lanes();
        c->open();
        ASSERT_TRUE(drive.until([&] { return server->is_up(0) && c->down_ok(); }, prompt_ms));
        if (lanes() > 1) {
            ASSERT_TRUE(drive.until([&] { return c->lanes_ok(); }, prompt_ms)) << c->lane_count() << " lanes given";
            ASSERT_EQ(lanes(), c->lane_count());
        }
    }
    void TearDown() override
    {
        if (server)
            server->set_listener(nullptr);
        c.reset();
        server.reset();
    }

    // How many records each lane has brought so far.
    std::vector<size_t> mark() const
    {
        std::vector<size_t> m;
        for (unsigned lane = 0; lane < c->lane_count(); lane++)
            m.push_back(c->records_of(lane).size());
        return m;
    }
    // The records that came after mark m, lane by lane, each lane's in order.
    std::vector<Record> since(const std::vector<size_t> &m) const
    {
        std::vector<Record> out;
        for (unsigned lane = 0; lane < c->lane_count(); lane++) {
            const auto &r = c->records_of(lane);
            for (size_t i = m.at(lane); i < r.size(); i++)
                out.push_back({lane, r[i]});
        }
        return out;
    }
    size_t count(const std::vector<Record> &records, const std::function<bool(const Frame &)> &which) const
    {
        size_t n = 0;
        for (const Record &r : records)
            n += r.count(which);
        return n;
    }
    // The records among these holding any frame that `which` picks.
    std::vector<Record> holding(const std::vector<Record> &records,
                                const std::function<bool(const Frame &)> &which) const
    {
        std::vector<Record> out;
        for (const Record &r : records)
            if (r.count(which))
                out.push_back(r);
        return out;
    }
    // One pass of the server's loop, then the client reads what came.
    void pass()
    {
        loop.run_once(0);
        c->poll();
    }
    // Media is flowing: coalescing waits only for media that follows other
    // media within the window (a lone packet goes at once). One frame of
    // another attempt number goes down first, and is in before the test's.
    void prime(uint8_t a)
    {
        const uint8_t other = uint8_t(a + 100);
        const auto m = mark();
        ASSERT_TRUE(server->send(0, media_frame(other, 0)));
        ASSERT_TRUE(arrived(other, 1, m));
    }
    // Until n media frames of attempt a came down, once each (lanes send a
    // stalled lane's media again, which a late attempt could meet).
    bool arrived(uint8_t a, size_t n, const std::vector<size_t> &m)
    {
        return drive.until(
            [&] {
                std::vector<bool> seen(n, false);
                for (const Record &r : since(m))
                    for (const Frame &f : r.frames)
                        if (is_media_of(f, a) && (*packet_of(f))[2] < n)
                            seen[(*packet_of(f))[2]] = true;
                return std::find(seen.begin(), seen.end(), false) == seen.end();
            },
            prompt_ms);
    }

    EventLoop loop;
    SiteTable sites;
    Stats stats;
    TunnelConfig cfg;
    Recorder rec;
    std::unique_ptr<TunnelServer> server;
    Driver drive{loop};
    std::unique_ptr<TunnelClient> c;
};

std::string lanes_name(const ::testing::TestParamInfo<unsigned> &info)
{
    return info.param > 1 ? std::to_string(info.param) + "_lanes" : "no_lanes";
}

INSTANTIATE_TEST_SUITE_P(Sessions, TunnelCoalesceTest, ::testing::Values(0u, 3u), lanes_name);

}  // namespace

TEST_P(TunnelCoalesceTest, MediaSentInOnePassGoesDownInOneRecord)
{
    start(5);
    const auto m = mark();
    const uint8_t a = 1;
    for (uint8_t i = 0; i < 4; i++)
        ASSERT_TRUE(server->send(0, media_frame(a, i)));
    ASSERT_TRUE(arrived(a, 4, m));
    const auto with_media = holding(since(m), [&](const Frame &f) { return is_media_of(f, a); });
    ASSERT_EQ(1u, with_media.size()) << "one record for the four";
    EXPECT_EQ(4u, with_media[0].count([&](const Frame &f) { return is_media_of(f, a); }));
    const FrameType expected = lanes() > 1 ? FrameType::lane_media : FrameType::media;
    for (const Frame &f : with_media[0].frames) {
        EXPECT_EQ(expected, f.type) << "sequenced on a session with lanes, plain without";
    }
}

// The same media, one frame per pass of the loop: inside a 20 ms window
// they share one record; with coalescing off (below) each has its own.
TEST_P(TunnelCoalesceTest, MediaFromSeparatePassesWithinTheWindowSharesOneRecord)
{
    start(20);
    const size_t n = 4;
    int inside = 0;
    for (uint8_t a = 1; a <= attempts && !inside; a++) {
        const int64_t t0 = now_ms();
        prime(a);
        const auto m = mark();
        for (uint8_t i = 0; i < n; i++) {
            ASSERT_TRUE(server->send(0, media_frame(a, i)));
            pass();
        }
        // The coalescing timer, started at or after t0, was not yet due at
        // any pass before the last frame went in.
        const bool in_window = now_ms() - t0 < int64_t(cfg.coalesce_ms);
        ASSERT_TRUE(arrived(a, n, m)) << "attempt " << int(a);
        if (!in_window)
            continue;
        inside++;
        const auto media = holding(since(m), [&](const Frame &f) { return is_media_of(f, a); });
        ASSERT_FALSE(media.empty());
        // The first record with any of them holds them all (a copy sent
        // again later on another lane would be a record of its own).
        EXPECT_EQ(n, media[0].count([&](const Frame &f) { return is_media_of(f, a); }))
            << "the first record held " << media[0].count([&](const Frame &f) { return is_media_of(f, a); })
            << " of the " << n << " frames sent within the window";
        if (lanes() <= 1) {
            EXPECT_EQ(1u, media.size());
        }
    }
    EXPECT_EQ(1, inside) << "no attempt kept within the window";
}

// SIP sent a pass after media: the media had not gone out, and both come
// down in the one record the SIP frame's wake-up wrote, before the window
// would have let the media go (lane 0: media starts there, SIP stays there).
TEST_P(TunnelCoalesceTest, SipWakesTheChannelAtOnceAndTakesTheWaitingMediaAlong)
{
    start(20);
    const size_t n = 3;
    int inside = 0;
    for (uint8_t a = 1; a <= attempts && !inside; a++) {
        const int64_t t0 = now_ms();
        prime(a);
        const auto m = mark();
        for (uint8_t i = 0; i < n; i++)
            ASSERT_TRUE(server->send(0, media_frame(a, i)));
        pass();
        pass();
        const auto before_sip = since(m);
        ASSERT_TRUE(server->send(0, sip_frame(a)));
        // Passes of the loop until the SIP frame is in, and no longer.
        ASSERT_TRUE(drive.until([&] { return count(since(m), [&](const Frame &f) { return is_sip_of(f, a); }) > 0; },
                                prompt_ms));
        const bool in_window = now_ms() - t0 < int64_t(cfg.coalesce_ms);
        ASSERT_TRUE(arrived(a, n, m)) << "attempt " << int(a);
        if (!in_window)
            continue;
        inside++;
        EXPECT_EQ(0u, count(before_sip, [&](const Frame &f) { return is_media_of(f, a); }))
            << "media went before its window ended, with nothing to wake it";
        const auto with_sip = holding(since(m), [&](const Frame &f) { return is_sip_of(f, a); });
        ASSERT_EQ(1u, with_sip.size());
        EXPECT_EQ(0u, with_sip[0].lane);
        EXPECT_EQ(n, with_sip[0].count([&](const Frame &f) { return is_media_of(f, a); }))
            << "the SIP frame's record carries the media that waited";
        ASSERT_FALSE(with_sip[0].frames.empty());
        EXPECT_TRUE(is_sip_of(with_sip[0].frames.back(), a)) << "media first, as queued";
    }
    EXPECT_EQ(1, inside) << "the SIP frame never came down within the media's window: held back?";
}

TEST_P(TunnelCoalesceTest, WithoutCoalescingEachPassWritesItsOwnRecord)
{
    start(0);
    const auto m = mark();
    const uint8_t a = 1;
    const size_t n = 4;
    for (uint8_t i = 0; i < n; i++) {
        ASSERT_TRUE(server->send(0, media_frame(a, i)));
        pass();
    }
    ASSERT_TRUE(arrived(a, n, m));
    const auto media = holding(since(m), [&](const Frame &f) { return is_media_of(f, a); });
    ASSERT_GE(media.size(), n);
    for (size_t i = 0; i < n; i++)
        EXPECT_EQ(1u, media[i].count([&](const Frame &f) { return is_media_of(f, a); })) << "record " << i;
}

TEST_P(TunnelCoalesceTest, WithoutCoalescingMediaSentInOnePassStillSharesItsRecord)
{
    start(0);
    const auto m = mark();
    const uint8_t a = 1;
    for (uint8_t i = 0; i < 3; i++)
        ASSERT_TRUE(server->send(0, media_frame(a, i)));
    ASSERT_TRUE(server->send(0, sip_frame(a)));
    ASSERT_TRUE(arrived(a, 3, m));
    ASSERT_TRUE(
        drive.until([&] { return count(since(m), [&](const Frame &f) { return is_sip_of(f, a); }) > 0; }, prompt_ms));
    const auto records = since(m);
    ASSERT_EQ(1u, records.size()) << "what waits for the next pass goes in one write";
    EXPECT_EQ(4u, records[0].frames.size());
}
