// Key schedule and record vectors of docs/protocol.md "Records", and the
// ways a record from the wire may be wrong.
#include "sofw/auth.hpp"
#include "sofw/record.hpp"

#include "test_hex.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace sofw;

namespace {

const std::string secret = "site-secret-for-vectors";
const std::string session = "00112233445566778899aabbccddeeff";
const std::string client_nonce = "0123456789abcdef0123456789abcdef";
const std::string server_nonce = "fedcba9876543210fedcba9876543210";

std::string hex(const uint8_t *p, size_t n)
{
    static const char d[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += d[p[i] >> 4];
        s += d[p[i] & 0xf];
    }
    return s;
}
std::string hex(const std::vector<uint8_t> &v) { return hex(v.data(), v.size()); }

using sofw::test::unhex;

const std::vector<uint8_t> keepalive = unhex("0104000000000000");

SessionKeys vector_keys()
{
    SessionKeys k;
    EXPECT_TRUE(derive_session_keys(secret, session, client_nonce, server_nonce, k));
    return k;
}

// Opens everything in wire; returns the plaintexts, stops at the first error.
RecordDecoder::Result open_all(RecordDecoder &d, const std::vector<uint8_t> &wire,
                               std::vector<std::vector<uint8_t>> &got)
{
    d.feed(wire.data(), wire.size());
    std::vector<uint8_t> out;
    for (;;) {
        auto r = d.next(out);
        if (r != RecordDecoder::Result::record)
            return r;
        got.push_back(out);
    }
}

}  // namespace

TEST(SessionKeys, Vector)
{
    SessionKeys k = vector_keys();
    EXPECT_EQ(hex(k.up.key, 32), "b3657a5e0848f999cd68601951b32eaeb1d02f4cf68e7953c399b7851dea1cb6");
    EXPECT_EQ(hex(k.up.iv, 12), "67ac375cbbb193a52c73e6d1");
    EXPECT_EQ(hex(k.down.key, 32), "a0ebd7546d1814d7307bc2df50c0fca2978a9605ccc67ce21a3b04289901b3d3");
    EXPECT_EQ(hex(k.down.iv, 12), "c0b62a177f68a59b0d6e59ed");
}

// docs/protocol.md "Lanes": lane i >= 1 expands the same PRK with
// "sofw1 up lane <i>" / "sofw1 down lane <i>"; computed independently with
// Python's cryptography HKDF.
TEST(SessionKeys, LaneVector)
{
    SessionKeys k;
    ASSERT_TRUE(derive_session_keys(secret, session, client_nonce, server_nonce, k, 1));
    EXPECT_EQ(hex(k.up.key, 32), "f2b76e648f26f791e46a6bf3de94a8ebc65eaaa4a9192d38300c1df1450d3439");
    EXPECT_EQ(hex(k.up.iv, 12), "0c0d3780d3f62409590964a2");
    EXPECT_EQ(hex(k.down.key, 32), "caeab5c1e49ef0a43483fc9e053a69e51e2a52d4a9f32129d6c2411a61b308f7");
    EXPECT_EQ(hex(k.down.iv, 12), "29eee9acf5893c0ffcf29cc3");
    ASSERT_TRUE(derive_session_keys(secret, session, client_nonce, server_nonce, k, 7));
    EXPECT_EQ(hex(k.up.key, 32), "3a770340deb3afef7ce44a01f2d738968d937eb29332ee464024c0f4378438a2");
    EXPECT_EQ(hex(k.down.iv, 12), "970a5a7da4f08146d2608bf2");
}

TEST(SessionKeys, LaneZeroIsTheSessionsKeys)
{
    SessionKeys base = vector_keys(), k;
    ASSERT_TRUE(derive_session_keys(secret, session, client_nonce, server_nonce, k, 0));
    EXPECT_EQ(hex(k.up.key, 32), hex(base.up.key, 32));
    EXPECT_EQ(hex(k.down.iv, 12), hex(base.down.iv, 12));
}

