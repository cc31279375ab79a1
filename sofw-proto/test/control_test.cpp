// Control codec: the OPEN_MEDIA vector, round trips of every op, and the
// payloads a receiver must refuse.
#include "sofw/control.hpp"

#include <gtest/gtest.h>

using namespace sofw;

namespace {

std::optional<Control> decode(const std::vector<uint8_t> &bytes) { return decode_control(bytes.data(), bytes.size()); }

}  // namespace

TEST(ControlVectors, OpenMedia20000)
{
    const std::vector<uint8_t> expected = {0x01, 0x00, 0x4e, 0x20};
    EXPECT_EQ(encode_control({ControlOp::open_media, 20000}), expected);
    const auto c = decode(expected);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->op, ControlOp::open_media);
    EXPECT_EQ(c->port, 20000);
}

TEST(ControlVectors, StreamOk)
{
    const std::vector<uint8_t> expected = {0x04, 0x00, 0x00, 0x00};
    EXPECT_EQ(encode_control({ControlOp::stream_ok, 0}), expected);
    const auto c = decode(expected);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->op, ControlOp::stream_ok);
    EXPECT_EQ(c->port, 0);
    // As a frame: no RA header, the 4-byte payload.
    const std::vector<uint8_t> frame = {0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x04, 0x00, 0x00, 0x00};
    EXPECT_EQ(encode_frame(make_control_frame({ControlOp::stream_ok, 0})), frame);
}

TEST(ControlCodec, RoundTripsEveryOp)
{
    const std::vector<Control> controls = {
        {ControlOp::open_media, 0},       {ControlOp::open_media, 65534},   {ControlOp::close_media, 20000},
        {ControlOp::close_media, 29998},  {ControlOp::media_failed, 20000}, {ControlOp::media_failed, 20001},
        {ControlOp::media_failed, 65535}, {ControlOp::stream_ok, 0},
    };
    for (const auto &in : controls) {
        const auto bytes = encode_control(in);
        ASSERT_EQ(bytes.size(), control_size);
        EXPECT_EQ(bytes[1], 0) << "reserved byte";
        const auto out = decode(bytes);
        ASSERT_TRUE(out) << control_op_name(in.op) << " " << in.port;
        EXPECT_EQ(out->op, in.op);
        EXPECT_EQ(out->port, in.port);
    }
}

TEST(ControlCodec, RefusesShortPayloads)
{
    EXPECT_FALSE(decode_control(nullptr, 0));
    EXPECT_FALSE(decode({}));
    EXPECT_FALSE(decode({0x01}));
    EXPECT_FALSE(decode({0x01, 0x00, 0x4e}));
}

TEST(ControlCodec, RefusesUnknownOps)
{
    for (uint8_t op : {0x00, 0x06, 0x7f, 0xff})
        EXPECT_FALSE(decode({op, 0x00, 0x4e, 0x20})) << int(op);
}

TEST(ControlCodec, RefusesOddPortOnOpenAndClose)
{
    EXPECT_FALSE(decode({0x01, 0x00, 0x4e, 0x21}));
    EXPECT_FALSE(decode({0x02, 0x00, 0x4e, 0x21}));
    // MEDIA_FAILED echoes the port it was given, odd or not.
    EXPECT_TRUE(decode({0x03, 0x00, 0x4e, 0x21}));
}

TEST(ControlCodec, IgnoresReservedByteAndTrailingBytes)
{
    const auto c = decode({0x02, 0xaa, 0x4e, 0x20, 0xde, 0xad});
    ASSERT_TRUE(c);
    EXPECT_EQ(c->op, ControlOp::close_media);
    EXPECT_EQ(c->port, 20000);
}

TEST(ControlFrame, CarriesPayloadAndOptionalRa)
{
    const Frame plain = make_control_frame({ControlOp::media_failed, 20002});
    EXPECT_EQ(plain.type, FrameType::control);
    EXPECT_FALSE(plain.ra);
    EXPECT_EQ(plain.payload, (std::vector<uint8_t>{0x03, 0x00, 0x4e, 0x22}));

    auto phone = RaHeader::parse("192.168.1.10:4000");
    ASSERT_TRUE(phone);
    const Frame open = make_control_frame({ControlOp::open_media, 20000}, *phone);
    ASSERT_TRUE(open.ra);
    EXPECT_TRUE(open.ra->same_endpoint(*phone));

    // Through the frame codec and back.
    FrameDecoder d;
    const auto bytes = encode_frame(open);
    d.feed(bytes.data(), bytes.size());
    Frame out;
    ASSERT_EQ(d.next(out), FrameDecoder::Result::frame);
    EXPECT_EQ(out.type, FrameType::control);
    ASSERT_TRUE(out.ra);
    EXPECT_TRUE(out.ra->same_endpoint(*phone));
    const auto c = decode_control(out.payload.data(), out.payload.size());
    ASSERT_TRUE(c);
    EXPECT_EQ(c->op, ControlOp::open_media);
    EXPECT_EQ(c->port, 20000);
}

TEST(ControlOpName, NamesEveryOp)
{
    EXPECT_STREQ(control_op_name(ControlOp::open_media), "OPEN_MEDIA");
    EXPECT_STREQ(control_op_name(ControlOp::close_media), "CLOSE_MEDIA");
    EXPECT_STREQ(control_op_name(ControlOp::media_failed), "MEDIA_FAILED");
    EXPECT_STREQ(control_op_name(ControlOp::stream_ok), "STREAM_OK");
    EXPECT_STREQ(control_op_name(ControlOp::lane_ack), "LANE_ACK");
}

TEST(Control, RecognisesStreamOkOnly)
{
    EXPECT_TRUE(is_stream_ok(make_control_frame({ControlOp::stream_ok, 0})));
    EXPECT_FALSE(is_stream_ok(make_control_frame({ControlOp::open_media, 20000})));
    Frame keepalive;
    keepalive.type = FrameType::keepalive;
    EXPECT_FALSE(is_stream_ok(keepalive));
}
