// Frame codec: docs/protocol.md test vectors, round-trips, reassembly from
// arbitrary cuts and every decoding error.
#include "sofw/frame.hpp"

#include "test_hex.hpp"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>

using namespace sofw;

namespace {

using sofw::test::unhex;

RaHeader ra(const std::string &hostport, uint16_t relay = 0, Transport t = Transport::udp)
{
    auto h = RaHeader::parse(hostport);
    EXPECT_TRUE(h) << hostport;
    h->relay_port = relay;
    h->transport = t;
    return *h;
}

Frame make(FrameType t, std::optional<RaHeader> r, const std::string &payload)
{
    Frame f;
    f.type = t;
    f.ra = r;
    f.payload.assign(payload.begin(), payload.end());
    return f;
}

void expect_same(const Frame &a, const Frame &b)
{
    EXPECT_EQ(a.type, b.type);
    ASSERT_EQ(a.ra.has_value(), b.ra.has_value());
    if (a.ra) {
        EXPECT_TRUE(a.ra->same_endpoint(*b.ra));
        EXPECT_EQ(a.ra->relay_port, b.ra->relay_port);
    }
    EXPECT_EQ(a.payload, b.payload);
}

// Feeds bytes into a fresh decoder and returns the single outcome.
FrameDecoder::Result decode_one(const std::vector<uint8_t> &bytes, Frame &f, DecodeError &e)
{
    FrameDecoder d;
    d.feed(bytes.data(), bytes.size());
    auto r = d.next(f);
    e = d.error();
    return r;
}

DecodeError decode_error_of(const std::string &hex)
{
    Frame f;
    DecodeError e;
    EXPECT_EQ(decode_one(unhex(hex), f, e), FrameDecoder::Result::error) << hex;
    return e;
}

struct Vector {
    const char *hex;
    Frame frame;
};

std::vector<Vector> vectors()
{
    Frame ka_time = make(FrameType::keepalive, std::nullopt, "");
    ka_time.payload = unhex("00000000000003e8");
    Frame media = make(FrameType::media, ra("[2001:db8::1]:4000", 20000), "");
    media.payload = unhex("8000");
    return {
        {"01 04 00 00 00000000", make(FrameType::keepalive, std::nullopt, "")},
        {"01 04 00 00 00000008 00000000000003e8", ka_time},
        {"01 01 00 0a 00000007 04 11 13c4 0000 c0a8010a 4f5054494f4e53",
         make(FrameType::sip, ra("192.168.1.10:5060"), "OPTIONS")},
        {"01 02 00 16 00000002 06 11 0fa0 4e20 20010db8000000000000000000000001 8000", media},
    };
}

}  // namespace

TEST(FrameVectors, EncodeMatchesSpec)
{
    for (const auto &v : vectors())
        EXPECT_EQ(encode_frame(v.frame), unhex(v.hex)) << v.hex;
}

TEST(FrameVectors, DecodeMatchesSpec)
{
    for (const auto &v : vectors()) {
        Frame f;
        DecodeError e;
        ASSERT_EQ(decode_one(unhex(v.hex), f, e), FrameDecoder::Result::frame) << v.hex;
        expect_same(f, v.frame);
    }
}

TEST(FrameVectors, KeepaliveFramesMatchSpec)
{
    EXPECT_EQ(encode_frame(keepalive_frame()), unhex("01 04 00 00 00000000"));
    EXPECT_EQ(encode_frame(keepalive_frame(1000)), unhex("01 04 00 00 00000008 00000000000003e8"));
    EXPECT_EQ(encode_frame(keepalive_frame(0x0102030405060708ull)), unhex("01 04 00 00 00000008 0102030405060708"));
}

