#include "sofw/auth.hpp"

#include <nettle/hmac.h>
#include <sys/random.h>

#include <cerrno>
#include <system_error>

namespace sofw {

namespace {

const char hex_digits[] = "0123456789abcdef";

std::string to_hex(const uint8_t *p, size_t n)
{
    std::string s(2 * n, '0');
    for (size_t i = 0; i < n; ++i) {
        s[2 * i] = hex_digits[p[i] >> 4];
        s[2 * i + 1] = hex_digits[p[i] & 0xf];
    }
    return s;
}

bool is_lower_hex(const std::string &s, size_t len)
{
    if (s.size() != len)
        return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    return true;
}

// Signatures are compared as lowercase hex; accept either case on input.
bool to_lower_hex(const std::string &s, size_t len, std::string &out)
{
    if (s.size() != len)
        return false;
    out = s;
    for (char &c : out) {
        if (c >= 'A' && c <= 'F')
            c = static_cast<char>(c - 'A' + 'a');
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

// The canonical request joins fields with '\n'; a field carrying a control
// character could shift the boundaries, so such requests are malformed.
bool is_field(const std::string &s)
{
    if (s.empty())
        return false;
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f)
            return false;
    return true;
}

}  // namespace

std::string hmac_sha256_hex(const std::string &key, const std::string &msg)
{
    hmac_sha256_ctx ctx;
    hmac_sha256_set_key(&ctx, key.size(), reinterpret_cast<const uint8_t *>(key.data()));
    hmac_sha256_update(&ctx, msg.size(), reinterpret_cast<const uint8_t *>(msg.data()));
    uint8_t digest[SHA256_DIGEST_SIZE];
    hmac_sha256_digest(&ctx, sizeof digest, digest);
    return to_hex(digest, sizeof digest);
}

std::string random_hex(size_t bytes)
{
    std::string raw(bytes, '\0');
    size_t got = 0;
    while (got < bytes) {
        ssize_t n = getrandom(&raw[got], bytes - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            // No safe fallback: a predictable nonce or session id is worse
            // than failing loudly.
            throw std::system_error(errno, std::generic_category(), "getrandom");
        }
        got += static_cast<size_t>(n);
    }
    return to_hex(reinterpret_cast<const uint8_t *>(raw.data()), bytes);
}

std::string canonical_request(const AuthRequest &r)
{
    return "SOFW1\n" + r.method + "\n" + r.path + "\n" + r.site + "\n" + r.session + "\n" + r.lan + "\n" +
           std::to_string(r.time) + "\n" + r.nonce;
}

std::string sign_request(const std::string &secret, const AuthRequest &r)
{
    return hmac_sha256_hex(secret, canonical_request(r));
}

std::string sign_server_proof(const std::string &secret, const AuthRequest &r)
{
    return hmac_sha256_hex(secret, "SOFW1-SERVER\n" + r.nonce + "\n" + r.session);
}

std::string sign_server_proof(const std::string &secret, const AuthRequest &r, const std::string &server_nonce)
{
    return hmac_sha256_hex(secret, "SOFW1-SERVER-KEYS\n" + r.nonce + "\n" + r.session + "\n" + server_nonce);
}

bool constant_time_equal(const std::string &a, const std::string &b)
{
    // Lengths are public (always 64 hex chars); only the content is secret.
    if (a.size() != b.size())
        return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

const char *auth_result_name(AuthResult r)
{
    switch (r) {
    case AuthResult::ok: return "ok";
    case AuthResult::malformed: return "malformed";
    case AuthResult::unknown_site: return "unknown_site";
    case AuthResult::bad_signature: return "bad_signature";
    case AuthResult::stale: return "stale";
    case AuthResult::replay: return "replay";
    case AuthResult::replay_cache_full: return "replay_cache_full";
    }
    return "unknown";
}

AuthResult AuthVerifier::verify(const AuthRequest &r, const std::string &signature, const std::string *secret,
                                uint64_t now)
{
    std::string sig;
    if (!is_field(r.site) || !is_field(r.lan) || !is_lower_hex(r.session, 32) || !is_lower_hex(r.nonce, 32) ||
        !to_lower_hex(signature, 64, sig))
        return AuthResult::malformed;
    if (!secret)
        return AuthResult::unknown_site;
    if (!constant_time_equal(sign_request(*secret, r), sig))
        return AuthResult::bad_signature;
    const uint64_t skew = now > r.time ? now - r.time : r.time - now;
    if (skew > window_)
        return AuthResult::stale;
    // Only verified, fresh requests reach the cache, so an attacker without
    // the secret cannot fill it.
    auto &cache = replay_.try_emplace(r.site, 2 * window_, replay_cache_size_).first->second;
    switch (cache.remember(r.nonce, now)) {
    case ReplayCache::Result::fresh: return AuthResult::ok;
    case ReplayCache::Result::replay: return AuthResult::replay;
    case ReplayCache::Result::full: return AuthResult::replay_cache_full;
    }
    return AuthResult::replay_cache_full;
}

size_t AuthVerifier::replay_cache_entries(const std::string &site) const
{
    auto it = replay_.find(site);
    return it == replay_.end() ? 0 : it->second.size();
}

}  // namespace sofw
