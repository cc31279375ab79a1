#include "check_probe.hpp"

#include "http_options.hpp"
#include "session_records.hpp"

#include <sofw/auth.hpp>
#include <sofw/control.hpp>
#include <sofw/frame.hpp>
#include <sofw/text.hpp>
#include <sofw/tunnel_http.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

namespace hrac::check {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// One empty keep-alive: all a probe has to send.
std::vector<uint8_t> encoded_keepalive() { return sofw::encode_frame(sofw::keepalive_frame()); }

}  // namespace

std::string address_text(const Address &a)
{
    char host[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    if (a.addr.ss_family == AF_INET) {
        const auto *in = reinterpret_cast<const sockaddr_in *>(&a.addr);
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        return std::string(host) + ":" + std::to_string(port);
    }
    const auto *in6 = reinterpret_cast<const sockaddr_in6 *>(&a.addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
}

Resolution resolve(const std::string &host, uint16_t port, unsigned timeout_s)
{
    // getaddrinfo() has no timeout of its own: it runs in a thread, and a
    // thread that takes too long is abandoned (the check exits soon anyway).
    struct Shared {
        std::mutex mutex;
        std::condition_variable done_cv;
        bool done = false;
        bool abandoned = false;
        int rc = 0;
        addrinfo *list = nullptr;
    };
    auto shared = std::make_shared<Shared>();
    const auto start = Clock::now();
    std::thread([shared, host, port] {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo *list = nullptr;
        const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list);
        std::lock_guard<std::mutex> lock(shared->mutex);
        if (shared->abandoned) {
            if (list)
                freeaddrinfo(list);
            return;
        }
        shared->rc = rc;
        shared->list = list;
        shared->done = true;
        shared->done_cv.notify_all();
    }).detach();

    Resolution r;
    std::unique_lock<std::mutex> lock(shared->mutex);
    if (!shared->done_cv.wait_for(lock, std::chrono::seconds(timeout_s), [&] { return shared->done; })) {
        shared->abandoned = true;
        r.error = "no answer within " + std::to_string(timeout_s) + " s";
        r.ms = ms_since(start);
        return r;
    }
    r.ms = ms_since(start);
    if (shared->rc != 0) {
        r.error = gai_strerror(shared->rc);
        return r;
    }
    for (const addrinfo *ai = shared->list; ai; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(sockaddr_storage))
            continue;
        Address a;
        memcpy(&a.addr, ai->ai_addr, ai->ai_addrlen);
        a.len = ai->ai_addrlen;
        r.addresses.push_back(a);
    }
    freeaddrinfo(shared->list);
    if (r.addresses.empty())
        r.error = "no address";
    return r;
}

TcpOutcome tcp_connect(const std::vector<Address> &addresses, unsigned timeout_s)
{
    TcpOutcome o;
    o.kind = TcpOutcome::error;
    o.detail = "no address to try";
    const auto start = Clock::now();
    const double budget_ms = timeout_s * 1000.0;
    for (const Address &a : addresses) {
        const double left_ms = budget_ms - ms_since(start);
        if (left_ms <= 0)
            break;
        o.address = address_text(a);
        const int fd = socket(a.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            o.kind = TcpOutcome::error;
            o.detail = strerror(errno);
            continue;
        }
        const auto attempt = Clock::now();
        int err = 0;
        if (connect(fd, reinterpret_cast<const sockaddr *>(&a.addr), a.len) != 0) {
            err = errno;
            if (err == EINPROGRESS) {
                pollfd p{fd, POLLOUT, 0};
                const int n = ::poll(&p, 1, static_cast<int>(left_ms));
                if (n == 0) {
                    err = ETIMEDOUT;
                } else if (n < 0) {
                    err = errno;
                } else {
                    socklen_t len = sizeof err;
                    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                        err = errno;
                }
            }
        }
        o.ms = ms_since(attempt);
        close(fd);
        switch (err) {
        case 0:
            o.kind = TcpOutcome::works;
            o.detail.clear();
            return o;
        case ETIMEDOUT: o.kind = TcpOutcome::timeout; break;
        case ECONNREFUSED: o.kind = TcpOutcome::refused; break;
        case EHOSTUNREACH:
        case ENETUNREACH: o.kind = TcpOutcome::unreachable; break;
        default: o.kind = TcpOutcome::error; break;
        }
        o.detail = strerror(err);
    }
    return o;
}