TEST(SessionKeys, EveryInputChangesTheKeys)
{
    SessionKeys base = vector_keys(), k;
    ASSERT_TRUE(derive_session_keys(secret + "x", session, client_nonce, server_nonce, k));
    EXPECT_NE(hex(k.up.key, 32), hex(base.up.key, 32));
    ASSERT_TRUE(derive_session_keys(secret, "10112233445566778899aabbccddeeff", client_nonce, server_nonce, k));
    EXPECT_NE(hex(k.up.key, 32), hex(base.up.key, 32));
    ASSERT_TRUE(derive_session_keys(secret, session, "1123456789abcdef0123456789abcdef", server_nonce, k));
    EXPECT_NE(hex(k.up.key, 32), hex(base.up.key, 32));
    // The same client randomness with a fresh server nonce: fresh keys.
    ASSERT_TRUE(derive_session_keys(secret, session, client_nonce, "fedcba9876543210fedcba9876543211", k));
    EXPECT_NE(hex(k.up.key, 32), hex(base.up.key, 32));
    EXPECT_NE(hex(k.down.key, 32), hex(base.down.key, 32));
}

TEST(SessionKeys, MalformedInputsRefused)
{
    SessionKeys k;
    EXPECT_FALSE(derive_session_keys(secret, "", client_nonce, server_nonce, k));
    EXPECT_FALSE(derive_session_keys(secret, session, client_nonce.substr(1), server_nonce, k));
    EXPECT_FALSE(derive_session_keys(secret, session, client_nonce, "zedcba9876543210fedcba9876543210", k));
    EXPECT_FALSE(derive_session_keys(secret, session, client_nonce, server_nonce + "00", k));
}

TEST(SessionKeys, ServerProofCoversServerNonce)
{
    AuthRequest r;
    r.nonce = client_nonce;
    r.session = session;
    EXPECT_EQ(sign_server_proof(secret, r, server_nonce),
              hmac_sha256_hex(secret, "SOFW1-SERVER-KEYS\n" + client_nonce + "\n" + session + "\n" + server_nonce));
    EXPECT_NE(sign_server_proof(secret, r, server_nonce),
              sign_server_proof(secret, r, "fedcba9876543210fedcba9876543211"));
    EXPECT_NE(sign_server_proof(secret, r, server_nonce), sign_server_proof(secret, r));
}

TEST(Record, Vectors)
{
    SessionKeys k = vector_keys();
    RecordSealer up(k.up), down(k.down);
    std::vector<uint8_t> wire;
    ASSERT_EQ(up.seal(keepalive.data(), keepalive.size(), wire), RecordError::none);
    EXPECT_EQ(hex(wire), "000008d7101a5a3b8d5ef1afcb7158da058e417a0c533bce9e8173");
    wire.clear();
    ASSERT_EQ(up.seal(keepalive.data(), keepalive.size(), wire), RecordError::none);
    EXPECT_EQ(hex(wire), "0000086e47e4a34d839ecedf4b5e979c16d31a7280a9aa64697348");
    EXPECT_EQ(up.sequence(), 2u);

    std::vector<uint8_t> two = keepalive;
    two.insert(two.end(), keepalive.begin(), keepalive.end());
    wire.clear();
    ASSERT_EQ(down.seal(two.data(), two.size(), wire), RecordError::none);
    EXPECT_EQ(hex(wire), "0000105548a0344178a6c49dd969e4a37beee4aa96b995a862d4251e2e5565e77c78d2");
    EXPECT_EQ(wire.size(), two.size() + record_overhead);

    RecordSealer last(k.down, UINT64_MAX - 1);
    wire.clear();
    ASSERT_EQ(last.seal(keepalive.data(), keepalive.size(), wire), RecordError::none);
    EXPECT_EQ(hex(wire), "0000088ab70d59f30e6d4ed41db82ba9a92ab9ac3932a7de966be9");
}

