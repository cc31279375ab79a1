// The lane parts of a tunnel request that HRAS reads from the wire: the
// request path (/sofw/v1/down/i, /up/i) and the X-SoFW-Lanes value. What
// parses must be in range and print back as the same text.
#include "fuzz_check.hpp"
#include "sofw/lanes.hpp"
#include "sofw/tunnel_http.hpp"

#include <string>
#include <string_view>

using namespace sofw;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string_view s(reinterpret_cast<const char *>(data), size);
    if (auto p = parse_lane_path(s)) {
        FUZZ_CHECK(p->lane < lanes_max);
        FUZZ_CHECK(lane_path(p->channel, p->lane) == s);
    }
    if (auto n = parse_lanes_value(s)) {
        FUZZ_CHECK(*n >= 1 && *n <= lanes_max);
        FUZZ_CHECK(parse_lanes_value(lanes_value(*n)) == n);
    }
    return 0;
}
