#include "tunnel_request.hpp"

#include "http_options.hpp"

#include <sofw/text.hpp>
#include <sofw/tunnel_http.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace hrac {

namespace {

constexpr size_t refusal_body_limit = 256;

}  // namespace

TunnelRequest::TunnelRequest(RequestContext &context, std::string name)
    : context_(context), config_(context.config), loop_(context.loop), name_(std::move(name))
{}

TunnelRequest::~TunnelRequest()
{
    if (in_loop_)
        loop_.remove(easy_.get());
}

bool TunnelRequest::start(const char *method, const char *path, const std::string &session, Body body,
                          std::vector<uint8_t> fixed_body, long timeout_s, Handlers handlers)
{
    handlers_ = std::move(handlers);
    fixed_body_ = std::move(fixed_body);
    easy_.reset(curl_easy_init());
    if (!easy_)
        return false;
    CURL *easy = easy_.get();

    auth_.method = method;
    auth_.path = config_.server_path + path;
    auth_.site = config_.site;
    auth_.session = session;
    auth_.lan = config_.sip_listen;
    auth_.time = static_cast<uint64_t>(time(nullptr));
    auth_.nonce = sofw::random_hex(16);

    const std::string signature = sofw::sign_request(config_.secret, auth_);
    std::vector<std::string> lines = {
        std::string(sofw::hdr::site) + ": " + auth_.site,
        std::string(sofw::hdr::session) + ": " + auth_.session,
        std::string(sofw::hdr::lan) + ": " + auth_.lan,
        std::string(sofw::hdr::time) + ": " + std::to_string(auth_.time),
        std::string(sofw::hdr::nonce) + ": " + auth_.nonce,
        std::string(sofw::hdr::signature) + ": " + signature,
        // Where HRAS may put media ports; not signed: it grants no access,
        // and HRAS only ever asks HRAC to open ports within it.
        std::string(sofw::hdr::media_ports) + ": " + media_ports_text(config_),
        // A proxy must never answer a tunnel request from a cache.
        "Cache-Control: no-cache",
    };
    lines.insert(lines.end(), extra_headers_.begin(), extra_headers_.end());
    if (body == Body::none) {
        lines.push_back(std::string("Accept: ") + sofw::frames_content_type);
    } else {
        lines.push_back(std::string("Content-Type: ") + sofw::frames_content_type);
        if (body == Body::streaming)
            lines.push_back("Transfer-Encoding: chunked");
        // Without this curl may wait for "100 Continue"; through tinyproxy
        // that costs a second before the first byte.
        lines.push_back("Expect:");
    }
    for (const std::string &line : lines) {
        curl_slist *grown = curl_slist_append(headers_.get(), line.c_str());
        if (!grown)
            return false;
        headers_.release();
        headers_.reset(grown);
    }

    apply_http_options(easy, config_, context_.proxy_auth.mask());
    const std::string url = config_.server + path;
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers_.get());
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_);
    if (timeout_s > 0)
        curl_easy_setopt(easy, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &TunnelRequest::on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &TunnelRequest::on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
    if (body == Body::streaming) {
        curl_easy_setopt(easy, CURLOPT_POST, 1L);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, -1L);
        curl_easy_setopt(easy, CURLOPT_READFUNCTION, &TunnelRequest::on_read);
        curl_easy_setopt(easy, CURLOPT_READDATA, this);
        curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, &TunnelRequest::on_seek);
        curl_easy_setopt(easy, CURLOPT_SEEKDATA, this);
    } else if (body == Body::fixed) {
        curl_easy_setopt(easy, CURLOPT_POST, 1L);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(fixed_body_.size()));
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, fixed_body_.data());
    }

    in_loop_ = loop_.add(easy, [this](CURLcode result) {
        in_loop_ = false;
        // Copy: done() may destroy this request.
        auto done = handlers_.done;
        done(result);
    });
    return in_loop_;
}

void TunnelRequest::resume_upload()
{
    if (!easy_ || !in_loop_)
        return;
    const CURLcode rc = curl_easy_pause(easy_.get(), CURLPAUSE_CONT);
    if (rc != CURLE_OK && failure_.empty())
        failure_ = std::string("resuming the upload: ") + curl_easy_strerror(rc);
}

Failure TunnelRequest::failure(CURLcode result) const
{
    if (!failure_.empty())
        return {FailureKind::transport, failure_};
    RequestOutcome o;
    o.result = result;
    if (easy_)
        curl_easy_getinfo(easy_.get(), CURLINFO_HTTP_CONNECTCODE, &o.connect_code);
    o.status = status_;
    o.auth_challenge = auth_challenge_;
    o.via_proxy = context_.via_proxy;
    o.proxy_credentials = context_.proxy_credentials;
    o.curl_error = error_[0] ? error_ : curl_easy_strerror(result);
    o.refusal = refusal_reason(refusal_body_);
    o.site = config_.site;
    o.channel = name_;
    o.server = config_.server;
    return classify(o);
}

