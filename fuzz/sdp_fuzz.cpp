// SDP parse and rewrite (sdp.hpp's rules), as the media plan uses them: the
// body is the input; stream i gets the relay target 203.0.113.5:30000+2i
// (rtcp_port 0 or explicit), is declined, or is left alone, as the input's
// length picks. An input whose first line is "Content-Type: <value>" is a
// message body of that type instead (multipart.hpp: the SDP part of a
// multipart/mixed or /alternative body), parsed and rewritten whole.
// What parses must rewrite to SDP that parses again with as many streams,
// and rewriting that once more must change nothing (the rules say
// rewriting is idempotent). A body with no stream rewritten comes back as
// it was.
#include "core/multipart.hpp"
#include "core/sdp.hpp"
#include "fuzz_check.hpp"

#include <string>
#include <vector>

using namespace sofw::hras;

namespace {

std::vector<SdpTarget> targets_for(const std::vector<SdpStream> &streams, size_t size, bool &any)
{
    std::vector<SdpTarget> targets;
    any = false;
    for (size_t i = 0; i < streams.size() && i < 16; ++i) {
        const bool skip = (size >> i) & 1;
        const bool decline = !skip && ((size >> (i + 2)) & 3) == 3;
        const auto port = static_cast<uint16_t>(skip || decline ? 0 : 30000 + 2 * i);
        const auto rtcp = static_cast<uint16_t>((size >> (i + 1)) & 1 ? port + 1 : 0);
        targets.push_back(decline ? SdpTarget::declined("203.0.113.5") : SdpTarget{"203.0.113.5", port, rtcp});
        any = any || ((port != 0 || decline) && streams[i].port != 0);
    }
    return targets;
}

// A message body of the given Content-Type: what is found and rewritten
// parses again as the same body, the rewrite is idempotent, the rest of a
// multipart body stays.
void body_of_type(std::string_view type, const std::string &body, size_t size)
{
    auto part = find_sdp(type, body);
    auto parsed = SdpBody::parse(type, body);
    if (!part) {
        FUZZ_CHECK(!parsed);
        return;
    }
    FUZZ_CHECK(part->before.size() + part->sdp.size() + part->after.size() == body.size());
    if (!parsed)
        return;
    bool any = false;
    auto targets = targets_for(parsed->info().streams, size, any);
    const std::string out = parsed->rewrite(targets);
    if (!any)
        FUZZ_CHECK(out == body);
    FUZZ_CHECK(out.compare(0, part->before.size(), part->before) == 0);
    FUZZ_CHECK(out.size() >= part->after.size() &&
               out.compare(out.size() - part->after.size(), part->after.size(), part->after) == 0);
    auto again = SdpBody::parse(type, out);
    FUZZ_CHECK(again);
    FUZZ_CHECK(again->info().streams.size() == parsed->info().streams.size());
    FUZZ_CHECK(again->rewrite(targets) == out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string input(reinterpret_cast<const char *>(data), size);
    static const std::string ct = "Content-Type: ";
    if (input.compare(0, ct.size(), ct) == 0) {
        size_t nl = input.find('\n');
        if (nl == std::string::npos)
            return 0;
        body_of_type(std::string_view(input).substr(ct.size(), nl - ct.size()), input.substr(nl + 1), size);
        return 0;
    }
    const std::string &body = input;
    auto info = sdp_parse(body);
    auto parsed = SdpBody::parse(body);
    FUZZ_CHECK(info.has_value() == parsed.has_value());
    if (!parsed)
        return 0;
    const auto &streams = parsed->info().streams;
    FUZZ_CHECK(streams.size() == info->streams.size());
    FUZZ_CHECK(!streams.empty());

    bool any = false;
    std::vector<SdpTarget> targets = targets_for(streams, size, any);
    const std::string out = parsed->rewrite(targets);
    if (!any)
        FUZZ_CHECK(out == body);
    auto one_shot = sdp_rewrite(body, targets);
    FUZZ_CHECK(one_shot && *one_shot == out);

    auto again = SdpBody::parse(out);
    FUZZ_CHECK(again);
    FUZZ_CHECK(again->info().streams.size() == streams.size());
    FUZZ_CHECK(again->rewrite(targets) == out);
    // The same bytes as a plain application/sdp body: the same streams.
    auto typed = SdpBody::parse("application/sdp", body);
    FUZZ_CHECK(typed && typed->info().streams.size() == streams.size());
    return 0;
}