TEST(FrameCodec, RoundTripEveryTypeV4AndV6)
{
    const RaHeader v4 = ra("10.0.0.7:5062", 40000, Transport::tcp);
    const RaHeader v6 = ra("[fe80::1:2]:6000", 0);
    std::vector<Frame> frames = {
        make(FrameType::sip, v4, "INVITE sip:a@b SIP/2.0\r\n\r\n"),
        make(FrameType::sip, v6, "SIP/2.0 200 OK\r\n\r\n"),
        make(FrameType::media, v4, std::string(160, '\x55')),
        make(FrameType::media, v6, std::string(1, '\0')),
        make(FrameType::control, std::nullopt, "\x01"),
        make(FrameType::control, v4, "\x02xyz"),
        make(FrameType::control, v6, ""),
        make(FrameType::keepalive, std::nullopt, ""),
        make(FrameType::sip, v4, std::string(frame_max_payload, 'x')),
    };
    for (const auto &in : frames) {
        auto bytes = encode_frame(in);
        Frame out;
        DecodeError e;
        ASSERT_EQ(decode_one(bytes, out, e), FrameDecoder::Result::frame);
        expect_same(out, in);
    }
}

TEST(FrameCodec, FlagsIgnored)
{
    Frame f;
    DecodeError e;
    ASSERT_EQ(decode_one(unhex("01 04 ff 00 00000000"), f, e), FrameDecoder::Result::frame);
    EXPECT_EQ(f.type, FrameType::keepalive);
}

TEST(FrameEncode, RefusesRuleViolations)
{
    std::vector<uint8_t> out = {0xaa};
    const RaHeader v4 = ra("1.2.3.4:5060");
    EXPECT_FALSE(encode_frame(make(FrameType::sip, v4, std::string(frame_max_payload + 1, 'x')), out));
    EXPECT_FALSE(encode_frame(make(FrameType::sip, std::nullopt, "x"), out));
    EXPECT_FALSE(encode_frame(make(FrameType::media, std::nullopt, "x"), out));
    EXPECT_FALSE(encode_frame(make(FrameType::keepalive, v4, ""), out));
    RaHeader bad = v4;
    bad.family = 5;
    EXPECT_FALSE(encode_frame(make(FrameType::sip, bad, "x"), out));
    bad = v4;
    bad.transport = static_cast<Transport>(1);
    EXPECT_FALSE(encode_frame(make(FrameType::sip, bad, "x"), out));
    EXPECT_FALSE(encode_frame(make(static_cast<FrameType>(9), std::nullopt, ""), out));
    EXPECT_EQ(out, std::vector<uint8_t>{0xaa});  // untouched on failure
    EXPECT_THROW(encode_frame(make(FrameType::control, std::nullopt, std::string(70000, 'x'))), std::invalid_argument);
}

TEST(FrameEncode, AppendsToExistingBuffer)
{
    std::vector<uint8_t> out = {0xaa};
    ASSERT_TRUE(encode_frame(make(FrameType::keepalive, std::nullopt, ""), out));
    EXPECT_EQ(out, unhex("aa 01 04 00 00 00000000"));
}

namespace {

// A mixed stream of many frames with sizes crossing typical chunk sizes.
std::vector<Frame> stream_frames()
{
    std::vector<Frame> fs;
    for (int i = 0; i < 200; ++i) {
        const std::string p(static_cast<size_t>((i * 37) % 1500), static_cast<char>('a' + i % 26));
        switch (i % 4) {
        case 0: fs.push_back(make(FrameType::sip, ra("192.168.0.1:" + std::to_string(1000 + i)), p)); break;
        case 1: fs.push_back(make(FrameType::media, ra("[2001:db8::" + std::to_string(i) + "]:4000", 30000), p)); break;
        case 2: fs.push_back(make(FrameType::control, std::nullopt, p)); break;
        default: fs.push_back(make(FrameType::keepalive, std::nullopt, "")); break;
        }
    }
    return fs;
}

std::vector<uint8_t> encode_all(const std::vector<Frame> &fs)
{
    std::vector<uint8_t> out;
    for (const auto &f : fs)
        EXPECT_TRUE(encode_frame(f, out));
    return out;
}

// Drains every complete frame; a decoder must never report an error here.
void drain(FrameDecoder &d, std::vector<Frame> &got)
{
    Frame f;
    FrameDecoder::Result r;
    while ((r = d.next(f)) == FrameDecoder::Result::frame)
        got.push_back(f);
    ASSERT_EQ(r, FrameDecoder::Result::need_more);
}

}  // namespace

