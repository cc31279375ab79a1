// HRAC's SDP scan (sdp_scan.hpp): the body of a phone's SIP, found by the
// SIP peek, read for the media endpoints the LAN policy admits. Whatever it
// returns stays within its limits and names only literal addresses with a
// real port.
#include "fuzz_check.hpp"
#include "sdp_scan.hpp"
#include "sip_peek.hpp"

using namespace hrac;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // As a whole SIP message (the body where the peek found it) and as a bare body.
    const auto peek = peek_sip(data, size);
    if (peek && peek->body_offset) {
        FUZZ_CHECK(peek->body_offset <= size);
        (void)scan_sdp(data + peek->body_offset, size - peek->body_offset);
    }
    const auto scan = scan_sdp(data, size);
    if (!scan)
        return 0;
    FUZZ_CHECK(size <= SdpScan::max_body);
    FUZZ_CHECK(scan->media.size() <= SdpScan::max_media);
    for (const SdpMedia &m : scan->media) {
        FUZZ_CHECK(m.endpoint.port != 0);
        FUZZ_CHECK(m.endpoint.family == 4 || m.endpoint.family == 6);
    }
    return 0;
}
