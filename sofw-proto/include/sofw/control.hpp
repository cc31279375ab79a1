// Control frames (docs/protocol.md "Types", control): HRAS tells HRAC which
// LAN media ports to open and close, HRAC reports the ones it could not
// open, and HRAS confirms that a streaming session's upstream gets through
// (STREAM_OK, port 0); with lanes, both sides acknowledge sequenced media
// (LANE_ACK, lanes.hpp). Payload: op (1 byte), reserved (1 byte, 0), port
// (2 bytes, big-endian), then op-specific bytes (LANE_ACK's counts).
#pragma once
#include "sofw/frame.hpp"
#include "sofw/ra_header.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace sofw {

enum class ControlOp : uint8_t { open_media = 1, close_media = 2, media_failed = 3, stream_ok = 4, lane_ack = 5 };

const char *control_op_name(ControlOp op);  // "OPEN_MEDIA", ...

constexpr size_t control_size = 4;

struct Control {
    ControlOp op = ControlOp::open_media;
    uint16_t port = 0;  // the RTP port P; RTCP is P+1 (LANE_ACK: the number of lanes)
};

std::vector<uint8_t> encode_control(const Control &c);  // control_size bytes
// nullopt if n < control_size, the op is unknown, or OPEN/CLOSE name an odd
// port (RTP ports are even, so an odd one means a confused sender). The
// reserved byte and bytes past the first four are ignored, so later ops may
// add fields without breaking this decoder. LANE_ACK decodes here with
// its lane count as port; decode_lane_ack (lanes.hpp) checks the rest.
std::optional<Control> decode_control(const uint8_t *p, size_t n);

// A control frame; ra carries the phone's media endpoint for OPEN_MEDIA.
Frame make_control_frame(const Control &c, std::optional<RaHeader> ra = std::nullopt);
// True for HRAS's answer to the streaming probe (control op STREAM_OK).
bool is_stream_ok(const Frame &f);

}  // namespace sofw
