#include "rtp_quality.hpp"

#include <cmath>

namespace sofw::hras {

namespace {

// RFC 3550 A.1: how far a sequence number may jump ahead and still be the
// same stream, and how far back a packet may come and be a late one.
constexpr uint32_t max_dropout = 3000;
constexpr uint32_t max_misorder = 100;
constexpr uint32_t seq_mod = 1u << 16;

}  // namespace

bool parse_rtp_header(const uint8_t *data, size_t len, RtpHeader &out)
{
    if (!data || len < 12)
        return false;
    const unsigned b0 = data[0], b1 = data[1];
    if ((b0 >> 6) != 2)
        return false;
    const uint8_t pt = uint8_t(b1 & 0x7f);
    if (pt >= 64 && pt <= 95)  // RTCP (SR 200 = 72 with the marker bit, ...)
        return false;
    size_t header = 12 + 4 * size_t(b0 & 0x0f);  // the CSRC list
    if (header > len)
        return false;
    if (b0 & 0x10) {  // a header extension: 4 bytes, then its length in words
        if (header + 4 > len)
            return false;
        header += 4 + 4 * (size_t(data[header + 2]) << 8 | data[header + 3]);
        if (header > len)
            return false;
    }
    if (b0 & 0x20) {  // padding: its count in the last byte, itself included
        const size_t pad = data[len - 1];
        if (pad == 0 || header + pad > len)
            return false;
    }
    out.payload_type = pt;
    out.seq = uint16_t(data[2] << 8 | data[3]);
    out.timestamp = uint32_t(data[4]) << 24 | uint32_t(data[5]) << 16 | uint32_t(data[6]) << 8 | data[7];
    out.ssrc = uint32_t(data[8]) << 24 | uint32_t(data[9]) << 16 | uint32_t(data[10]) << 8 | data[11];
    return true;
}

double RtpQualityFigures::loss_percent() const { return expected ? 100.0 * double(lost) / double(expected) : 0.0; }

double RtpQualityFigures::late_percent(int k) const
{
    return packets && (k == 0 || k == 1) ? 100.0 * double(late[k]) / double(packets) : 0.0;
}

void RtpQuality::set_clock(uint32_t hz)
{
    if (hz == 0)
        hz = default_clock_hz;
    if (hz == clock_hz_)
        return;
    clock_hz_ = hz;
    reset_timing();
}

bool RtpQuality::on_packet(const uint8_t *data, size_t len, int64_t arrival_us)
{
    RtpHeader h;
    if (!parse_rtp_header(data, len, h))
        return false;
    on_header(h, arrival_us);
    return true;
}

void RtpQuality::init_seq(uint16_t seq)
{
    base_seq_ = seq;
    max_seq_ = seq;
    bad_seq_ = seq_mod + 1;  // no sequence number
    cycles_ = 0;
    received_ = 0;
}

bool RtpQuality::update_seq(uint16_t seq)
{
    const uint16_t udelta = uint16_t(seq - max_seq_);
    if (udelta < max_dropout) {  // in order, perhaps with a gap
        if (seq < max_seq_)
            cycles_ += seq_mod;  // wrapped
        max_seq_ = seq;
    } else if (udelta <= seq_mod - max_misorder) {  // a big jump
        if (seq != bad_seq_) {
            // One packet far off is ignored; two in sequence there mean the
            // sender restarted without changing its SSRC.
            bad_seq_ = (uint32_t(seq) + 1) & (seq_mod - 1);
            return false;
        }
        retire_source();
        init_seq(seq);
        have_source_ = true;
        reset_timing();
    }
    // else a duplicate or a packet that comes late: received, the
    // highest sequence number stays
    received_++;
    return true;
}

void RtpQuality::retire_source()
{
    if (!have_source_)
        return;
    done_expected_ = expected_total();
    done_received_ += received_;
    received_ = 0;
    have_source_ = false;
}

uint64_t RtpQuality::expected_total() const
{
    if (!have_source_)
        return done_expected_;
    return done_expected_ + (cycles_ + max_seq_ + 1) - base_seq_;
}

void RtpQuality::reset_timing() { have_transit_ = false; }

void RtpQuality::on_header(const RtpHeader &h, int64_t arrival_us)
{
    packets_++;
    if (!have_source_ || h.ssrc != ssrc_) {  // the first packet, or a new source
        retire_source();
        ssrc_ = h.ssrc;
        have_source_ = true;
        init_seq(h.seq);
        received_ = 1;
        reset_timing();
    } else if (!update_seq(h.seq)) {
        return;  // far off its stream: no timing either
    }

    // The timestamp unwrapped against the previous packet's (it may go back
    // a little: reordering), then as time: arrival minus send time, plus
    // an offset that stays the same for the stream.
    if (have_transit_)
        ext_ts_ += int32_t(h.timestamp - uint32_t(ext_ts_));
    else
        ext_ts_ = h.timestamp;
    const double transit = double(arrival_us) - double(ext_ts_) * 1e6 / double(clock_hz_);
    if (!have_transit_) {
        have_transit_ = true;
        last_transit_us_ = min_transit_us_ = transit;
        return;
    }
    // RFC 3550 A.8: J += (|D| - J) / 16, here in microseconds.
    jitter_us_ += (std::fabs(transit - last_transit_us_) - jitter_us_) / 16.0;
    last_transit_us_ = transit;
    if (transit < min_transit_us_)
        min_transit_us_ = transit;
    const double behind = transit - min_transit_us_;
    for (int k = 0; k < 2; k++)
        if (behind > double(late_ms[k]) * 1000.0)
            late_[k]++;
}

void RtpQuality::tick()
{
    // RFC 3550 A.3: the loss of this interval alone.
    const uint64_t expected = expected_total(), received = received_total();
    const int64_t expected_interval = int64_t(expected - expected_prior_);
    const int64_t lost_interval = expected_interval - int64_t(received - received_prior_);
    expected_prior_ = expected;
    received_prior_ = received;
    Point p;
    if (expected_interval > 0 && lost_interval > 0)
        p.loss_percent = float(100.0 * double(lost_interval) / double(expected_interval));
    p.jitter_ms = float(jitter_us_ / 1000.0);
    if (history_count_ < history_seconds) {
        history_[(history_head_ + history_count_) % history_seconds] = p;
        history_count_++;
    } else {
        history_[history_head_] = p;
        history_head_ = (history_head_ + 1) % history_seconds;
    }
}

RtpQuality::Point RtpQuality::history(size_t i) const
{
    return i < history_count_ ? history_[(history_head_ + i) % history_seconds] : Point{};
}

std::vector<RtpQuality::Point> RtpQuality::history_points() const
{
    std::vector<Point> v(history_count_);
    for (size_t i = 0; i < history_count_; i++)
        v[i] = history(i);
    return v;
}

RtpQualityFigures RtpQuality::figures() const
{
    RtpQualityFigures f;
    f.packets = packets_;
    f.expected = expected_total();
    const uint64_t received = received_total();
    f.lost = f.expected > received ? f.expected - received : 0;
    f.late[0] = late_[0];
    f.late[1] = late_[1];
    f.jitter_ms = jitter_us_ / 1000.0;
    return f;
}

RtpQualityCounts RtpQuality::take_unreported()
{
    const RtpQualityFigures f = figures();
    RtpQualityCounts d;
    d.packets = f.packets - reported_.packets;
    d.lost = f.lost > reported_.lost ? f.lost - reported_.lost : 0;
    for (int k = 0; k < 2; k++)
        d.late[k] = f.late[k] - reported_.late[k];
    reported_.packets = f.packets;
    reported_.lost += d.lost;
    reported_.late[0] = f.late[0];
    reported_.late[1] = f.late[1];
    return d;
}

}  // namespace sofw::hras
