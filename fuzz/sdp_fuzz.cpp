// SDP parse and rewrite (sdp.hpp's rules), as the media plan uses them: the
// body is the input; stream i gets the relay target 203.0.113.5:30000+2i
// (rtcp_port 0 or explicit), or is left alone, as the input's length picks.
// What parses must rewrite to SDP that parses again with as many streams,
// and rewriting that once more must change nothing (the rules say
// rewriting is idempotent). A body with no stream rewritten comes back as
// it was.
#include "core/sdp.hpp"
#include "fuzz_check.hpp"

#include <string>
#include <vector>

using namespace sofw::hras;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string body(reinterpret_cast<const char *>(data), size);
    auto info = sdp_parse(body);
    auto parsed = SdpBody::parse(body);
    FUZZ_CHECK(info.has_value() == parsed.has_value());
    if (!parsed)
        return 0;
    const auto &streams = parsed->info().streams;
    FUZZ_CHECK(streams.size() == info->streams.size());
    FUZZ_CHECK(!streams.empty());

    std::vector<SdpTarget> targets;
    bool any = false;
    for (size_t i = 0; i < streams.size() && i < 16; ++i) {
        const bool skip = (size >> i) & 1;
        const auto port = static_cast<uint16_t>(skip ? 0 : 30000 + 2 * i);
        const auto rtcp = static_cast<uint16_t>((size >> (i + 1)) & 1 ? port + 1 : 0);
        targets.push_back({"203.0.113.5", port, rtcp});
        any = any || (port != 0 && streams[i].port != 0);
    }
    const std::string out = parsed->rewrite(targets);
    if (!any)
        FUZZ_CHECK(out == body);
    auto one_shot = sdp_rewrite(body, targets);
    FUZZ_CHECK(one_shot && *one_shot == out);

    auto again = SdpBody::parse(out);
    FUZZ_CHECK(again);
    FUZZ_CHECK(again->info().streams.size() == streams.size());
    FUZZ_CHECK(again->rewrite(targets) == out);
    return 0;
}