namespace {

struct EasyState {
    EasyOutcome *out;
    std::string body;
};

size_t easy_header(char *buf, size_t size, size_t n, void *arg)
{
    auto &state = *static_cast<EasyState *>(arg);
    const size_t len = size * n;
    const std::string line(buf, len);
    if (sofw::starts_with(line, "HTTP/")) {
        // A new header block: whatever came before was interim.
        state.out->proxy_error = false;
        state.out->auth_challenge = false;
        state.body.clear();
    } else if (sofw::istarts_with(line, "X-Squid-Error:")) {
        state.out->proxy_error = true;
    } else if (sofw::istarts_with(line, "Proxy-Authenticate:") || sofw::istarts_with(line, "WWW-Authenticate:")) {
        state.out->auth_challenge = true;
    }
    return len;
}

size_t easy_body(char *buf, size_t size, size_t n, void *arg)
{
    auto &state = *static_cast<EasyState *>(arg);
    const size_t len = size * n;
    if (state.body.size() < 512)
        state.body.append(buf, std::min(len, 512 - state.body.size()));
    return len;
}

}  // namespace

EasyOutcome easy_request(const Config &config, const std::string &url, EasyKind kind, long timeout_s)
{
    EasyOutcome o;
    std::unique_ptr<CURL, void (*)(CURL *)> easy(curl_easy_init(), curl_easy_cleanup);
    if (!easy) {
        o.result = CURLE_FAILED_INIT;
        o.curl_error = "curl_easy_init failed";
        return o;
    }
    CURL *e = easy.get();
    char error[CURL_ERROR_SIZE] = {};
    EasyState state{&o, {}};
    apply_http_options(e, config, curl_proxy_auth(config.proxy_auth));
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, timeout_s);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &easy_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &state);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &easy_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &state);
    // Never from a cache: a proxy must ask the server.
    std::unique_ptr<curl_slist, void (*)(curl_slist *)> headers(curl_slist_append(nullptr, "Cache-Control: no-cache"),
                                                                curl_slist_free_all);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
    if (kind != EasyKind::get)
        curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
    if (kind == EasyKind::tunnel_only)
        curl_easy_setopt(e, CURLOPT_HTTPPROXYTUNNEL, 1L);

    const auto start = Clock::now();
    o.result = curl_easy_perform(e);
    o.ms = ms_since(start);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &o.status);
    curl_easy_getinfo(e, CURLINFO_HTTP_CONNECTCODE, &o.connect_code);
    o.curl_error = error[0] ? error : curl_easy_strerror(o.result);
    o.refusal = refusal_reason(state.body);
    return o;
}

TunnelProbes::TunnelProbes(const Config &config, bool via_proxy, bool proxy_credentials)
    : context_{config, loop_, via_proxy, proxy_credentials, ProxyAuthMemory(config.proxy_auth, proxy_credentials)}
{}

bool TunnelProbes::run(const bool &finished, uint64_t timeout_ms)
{
    if (finished)
        return true;
    bool expired = false;
    ReTimer deadline;
    deadline.start(timeout_ms, [&expired] {
        expired = true;
        re_cancel();
    });
    re_main(nullptr);
    return !expired || finished;
}

TunnelProbes::Result TunnelProbes::authenticate(unsigned timeout_s)
{
    // Only a poll (or the streaming GET) may open a session now
    // (docs/protocol.md "Handshake"; a send alone is refused with 409), and
    // a poll pair is answered in about one round trip: the same probe.
    return poll(timeout_s);
}

