// Site authentication (docs/protocol.md "Authentication"): HRAC signs each
// tunnel request with HMAC-SHA256 under the site secret; HRAS checks the
// signature, the clock window and that the nonce was not seen before, and
// proves itself back with a signature over the client's nonce. The secret
// never crosses the wire.
#pragma once
#include "sofw/defaults.h"
#include "sofw/replay_cache.hpp"

#include <cstdint>
#include <unordered_map>
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

// replay_cache_full: a verified, fresh request that the site's replay cache
// had no room for (refused; see ReplayCache).
enum class AuthResult { ok, malformed, unknown_site, bad_signature, stale, replay, replay_cache_full };
const char *auth_result_name(AuthResult r);

class AuthVerifier {
public:
    // Nonces are kept for two windows: a request first seen at t may carry a
    // time up to t + window and so stays fresh until t + 2 * window. Each
    // site has a cache of its own holding at most replay_cache_size nonces,
    // so a site that fills its cache is refused alone.
    explicit AuthVerifier(uint64_t window_s = default_auth_window_s,
                          size_t replay_cache_size = ReplayCache::default_capacity)
        : window_(window_s), replay_cache_size_(replay_cache_size)
    {
    }
    // secret == nullptr: the site is not configured.
    AuthResult verify(const AuthRequest &r, const std::string &signature, const std::string *secret, uint64_t now);
    size_t replay_cache_entries(const std::string &site) const;

private:
    uint64_t window_;
    size_t replay_cache_size_;
    std::unordered_map<std::string, ReplayCache> replay_;  // by site name (configured sites only)
};

}  // namespace sofw
