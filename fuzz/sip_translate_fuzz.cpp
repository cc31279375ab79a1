// Address translation at the tunnel boundary, both directions, on the SIP
// view and on text, with the addresses of the unit tests: Kamailio's socket
// 127.0.0.1:5062, HRAC 192.168.1.2:5060, the phone 192.168.1.10:5060 behind
// loopback endpoint 127.1.0.1:40001. The two forms must agree, a CRLF
// keep-alive must pass unchanged, and translating must keep the message a
// SIP message with the same body.
#include "core/sip_translate.hpp"
#include "fuzz_check.hpp"

#include <string>

using namespace sofw::hras;

namespace {

const DownTranslation down{{"127.0.0.1", 5062}, {"192.168.1.2", 5060}, {"127.1.0.1", 40001}, {"192.168.1.10", 5060}};
const UpTranslation up{{"192.168.1.2", 5060}, {"127.0.0.1", 5062}};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string text(reinterpret_cast<const char *>(data), size);
    auto as_down = translate_down(text, down);
    auto as_up = translate_up(text, up);
    if (sofw::hras::sip_is_keepalive(text)) {
        FUZZ_CHECK(as_down && *as_down == text);
        FUZZ_CHECK(as_up && *as_up == text);
        return 0;
    }

    auto m = SipMessage::parse(text);
    FUZZ_CHECK(m.has_value() == as_down.has_value());
    FUZZ_CHECK(m.has_value() == as_up.has_value());
    if (!m)
        return 0;
    const std::string body(m->body());

    SipMessage d = *m;
    translate_down(d, down);
    FUZZ_CHECK(d.str() == *as_down);
    auto d2 = SipMessage::parse(d.str());
    FUZZ_CHECK(d2 && d2->body() == body);

    SipMessage u = *m;
    translate_up(u, up);
    FUZZ_CHECK(u.str() == *as_up);
    auto u2 = SipMessage::parse(u.str());
    FUZZ_CHECK(u2 && u2->body() == body);

    // A reply travels the other way: the phone's answer to what went down.
    translate_up(*d2, up);
    (void)d2->str();
    return 0;
}
