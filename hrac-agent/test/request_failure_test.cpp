// The words HRAC logs when a tunnel request fails: who refused (HRAS, a
// proxy, TLS) decides what the administrator must change.
#include "request_failure.hpp"

#include <gtest/gtest.h>

using namespace hrac;

namespace {

RequestOutcome outcome()
{
    RequestOutcome o;
    o.site = "berlin";
    o.channel = "downstream";
    o.server = "http://198.51.100.1:80";
    return o;
}

}  // namespace

TEST(RequestFailure, HrasRefusalKeepsItsReason)
{
    RequestOutcome o = outcome();
    o.status = 401;
    o.refusal = "bad_signature";
    const Failure f = classify(o);
    EXPECT_EQ(f.kind, FailureKind::hras_refused);
    EXPECT_EQ(f.status, 401);
    EXPECT_EQ(f.message, "HRAS refused site 'berlin': 401 bad_signature");
    o.status = 503;
    o.refusal = "";
    EXPECT_EQ(classify(o).message, "HRAS refused site 'berlin': 503");
    o.status = 400;
    o.refusal = "400 No required SSL certificate was sent";  // nginx's page title
    EXPECT_EQ(classify(o).message, "HRAS refused site 'berlin': 400 No required SSL certificate was sent");
}

TEST(RequestFailure, ProxyAuthentication)
{
    RequestOutcome o = outcome();
    o.via_proxy = true;
    o.status = 407;
    EXPECT_EQ(classify(o).kind, FailureKind::proxy_refused);
    EXPECT_EQ(classify(o).message, "proxy requires authentication (407) \u2014 set proxy_user/proxy_password");
    o.proxy_credentials = true;
    EXPECT_EQ(classify(o).message,
              "proxy refused the credentials (407) \u2014 check proxy_user/proxy_password (and proxy_auth)");
    EXPECT_EQ(classify(o).status, 407);

    // The same through CONNECT (https:// servers), where curl reports the
    // proxy's answer separately.
    RequestOutcome c = outcome();
    c.via_proxy = true;
    c.proxy_credentials = true;
    c.result = CURLE_COULDNT_CONNECT;
    c.connect_code = 407;
    EXPECT_EQ(classify(c).message,
              "proxy refused the credentials (407) \u2014 check proxy_user/proxy_password (and proxy_auth)");
    EXPECT_EQ(classify(c).status, 407);
}

TEST(RequestFailure, TinyproxyAnswersWrongCredentialsWith401)
{
    RequestOutcome o = outcome();
    o.via_proxy = true;
    o.proxy_credentials = true;
    o.status = 401;
    o.auth_challenge = true;  // WWW-Authenticate: Basic realm="Tinyproxy"
    EXPECT_EQ(classify(o).kind, FailureKind::proxy_refused);
    EXPECT_EQ(classify(o).message, "proxy refused the credentials (401, as tinyproxy answers instead of 407) "
                                   "\u2014 check proxy_user/proxy_password (and proxy_auth)");
    o.auth_challenge = false;  // HRAS's own 401
    EXPECT_EQ(classify(o).kind, FailureKind::hras_refused);

    RequestOutcome c = outcome();
    c.via_proxy = true;
    c.proxy_credentials = true;
    c.result = CURLE_COULDNT_CONNECT;
    c.connect_code = 401;
    EXPECT_EQ(classify(c).kind, FailureKind::proxy_refused);
}

TEST(RequestFailure, ConnectRefused)
{
    RequestOutcome o = outcome();
    o.via_proxy = true;
    o.result = CURLE_COULDNT_CONNECT;
    o.connect_code = 403;
    const Failure f = classify(o);
    EXPECT_EQ(f.kind, FailureKind::proxy_refused);
    EXPECT_EQ(f.status, 403);
    EXPECT_EQ(f.message, "proxy refused CONNECT (403): the proxy may allow CONNECT only to 443 or not at all; "
                         "try an http:// server URL");
    o.connect_code = 502;
    EXPECT_EQ(classify(o).message, "proxy refused CONNECT (502)");
    o.connect_code = 200;  // CONNECT fine: the failure lies beyond
    o.result = CURLE_RECV_ERROR;
    o.curl_error = "Connection reset by peer";
    EXPECT_EQ(classify(o).kind, FailureKind::transport);
}

TEST(RequestFailure, ForwardProxyRefusals)
{
    RequestOutcome o = outcome();
    o.via_proxy = true;
    o.status = 403;
    EXPECT_EQ(classify(o).message, "proxy refused the request (403): its rules may not allow http://198.51.100.1:80");
    o.status = 502;
    o.refusal = "Bad Gateway";
    EXPECT_EQ(classify(o).message, "proxy could not reach HRAS at http://198.51.100.1:80 (502) Bad Gateway");
    o.via_proxy = false;  // no proxy: it was HRAS (or what stands in front of it)
    EXPECT_EQ(classify(o).kind, FailureKind::hras_refused);
}

TEST(RequestFailure, EndlessUploadRefused)
{
    RequestOutcome o = outcome();
    o.channel = "upstream";
    o.status = 413;
    EXPECT_EQ(classify(o).kind, FailureKind::stream_refused);
    EXPECT_EQ(classify(o).message, "a proxy refused the endless upload (413) (nginx: set client_max_body_size 0)");
    o.status = 411;
    EXPECT_EQ(classify(o).kind, FailureKind::stream_refused);
}

TEST(RequestFailure, Tls)
{
    RequestOutcome o = outcome();
    o.result = CURLE_PEER_FAILED_VERIFICATION;
    o.curl_error = "SSL certificate problem: unable to get local issuer certificate";
    EXPECT_EQ(classify(o).kind, FailureKind::tls);
    EXPECT_EQ(classify(o).message,
              "HRAS certificate does not verify: SSL certificate problem: unable to get local issuer certificate");
    o.result = CURLE_SSL_PINNEDPUBKEYNOTMATCH;
    EXPECT_EQ(classify(o).message, "HRAS public key does not match pin_sha256");
    o.result = CURLE_SSL_CACERT_BADFILE;
    o.curl_error = "error setting certificate file: /x";
    EXPECT_EQ(classify(o).message, "cannot use ca_file: error setting certificate file: /x");
    o.result = CURLE_SSL_CERTPROBLEM;
    EXPECT_EQ(classify(o).kind, FailureKind::tls);
    o.result = CURLE_RECV_ERROR;
    o.curl_error = "OpenSSL SSL_read: error:0A00045C:SSL routines::tlsv13 alert certificate required, errno 0";
    EXPECT_EQ(classify(o).kind, FailureKind::tls);
    EXPECT_EQ(classify(o).message.rfind("HRAS requires a TLS client certificate (client_cert/client_key): ", 0), 0u);
}

TEST(RequestFailure, Transport)
{
    RequestOutcome o = outcome();
    o.result = CURLE_COULDNT_CONNECT;
    o.curl_error = "Failed to connect to 198.51.100.1 port 80: Connection refused";
    EXPECT_EQ(classify(o).kind, FailureKind::transport);
    EXPECT_EQ(classify(o).message, "downstream: Failed to connect to 198.51.100.1 port 80: Connection refused");
    EXPECT_EQ(classify(o).status, 0);
    o.result = CURLE_OK;
    o.status = 200;
    EXPECT_EQ(classify(o).message, "HRAS closed the downstream");
}
