// The SIP view of a message crossing the tunnel (SipMessage): parse, read
// every header value and the dialog facts, edit a header, replace the body,
// write the message and answer it, as the tunnel boundary and the media plan
// do. What is written must parse again, with the new body and a
// Content-Length that says its size.
#include "core/sip_message.hpp"
#include "fuzz_check.hpp"

#include <string>

using namespace sofw::hras;

namespace {

const std::string new_body = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
                             "m=audio 30000 RTP/AVP 0\r\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string text(reinterpret_cast<const char *>(data), size);
    (void)sip_is_keepalive(text);
    auto m = SipMessage::parse(text);
    auto inspected = sip_inspect(text);
    FUZZ_CHECK(m.has_value() || !inspected);
    if (!m)
        return 0;
    FUZZ_CHECK(m->str() == text);  // no edits: every byte as it came

    const SipInfo *info = m->info();
    if (info) {
        FUZZ_CHECK(info->body_offset + info->body_len <= text.size());
        (void)info->has_sdp();
    }
    (void)m->body();
    const auto &headers = m->headers();
    for (size_t i = 0; i < headers.size(); ++i) {
        FUZZ_CHECK(headers[i].start <= headers[i].colon && headers[i].colon <= headers[i].end);
        FUZZ_CHECK(headers[i].end <= headers[i].next && headers[i].next <= text.size());
        (void)m->value(i);
    }

    if (auto reply = m->make_reply(486, "Busy Here")) {
        auto r = SipMessage::parse(*reply);
        FUZZ_CHECK(r);
    }
    (void)sip_make_reply(text, 200, "OK");

    if (!headers.empty()) {
        const size_t h = size % headers.size();
        m->set_value(h, " edited;branch=z9hG4bK-fuzz");
        // value() reads the message as it came; the edit shows in str().
        FUZZ_CHECK(m->str().find(": edited;branch=z9hG4bK-fuzz") != std::string::npos);
    }
    m->replace_body(new_body);
    const std::string out = m->str();
    auto again = SipMessage::parse(out);
    FUZZ_CHECK(again);
    FUZZ_CHECK(again->body() == new_body);
    if (inspected)
        (void)sip_replace_body(text, *inspected, new_body);
    return 0;
}
