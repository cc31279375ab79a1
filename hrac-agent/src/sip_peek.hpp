// Just enough of a SIP message for the LAN's delivery policy: request or
// response, method or status, CSeq's method and the largest expiry it
// states. HRAC otherwise never parses SIP (HRAS rewrites it); this reads
// the start line and headers only, never changes anything, and refuses
// (nullopt) what does not look like SIP.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace hrac {

struct SipPeek {
    bool request = false;
    std::string method;       // requests: "REGISTER", ...
    int status = 0;           // responses: 200, ...
    std::string cseq_method;  // "REGISTER", ... ("" if no CSeq)
    // The largest of Expires: and every Contact's ;expires=, if any; a
    // REGISTER's "Contact: *" counts as 0.
    std::optional<unsigned> max_expires;
    // Where the body starts (after the empty line), 0 if there is none.
    size_t body_offset = 0;
};

std::optional<SipPeek> peek_sip(const uint8_t *data, size_t len);

}  // namespace hrac
