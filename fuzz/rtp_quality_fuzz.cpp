// The media quality figures (core/rtp_quality.hpp) fed what a far side or
// a phone can send: any bytes as packets on an RTP port, at any times, with
// ticks of the per-second history in between. Input: one byte choosing
// the clock (SDP rtpmap), then records of
//   flags (bit 0: a second is over before this packet; bit 1: the clock
//   changes to the next byte's choice), the arrival 0..6.5 s after the
//   previous one (2 bytes, 100 us units), the packet's length (1 byte),
//   its bytes (cut by the end of the input).
// Whatever comes, the parser agrees with the bytes, and the figures stay
// figures: counts that add up, percentages within 0..100, a finite jitter
// of 0 or more, a history of at most 60 points of the same kind, counter
// increments that sum to the figures.
#include "core/rtp_quality.hpp"
#include "fuzz_check.hpp"

#include <cmath>
#include <cstring>

using namespace sofw::hras;

namespace {

uint32_t clock_of(uint8_t b)
{
    static const uint32_t clocks[] = {0, 8000, 16000, 48000, 90000, 1, 4000000000u};
    return clocks[b % (sizeof clocks / sizeof clocks[0])];
}

bool percent(double v) { return std::isfinite(v) && v >= 0 && v <= 100; }

void check_figures(const RtpQuality &q)
{
    const RtpQualityFigures f = q.figures();
    FUZZ_CHECK(f.lost <= f.expected);
    FUZZ_CHECK(f.late[1] <= f.late[0] && f.late[0] <= f.packets);
    FUZZ_CHECK(percent(f.loss_percent()));
    FUZZ_CHECK(percent(f.late_percent(0)) && percent(f.late_percent(1)));
    FUZZ_CHECK(std::isfinite(f.jitter_ms) && f.jitter_ms >= 0);
    FUZZ_CHECK(q.history_size() <= RtpQuality::history_seconds);
    for (size_t i = 0; i < q.history_size(); i++) {
        const RtpQuality::Point p = q.history(i);
        FUZZ_CHECK(percent(p.loss_percent));
        FUZZ_CHECK(std::isfinite(p.jitter_ms) && p.jitter_ms >= 0);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzedDataProvider in(data, size);
    RtpQuality q;
    q.set_clock(clock_of(in.ConsumeIntegral<uint8_t>()));
    int64_t now_us = 1000000;
    uint64_t packets = 0;
    RtpQualityCounts sum;
    while (in.remaining_bytes() > 0) {
        const uint8_t flags = in.ConsumeIntegral<uint8_t>();
        if (flags & 1)
            q.tick();
        if (flags & 2)
            q.set_clock(clock_of(in.ConsumeIntegral<uint8_t>()));
        now_us += int64_t(in.ConsumeIntegral<uint16_t>()) * 100;
        const std::vector<uint8_t> packet = in.ConsumeBytes<uint8_t>(in.ConsumeIntegral<uint8_t>());

        RtpHeader h;
        const bool is_rtp = parse_rtp_header(packet.data(), packet.size(), h);
        if (is_rtp) {
            FUZZ_CHECK(packet.size() >= 12 && (packet[0] >> 6) == 2);
            FUZZ_CHECK(h.payload_type == (packet[1] & 0x7f) && (h.payload_type < 64 || h.payload_type > 95));
            FUZZ_CHECK(h.seq == uint16_t(packet[2] << 8 | packet[3]));
        }
        FUZZ_CHECK(q.on_packet(packet.data(), packet.size(), now_us) == is_rtp);
        packets += is_rtp ? 1 : 0;
        FUZZ_CHECK(q.figures().packets == packets);
        if (flags & 4) {
            const RtpQualityCounts d = q.take_unreported();
            sum.packets += d.packets;
            sum.lost += d.lost;
            sum.late[0] += d.late[0];
            sum.late[1] += d.late[1];
            FUZZ_CHECK(sum.packets == packets);
            FUZZ_CHECK(sum.lost >= q.figures().lost);  // lost as a counter never shrinks
            FUZZ_CHECK(sum.late[0] == q.figures().late[0] && sum.late[1] == q.figures().late[1]);
        }
        check_figures(q);
    }
    q.tick();
    check_figures(q);
    const auto points = q.history_points();
    FUZZ_CHECK(points.size() == q.history_size());
    return 0;
}