TEST(FrameDecoder, StreamOneByteAtATime)
{
    const auto fs = stream_frames();
    const auto bytes = encode_all(fs);
    FrameDecoder d;
    std::vector<Frame> got;
    for (uint8_t b : bytes) {
        d.feed(&b, 1);
        drain(d, got);
    }
    ASSERT_EQ(got.size(), fs.size());
    for (size_t i = 0; i < fs.size(); ++i)
        expect_same(got[i], fs[i]);
    EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoder, StreamRandomCuts)
{
    const auto fs = stream_frames();
    const auto bytes = encode_all(fs);
    std::mt19937 rng(12345);
    for (int round = 0; round < 20; ++round) {
        FrameDecoder d;
        std::vector<Frame> got;
        size_t pos = 0;
        while (pos < bytes.size()) {
            size_t n = std::min(bytes.size() - pos, size_t(rng() % 3000));
            d.feed(bytes.data() + pos, n);
            pos += n;
            drain(d, got);
        }
        ASSERT_EQ(got.size(), fs.size());
        for (size_t i = 0; i < fs.size(); ++i)
            expect_same(got[i], fs[i]);
    }
}

TEST(FrameDecoder, BufferStaysBoundedOnLongStream)
{
    // Frames fed one and a half at a time: the decoder always holds a
    // partial frame, so this checks compaction, not just the empty case.
    const auto one = encode_frame(make(FrameType::control, std::nullopt, std::string(100, 'z')));
    std::vector<uint8_t> bytes;
    for (int i = 0; i < 10000; ++i)
        bytes.insert(bytes.end(), one.begin(), one.end());
    FrameDecoder d;
    std::vector<Frame> got;
    const size_t step = one.size() * 3 / 2;
    for (size_t pos = 0; pos < bytes.size(); pos += step) {
        d.feed(bytes.data() + pos, std::min(step, bytes.size() - pos));
        drain(d, got);
        ASSERT_LT(d.buffered(), one.size());
        ASSERT_LE(d.retained(), 2 * step);
    }
    EXPECT_EQ(got.size(), 10000u);
}

TEST(FrameDecoder, TruncatedNeverYieldsFrame)
{
    const auto bytes = unhex("01 01 00 0a 00000007 04 11 13c4 0000 c0a8010a 4f5054494f4e53");
    for (size_t n = 0; n < bytes.size(); ++n) {
        FrameDecoder d;
        d.feed(bytes.data(), n);
        Frame f;
        EXPECT_EQ(d.next(f), FrameDecoder::Result::need_more) << n;
        EXPECT_EQ(d.error(), DecodeError::none);
    }
}

TEST(FrameDecoder, RejectsBadVersion)
{
    EXPECT_EQ(decode_error_of("02 04 00 00 00000000"), DecodeError::bad_version);
    EXPECT_EQ(decode_error_of("00 04 00 00 00000000"), DecodeError::bad_version);
}

TEST(FrameDecoder, RejectsBadType)
{
    EXPECT_EQ(decode_error_of("01 00 00 00 00000000"), DecodeError::bad_type);
    EXPECT_EQ(decode_error_of("01 06 00 00 00000000"), DecodeError::bad_type);
    EXPECT_EQ(decode_error_of("01 ff 00 00 00000000"), DecodeError::bad_type);
}

TEST(FrameDecoder, RejectsBadRaLen)
{
    // Detected from the 8 header bytes, before any RA byte arrives.
    EXPECT_EQ(decode_error_of("01 03 00 0b 00000000"), DecodeError::bad_ra_header);
    EXPECT_EQ(decode_error_of("01 01 00 04 00000000"), DecodeError::bad_ra_header);
}

TEST(FrameDecoder, RejectsBadFamily)
{
    EXPECT_EQ(decode_error_of("01 01 00 0a 00000000 05 11 13c4 0000 c0a8010a"), DecodeError::bad_ra_header);
    // Family and ra_len disagree.
    EXPECT_EQ(decode_error_of("01 01 00 0a 00000000 06 11 13c4 0000 c0a8010a"), DecodeError::bad_ra_header);
    EXPECT_EQ(decode_error_of("01 01 00 16 00000000 04 11 13c4 0000 20010db8000000000000000000000001"),
              DecodeError::bad_ra_header);
}

TEST(FrameDecoder, RejectsBadTransport)
{
    EXPECT_EQ(decode_error_of("01 01 00 0a 00000000 04 01 13c4 0000 c0a8010a"), DecodeError::bad_ra_header);
}

