// HRAC's LAN policy fed a sequence of events (fuzz_events.hpp): SIP from a
// LAN endpoint, SIP from HRAS for one, media of a pair for one, the clock
// moving on. Endpoints come from a small table (phones, a second port of
// one, IPv6, the unspecified address) so that events meet. Kinds, by the
// first byte modulo 5, with parameter bytes p0 p1:
//   0 SIP from the LAN: from endpoint p0
//   1 SIP from HRAS: to endpoint p0
//   2 media: pair naming endpoint p0 (p1 odd: naming none), to endpoint p1/2
//   3 clock: p0 * p1 seconds pass
//   4 is endpoint p0 registered?
// What must hold whatever the sequence: HRAS gets a request to an endpoint
// only while it is registered, and a response only to one that sent SIP
// within the answer window or is registered; media goes only to an address
// where a registered phone is (the one whose SDP named the endpoint), and
// for a pair that named a phone only to that phone's address; every
// refusal says why.
#include "fuzz_check.hpp"
#include "fuzz_events.hpp"
#include "lan_policy.hpp"
#include "sip_peek.hpp"

#include <map>
#include <string>

using namespace hrac;
using sofw::RaHeader;

namespace {

const char *const endpoints[] = {"192.168.1.10:5060", "192.168.1.11:5060", "192.168.1.10:5062",
                                 "[fd00::10]:5060",   "0.0.0.0:5060",      "10.0.0.2:5060"};
constexpr size_t n_endpoints = sizeof endpoints / sizeof endpoints[0];

RaHeader endpoint(uint8_t i) { return *RaHeader::parse(endpoints[i % n_endpoints]); }

std::string ip_of(const RaHeader &h)
{
    const std::string s = h.to_string();
    return s.substr(0, s.rfind(':'));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    LanPolicy policy;
    uint64_t now = 1000000;
    std::map<std::string, uint64_t> last_from;  // endpoint -> when it last sent SIP up
    for (const auto &e : sofw_fuzz::split_events(data, size, 2)) {
        std::string why;
        switch (e.kind % 5) {
        case 0: {
            const RaHeader src = endpoint(e.param(0));
            policy.sip_from_lan(src, e.data(), e.payload.size(), now);
            last_from[src.to_string()] = now;
            break;
        }
        case 1: {
            const RaHeader dst = endpoint(e.param(0));
            const bool ok = policy.sip_to_lan(dst, e.data(), e.payload.size(), now, why);
            const auto peek = peek_sip(e.data(), e.payload.size());
            const auto it = last_from.find(dst.to_string());
            const bool recent = it != last_from.end() && now - it->second <= LanPolicy::answer_window_ms;
            if (!ok)
                FUZZ_CHECK(!why.empty());
            else if (!peek || peek->request)
                FUZZ_CHECK(policy.registered(dst, now));
            else
                FUZZ_CHECK(recent || policy.registered(dst, now));
            break;
        }
        case 2: {
            std::optional<RaHeader> phone;
            if (!(e.param(1) & 1))
                phone = endpoint(e.param(0));
            const RaHeader dst = endpoint(e.param(1) / 2);
            const bool ok = policy.media_to_lan(phone, dst, now, why);
            if (ok && LanPolicy::names_phone(phone))
                FUZZ_CHECK(ip_of(*phone) == ip_of(dst));
            if (ok) {
                bool phone_there = false;
                for (uint8_t i = 0; i < n_endpoints; i++)
                    phone_there |= ip_of(endpoint(i)) == ip_of(dst) && policy.registered(endpoint(i), now);
                FUZZ_CHECK(phone_there);
            }
            if (!ok)
                FUZZ_CHECK(!why.empty());
            break;
        }
        case 3: now += uint64_t(e.param(0)) * e.param(1) * 1000; break;
        case 4: (void)policy.registered(endpoint(e.param(0)), now); break;
        }
    }
    return 0;
}
