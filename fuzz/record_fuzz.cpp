// The tunnel's record layer (sofw/record.hpp): what comes off a channel is
// opened by RecordFrameDecoder, cut anywhere. The input is a plaintext of
// whole-frame bytes, the cut points and one byte position to damage:
// - sealed and fed back in pieces, it yields exactly the frames that were
//   sealed (or the frame error the plaintext carries);
// - with one byte of the sealed stream changed, nothing of the damaged
//   record comes out and the decoder ends in an error;
// - fed as several bodies cut at record boundaries (poll answers, send
//   batches) to one decoder, each body ended, it yields the same frames;
// - the raw input fed as if it were records opens nothing (a forger does
//   not hold the key).
#include "fuzz_check.hpp"

#include <sofw/frame.hpp>
#include <sofw/record.hpp>

#include <vector>

using namespace sofw;

namespace {

const SessionKeys &keys()
{
    static SessionKeys k = [] {
        SessionKeys out;
        derive_session_keys("fuzz-site-secret-0123456789", std::string(32, 'a'), std::string(32, 'b'),
                            std::string(32, 'c'), out);
        return out;
    }();
    return k;
}

// Feeds bytes in pieces the provider chooses; collects frames until an error.
RecordFrameDecoder::Result feed(RecordFrameDecoder &d, const std::vector<uint8_t> &bytes, FuzzedDataProvider &cuts,
                                std::vector<Frame> &frames)
{
    size_t at = 0;
    Frame f;
    while (at < bytes.size()) {
        const size_t n = cuts.ConsumeIntegralInRange<size_t>(1, bytes.size() - at);
        d.feed(bytes.data() + at, n);
        at += n;
        for (;;) {
            const auto r = d.next(f);
            if (r == RecordFrameDecoder::Result::error)
                return r;
            if (r == RecordFrameDecoder::Result::need_more)
                break;
            frames.push_back(f);
        }
    }
    return d.end_of_body() == RecordError::none ? RecordFrameDecoder::Result::need_more
                                                : RecordFrameDecoder::Result::error;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzedDataProvider in(data, size);
    const std::vector<uint8_t> plain = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 4096));
    const size_t damage_at = in.ConsumeIntegral<size_t>();
    const uint8_t damage = in.ConsumeIntegralInRange<uint8_t>(1, 255);
    const std::vector<uint8_t> rest = in.ConsumeRemainingBytes<uint8_t>();
    FuzzedDataProvider cuts(rest.data(), rest.size());

    // What the plaintext holds as frames, decoded without records.
    FrameDecoder plain_frames;
    plain_frames.feed(plain.data(), plain.size());
    std::vector<Frame> expected;
    Frame f;
    while (plain_frames.next(f) == FrameDecoder::Result::frame)
        expected.push_back(f);
    const bool whole = plain_frames.error() == DecodeError::none && plain_frames.buffered() == 0;

    RecordSealer sealer(keys().up);
    std::vector<uint8_t> sealed;
    const RecordError sealing = seal_frames(sealer, plain.data(), plain.size(), sealed);
    if (!whole) {
        // A buffer that does not end on a frame boundary is not sealed.
        FUZZ_CHECK(sealing != RecordError::none || plain_frames.error() != DecodeError::none);
        if (sealing != RecordError::none)
            return 0;
    }
    if (sealing != RecordError::none)
        return 0;

    {
        RecordFrameDecoder d(keys().up);
        std::vector<Frame> got;
        const auto r = feed(d, sealed, cuts, got);
        if (whole) {
            FUZZ_CHECK(r != RecordFrameDecoder::Result::error);
            FUZZ_CHECK(got.size() == expected.size());
            for (size_t i = 0; i < got.size(); i++)
                FUZZ_CHECK(encode_frame(got[i]) == encode_frame(expected[i]));
        }
    }
    if (whole) {
        // As a polling session reads it: one decoder for the session, the
        // records in several bodies (poll answers) cut at record
        // boundaries, each body ended; the sequence carries on across them.
        RecordFrameDecoder d(keys().up);
        std::vector<Frame> got;
        size_t at = 0;
        bool failed = false;
        while (at < sealed.size() && !failed) {
            size_t end = at;
            do {  // one or more whole records: the provider says how many
                const size_t len = size_t(sealed[end]) << 16 | size_t(sealed[end + 1]) << 8 | sealed[end + 2];
                end += record_overhead + len;
            } while (end < sealed.size() && cuts.ConsumeBool());
            d.feed(sealed.data() + at, end - at);
            for (;;) {
                const auto r = d.next(f);
                if (r != RecordFrameDecoder::Result::frame) {
                    failed = r == RecordFrameDecoder::Result::error;
                    break;
                }
                got.push_back(f);
            }
            failed = failed || d.end_of_body() != RecordError::none;
            at = end;
        }
        FUZZ_CHECK(!failed);
        FUZZ_CHECK(got.size() == expected.size());
        for (size_t i = 0; i < got.size(); i++)
            FUZZ_CHECK(encode_frame(got[i]) == encode_frame(expected[i]));
    }
    if (!sealed.empty()) {
        std::vector<uint8_t> bad = sealed;
        bad[damage_at % bad.size()] ^= damage;
        RecordFrameDecoder d(keys().up);
        std::vector<Frame> got;
        FUZZ_CHECK(feed(d, bad, cuts, got) == RecordFrameDecoder::Result::error);
        FUZZ_CHECK(got.size() <= expected.size());  // only records before the damaged one
    }
    {
        RecordFrameDecoder d(keys().down);
        std::vector<Frame> got;
        feed(d, rest, cuts, got);
        FUZZ_CHECK(got.empty());
    }
    return 0;
}
