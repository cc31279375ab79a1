// Control frames: the payload decoder (decode_control) and a whole control
// frame as it arrives (frame decoder, then is_stream_ok and decode_control
// on its payload, as both halves do). What decodes must encode back to the
// same op and port.
#include "fuzz_check.hpp"
#include "sofw/control.hpp"

using namespace sofw;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (auto c = decode_control(data, size)) {
        FUZZ_CHECK(size >= control_size);
        auto bytes = encode_control(*c);
        FUZZ_CHECK(bytes.size() == control_size);
        auto again = decode_control(bytes.data(), bytes.size());
        FUZZ_CHECK(again && again->op == c->op && again->port == c->port);
        FUZZ_CHECK(control_op_name(c->op) != nullptr);
        Frame f = make_control_frame(*c);
        FUZZ_CHECK(f.type == FrameType::control);
        FUZZ_CHECK(is_stream_ok(f) == (c->op == ControlOp::stream_ok));
    }

    FrameDecoder d;
    d.feed(data, size);
    Frame f;
    while (d.next(f) == FrameDecoder::Result::frame) {
        (void)is_stream_ok(f);
        if (f.type == FrameType::control)
            (void)decode_control(f.payload.data(), f.payload.size());
    }
    return 0;
}