size_t TunnelRequest::on_header(char *buf, size_t size, size_t n, void *self)
{
    auto &r = *static_cast<TunnelRequest *>(self);
    const size_t len = size * n;
    const std::string line(sofw::trim(std::string_view(buf, len)));

    if (sofw::starts_with(line, "HTTP/")) {
        // A new header block (interim 1xx, or the answer to a proxy's 407
        // before curl retries with credentials).
        const auto space = line.find(' ');
        r.status_ = space == std::string::npos ? 0 : atoi(line.c_str() + space + 1);
        r.server_proof_.clear();
        r.server_nonce_.clear();
        r.lanes_answered_ = false;
        r.lanes_answer_.clear();
        r.auth_challenge_ = false;
        return len;
    }
    if (!line.empty()) {
        const auto colon = line.find(':');
        if (colon == std::string::npos)
            return len;
        const std::string_view name = sofw::trim(std::string_view(line).substr(0, colon));
        if (sofw::iequals(name, sofw::hdr::server_signature))
            r.server_proof_ = sofw::trim(std::string_view(line).substr(colon + 1));
        else if (sofw::iequals(name, sofw::hdr::server_nonce))
            r.server_nonce_ = sofw::trim(std::string_view(line).substr(colon + 1));
        else if (sofw::iequals(name, sofw::hdr::lanes)) {
            r.lanes_answered_ = true;
            r.lanes_answer_ = sofw::trim(std::string_view(line).substr(colon + 1));
        } else if (sofw::iequals(name, "WWW-Authenticate") || sofw::iequals(name, "Proxy-Authenticate"))
            r.auth_challenge_ = true;
        return len;
    }

    // End of a header block.
    if (r.status_ == 407)
        r.proxy_challenged_ = true;  // curl answers it with credentials, if it has any
    if (r.status_ != 200)
        return len;  // 1xx, a 407 curl answers itself, or a refusal named by its body
    if (r.server_proof_.empty()) {
        r.failure_ = "HRAS sent no server proof on the " + r.name_;
        return 0;
    }
    if (r.server_nonce_.empty()) {
        r.failure_ = "HRAS sent no server nonce on the " + r.name_ + " (an HRAS without record protection?)";
        return 0;
    }
    // The proof covers this request's own nonce and the server nonce: a
    // recorded answer replayed, or a nonce changed on the way, fails here.
    const std::string expected = sofw::sign_server_proof(r.config_.secret, r.auth_, r.server_nonce_);
    if (!sofw::constant_time_equal(r.server_proof_, expected)) {
        r.failure_ = "wrong server proof on the " + r.name_ + " (is this HRAS configured with the same secret?)";
        return 0;
    }
    r.verified_ = true;
    if (r.proxy_challenged_) {
        long offered = 0;
        curl_easy_getinfo(r.easy_.get(), CURLINFO_PROXYAUTH_AVAIL, &offered);
        r.context_.proxy_auth.accepted_after(static_cast<unsigned long>(offered));
    }
    // No more retries of this request: what was sent is HRAS's now.
    r.replay_kept_ = false;
    r.replay_.clear();
    r.replay_.shrink_to_fit();
    if (r.handlers_.verified && !r.handlers_.verified()) {
        r.verified_ = false;
        if (r.failure_.empty())
            r.failure_ = "the " + r.name_ + "'s answer does not belong to this session";
        return 0;
    }
    return len;
}

size_t TunnelRequest::on_body(char *buf, size_t size, size_t n, void *self)
{
    auto &r = *static_cast<TunnelRequest *>(self);
    const size_t len = size * n;
    if (r.status_ != 200) {
        const size_t room = refusal_body_limit - std::min(refusal_body_limit, r.refusal_body_.size());
        r.refusal_body_.append(buf, std::min(room, len));
        return len;
    }
    if (!r.verified_)
        return 0;  // never accept frames from an unproven server
    if (!r.handlers_.body)
        return len;
    return r.handlers_.body(buf, len) ? len : 0;
}

size_t TunnelRequest::on_read(char *buf, size_t size, size_t n, void *self)
{
    auto &r = *static_cast<TunnelRequest *>(self);
    const size_t room = size * n;
    if (r.replay_pos_ < r.replay_.size()) {
        // After a rewind: the bytes the refused attempt carried, again.
        const size_t again = std::min(room, r.replay_.size() - r.replay_pos_);
        memcpy(buf, r.replay_.data() + r.replay_pos_, again);
        r.replay_pos_ += again;
        return again;
    }
    const size_t taken = r.handlers_.read(buf, room);
    if (taken == CURL_READFUNC_PAUSE || taken == CURL_READFUNC_ABORT)
        return taken;
    r.bytes_sent_ += taken;
    if (r.replay_kept_) {
        if (r.replay_.size() + taken <= replay_limit) {
            r.replay_.insert(r.replay_.end(), buf, buf + taken);
            r.replay_pos_ = r.replay_.size();
        } else {
            r.replay_kept_ = false;  // too much to resend: a rewind fails the request
            r.replay_.clear();
            r.replay_pos_ = 0;
        }
    }
    return taken;
}

int TunnelRequest::on_seek(void *self, curl_off_t offset, int origin)
{
    auto &r = *static_cast<TunnelRequest *>(self);
    if (origin != SEEK_SET || offset != 0 || !r.replay_kept_)
        return CURL_SEEKFUNC_CANTSEEK;
    r.replay_pos_ = 0;
    return CURL_SEEKFUNC_OK;
}

}  // namespace hrac
