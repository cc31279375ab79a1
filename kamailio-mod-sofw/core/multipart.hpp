// Where the SDP is in a SIP body. Plain application/sdp is the whole body;
// multipart/mixed and multipart/alternative (RFC 2046, RFC 5621: SDP next
// to ISUP, a resource list, a location object) carry it as one part among
// others. Only the position is found here; the SDP rewriter (sdp.hpp)
// rewrites that part and puts the body back together around it.
#pragma once
#include <optional>
#include <string_view>

namespace sofw::hras {

struct SdpPart {
    std::string_view before;  // the body up to the SDP (multipart: delimiters, part headers)
    std::string_view sdp;     // the SDP itself
    std::string_view after;   // the rest of the body
};

// Most parts a multipart body may have to be read (more: not understood).
constexpr size_t multipart_max_parts = 16;

// Whether a body of this media type (lower case, no parameters) may carry
// SDP at all.
bool body_may_carry_sdp(std::string_view media_type);

// content_type: the whole Content-Type value (parameters included).
// nullopt: no SDP, or not a body we understand: a multipart body without a
// usable boundary, without a closing delimiter, with more than
// multipart_max_parts parts, or with more than one application/sdp part
// (which of them would the far side use?). Nested multiparts are not
// entered.
std::optional<SdpPart> find_sdp(std::string_view content_type, std::string_view body);

}  // namespace sofw::hras
