// The one view of a SIP message crossing the tunnel. It is parsed once, as
// it arrives; address translation edits header values through it, the media
// plan reads its dialog facts and may replace its body, and str() writes the
// result once. Kamailio parses the message properly; here we only look, and
// edit without touching anything we did not mean to: every byte that is not
// edited is copied as it came, and Content-Length follows a new body.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sofw::hras {

// What the media relay needs of a message: its dialog and its body.
struct SipInfo {
    bool is_request = false;
    std::string method;  // requests
    int status = 0;      // replies
    std::string call_id;
    std::string cseq_method;
    std::string from;  // header values as written (for status views)
    std::string to;
    std::string content_type;        // lower-case media type, no parameters
    std::string content_type_value;  // the whole Content-Type value (a multipart's boundary)
    size_t body_offset = 0;          // where the body starts in the message
    size_t body_len = 0;

    // A body that may carry SDP: application/sdp, or multipart/mixed or
    // /alternative (an SDP part among others).
    bool has_sdp() const;
};

// A CRLF keep-alive (RFC 5626): only whitespace, passed on as it is.
bool sip_is_keepalive(std::string_view msg);

class SipMessage {
public:
    struct Header {
        size_t start = 0;  // first byte of its first line
        size_t colon = 0;  // the ':' after its name
        size_t end = 0;    // end of its last line's content
        size_t next = 0;   // after its last line's terminator
        std::string name;  // lower case, compact forms expanded ("v" -> "via")
    };

    // nullopt: not a SIP message (no SIP start line or no end of headers).
    static std::optional<SipMessage> parse(std::string text);

    // The dialog facts; nullptr when the message names no dialog (no
    // Call-ID, or a status outside 100..699).
    const SipInfo *info() const { return dialog_ ? &info_ : nullptr; }
    std::string_view body() const;

    const std::vector<Header> &headers() const { return headers_; }
    // The value after the colon, folded lines joined by one space, leading
    // whitespace kept (as an edited value is written back).
    std::string value(size_t header) const;
    void set_value(size_t header, std::string value);
    // Leaves the header out of str(), all its lines.
    void remove_header(size_t header);
    // Replaces the body (from the end of the headers on) and sets
    // Content-Length to match, adding the header if there was none.
    void replace_body(std::string body);

    // The message with its edits.
    std::string str() const;
    // A stateless reply to this request (Via, From, To, Call-ID, CSeq
    // copied; a To tag added if missing), without body. nullopt if this is
    // not a request.
    std::optional<std::string> make_reply(int code, std::string_view reason) const;

private:
    std::string text_;
    std::vector<Header> headers_;
    std::vector<std::optional<std::string>> edits_;  // by header
    std::vector<bool> removed_;                      // by header
    std::optional<std::string> new_body_;
    size_t body_offset_ = 0;
    std::string eol_;
    SipInfo info_;
    bool dialog_ = false;

    const Header *find(const char *name) const;
};

// One-shot forms of the above, for callers with a single question.
std::optional<SipInfo> sip_inspect(std::string_view msg);
// The message with its body replaced and Content-Length set to match.
std::string sip_replace_body(std::string_view msg, const SipInfo &info, std::string_view body);
std::optional<std::string> sip_make_reply(std::string_view request, int code, std::string_view reason);

}  // namespace sofw::hras
