// The verification of a tunnel request's X-SoFW-* values, as the tunnel
// server does it: header values in (site, session, lan, time, nonce,
// signature), X-SoFW-Time read as unsigned decimal, AuthVerifier::verify
// against a configured or unknown site, the LAN address parsed, and
// X-SoFW-Media-Ports. A request the fuzzer signs with the right secret
// must be accepted once, if well formed and fresh, and then be a replay.
#include "fuzz_check.hpp"
#include "sofw/auth.hpp"
#include "sofw/host_port.hpp"
#include "sofw/tunnel_http.hpp"

#include <cstdlib>
#include <string>

using namespace sofw;

namespace {

const std::string secret = "acme-0123456789abcdef";
constexpr uint64_t now = 1700000000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzedDataProvider in(data, size);
    AuthVerifier verifier(30);
    const int requests = in.ConsumeIntegralInRange(1, 8);
    for (int i = 0; i < requests && in.remaining_bytes(); ++i) {
        AuthRequest r;
        r.method = in.ConsumeBool() ? "GET" : "POST";
        r.path = in.ConsumeBool() ? tunnel_path::down : tunnel_path::send;
        r.site = in.ConsumeRandomLengthString(40);
        r.session = in.ConsumeRandomLengthString(40);
        r.lan = in.ConsumeRandomLengthString(60);
        const std::string time_text = in.ConsumeRandomLengthString(24);
        r.nonce = in.ConsumeRandomLengthString(40);
        std::string signature = in.ConsumeRandomLengthString(70);
        const bool known_site = in.ConsumeBool();
        const bool sign = in.ConsumeBool();
        const std::string media_ports = in.ConsumeRandomLengthString(24);

        char *end = nullptr;
        r.time = std::strtoull(time_text.c_str(), &end, 10);
        const bool time_ok = !time_text.empty() && !*end;
        if (sign)
            signature = sign_request(secret, r);
        const AuthResult res =
            time_ok ? verifier.verify(r, signature, known_site ? &secret : nullptr, now) : AuthResult::malformed;
        FUZZ_CHECK(auth_result_name(res) != nullptr);
        if (res == AuthResult::ok) {
            FUZZ_CHECK(known_site);
            FUZZ_CHECK(constant_time_equal(sign_request(secret, r), signature));
            // Accepted once: the same request again is a replay.
            FUZZ_CHECK(verifier.verify(r, signature, &secret, now) == AuthResult::replay);
            (void)HostPort::parse(r.lan);
            FUZZ_CHECK(sign_server_proof(secret, r).size() == 64);
        }
        if (res != AuthResult::malformed && res != AuthResult::unknown_site)
            FUZZ_CHECK(known_site);
        if (auto ports = parse_media_ports_value(media_ports)) {
            FUZZ_CHECK(ports->first >= 1024 && ports->first < ports->second);
            auto again = parse_media_ports_value(media_ports_value(ports->first, ports->second));
            FUZZ_CHECK(again && *again == *ports);
        }
    }
    return 0;
}
