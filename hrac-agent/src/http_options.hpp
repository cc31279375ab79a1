// The curl options every tunnel request shares: how HRAC reaches HRAS
// (proxy, proxy authentication, TLS verification) and how long it waits
// to connect. Signing and bodies are the request's own business.
#pragma once
#include "config.hpp"

#include <curl/curl.h>

namespace hrac {

// CURLOPT_PROXYAUTH's bitmask for proxy_auth.
unsigned long curl_proxy_auth(ProxyAuth auth);

// With proxy_auth = any, curl sends a request without credentials first
// and answers the proxy's 407 with the best scheme the proxy offers; it
// learns that per handle, and HRAC's requests are one-shot. That costs
// every request a round trip (polling makes many), and it breaks the
// endless upload with NTLM: curl must finish the body of the refused
// attempt on the same connection before the handshake, and that body
// never ends. So once a request got through a proxy's challenge, HRAC
// remembers the scheme curl picked (curl's own order: Negotiate, Digest,
// NTLM, Basic) and asks for it alone from then on: Basic goes up front,
// NTLM and Negotiate start their handshake without a body. A 407 even so
// forgets it.
class ProxyAuthMemory {
public:
    // credentials: HRAC has some for the proxy (proxy_user, or in its URL).
    ProxyAuthMemory(ProxyAuth configured, bool credentials)
        : configured_(curl_proxy_auth(configured)), credentials_(credentials)
    {}

    unsigned long mask() const { return learned_ ? learned_ : configured_; }
    // Whether a request that uploads endlessly should wait until another
    // request has learned the scheme: with credentials, any, nothing
    // learned yet.
    bool still_negotiating() const { return credentials_ && configured_ == CURLAUTH_ANY && !learned_; }
    // A request got through after a 407 offering these schemes
    // (CURLINFO_PROXYAUTH_AVAIL).
    void accepted_after(unsigned long offered);
    void refused() { learned_ = 0; }

private:
    unsigned long configured_;
    bool credentials_;
    unsigned long learned_ = 0;
};

// proxy_auth_mask: ProxyAuthMemory::mask().
void apply_http_options(CURL *easy, const Config &config, unsigned long proxy_auth_mask);

}  // namespace hrac
