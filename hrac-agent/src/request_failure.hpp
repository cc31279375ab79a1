// Why a tunnel request failed, in words an administrator can act on. The
// same curl error means different things depending on who answered: HRAS,
// a proxy on the way, or TLS below both. Pure logic, so every case has a
// unit test.
#pragma once
#include <curl/curl.h>

#include <string>

namespace hrac {

enum class FailureKind {
    transport,       // connection lost, timeouts, a server closing the stream
    hras_refused,    // HRAS answered, but not 200 (401, 409, 503, ...)
    proxy_refused,   // the proxy answered 407, or refused CONNECT or the request
    tls,             // certificate, pin or handshake
    stream_refused,  // a proxy refused the endless upload (411, 413)
};

struct RequestOutcome {
    CURLcode result = CURLE_OK;
    long connect_code = 0;           // CURLINFO_HTTP_CONNECTCODE: the proxy's CONNECT answer
    int status = 0;                  // the final response status, 0 if none
    bool auth_challenge = false;     // it carried (Proxy-|WWW-)Authenticate, which HRAS never sends
    bool via_proxy = false;          // a proxy is (predicted to be) in use
    bool proxy_credentials = false;  // proxy_user or credentials in the proxy URL
    std::string curl_error;          // CURLOPT_ERRORBUFFER or curl_easy_strerror()
    std::string refusal;             // first line of a non-200 body, printable
    std::string site;                // for "HRAS refused site 'x'"
    std::string channel;             // "downstream", "poll", ...
    std::string server;              // HRAS base URL
};

struct Failure {
    FailureKind kind = FailureKind::transport;
    std::string message;
    int status = 0;  // the HTTP status that made it a refusal, if any
};

Failure classify(const RequestOutcome &o);

const char *failure_kind_name(FailureKind kind);

// The reason in the start of a refusal's body: HRAS explains a refusal in
// a one-line body; a proxy or a web server in front of HRAS sends an HTML
// page, whose <title> says it. Printable characters only.
std::string refusal_reason(const std::string &body);

}  // namespace hrac