TEST(Record, RoundTripCutAnywhere)
{
    SessionKeys k = vector_keys();
    RecordSealer s(k.up);
    std::vector<uint8_t> wire;
    std::vector<std::vector<uint8_t>> sent;
    for (size_t n : {0u, 1u, 8u, 300u, 65565u, 131072u}) {
        std::vector<uint8_t> p(n);
        for (size_t i = 0; i < n; ++i)
            p[i] = static_cast<uint8_t>(i * 7 + n);
        ASSERT_EQ(s.seal(p.data(), p.size(), wire), RecordError::none);
        sent.push_back(p);
    }
    for (size_t cut : {1u, 2u, 3u, 19u, 1000u, 70000u}) {
        RecordDecoder d(k.up);
        std::vector<std::vector<uint8_t>> got;
        std::vector<uint8_t> out;
        for (size_t at = 0; at < wire.size(); at += cut) {
            d.feed(wire.data() + at, std::min(cut, wire.size() - at));
            while (d.next(out) == RecordDecoder::Result::record)
                got.push_back(out);
        }
        EXPECT_EQ(got, sent) << "cut " << cut;
        EXPECT_EQ(d.finish(), RecordError::none);
    }
}

TEST(Record, TamperEveryBytePosition)
{
    SessionKeys k = vector_keys();
    RecordSealer s(k.up);
    std::vector<uint8_t> wire;
    std::vector<uint8_t> p = unhex("0101000a0000000400000000000000000000"
                                   "4f505449");
    ASSERT_EQ(s.seal(p.data(), p.size(), wire), RecordError::none);
    for (size_t i = 0; i < wire.size(); ++i) {
        for (uint8_t bit : {0x01, 0x80}) {
            std::vector<uint8_t> bad = wire;
            bad[i] ^= bit;
            RecordDecoder d(k.up);
            std::vector<std::vector<uint8_t>> got;
            auto r = open_all(d, bad, got);
            EXPECT_TRUE(got.empty()) << "byte " << i;
            // A changed length either waits for bytes that never come
            // (truncated at the end of the stream), is oversized, or fails
            // the tag; the body and tag always fail the tag.
            if (r == RecordDecoder::Result::need_more) {
                EXPECT_EQ(d.finish(), RecordError::truncated) << "byte " << i;
            } else {
                EXPECT_NE(d.error(), RecordError::none) << "byte " << i;
            }
            if (i >= record_header_size) {
                EXPECT_EQ(d.error(), RecordError::bad_tag) << "byte " << i;
            }
        }
    }
}

TEST(Record, ReorderReplayInjectWrongKey)
{
    SessionKeys k = vector_keys();
    RecordSealer s(k.up);
    std::vector<uint8_t> r0, r1, r2;
    ASSERT_EQ(s.seal(keepalive.data(), keepalive.size(), r0), RecordError::none);
    ASSERT_EQ(s.seal(keepalive.data(), keepalive.size(), r1), RecordError::none);
    ASSERT_EQ(s.seal(keepalive.data(), keepalive.size(), r2), RecordError::none);
    auto cat = [](std::initializer_list<const std::vector<uint8_t> *> parts) {
        std::vector<uint8_t> v;
        for (auto *p : parts)
            v.insert(v.end(), p->begin(), p->end());
        return v;
    };
    struct Case {
        const char *name;
        std::vector<uint8_t> wire;
        size_t good;
    };
    std::vector<Case> cases = {
        {"reordered", cat({&r1, &r0}), 0},
        {"replayed", cat({&r0, &r0}), 1},
        {"dropped", cat({&r0, &r2}), 1},
    };
    // Injected: a record sealed under a key the receiver does not hold.
    SessionKeys other;
    ASSERT_TRUE(derive_session_keys("another secret", session, client_nonce, server_nonce, other));
    RecordSealer forger(other.up);
    std::vector<uint8_t> f;
    ASSERT_EQ(forger.seal(keepalive.data(), keepalive.size(), f), RecordError::none);
    cases.push_back({"injected", cat({&r0, &f}), 1});
    // The other direction's key: a record reflected back to its sender.
    RecordSealer reflect(k.down);
    std::vector<uint8_t> d0;
    ASSERT_EQ(reflect.seal(keepalive.data(), keepalive.size(), d0), RecordError::none);
    cases.push_back({"wrong direction", d0, 0});
    for (auto &c : cases) {
        RecordDecoder d(k.up);
        std::vector<std::vector<uint8_t>> got;
        EXPECT_EQ(open_all(d, c.wire, got), RecordDecoder::Result::error) << c.name;
        EXPECT_EQ(d.error(), RecordError::bad_tag) << c.name;
        EXPECT_EQ(got.size(), c.good) << c.name;
        // The decoder stays failed: later good bytes do not revive it.
        std::vector<uint8_t> out;
        d.feed(r2.data(), r2.size());
        EXPECT_EQ(d.next(out), RecordDecoder::Result::error) << c.name;
    }
}

