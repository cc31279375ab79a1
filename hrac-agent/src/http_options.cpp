#include "http_options.hpp"

#include <string>

namespace hrac {

namespace {

constexpr long connect_timeout_s = 10;

void apply_proxy(CURL *easy, const Config &c, unsigned long proxy_auth_mask)
{
    if (!c.proxy_from_environment) {
        // "" (proxy = none) makes curl go direct even if the environment
        // names a proxy.
        curl_easy_setopt(easy, CURLOPT_PROXY, c.proxy.c_str());
        // An explicit proxy is meant for the server: without no_proxy the
        // environment's exceptions must not send HRAC around it.
        curl_easy_setopt(easy, CURLOPT_NOPROXY, c.no_proxy_set ? c.no_proxy.c_str() : "");
    } else if (c.no_proxy_set) {
        curl_easy_setopt(easy, CURLOPT_NOPROXY, c.no_proxy.c_str());
    }
    // Otherwise curl reads http_proxy/https_proxy/all_proxy/no_proxy itself.

    if (!c.proxy_user.empty()) {
        curl_easy_setopt(easy, CURLOPT_PROXYUSERNAME, c.proxy_user.c_str());
        curl_easy_setopt(easy, CURLOPT_PROXYPASSWORD, c.proxy_password.c_str());
    } else if (c.proxy_auth == ProxyAuth::negotiate) {
        // Kerberos uses the process's ticket, but curl only attempts proxy
        // authentication at all once it has some "credentials".
        curl_easy_setopt(easy, CURLOPT_PROXYUSERPWD, ":");
    }
    curl_easy_setopt(easy, CURLOPT_PROXYAUTH, proxy_auth_mask);
    // https:// goes through CONNECT and http:// as plain forwarded requests,
    // curl's defaults; no HTTPPROXYTUNNEL, since many proxies allow CONNECT
    // only to 443. The CONNECT response's headers are not HRAS's.
    curl_easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
}

void apply_tls(CURL *easy, const Config &c)
{
    // Verification is curl's default; say so anyway, so no later change can
    // turn it off by accident.
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!c.ca_file.empty())
        curl_easy_setopt(easy, CURLOPT_CAINFO, c.ca_file.c_str());
    if (!c.pin_sha256.empty())
        curl_easy_setopt(easy, CURLOPT_PINNEDPUBLICKEY, c.pin_sha256.c_str());
    if (!c.client_cert.empty()) {
        curl_easy_setopt(easy, CURLOPT_SSLCERT, c.client_cert.c_str());
        curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (!c.client_key.empty()) {
        curl_easy_setopt(easy, CURLOPT_SSLKEY, c.client_key.c_str());
        curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
    }
}

}  // namespace

void ProxyAuthMemory::accepted_after(unsigned long offered)
{
    if (configured_ != CURLAUTH_ANY)
        return;
    for (unsigned long scheme : {CURLAUTH_NEGOTIATE, CURLAUTH_DIGEST, CURLAUTH_NTLM, CURLAUTH_BASIC}) {
        if (offered & scheme) {
            learned_ = scheme;
            return;
        }
    }
}

unsigned long curl_proxy_auth(ProxyAuth auth)
{
    switch (auth) {
    case ProxyAuth::any: return CURLAUTH_ANY;
    case ProxyAuth::basic: return CURLAUTH_BASIC;
    case ProxyAuth::digest: return CURLAUTH_DIGEST;
    case ProxyAuth::ntlm: return CURLAUTH_NTLM;
    case ProxyAuth::negotiate: return CURLAUTH_NEGOTIATE;
    }
    return CURLAUTH_ANY;
}

void apply_http_options(CURL *easy, const Config &c, unsigned long proxy_auth_mask)
{
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(easy, CURLOPT_USERAGENT, (std::string("hrac-agent/") + hrac_version).c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, connect_timeout_s);
    // TCP keep-alive catches dead peers below the application's deadlines.
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    apply_proxy(easy, c, proxy_auth_mask);
    apply_tls(easy, c);
}

}  // namespace hrac
