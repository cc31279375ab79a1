// The tunnel frame codec (docs/protocol.md): one frame = 8-byte header,
// optional RA header, payload. Used by both HRAC and HRAS.
#pragma once
#include "sofw/ra_header.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sofw {

// lane_media: a media frame numbered for lanes (lanes.hpp, docs/protocol.md "Lanes").
enum class FrameType : uint8_t { sip = 1, media = 2, control = 3, keepalive = 4, lane_media = 5 };

const char *frame_type_name(FrameType t);

constexpr uint8_t frame_version = 1;
constexpr size_t frame_header_size = 8;
constexpr size_t frame_max_payload = 65535;

struct Frame {
    FrameType type = FrameType::keepalive;
    std::optional<RaHeader> ra;
    std::vector<uint8_t> payload;

    std::string payload_string() const { return {payload.begin(), payload.end()}; }
};

// Appends the encoded frame to out. Returns false (out unchanged) when the
// frame breaks the rules: payload too large, RA header missing on SIP/media/lane_media
// or present on keep-alive.
bool encode_frame(const Frame &f, std::vector<uint8_t> &out);
std::vector<uint8_t> encode_frame(const Frame &f);  // throws std::invalid_argument

// A keep-alive ("Time Arrival"): without payload, or with the sender's
// monotonic milliseconds as its 8-byte payload.
Frame keepalive_frame();
Frame keepalive_frame(uint64_t monotonic_ms);

// The whole encoded size (header, RA header, payload) of the frame that
// starts at data, read from its header alone; nullopt while fewer than
// frame_header_size bytes are there. The header is not checked: this is
// for cutting a buffer of frames this process encoded into whole frames.
// Bytes from the wire go through FrameDecoder.
std::optional<size_t> peek_frame_size(const uint8_t *data, size_t len);

enum class DecodeError {
    none,
    bad_version,
    bad_type,
    bad_ra_header,
    oversized,
    missing_ra,     // SIP/media/lane_media frame without RA header
    unexpected_ra,  // keep-alive with RA header
};
const char *decode_error_name(DecodeError e);

// Reassembles frames from a byte stream cut anywhere (HTTP chunks, proxies).
// After an error the stream has lost its framing: the caller must drop the
// channel; feed() and next() keep returning the error.
class FrameDecoder {
public:
    void feed(const uint8_t *data, size_t len);
    void feed(const std::string &s) { feed(reinterpret_cast<const uint8_t *>(s.data()), s.size()); }

    enum class Result { frame, need_more, error };
    Result next(Frame &out);

    DecodeError error() const { return err_; }
    size_t buffered() const { return buf_.size() - pos_; }
    // Bytes held in memory, consumed ones not yet compacted away included.
    size_t retained() const { return buf_.size(); }

private:
    std::vector<uint8_t> buf_;
    size_t pos_ = 0;
    DecodeError err_ = DecodeError::none;
};

}  // namespace sofw
