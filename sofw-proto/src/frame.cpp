#include "sofw/frame.hpp"

#include <stdexcept>

namespace sofw {

namespace {

bool valid_type(uint8_t t) { return t >= 1 && t <= 5; }

bool needs_ra(FrameType t) { return t == FrameType::sip || t == FrameType::media || t == FrameType::lane_media; }

// Header bytes 4..7.
size_t payload_length(const uint8_t *h) { return size_t(h[4]) << 24 | size_t(h[5]) << 16 | size_t(h[6]) << 8 | h[7]; }

// Header-only checks, so a bad stream is refused before its payload arrives.
DecodeError check_header(const uint8_t *h)
{
    if (h[0] != frame_version)
        return DecodeError::bad_version;
    if (!valid_type(h[1]))
        return DecodeError::bad_type;
    const uint8_t ra_len = h[3];
    if (ra_len != 0 && ra_len != RaHeader::v4_size && ra_len != RaHeader::v6_size)
        return DecodeError::bad_ra_header;
    if (payload_length(h) > frame_max_payload)
        return DecodeError::oversized;
    const auto type = static_cast<FrameType>(h[1]);
    if (needs_ra(type) && ra_len == 0)
        return DecodeError::missing_ra;
    if (type == FrameType::keepalive && ra_len != 0)
        return DecodeError::unexpected_ra;
    return DecodeError::none;
}

}  // namespace

const char *frame_type_name(FrameType t)
{
    switch (t) {
    case FrameType::sip: return "sip";
    case FrameType::media: return "media";
    case FrameType::control: return "control";
    case FrameType::keepalive: return "keepalive";
    case FrameType::lane_media: return "lane_media";
    }
    return "unknown";
}

const char *decode_error_name(DecodeError e)
{
    switch (e) {
    case DecodeError::none: return "none";
    case DecodeError::bad_version: return "bad_version";
    case DecodeError::bad_type: return "bad_type";
    case DecodeError::bad_ra_header: return "bad_ra_header";
    case DecodeError::oversized: return "oversized";
    case DecodeError::missing_ra: return "missing_ra";
    case DecodeError::unexpected_ra: return "unexpected_ra";
    }
    return "unknown";
}

bool encode_frame(const Frame &f, std::vector<uint8_t> &out)
{
    const auto t = static_cast<uint8_t>(f.type);
    if (!valid_type(t) || f.payload.size() > frame_max_payload)
        return false;
    if (needs_ra(f.type) && !f.ra)
        return false;
    if (f.type == FrameType::keepalive && f.ra)
        return false;
    // An RA header the peer could not decode would kill the whole channel.
    if (f.ra && !f.ra->valid())
        return false;

    const size_t ra_len = f.ra ? f.ra->encoded_size() : 0;
    const auto len = static_cast<uint32_t>(f.payload.size());
    const size_t start = out.size();
    out.resize(start + frame_header_size + ra_len);
    uint8_t *h = out.data() + start;
    h[0] = frame_version;
    h[1] = t;
    h[2] = 0;  // flags: reserved
    h[3] = static_cast<uint8_t>(ra_len);
    h[4] = static_cast<uint8_t>(len >> 24);
    h[5] = static_cast<uint8_t>(len >> 16);
    h[6] = static_cast<uint8_t>(len >> 8);
    h[7] = static_cast<uint8_t>(len);
    if (f.ra)
        f.ra->encode(h + frame_header_size);
    out.insert(out.end(), f.payload.begin(), f.payload.end());
    return true;
}

std::vector<uint8_t> encode_frame(const Frame &f)
{
    std::vector<uint8_t> out;
    if (!encode_frame(f, out))
        throw std::invalid_argument("sofw: frame breaks the encoding rules");
    return out;
}

Frame keepalive_frame()
{
    Frame f;
    f.type = FrameType::keepalive;
    return f;
}

Frame keepalive_frame(uint64_t monotonic_ms)
{
    Frame f = keepalive_frame();
    f.payload.resize(8);
    for (int i = 7; i >= 0; --i, monotonic_ms >>= 8)
        f.payload[size_t(i)] = static_cast<uint8_t>(monotonic_ms & 0xff);
    return f;
}

std::optional<size_t> peek_frame_size(const uint8_t *data, size_t len)
{
    if (len < frame_header_size)
        return std::nullopt;
    return frame_header_size + data[3] + payload_length(data);
}

void FrameDecoder::feed(const uint8_t *data, size_t len)
{
    // After an error nothing will be decoded again; do not hoard bytes.
    if (err_ != DecodeError::none || len == 0)
        return;
    buf_.insert(buf_.end(), data, data + len);
}

FrameDecoder::Result FrameDecoder::next(Frame &out)
{
    if (err_ != DecodeError::none)
        return Result::error;
    const size_t avail = buf_.size() - pos_;
    if (avail < frame_header_size)
        return Result::need_more;

    const uint8_t *h = buf_.data() + pos_;
    err_ = check_header(h);
    std::optional<RaHeader> ra;
    const size_t ra_len = h[3];
    if (err_ == DecodeError::none && ra_len != 0) {
        if (avail < frame_header_size + ra_len)
            return Result::need_more;
        ra = RaHeader::decode(h + frame_header_size, ra_len);
        if (!ra)
            err_ = DecodeError::bad_ra_header;
    }
    if (err_ != DecodeError::none) {
        buf_.clear();
        buf_.shrink_to_fit();
        pos_ = 0;
        return Result::error;
    }

    const size_t len = payload_length(h);
    const size_t total = frame_header_size + ra_len + len;
    if (avail < total)
        return Result::need_more;

    const uint8_t *p = h + frame_header_size + ra_len;
    out.type = static_cast<FrameType>(h[1]);
    out.ra = ra;
    out.payload.assign(p, p + len);
    pos_ += total;

    // Compact so a channel that lives for days does not keep every byte it
    // ever received; erasing only past half the buffer keeps this amortised.
    if (pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
    } else if (pos_ > buf_.size() / 2) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
        pos_ = 0;
    }
    return Result::frame;
}

}  // namespace sofw
