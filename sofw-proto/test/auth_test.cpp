// Site authentication: HMAC known answer, request signing and every
// verifier outcome.
#include "sofw/auth.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace sofw;

namespace {

const std::string secret = "correct horse battery staple";
constexpr uint64_t now = 1700000000;

AuthRequest request()
{
    AuthRequest r;
    r.method = "GET";
    r.path = "/sofw/v1/down";
    r.site = "branch-1";
    r.session = random_hex(16);
    r.lan = "10.0.0.2:5060";
    r.time = now;
    r.nonce = random_hex(16);
    return r;
}

}  // namespace

TEST(Hmac, Rfc4231Case2)
{
    EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(RandomHex, LengthAndDigits)
{
    std::set<std::string> seen;
    for (size_t n : {0u, 1u, 16u, 300u}) {
        auto s = random_hex(n);
        ASSERT_EQ(s.size(), 2 * n);
        EXPECT_EQ(s.find_first_not_of("0123456789abcdef"), std::string::npos) << s;
        seen.insert(s);
    }
    EXPECT_EQ(seen.size(), 4u);
    EXPECT_NE(random_hex(16), random_hex(16));
}

TEST(Canonical, Layout)
{
    AuthRequest r = request();
    r.session = std::string(32, 'a');
    r.nonce = std::string(32, 'b');
    r.time = 42;
    EXPECT_EQ(canonical_request(r),
              "SOFW1\nGET\n/sofw/v1/down\nbranch-1\n" + r.session + "\n10.0.0.2:5060\n42\n" + r.nonce);
    EXPECT_EQ(sign_server_proof(secret, r), hmac_sha256_hex(secret, "SOFW1-SERVER\n" + r.nonce + "\n" + r.session));
}

TEST(ConstantTimeEqual, Basics)
{
    EXPECT_TRUE(constant_time_equal("abc", "abc"));
    EXPECT_FALSE(constant_time_equal("abc", "abd"));
    EXPECT_FALSE(constant_time_equal("abc", "abcd"));
    EXPECT_TRUE(constant_time_equal("", ""));
}

TEST(AuthVerifier, RightSecretAccepted)
{
    AuthVerifier v;
    auto r = request();
    EXPECT_EQ(v.verify(r, sign_request(secret, r), &secret, now), AuthResult::ok);
}

TEST(AuthVerifier, UppercaseSignatureAccepted)
{
    AuthVerifier v;
    auto r = request();
    auto sig = sign_request(secret, r);
    for (char &c : sig)
        c = static_cast<char>(toupper(c));
    EXPECT_EQ(v.verify(r, sig, &secret, now), AuthResult::ok);
}

TEST(AuthVerifier, WrongSecret)
{
    AuthVerifier v;
    auto r = request();
    EXPECT_EQ(v.verify(r, sign_request("other secret", r), &secret, now), AuthResult::bad_signature);
}

TEST(AuthVerifier, TamperedFields)
{
    const auto base = request();
    const auto sig = sign_request(secret, base);
    std::vector<AuthRequest> tampered(7, base);
    tampered[0].method = "POST";
    tampered[1].path = "/sofw/v1/up";
    tampered[2].site = "branch-2";
    tampered[3].session = random_hex(16);
    tampered[4].lan = "10.0.0.3:5060";
    tampered[5].time = now + 1;
    tampered[6].nonce = random_hex(16);
    for (const auto &t : tampered) {
        AuthVerifier v;
        EXPECT_EQ(v.verify(t, sig, &secret, now), AuthResult::bad_signature);
    }
}

TEST(AuthVerifier, Replay)
{
    AuthVerifier v;
    auto r = request();
    auto sig = sign_request(secret, r);
    EXPECT_EQ(v.verify(r, sig, &secret, now), AuthResult::ok);
    EXPECT_EQ(v.verify(r, sig, &secret, now + 5), AuthResult::replay);
}

TEST(AuthVerifier, ReplayWhileClientClockAhead)
{
    // A request dated a full window ahead stays fresh for two windows; the
    // nonce must be remembered for all of that time.
    AuthVerifier v(120);
    auto r = request();
    r.time = now + 120;
    auto sig = sign_request(secret, r);
    EXPECT_EQ(v.verify(r, sig, &secret, now), AuthResult::ok);
    EXPECT_EQ(v.verify(r, sig, &secret, now + 240), AuthResult::replay);
    EXPECT_EQ(v.verify(r, sig, &secret, now + 241), AuthResult::stale);
}

TEST(AuthVerifier, FullReplayCacheRefusesOnlyItsOwnSite)
{
    // Room for two nonces per site: the third fresh request of acme within
    // the window is refused, another site's requests are not.
    AuthVerifier v(120, 2);
    for (int i = 0; i < 2; i++) {
        auto r = request();
        EXPECT_EQ(v.verify(r, sign_request(secret, r), &secret, now), AuthResult::ok);
    }
    auto third = request();
    EXPECT_EQ(v.verify(third, sign_request(secret, third), &secret, now), AuthResult::replay_cache_full);
    EXPECT_EQ(v.replay_cache_entries(third.site), 2u);
    auto other = request();
    other.site = "other-site";
    const std::string other_secret = "other-secret-0123456789";
    EXPECT_EQ(v.verify(other, sign_request(other_secret, other), &other_secret, now), AuthResult::ok);
    // Two windows later the old nonces have expired and make room.
    third.time = now + 241;
    EXPECT_EQ(v.verify(third, sign_request(secret, third), &secret, now + 241), AuthResult::ok);
}

TEST(AuthVerifier, Stale)
{
    AuthVerifier v(120);
    auto r = request();
    r.time = now - 121;
    EXPECT_EQ(v.verify(r, sign_request(secret, r), &secret, now), AuthResult::stale);
    r.time = now + 121;
    EXPECT_EQ(v.verify(r, sign_request(secret, r), &secret, now), AuthResult::stale);
    r.time = now - 120;
    EXPECT_EQ(v.verify(r, sign_request(secret, r), &secret, now), AuthResult::ok);
}

TEST(AuthVerifier, StaleOrBadDoesNotBurnNonce)
{
    AuthVerifier v(120);
    auto r = request();
    r.time = now - 500;
    EXPECT_EQ(v.verify(r, sign_request(secret, r), &secret, now), AuthResult::stale);
    EXPECT_EQ(v.verify(r, std::string(64, '0'), &secret, now - 500), AuthResult::bad_signature);
    EXPECT_EQ(v.verify(r, sign_request(secret, r), &secret, now - 500), AuthResult::ok);
}

TEST(AuthVerifier, UnknownSite)
{
    AuthVerifier v;
    auto r = request();
    EXPECT_EQ(v.verify(r, sign_request(secret, r), nullptr, now), AuthResult::unknown_site);
}

TEST(AuthVerifier, Malformed)
{
    const auto base = request();
    const auto sig = sign_request(secret, base);
    std::vector<AuthRequest> bad(9, base);
    bad[0].nonce = base.nonce.substr(1);
    bad[1].nonce = base.nonce + "0";
    bad[2].nonce = std::string(32, 'g');
    bad[3].nonce = std::string(32, 'A');  // lowercase only
    bad[4].session = "";
    bad[5].site = "";
    bad[6].lan = "";
    bad[7].site = "a\nb";
    bad[8].session = base.session.substr(0, 31) + "Z";
    for (const auto &b : bad) {
        AuthVerifier v;
        EXPECT_EQ(v.verify(b, sig, &secret, now), AuthResult::malformed) << b.nonce;
    }
    AuthVerifier v;
    EXPECT_EQ(v.verify(base, sig.substr(1), &secret, now), AuthResult::malformed);
    EXPECT_EQ(v.verify(base, sig.substr(1) + "x", &secret, now), AuthResult::malformed);
    // Malformed is reported before the site lookup.
    EXPECT_EQ(v.verify(bad[0], sig, nullptr, now), AuthResult::malformed);
}

TEST(AuthNames, AllNamed)
{
    EXPECT_STREQ(auth_result_name(AuthResult::ok), "ok");
    EXPECT_STREQ(auth_result_name(AuthResult::bad_signature), "bad_signature");
    EXPECT_STREQ(auth_result_name(AuthResult::replay), "replay");
    EXPECT_STREQ(auth_result_name(AuthResult::replay_cache_full), "replay_cache_full");
}
