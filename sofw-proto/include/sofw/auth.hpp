// Site authentication (docs/protocol.md "Authentication"): HRAC signs each
// tunnel request with HMAC-SHA256 under the site secret; HRAS checks the
// signature, the clock window and that the nonce was not seen before, and
// proves itself back with a signature over the client's nonce. The secret
// never crosses the wire.
#pragma once
#include "sofw/defaults.h"

#include <cstdint>
#include <map>
#include <string>

namespace sofw {

struct AuthRequest {
    std::string method;   // "GET" / "POST"
    std::string path;     // below the server's base URL: tunnel_path::down, ...
    std::string site;     // site name
    std::string session;  // 32 hex chars, new per connection attempt
    std::string lan;      // HRAC's LAN SIP address "10.0.0.2:5060"
    uint64_t time = 0;    // unix seconds
    std::string nonce;    // 32 hex chars, random per request
};

std::string hmac_sha256_hex(const std::string &key, const std::string &msg);
std::string random_hex(size_t bytes);  // from getrandom(); 2*bytes chars

std::string canonical_request(const AuthRequest &r);
std::string sign_request(const std::string &secret, const AuthRequest &r);
std::string sign_server_proof(const std::string &secret, const AuthRequest &r);
// The proof of a response that starts record protection: it also covers
// HRAS's per-session nonce (X-SoFW-Server-Nonce, 32 hex chars), so a
// replayed or forged response cannot make HRAC take keys an attacker knows.
std::string sign_server_proof(const std::string &secret, const AuthRequest &r, const std::string &server_nonce);
bool constant_time_equal(const std::string &a, const std::string &b);

enum class AuthResult { ok, malformed, unknown_site, bad_signature, stale, replay };
const char *auth_result_name(AuthResult r);

// Remembers nonces seen within the window so a captured request cannot be
// replayed. Bounded: entries older than the window are purged.
class ReplayCache {
public:
    explicit ReplayCache(uint64_t window_s = default_auth_window_s) : window_(window_s) {}
    // True if the nonce is new (and remembers it); false for a replay.
    bool remember(const std::string &nonce, uint64_t now);
    size_t size() const { return seen_.size(); }

private:
    void purge(uint64_t now);
    uint64_t window_;
    std::map<std::string, uint64_t> seen_;  // nonce -> time first seen
};

class AuthVerifier {
public:
    // Nonces are kept for two windows: a request first seen at t may carry a
    // time up to t + window and so stays fresh until t + 2 * window.
    explicit AuthVerifier(uint64_t window_s = default_auth_window_s) : window_(window_s), replay_(2 * window_s) {}
    // secret == nullptr: the site is not configured.
    AuthResult verify(const AuthRequest &r, const std::string &signature, const std::string *secret, uint64_t now);

private:
    uint64_t window_;
    ReplayCache replay_;
};

}  // namespace sofw
