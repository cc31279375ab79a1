// proxy_auth as curl sees it, and the scheme HRAC remembers once a proxy
// accepted the credentials (http_options.hpp).
#include "http_options.hpp"

#include <gtest/gtest.h>

using namespace hrac;

TEST(HttpOptions, ProxyAuthMapsToCurl)
{
    EXPECT_EQ(curl_proxy_auth(ProxyAuth::any), CURLAUTH_ANY);
    EXPECT_EQ(curl_proxy_auth(ProxyAuth::basic), CURLAUTH_BASIC);
    EXPECT_EQ(curl_proxy_auth(ProxyAuth::digest), CURLAUTH_DIGEST);
    EXPECT_EQ(curl_proxy_auth(ProxyAuth::ntlm), CURLAUTH_NTLM);
    EXPECT_EQ(curl_proxy_auth(ProxyAuth::negotiate), CURLAUTH_NEGOTIATE);
}

TEST(ProxyAuthMemory, AnyLearnsTheSchemeCurlPicks)
{
    ProxyAuthMemory m(ProxyAuth::any, true);
    EXPECT_EQ(m.mask(), CURLAUTH_ANY);
    EXPECT_TRUE(m.still_negotiating());
    m.accepted_after(CURLAUTH_BASIC);
    EXPECT_EQ(m.mask(), CURLAUTH_BASIC);
    EXPECT_FALSE(m.still_negotiating());

    // curl's order: Negotiate, Digest, NTLM, Basic.
    m.accepted_after(CURLAUTH_NTLM | CURLAUTH_BASIC);
    EXPECT_EQ(m.mask(), CURLAUTH_NTLM);
    m.accepted_after(CURLAUTH_NTLM | CURLAUTH_DIGEST | CURLAUTH_BASIC);
    EXPECT_EQ(m.mask(), CURLAUTH_DIGEST);
    m.accepted_after(CURLAUTH_NEGOTIATE | CURLAUTH_NTLM);
    EXPECT_EQ(m.mask(), CURLAUTH_NEGOTIATE);

    m.refused();  // a 407 even so: negotiate again
    EXPECT_EQ(m.mask(), CURLAUTH_ANY);
    EXPECT_TRUE(m.still_negotiating());
    m.accepted_after(0);  // nothing offered that curl knows
    EXPECT_EQ(m.mask(), CURLAUTH_ANY);
}

TEST(ProxyAuthMemory, AnExplicitSchemeStays)
{
    ProxyAuthMemory m(ProxyAuth::digest, true);
    EXPECT_FALSE(m.still_negotiating());
    m.accepted_after(CURLAUTH_BASIC);
    EXPECT_EQ(m.mask(), CURLAUTH_DIGEST);
}

TEST(ProxyAuthMemory, NothingToNegotiateWithoutCredentials)
{
    EXPECT_FALSE(ProxyAuthMemory(ProxyAuth::any, false).still_negotiating());
}
