// One signed HTTP request of a tunnel session (docs/protocol.md
// "Authentication"): the streaming GET or POST, a poll or a send. It signs
// itself with a fresh nonce, checks HRAS's proof on a 200 before it hands
// any body byte on, keeps the start of a refusal's body for the log, and
// says why it failed (request_failure.hpp).
#pragma once
#include "config.hpp"
#include "curl_loop.hpp"
#include "http_options.hpp"
#include "request_failure.hpp"

#include <sofw/auth.hpp>

#include <curl/curl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hrac {

// What all requests of the tunnel share.
struct RequestContext {
    const Config &config;
    CurlLoop &loop;
    // For the wording of failures: a proxy is expected on the way
    // (proxy_choice.hpp), and HRAC has credentials for it.
    bool via_proxy;
    bool proxy_credentials;
    ProxyAuthMemory proxy_auth;
};

class TunnelRequest {
public:
    enum class Body { none, streaming, fixed };

    struct Handlers {
        // A 200 with a correct server proof (over server_nonce()): the
        // body may follow. False aborts the request (set_failure() says
        // why): the session does not accept this answer.
        std::function<bool()> verified;
        // Body bytes of a verified 200. False aborts the request; failure()
        // should say why.
        std::function<bool(const char *data, size_t len)> body;
        // Body::streaming: fills buf, or returns CURL_READFUNC_PAUSE.
        std::function<size_t(char *buf, size_t room)> read;
        // The request ended (outside curl's callbacks). May destroy this.
        std::function<void(CURLcode result)> done;
    };

    // name appears in logs ("downstream", "poll", ...).
    TunnelRequest(RequestContext &context, std::string name);
    ~TunnelRequest();  // removes a running transfer from the loop
    TunnelRequest(const TunnelRequest &) = delete;
    TunnelRequest &operator=(const TunnelRequest &) = delete;

    // method "GET" or "POST"; path below the server (sofw::tunnel_path::down, ...).
    // fixed_body is sent with Content-Length for Body::fixed. timeout_s 0:
    // none (the session's deadlines watch it). False: not started.
    bool start(const char *method, const char *path, const std::string &session, Body body,
               std::vector<uint8_t> fixed_body, long timeout_s, Handlers handlers);

    // One more request header ("Name: value"), for the next start().
    void add_header(std::string line) { extra_headers_.push_back(std::move(line)); }

    // Resumes a paused streaming upload. Not from inside a curl callback.
    void resume_upload();

    const std::string &name() const { return name_; }
    bool verified() const { return verified_; }
    // Of a verified 200: HRAS's X-SoFW-Server-Nonce, and the nonce this
    // request was signed with (the client nonce of the key schedule).
    const std::string &server_nonce() const { return server_nonce_; }
    const std::string &client_nonce() const { return auth_.nonce; }
    // Of a verified 200: HRAS's X-SoFW-Lanes, if it sent one.
    bool lanes_answered() const { return lanes_answered_; }
    const std::string &lanes_answer() const { return lanes_answer_; }
    int status() const { return status_; }
    size_t bytes_sent() const { return bytes_sent_; }
    // The reason a non-200 answer gave (refusal_reason() of its body).
    std::string refusal() const { return refusal_reason(refusal_body_); }
    // Why the request failed, in words for the log.
    Failure failure(CURLcode result) const;
    // Set when HRAC aborts the transfer itself (bad proof, framing).
    void set_failure(std::string why) { failure_ = std::move(why); }

private:
    static size_t on_header(char *buf, size_t size, size_t n, void *self);
    static size_t on_body(char *buf, size_t size, size_t n, void *self);
    static size_t on_read(char *buf, size_t size, size_t n, void *self);
    static int on_seek(void *self, curl_off_t offset, int origin);

    // A streaming upload's first bytes, kept until HRAS has proven itself:
    // when a proxy answers 407, curl retries with credentials and must
    // send the body again from its start (it rewinds through on_seek).
    static constexpr size_t replay_limit = 64 * 1024;

    struct EasyCleanup {
        void operator()(CURL *easy) const { curl_easy_cleanup(easy); }
    };
    struct SlistFree {
        void operator()(curl_slist *list) const { curl_slist_free_all(list); }
    };

    RequestContext &context_;
    const Config &config_;
    CurlLoop &loop_;
    std::string name_;
    Handlers handlers_;
    sofw::AuthRequest auth_;
    // curl points into these until easy_ is cleaned up, so they go after it.
    std::unique_ptr<curl_slist, SlistFree> headers_;
    std::vector<uint8_t> fixed_body_;
    std::unique_ptr<CURL, EasyCleanup> easy_;
    char error_[CURL_ERROR_SIZE] = {};
    bool in_loop_ = false;

    int status_ = 0;         // of the last response header block
    bool verified_ = false;  // 200 with a correct server proof
    std::string server_proof_;
    std::string server_nonce_;
    bool lanes_answered_ = false;
    std::string lanes_answer_;
    std::vector<std::string> extra_headers_;
    bool auth_challenge_ = false;    // the last block carried an authentication challenge
    bool proxy_challenged_ = false;  // a 407 came before the final answer
    std::string refusal_body_;       // start of a non-200 body
    std::string failure_;            // why HRAC aborted the transfer itself
    size_t bytes_sent_ = 0;          // streaming upload bytes handed to curl
    std::vector<uint8_t> replay_;
    size_t replay_pos_ = 0;    // next byte to resend after a rewind
    bool replay_kept_ = true;  // replay_ holds everything sent so far
};

}  // namespace hrac
