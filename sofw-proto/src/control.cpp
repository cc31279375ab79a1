#include "sofw/control.hpp"

namespace sofw {

const char *control_op_name(ControlOp op)
{
    switch (op) {
    case ControlOp::open_media: return "OPEN_MEDIA";
    case ControlOp::close_media: return "CLOSE_MEDIA";
    case ControlOp::media_failed: return "MEDIA_FAILED";
    case ControlOp::stream_ok: return "STREAM_OK";
    case ControlOp::lane_ack: return "LANE_ACK";
    }
    return "unknown";
}

std::vector<uint8_t> encode_control(const Control &c)
{
    return {static_cast<uint8_t>(c.op), 0, static_cast<uint8_t>(c.port >> 8), static_cast<uint8_t>(c.port)};
}

std::optional<Control> decode_control(const uint8_t *p, size_t n)
{
    if (!p || n < control_size)
        return std::nullopt;
    Control c;
    c.port = static_cast<uint16_t>(p[2] << 8 | p[3]);
    switch (p[0]) {
    case static_cast<uint8_t>(ControlOp::open_media):
    case static_cast<uint8_t>(ControlOp::close_media):
        if (c.port % 2 != 0)
            return std::nullopt;
        break;
    case static_cast<uint8_t>(ControlOp::media_failed):
        // Echoes whatever port could not be opened, odd ones included.
        break;
    case static_cast<uint8_t>(ControlOp::stream_ok):
        // Port 0 on the wire; a receiver ignores whatever is there.
        break;
    case static_cast<uint8_t>(ControlOp::lane_ack):
        // The port field is the lane count, odd or even; decode_lane_ack
        // checks it against the counts that follow.
        break;
    default: return std::nullopt;
    }
    c.op = static_cast<ControlOp>(p[0]);
    return c;
}

Frame make_control_frame(const Control &c, std::optional<RaHeader> ra)
{
    Frame f;
    f.type = FrameType::control;
    f.ra = ra;
    f.payload = encode_control(c);
    return f;
}

bool is_stream_ok(const Frame &f)
{
    if (f.type != FrameType::control)
        return false;
    const auto c = decode_control(f.payload.data(), f.payload.size());
    return c && c->op == ControlOp::stream_ok;
}

}  // namespace sofw