TEST(Record, Truncation)
{
    SessionKeys k = vector_keys();
    RecordSealer s(k.down);
    std::vector<uint8_t> wire;
    ASSERT_EQ(s.seal(keepalive.data(), keepalive.size(), wire), RecordError::none);
    for (size_t n = 1; n < wire.size(); ++n) {
        RecordDecoder d(k.down);
        std::vector<std::vector<uint8_t>> got;
        std::vector<uint8_t> part(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
        EXPECT_EQ(open_all(d, part, got), RecordDecoder::Result::need_more);
        EXPECT_TRUE(got.empty());
        EXPECT_EQ(d.finish(), RecordError::truncated) << n;
    }
    RecordDecoder d(k.down);
    EXPECT_EQ(d.finish(), RecordError::none);  // an empty stream is not truncated
}

// Found by the record fuzz target: a forged record of length 0 reached the
// wipe of its (bufferless) plaintext with a null pointer.
TEST(Record, ForgedEmptyRecordIsRefused)
{
    SessionKeys k = vector_keys();
    const std::vector<uint8_t> forged(record_overhead, 0);  // length 0, a made-up tag
    RecordDecoder d(k.up);
    std::vector<std::vector<uint8_t>> got;
    EXPECT_EQ(open_all(d, forged, got), RecordDecoder::Result::error);
    EXPECT_TRUE(got.empty());
    EXPECT_EQ(d.error(), RecordError::bad_tag);
}

TEST(Record, OversizedLengthRefusedBeforeBuffering)
{
    SessionKeys k = vector_keys();
    RecordDecoder d(k.up);
    const uint8_t hdr[] = {0x02, 0x00, 0x01};  // 131073
    d.feed(hdr, sizeof hdr);
    std::vector<uint8_t> out;
    EXPECT_EQ(d.next(out), RecordDecoder::Result::error);
    EXPECT_EQ(d.error(), RecordError::oversized);
    RecordSealer s(k.up);
    std::vector<uint8_t> big(record_max_plaintext + 1), wire;
    EXPECT_EQ(s.seal(big.data(), big.size(), wire), RecordError::oversized);
    EXPECT_TRUE(wire.empty());
    EXPECT_EQ(s.sequence(), 0u);
}

TEST(Record, SequenceWrapPolicy)
{
    // The last sequence number is never used: the sealer refuses it and the
    // session must end (reconnect with fresh keys) before a nonce repeats.
    SessionKeys k = vector_keys();
    RecordSealer s(k.up, UINT64_MAX - 1);
    std::vector<uint8_t> wire;
    ASSERT_EQ(s.seal(keepalive.data(), keepalive.size(), wire), RecordError::none);
    const size_t one = wire.size();
    EXPECT_EQ(s.seal(keepalive.data(), keepalive.size(), wire), RecordError::exhausted);
    EXPECT_EQ(wire.size(), one);
    EXPECT_EQ(s.sequence(), UINT64_MAX);

    RecordDecoder d(k.up, UINT64_MAX - 1);
    std::vector<std::vector<uint8_t>> got;
    const std::vector<uint8_t> again = wire;
    wire.insert(wire.end(), again.begin(), again.end());  // a second record at UINT64_MAX
    EXPECT_EQ(open_all(d, wire, got), RecordDecoder::Result::error);
    EXPECT_EQ(got.size(), 1u);
    EXPECT_EQ(d.error(), RecordError::exhausted);
}

TEST(RecordFrames, SealFramesCutsAtFrameBoundariesAndRoundTrips)
{
    SessionKeys k = vector_keys();
    RecordSealer s(k.down);
    std::vector<uint8_t> frames;
    std::vector<Frame> sent;
    for (int i = 0; i < 5; ++i) {
        Frame f;
        f.type = FrameType::sip;
        f.ra = RaHeader{};
        f.payload.assign(60000, static_cast<uint8_t>('a' + i));
        ASSERT_TRUE(encode_frame(f, frames));
        sent.push_back(f);
        ASSERT_TRUE(encode_frame(keepalive_frame(), frames));
        sent.push_back(keepalive_frame());
    }
    std::vector<uint8_t> wire;
    ASSERT_EQ(seal_frames(s, frames.data(), frames.size(), wire), RecordError::none);
    // 5 x (60018 + 8) bytes of frames: two frames pairs fit a record.
    EXPECT_EQ(s.sequence(), 3u);
    EXPECT_EQ(wire.size(), frames.size() + 3 * record_overhead);

    RecordFrameDecoder d(k.down);
    std::vector<Frame> got;
    Frame f;
    for (size_t at = 0; at < wire.size(); at += 777) {
        d.feed(wire.data() + at, std::min<size_t>(777, wire.size() - at));
        while (d.next(f) == RecordFrameDecoder::Result::frame)
            got.push_back(f);
    }
    ASSERT_EQ(got.size(), sent.size());
    for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].type, sent[i].type);
        EXPECT_EQ(got[i].payload, sent[i].payload);
    }
    EXPECT_EQ(d.end_of_body(), RecordError::none);

    // A buffer that ends inside a frame is refused whole.
    std::vector<uint8_t> none;
    EXPECT_EQ(seal_frames(s, frames.data(), frames.size() - 1, none), RecordError::split_frame);
    EXPECT_TRUE(none.empty());
    EXPECT_EQ(s.sequence(), 3u);
}

