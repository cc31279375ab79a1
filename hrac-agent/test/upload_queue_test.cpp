#include "upload_queue.hpp"

#include <gtest/gtest.h>

#include <string>

using hrac::UploadQueue;

namespace {
std::vector<uint8_t> bytes(const std::string &s) { return {s.begin(), s.end()}; }
}  // namespace

TEST(UploadQueue, HandsOutBytesInOrderAcrossReads)
{
    UploadQueue q(100);
    ASSERT_TRUE(q.push(bytes("hello ")));
    ASSERT_TRUE(q.push(bytes("world")));
    char out[8];
    ASSERT_EQ(q.take(out, 4), 4u);
    EXPECT_EQ(std::string(out, 4), "hell");
    ASSERT_EQ(q.take(out, sizeof out), 7u);
    EXPECT_EQ(std::string(out, 7), "o world");
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.take(out, sizeof out), 0u);
}

TEST(UploadQueue, RefusesAFrameThatWouldExceedTheLimit)
{
    UploadQueue q(10);
    EXPECT_TRUE(q.push(bytes("12345678")));
    EXPECT_FALSE(q.push(bytes("abc")));
    EXPECT_EQ(q.size(), 8u);
    char out[8];
    q.take(out, 8);
    EXPECT_TRUE(q.push(bytes("abc")));
}

TEST(UploadQueue, KeepsOrderWhenCompacting)
{
    UploadQueue q(1 << 20);
    std::vector<uint8_t> big(100 * 1024);
    for (size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<uint8_t>(i % 251);
    ASSERT_TRUE(q.push(big));
    std::vector<char> out(big.size());
    size_t got = q.take(out.data(), 70 * 1024);  // past the compaction point
    ASSERT_TRUE(q.push(bytes("tail")));
    got += q.take(out.data() + got, big.size() - got);
    ASSERT_EQ(got, big.size());
    for (size_t i = 0; i < big.size(); ++i)
        ASSERT_EQ(static_cast<uint8_t>(out[i]), big[i]) << i;
    char tail[4];
    ASSERT_EQ(q.take(tail, 4), 4u);
    EXPECT_EQ(std::string(tail, 4), "tail");
}

TEST(UploadQueue, EncodesFramesStraightIn)
{
    sofw::Frame media;
    media.type = sofw::FrameType::media;
    media.ra = sofw::RaHeader::parse("192.168.1.10:4000");
    media.ra->relay_port = 20000;
    media.payload = bytes("rtp");
    const std::vector<uint8_t> encoded = sofw::encode_frame(media);

    UploadQueue q(2 * encoded.size());
    size_t n = 0;
    ASSERT_EQ(q.push(media, n), UploadQueue::Push::queued);
    EXPECT_EQ(n, encoded.size());
    ASSERT_EQ(q.push(media, n), UploadQueue::Push::queued);
    EXPECT_EQ(q.push(media, n), UploadQueue::Push::full);
    EXPECT_EQ(q.size(), 2 * encoded.size());

    std::vector<char> out(q.size());
    ASSERT_EQ(q.take(out.data(), out.size()), out.size());
    EXPECT_TRUE(std::equal(encoded.begin(), encoded.end(), reinterpret_cast<uint8_t *>(out.data())));

    media.ra.reset();  // media without an RA header breaks the rules
    EXPECT_EQ(q.push(media, n), UploadQueue::Push::invalid);
    EXPECT_TRUE(q.empty());
}

TEST(UploadQueue, SealsWholeFramesIntoOneRecord)
{
    UploadQueue q(1 << 20);
    auto push = [&](size_t payload) {
        sofw::Frame f;
        f.type = sofw::FrameType::sip;
        f.ra = sofw::RaHeader::parse("192.168.1.10:5060");
        f.payload.assign(payload, 'x');
        size_t encoded = 0;
        ASSERT_EQ(q.push(f, encoded), UploadQueue::Push::queued);
        ASSERT_EQ(encoded, 8 + 10 + payload);
    };
    sofw::SessionKeys keys;
    ASSERT_TRUE(sofw::derive_session_keys("secret", std::string(32, 'a'), std::string(32, 'b'), std::string(32, 'c'),
                                          keys));
    sofw::RecordSealer sealer(keys.up);
    std::vector<uint8_t> out;
    push(100);  // 118 bytes encoded
    push(200);  // 218
    push(300);  // 318
    // What was queued together: one record, 19 bytes for both frames.
    ASSERT_EQ(q.seal_frames(sealer, 400, out), sofw::RecordError::none);  // a third would not fit
    EXPECT_EQ(out.size(), 118u + 218u + sofw::record_overhead);
    EXPECT_EQ(sealer.sequence(), 1u);
    EXPECT_EQ(q.size(), 318u);
    // One frame larger than the limit still goes: a batch never stalls.
    ASSERT_EQ(q.seal_frames(sealer, 10, out), sofw::RecordError::none);
    EXPECT_EQ(out.size(), 118u + 218u + 318u + 2 * sofw::record_overhead);
    EXPECT_TRUE(q.empty());
    ASSERT_EQ(q.seal_frames(sealer, 1000, out), sofw::RecordError::none);  // nothing queued: no record
    EXPECT_EQ(sealer.sequence(), 2u);

    // The receiver gets the three frames back, in order.
    sofw::RecordFrameDecoder decoder(keys.up);
    decoder.feed(out.data(), out.size());
    sofw::Frame f;
    for (size_t payload : {100u, 200u, 300u}) {
        ASSERT_EQ(decoder.next(f), sofw::RecordFrameDecoder::Result::frame);
        EXPECT_EQ(f.payload.size(), payload);
    }
    EXPECT_EQ(decoder.next(f), sofw::RecordFrameDecoder::Result::need_more);
    EXPECT_EQ(decoder.end_of_body(), sofw::RecordError::none);
}
