// SIP digest authentication for the load generator (RFC 2617 / RFC 8760
// MD5, qop=auth): answers a 401/407 challenge the way a phone does. The
// realm is whatever the challenge names; the same password for every user.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace loadgen {

struct Challenge {
    std::string realm, nonce, opaque, algorithm;
    bool qop_auth = false;  // the challenge offered qop=auth
};

// Parses a WWW-Authenticate / Proxy-Authenticate value ("Digest realm=...,
// nonce=..."). Nothing if it is not a Digest challenge with realm and nonce
// or names an algorithm other than MD5.
std::optional<Challenge> parse_challenge(const std::string &value);

// The Authorization / Proxy-Authorization value answering ch for user on
// method and request URI; nc counts the uses of this nonce (from 1).
std::string digest_answer(const Challenge &ch, const std::string &user, const std::string &password,
                          const std::string &method, const std::string &uri, uint32_t nc, const std::string &cnonce);

// Lower-case hex MD5 (exposed for the unit check of RFC 2617's example).
std::string md5_hex(const std::string &s);

}  // namespace loadgen