TEST(RecordFrames, RecordMustHoldWholeFrames)
{
    SessionKeys k = vector_keys();
    RecordSealer s(k.up);
    std::vector<uint8_t> wire;
    // Half a keep-alive in one record, the rest in the next.
    ASSERT_EQ(s.seal(keepalive.data(), 4, wire), RecordError::none);
    ASSERT_EQ(s.seal(keepalive.data() + 4, 4, wire), RecordError::none);
    RecordFrameDecoder d(k.up);
    d.feed(wire.data(), wire.size());
    Frame f;
    EXPECT_EQ(d.next(f), RecordFrameDecoder::Result::error);
    EXPECT_EQ(d.error(), RecordError::split_frame);
}

TEST(RecordFrames, BadFrameInAuthenticRecordEndsTheSession)
{
    SessionKeys k = vector_keys();
    RecordSealer s(k.up);
    std::vector<uint8_t> wire;
    const std::vector<uint8_t> bad_version = unhex("0204000000000000");
    ASSERT_EQ(s.seal(bad_version.data(), bad_version.size(), wire), RecordError::none);
    RecordFrameDecoder d(k.up);
    d.feed(wire.data(), wire.size());
    Frame f;
    EXPECT_EQ(d.next(f), RecordFrameDecoder::Result::error);
    EXPECT_EQ(d.error(), RecordError::bad_frame);
    EXPECT_EQ(d.frame_error(), DecodeError::bad_version);
}

TEST(RecordFrames, TamperedRecordYieldsNoFrameAndTruncatedBodyIsAnError)
{
    SessionKeys k = vector_keys();
    RecordSealer s(k.up);
    std::vector<uint8_t> wire;
    ASSERT_EQ(s.seal(keepalive.data(), keepalive.size(), wire), RecordError::none);
    ASSERT_EQ(s.seal(keepalive.data(), keepalive.size(), wire), RecordError::none);
    std::vector<uint8_t> bad = wire;
    bad[record_overhead + keepalive.size() + 5] ^= 0x10;  // inside the second record
    RecordFrameDecoder d(k.up);
    d.feed(bad.data(), bad.size());
    Frame f;
    EXPECT_EQ(d.next(f), RecordFrameDecoder::Result::frame);  // the first, authentic
    EXPECT_EQ(d.next(f), RecordFrameDecoder::Result::error);
    EXPECT_EQ(d.error(), RecordError::bad_tag);

    RecordFrameDecoder t(k.up);
    t.feed(wire.data(), wire.size() - 1);
    EXPECT_EQ(t.next(f), RecordFrameDecoder::Result::frame);
    EXPECT_EQ(t.next(f), RecordFrameDecoder::Result::need_more);
    EXPECT_EQ(t.end_of_body(), RecordError::truncated);
    EXPECT_EQ(t.next(f), RecordFrameDecoder::Result::error);
}