TunnelProbes::Result TunnelProbes::stream(unsigned timeout_s)
{
    Result r;
    bool finished = false;
    bool down_proven = false;
    bool stream_ok = false;
    const std::string session = sofw::random_hex(16);
    TunnelRequest down(context_, "downstream");
    TunnelRequest up(context_, "upstream");
    SessionRecords records;
    const std::vector<uint8_t> frame = encoded_keepalive();
    std::vector<uint8_t> keepalive;  // the first up record, sealed once the keys exist
    size_t sent = 0;
    ReTimer deferred_up;
    const auto start = Clock::now();

    auto finish = [&] {
        finished = true;
        re_cancel();
    };
    auto fail = [&](TunnelRequest &request, CURLcode result) {
        if (finished)
            return;
        // Either stream ending ends the probe: they never end while it works.
        r.failure = request.failure(result);
        finish();
    };

    TunnelRequest::Handlers uh;
    uh.read = [&](char *buf, size_t room) -> size_t {
        if (sent >= keepalive.size())
            return CURL_READFUNC_PAUSE;  // one frame is all the probe needs
        const size_t n = std::min(room, keepalive.size() - sent);
        memcpy(buf, keepalive.data() + sent, n);
        sent += n;
        return n;
    };
    uh.done = [&](CURLcode result) { fail(up, result); };
    auto start_up = [&] {
        if (!up.start("POST", sofw::tunnel_path::up, session, TunnelRequest::Body::streaming, {}, 0, std::move(uh)) &&
            !finished) {
            r.failure = {FailureKind::transport, "cannot start the upstream", 0};
            finish();
        }
    };
    // As the agent does (stream_session.cpp): the upload waits for the
    // GET's 200, which brings the keys its first record needs.
    TunnelRequest::Handlers dh;
    dh.verified = [&] {
        std::string why;
        if (!records.accept(context_.config.secret, session, down.client_nonce(), down.server_nonce(), why) ||
            sofw::seal_frames(records.sealer(), frame.data(), frame.size(), keepalive) != sofw::RecordError::none) {
            down.set_failure(why.empty() ? "cannot seal the first record" : why);
            return false;
        }
        down_proven = true;
        deferred_up.start(0, start_up);  // not from inside curl's callback
        return true;
    };
    dh.body = [&](const char *data, size_t len) {
        sofw::RecordFrameDecoder &decoder = records.decoder();
        decoder.feed(reinterpret_cast<const uint8_t *>(data), len);
        sofw::Frame down_frame;
        for (;;) {
            const auto next = decoder.next(down_frame);
            if (next == sofw::RecordFrameDecoder::Result::need_more)
                return true;
            if (next == sofw::RecordFrameDecoder::Result::error) {
                down.set_failure(std::string("downstream record error: ") + sofw::record_error_name(decoder.error()));
                return false;
            }
            if (sofw::is_stream_ok(down_frame) && !stream_ok) {
                stream_ok = true;
                r.ms = ms_since(start);
                finish();
            }
        }
    };
    dh.done = [&](CURLcode result) { fail(down, result); };

    if (!down.start("GET", sofw::tunnel_path::down, session, TunnelRequest::Body::none, {}, 0, std::move(dh))) {
        r.failure = {FailureKind::transport, "cannot start the downstream", 0};
        return r;
    }
    run(finished, timeout_s * 1000ull);
    r.works = down_proven && stream_ok;
    r.status = down.status();
    if (!r.works && r.failure.message.empty()) {
        const std::string after = " after " + std::to_string(timeout_s) + " s";
        r.failure = {FailureKind::transport,
                     !down_proven ? "no answer to the streaming GET" + after
                                  : "the GET's 200 arrived, but no STREAM_OK" + after,
                     0};
    }
    return r;
}

TunnelProbes::Result TunnelProbes::poll(unsigned timeout_s)
{
    // HRAS answers a long poll when it has frames or after its poll_wait
    // (sofw::poll_wait_s); a fresh session has none. But it answers a poll
    // at once (empty, proven) when a newer poll of the same session
    // replaces it, so a second poll shortly after the first brings an
    // answer in about one round trip. Whichever is answered first counts.
    Result r;
    bool finished = false;
    const std::string session = sofw::random_hex(16);
    TunnelRequest first(context_, "poll");
    TunnelRequest second(context_, "poll");
    ReTimer second_timer;
    const auto start = Clock::now();

    auto handlers = [&](TunnelRequest *request) {
        TunnelRequest::Handlers h;
        h.done = [&, request](CURLcode result) {
            if (finished)
                return;
            r.works = result == CURLE_OK && request->verified();
            if (!r.works)
                r.failure = request->failure(result);
            r.status = request->status();
            r.refusal = request->refusal();
            r.ms = ms_since(start);
            finished = true;
            re_cancel();
        };
        return h;
    };
    const long request_timeout = static_cast<long>(timeout_s);
    if (!first.start("GET", sofw::tunnel_path::poll, session, TunnelRequest::Body::none, {}, request_timeout,
                     handlers(&first))) {
        r.failure = {FailureKind::transport, "cannot start a poll", 0};
        return r;
    }
    second_timer.start(300, [&] {
        if (!finished)
            second.start("GET", sofw::tunnel_path::poll, session, TunnelRequest::Body::none, {}, request_timeout,
                         handlers(&second));
    });
    if (!run(finished, timeout_s * 1000ull + 500) && !r.works)
        r.failure = {FailureKind::transport, "no answer to a poll within " + std::to_string(timeout_s) + " s", 0};
    return r;
}

}  // namespace hrac::check