TEST(FrameDecoder, RejectsMissingRa)
{
    EXPECT_EQ(decode_error_of("01 01 00 00 00000000"), DecodeError::missing_ra);
    EXPECT_EQ(decode_error_of("01 02 00 00 00000000"), DecodeError::missing_ra);
    EXPECT_EQ(decode_error_of("01 05 00 00 00000004 00000001"), DecodeError::missing_ra);
}

TEST(FrameDecoder, RejectsRaOnKeepalive)
{
    EXPECT_EQ(decode_error_of("01 04 00 0a 00000000 04 11 13c4 0000 c0a8010a"), DecodeError::unexpected_ra);
}

TEST(FrameDecoder, OversizedFromHeaderAlone)
{
    // Only the 8 header bytes are fed: no need to wait for 64 KiB+.
    EXPECT_EQ(decode_error_of("01 03 00 00 00010000"), DecodeError::oversized);
    EXPECT_EQ(decode_error_of("01 03 00 00 ffffffff"), DecodeError::oversized);
}

TEST(FrameDecoder, ErrorIsSticky)
{
    FrameDecoder d;
    d.feed(std::string("\x01\x06\0\0\0\0\0\0", 8));  // the std::string overload
    Frame f;
    EXPECT_EQ(d.next(f), FrameDecoder::Result::error);
    EXPECT_EQ(d.error(), DecodeError::bad_type);
    const auto good = encode_frame(make(FrameType::keepalive, std::nullopt, ""));
    d.feed(good.data(), good.size());
    EXPECT_EQ(d.next(f), FrameDecoder::Result::error);
    EXPECT_EQ(d.next(f), FrameDecoder::Result::error);
    EXPECT_EQ(d.error(), DecodeError::bad_type);
    EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoder, ErrorAfterGoodFrames)
{
    auto bytes = encode_frame(make(FrameType::keepalive, std::nullopt, ""));
    auto bad = unhex("09 04 00 00 00000000");
    bytes.insert(bytes.end(), bad.begin(), bad.end());
    FrameDecoder d;
    d.feed(bytes.data(), bytes.size());
    Frame f;
    EXPECT_EQ(d.next(f), FrameDecoder::Result::frame);
    EXPECT_EQ(d.next(f), FrameDecoder::Result::error);
    EXPECT_EQ(d.error(), DecodeError::bad_version);
}

TEST(PeekFrameSize, ReadsTheWholeSizeFromTheHeader)
{
    for (const auto &v : vectors()) {
        const auto bytes = unhex(v.hex);
        EXPECT_EQ(peek_frame_size(bytes.data(), bytes.size()), bytes.size()) << v.hex;
        // The header alone is enough: the rest need not be there yet.
        EXPECT_EQ(peek_frame_size(bytes.data(), frame_header_size), bytes.size()) << v.hex;
    }
    const auto big = encode_frame(make(FrameType::control, std::nullopt, std::string(frame_max_payload, 'x')));
    EXPECT_EQ(peek_frame_size(big.data(), big.size()), frame_header_size + frame_max_payload);
}

TEST(PeekFrameSize, NeedsAWholeHeader)
{
    const auto bytes = unhex("01 04 00 00 00000008 00000000000003e8");
    for (size_t n = 0; n < frame_header_size; ++n)
        EXPECT_FALSE(peek_frame_size(bytes.data(), n)) << n;
}

TEST(PeekFrameSize, CutsABufferIntoItsFrames)
{
    const auto fs = stream_frames();
    const auto bytes = encode_all(fs);
    size_t pos = 0, count = 0;
    while (auto n = peek_frame_size(bytes.data() + pos, bytes.size() - pos)) {
        pos += *n;
        ++count;
    }
    EXPECT_EQ(pos, bytes.size());
    EXPECT_EQ(count, fs.size());
}

TEST(FrameNames, AllNamed)
{
    EXPECT_STREQ(frame_type_name(FrameType::sip), "sip");
    EXPECT_STREQ(frame_type_name(FrameType::keepalive), "keepalive");
    EXPECT_STREQ(frame_type_name(FrameType::lane_media), "lane_media");
    EXPECT_STREQ(decode_error_name(DecodeError::oversized), "oversized");
    EXPECT_STREQ(decode_error_name(DecodeError::unexpected_ra), "unexpected_ra");
}
