// Where a phone's own SDP says its media arrives: the connection address
// and port of each m-line (media-level c= over session-level c=). The LAN
// policy (lan_policy.hpp) reads the SDP of the phone's offers and answers
// going up, so HRAC learns each phone's media endpoints from the phone,
// never from HRAS. Reads only c= and m= lines, changes nothing, and refuses
// (nullopt) what it cannot read whole: oversized bodies, too many m-lines,
// addresses that are not literal IPv4/IPv6, ports out of range.
#pragma once
#include <sofw/ra_header.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace hrac {

struct SdpMedia {
    sofw::RaHeader endpoint;  // family, addr, port (the RTP port; RTCP is port + 1)
};

struct SdpScan {
    static constexpr size_t max_body = 16 * 1024;
    static constexpr size_t max_media = 16;
    // m-lines with port 0 (declined streams) or c=0.0.0.0 (hold) are left out.
    std::vector<SdpMedia> media;
};

// The SDP body of a SIP message (after the blank line); nullopt if the
// message has no body or the body is not SDP HRAC can read.
std::optional<SdpScan> scan_sdp(const uint8_t *body, size_t len);

}  // namespace hrac
