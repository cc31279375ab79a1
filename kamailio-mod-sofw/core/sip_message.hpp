// Just enough of a SIP message for the media relay: what dialog it belongs
// to, whether it is a request or a reply, and its body. Kamailio has parsed
// (or will parse) the message properly; here we only look, and replace the
// body with Content-Length kept right.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sofw::hras {

struct SipInfo {
    bool is_request = false;
    std::string method;  // requests
    int status = 0;      // replies
    std::string call_id;
    std::string cseq_method;
    std::string from;  // header values as written (for status views)
    std::string to;
    std::string content_type;  // lower-case media type, no parameters
    size_t body_offset = 0;    // where the body starts in the message
    size_t body_len = 0;

    bool has_sdp() const { return body_len > 0 && content_type == "application/sdp"; }
};

std::optional<SipInfo> sip_inspect(std::string_view msg);

// The message with its body replaced and Content-Length set to match.
std::string sip_replace_body(std::string_view msg, const SipInfo &info, std::string_view body);

// A reply to `request` (Via, From, To, Call-ID, CSeq copied; a To tag added
// if missing), without body. nullopt if request is not a request.
std::optional<std::string> sip_make_reply(std::string_view request, int code, std::string_view reason);

}  // namespace sofw::hras
