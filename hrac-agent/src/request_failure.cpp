#include "request_failure.hpp"

#include <sofw/text.hpp>

#include <cctype>

namespace hrac {

namespace {

// code: "407", or how a proxy said the same otherwise.
std::string proxy_407(const RequestOutcome &o, const std::string &code = "407")
{
    if (o.proxy_credentials)
        return "proxy refused the credentials (" + code + ") \u2014 check proxy_user/proxy_password (and proxy_auth)";
    return "proxy requires authentication (" + code + ") \u2014 set proxy_user/proxy_password";
}

// tinyproxy 1.11 answers wrong credentials with 401 (and a WWW-Authenticate
// challenge) rather than 407.
const char *tinyproxy_401 = "401, as tinyproxy answers instead of 407";

}  // namespace

const char *failure_kind_name(FailureKind kind)
{
    switch (kind) {
    case FailureKind::transport: return "transport";
    case FailureKind::hras_refused: return "hras_refused";
    case FailureKind::proxy_refused: return "proxy_refused";
    case FailureKind::tls: return "tls";
    case FailureKind::stream_refused: return "stream_refused";
    }
    return "?";
}

namespace {

Failure classify_outcome(const RequestOutcome &o)
{
    // A CONNECT that did not get a 2xx: the proxy speaks, not HRAS.
    if (o.connect_code != 0 && (o.connect_code < 200 || o.connect_code > 299)) {
        if (o.connect_code == 407)
            return {FailureKind::proxy_refused, proxy_407(o)};
        if (o.connect_code == 401)
            return {FailureKind::proxy_refused, proxy_407(o, tinyproxy_401)};
        if (o.connect_code == 403)
            return {FailureKind::proxy_refused,
                    "proxy refused CONNECT (403): the proxy may allow CONNECT only to 443 or not at all; "
                    "try an http:// server URL"};
        return {FailureKind::proxy_refused, "proxy refused CONNECT (" + std::to_string(o.connect_code) + ")" +
                                                (o.refusal.empty() ? "" : ": " + o.refusal)};
    }

    switch (o.result) {
    case CURLE_PEER_FAILED_VERIFICATION: return {FailureKind::tls, "HRAS certificate does not verify: " + o.curl_error};
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH: return {FailureKind::tls, "HRAS public key does not match pin_sha256"};
    case CURLE_SSL_CACERT_BADFILE: return {FailureKind::tls, "cannot use ca_file: " + o.curl_error};
    case CURLE_SSL_CERTPROBLEM: return {FailureKind::tls, "cannot use client_cert/client_key: " + o.curl_error};
    case CURLE_SSL_CONNECT_ERROR:
        return {FailureKind::tls,
                "TLS handshake with HRAS failed (does it want a client certificate?): " + o.curl_error};
    default: break;
    }

    // TLS 1.3 sends the server's verdict on the client certificate after
    // the handshake, so curl reports it as a read or write error.
    if (o.curl_error.find("alert certificate required") != std::string::npos)
        return {FailureKind::tls, "HRAS requires a TLS client certificate (client_cert/client_key): " + o.curl_error};
    if (o.curl_error.find("alert bad certificate") != std::string::npos ||
        o.curl_error.find("alert unknown ca") != std::string::npos)
        return {FailureKind::tls, "HRAS refused the TLS client certificate: " + o.curl_error};

    if (o.status != 0 && o.status != 200) {
        const std::string code = std::to_string(o.status);
        // An HTML title often repeats the code ("400 Bad Request").
        const std::string reason =
            sofw::starts_with(o.refusal, code + " ") ? o.refusal.substr(code.size() + 1) : o.refusal;
        const std::string why = reason.empty() ? "" : " " + reason;
        // HRAS never answers these itself (docs/protocol.md "Status codes").
        if (o.status == 407)
            return {FailureKind::proxy_refused, proxy_407(o)};
        // HRAS's 401 never carries an authentication challenge.
        if (o.status == 401 && o.via_proxy && o.auth_challenge)
            return {FailureKind::proxy_refused, proxy_407(o, tinyproxy_401)};
        if (o.via_proxy && o.status == 403)
            return {FailureKind::proxy_refused,
                    "proxy refused the request (403): its rules may not allow " + o.server + why};
        if (o.via_proxy && (o.status == 502 || o.status == 504))
            return {FailureKind::proxy_refused, "proxy could not reach HRAS at " + o.server + " (" + code + ")" + why};
        if (o.status == 411 || o.status == 413)
            return {FailureKind::stream_refused, "a proxy refused the endless upload (" + code + ")" + why +
                                                     (o.status == 413 ? " (nginx: set client_max_body_size 0)" : "")};
        return {FailureKind::hras_refused, "HRAS refused site '" + o.site + "': " + code + why};
    }

    if (o.result != CURLE_OK)
        return {FailureKind::transport, o.channel + ": " + o.curl_error};
    return {FailureKind::transport, "HRAS closed the " + o.channel};
}

}  // namespace

Failure classify(const RequestOutcome &o)
{
    Failure f = classify_outcome(o);
    if (f.kind == FailureKind::proxy_refused || f.kind == FailureKind::hras_refused ||
        f.kind == FailureKind::stream_refused)
        f.status = o.connect_code != 0 && (o.connect_code < 200 || o.connect_code > 299)
                       ? static_cast<int>(o.connect_code)
                       : o.status;
    return f;
}

std::string refusal_reason(const std::string &body)
{
    const std::string_view text = body;
    std::string line(sofw::trim(text.substr(0, text.find('\n'))));
    if (!line.empty() && line[0] == '<') {
        const auto title = body.find("<title>");
        const auto end = body.find("</title>");
        line = title != std::string::npos && end != std::string::npos && end > title
                   ? std::string(sofw::trim(text.substr(title + 7, end - title - 7)))
                   : "";
    }
    for (char &c : line) {
        if (!isprint(static_cast<unsigned char>(c)))
            c = '?';
    }
    return line;
}

}  // namespace hrac
