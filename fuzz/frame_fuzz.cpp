// FrameDecoder over a byte stream cut anywhere: the first bytes of the input
// choose the cut points, the rest is the stream. However it is cut, the
// decoder must give the same frames and the same error as when it is fed in
// one piece, and every frame it gives must encode and decode to itself.
#include "fuzz_check.hpp"
#include "sofw/frame.hpp"

#include <vector>

using namespace sofw;

namespace {

bool same(const Frame &a, const Frame &b)
{
    if (a.type != b.type || a.payload != b.payload || a.ra.has_value() != b.ra.has_value())
        return false;
    return !a.ra || (a.ra->same_endpoint(*b.ra) && a.ra->relay_port == b.ra->relay_port);
}

struct Outcome {
    std::vector<Frame> frames;
    DecodeError error = DecodeError::none;
};

void drain(FrameDecoder &d, Outcome &o)
{
    Frame f;
    for (;;) {
        auto r = d.next(f);
        if (r == FrameDecoder::Result::frame) {
            o.frames.push_back(f);
            continue;
        }
        if (r == FrameDecoder::Result::error) {
            FUZZ_CHECK(d.error() != DecodeError::none);
            FUZZ_CHECK(d.buffered() == 0);
            o.error = d.error();
        }
        return;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzedDataProvider in(data, size);
    std::vector<size_t> cuts(in.ConsumeIntegralInRange<size_t>(0, 16));
    for (auto &c : cuts)
        c = in.ConsumeIntegralInRange<size_t>(0, 300);
    const std::vector<uint8_t> stream = in.ConsumeRemainingBytes<uint8_t>();

    Outcome whole;
    {
        FrameDecoder d;
        d.feed(stream.data(), stream.size());
        drain(d, whole);
    }

    Outcome pieces;
    FrameDecoder d;
    size_t at = 0;
    for (size_t i = 0; at < stream.size(); ++i) {
        size_t n = i < cuts.size() ? cuts[i] : stream.size() - at;
        if (n > stream.size() - at)
            n = stream.size() - at;
        d.feed(stream.data() + at, n);
        at += n;
        drain(d, pieces);
        FUZZ_CHECK(d.retained() <= stream.size());
    }
    drain(d, pieces);

    FUZZ_CHECK(pieces.error == whole.error);
    FUZZ_CHECK(pieces.frames.size() == whole.frames.size());
    for (size_t i = 0; i < whole.frames.size(); ++i) {
        FUZZ_CHECK(same(pieces.frames[i], whole.frames[i]));
        std::vector<uint8_t> bytes;
        FUZZ_CHECK(encode_frame(whole.frames[i], bytes));
        auto peeked = peek_frame_size(bytes.data(), bytes.size());
        FUZZ_CHECK(peeked && *peeked == bytes.size());
        FrameDecoder again;
        again.feed(bytes.data(), bytes.size());
        Frame f;
        FUZZ_CHECK(again.next(f) == FrameDecoder::Result::frame);
        FUZZ_CHECK(same(f, whole.frames[i]));
        FUZZ_CHECK(again.buffered() == 0);
    }
    return 0;
}
