#include "tunnel.hpp"

#include "log.hpp"

#include <sofw/control.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace hrac {

namespace {

constexpr const char *down_path = "/sofw/v1/down";
constexpr const char *up_path = "/sofw/v1/up";
constexpr const char *frames_content_type = "application/x-sofw-frames";
constexpr long connect_timeout_s = 10;
constexpr size_t upload_limit_bytes = 1024 * 1024;
constexpr size_t refusal_body_limit = 256;

using Clock = std::chrono::steady_clock;

struct EasyCleanup {
    void operator()(CURL *easy) const { curl_easy_cleanup(easy); }
};
struct SlistFree {
    void operator()(curl_slist *list) const { curl_slist_free_all(list); }
};

uint64_t monotonic_ms() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count());
}

bool iequals(const std::string &a, const char *b) {
    if (a.size() != strlen(b))
        return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (tolower(static_cast<unsigned char>(a[i])) != tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

std::string trim(const std::string &s) {
    const auto begin = s.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos)
        return "";
    return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

// HRAS explains a refusal in a one-line body; keep just that line, printable.
std::string refusal_reason(const std::string &body) {
    std::string line = trim(body.substr(0, body.find('\n')));
    for (char &c : line) {
        if (!isprint(static_cast<unsigned char>(c)))
            c = '?';
    }
    return line;
}

} // namespace

// One HTTP request of a session: the downstream GET or the upstream POST.
struct Tunnel::Channel {
    Tunnel *tunnel = nullptr;
    Session *session = nullptr;
    bool downstream = false;
    sofw::AuthRequest auth;
    std::unique_ptr<CURL, EasyCleanup> easy;
    std::unique_ptr<curl_slist, SlistFree> headers;
    char error[CURL_ERROR_SIZE] = {};
    bool in_loop = false;

    int status = 0;             // of the last response header block
    bool headers_done = false;  // final (non-1xx) header block complete
    bool verified = false;      // 200 with a correct server proof
    std::string server_proof;
    std::string refusal_body;   // start of a non-200 body
    std::string failure;        // why HRAC aborted this transfer itself

    const char *name() const { return downstream ? "downstream" : "upstream"; }

    ~Channel() {
        if (in_loop)
            tunnel->loop_.remove(easy.get());
    }
};

struct Tunnel::Session {
    std::string id = sofw::random_hex(16);
    Channel down;
    Channel up;
    sofw::FrameDecoder decoder;
    sofw::Frame down_frame;  // reused, so its payload buffer is too
    UploadQueue upload{upload_limit_bytes};
    bool upload_paused = false;
    bool up_verified = false;  // the GET's proof checked: frames may flow
    Clock::time_point up_since;
};

Tunnel::Tunnel(const Config &config, CurlLoop &loop, Counters &counters)
    : config_(config), loop_(loop), counters_(counters) {}

Tunnel::~Tunnel() { stop(); }

void Tunnel::set_frame_handler(sofw::FrameType type, FrameHandler handler) {
    handlers_[type] = std::move(handler);
}

void Tunnel::start() {
    stopping_ = false;
    connect();
}

void Tunnel::stop() {
    stopping_ = true;
    reconnect_timer_.cancel();
    drop_session("shutting down", false);
}

bool Tunnel::is_up() const { return session_ && session_->up_verified; }

bool Tunnel::send(const sofw::Frame &frame) {
    if (!is_up()) {
        ++counters_.dropped_no_session;
        return false;
    }
    return queue_frame(frame);
}

void Tunnel::connect() {
    session_ = std::make_unique<Session>();
    Session &s = *session_;
    log_info("tunnel connecting: server=%s session=%s", config_.server.c_str(), s.id.c_str());

    // Silence from HRAS for three intervals ends the session, including a
    // server that accepts the connection but never answers.
    restart_downstream_deadline();
    s.down.downstream = true;
    if (!open_channel(s.down, "GET", down_path) || !open_channel(s.up, "POST", up_path)) {
        drop_session("cannot start the HTTP requests", false);
        return;
    }
    // An early keep-alive starts the upstream body, so HRAS sees the POST
    // carrying data from the start rather than after the first interval.
    send_keepalive();
}

bool Tunnel::open_channel(Channel &ch, const char *method, const char *path) {
    ch.tunnel = this;
    ch.session = session_.get();
    ch.easy.reset(curl_easy_init());
    if (!ch.easy)
        return false;
    CURL *easy = ch.easy.get();

    ch.auth.method = method;
    ch.auth.path = config_.server_path + path;
    ch.auth.site = config_.site;
    ch.auth.session = ch.session->id;
    ch.auth.lan = config_.sip_listen;
    ch.auth.time = static_cast<uint64_t>(time(nullptr));
    ch.auth.nonce = sofw::random_hex(16);

    const std::string signature = sofw::sign_request(config_.secret, ch.auth);
    std::vector<std::string> lines = {
        std::string(sofw::hdr::site) + ": " + ch.auth.site,
        std::string(sofw::hdr::session) + ": " + ch.auth.session,
        std::string(sofw::hdr::lan) + ": " + ch.auth.lan,
        std::string(sofw::hdr::time) + ": " + std::to_string(ch.auth.time),
        std::string(sofw::hdr::nonce) + ": " + ch.auth.nonce,
        std::string(sofw::hdr::signature) + ": " + signature,
        // Where HRAS may put media ports; not signed: it grants no access,
        // and HRAS only ever asks HRAC to open ports within it.
        std::string(sofw::hdr::media_ports) + ": " + media_ports_text(config_),
        // A proxy must never answer the stream from a cache.
        "Cache-Control: no-cache",
    };
    if (ch.downstream) {
        lines.push_back(std::string("Accept: ") + frames_content_type);
    } else {
        lines.push_back(std::string("Content-Type: ") + frames_content_type);
        lines.push_back("Transfer-Encoding: chunked");
        // Without this curl waits for "100 Continue"; through tinyproxy that
        // costs a second before the first byte.
        lines.push_back("Expect:");
    }
    for (const std::string &line : lines) {
        curl_slist *grown = curl_slist_append(ch.headers.get(), line.c_str());
        if (!grown)
            return false;
        ch.headers.release();
        ch.headers.reset(grown);
    }

    const std::string url = config_.server + path;
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, ch.headers.get());
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(easy, CURLOPT_USERAGENT, (std::string("hrac-agent/") + hrac_version).c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, ch.error);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, connect_timeout_s);
    // The streams never end, so no total timeout: liveness is the
    // keep-alive deadline's job. TCP keep-alive catches dead peers below.
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    if (!config_.proxy.empty())
        curl_easy_setopt(easy, CURLOPT_PROXY, config_.proxy.c_str());
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Tunnel::on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &ch);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Tunnel::on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &ch);
    if (!ch.downstream) {
        curl_easy_setopt(easy, CURLOPT_POST, 1L);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, -1L);
        curl_easy_setopt(easy, CURLOPT_READFUNCTION, &Tunnel::on_upload_read);
        curl_easy_setopt(easy, CURLOPT_READDATA, &ch);
    }

    Channel *channel = &ch;
    ch.in_loop = loop_.add(easy, [this, channel](CURLcode result) {
        channel->in_loop = false;
        on_channel_done(*channel, result);
    });
    return ch.in_loop;
}

void Tunnel::drop_session(const std::string &reason, bool refused) {
    if (!session_)
        return;
    const bool was_up = session_->up_verified;
    const auto lived = was_up ? Clock::now() - session_->up_since : Clock::duration::zero();
    // Destroying the session removes both transfers from the loop.
    session_.reset();
    keepalive_timer_.cancel();
    downstream_deadline_timer_.cancel();
    flush_timer_.cancel();

    if (was_up && stopping_)
        log_info("tunnel down: %s", reason.c_str());
    else if (was_up)
        log_warn("tunnel down: %s", reason.c_str());
    else if (refused)
        log_error("tunnel connect failed: %s", reason.c_str());
    else if (!stopping_)
        log_warn("tunnel connect failed: %s", reason.c_str());

    if (!stopping_)
        schedule_reconnect(static_cast<unsigned>(
            std::chrono::duration_cast<std::chrono::seconds>(lived).count()));
}

void Tunnel::schedule_reconnect(unsigned lived_s) {
    const unsigned delay_s = backoff_.next_delay(lived_s);
    log_info("reconnecting in %u s", delay_s);
    reconnect_timer_.start(delay_s * 1000ull, [this] {
        ++counters_.reconnects;
        connect();
    });
}

bool Tunnel::queue_frame(const sofw::Frame &frame) {
    if (!session_)
        return false;
    size_t encoded = 0;
    switch (session_->upload.push(frame, encoded)) {
    case UploadQueue::Push::queued:
        break;
    case UploadQueue::Push::full:
        ++counters_.dropped_queue_full;
        log_debug("upstream queue full: dropped a %s frame", sofw::frame_type_name(frame.type));
        return false;
    case UploadQueue::Push::invalid:
        log_debug("refused to queue an invalid %s frame", sofw::frame_type_name(frame.type));
        return false;
    }
    ++counters_.frames_up;
    counters_.bytes_up += encoded;
    keepalive_timer_.start(config_.keepalive_interval * 1000ull, [this] { send_keepalive(); });
    // Resume the upload from the loop, not from here: send() may be called
    // from inside a curl callback, where curl must not be re-entered.
    if (session_->upload_paused && !flush_timer_.running())
        flush_timer_.start(0, [this] { flush_upload(); });
    return true;
}

void Tunnel::send_keepalive() {
    sofw::Frame keepalive;
    keepalive.type = sofw::FrameType::keepalive;
    uint64_t now = monotonic_ms();
    keepalive.payload.resize(8);
    for (int i = 7; i >= 0; --i, now >>= 8)
        keepalive.payload[i] = static_cast<uint8_t>(now & 0xff);
    if (queue_frame(keepalive))
        ++counters_.keepalives_sent;
}

void Tunnel::flush_upload() {
    if (!session_ || !session_->upload_paused || session_->upload.empty())
        return;
    session_->upload_paused = false;
    const CURLcode rc = curl_easy_pause(session_->up.easy.get(), CURLPAUSE_CONT);
    if (rc != CURLE_OK)
        log_debug("resuming the upload: %s", curl_easy_strerror(rc));
    // May end the session (a transfer found dead): nothing after this.
    loop_.kick();
}

void Tunnel::restart_downstream_deadline() {
    const unsigned deadline_s = 3 * config_.keepalive_interval;
    downstream_deadline_timer_.start(deadline_s * 1000ull, [this, deadline_s] {
        drop_session("nothing from HRAS for " + std::to_string(deadline_s) + " s", false);
    });
}

void Tunnel::on_channel_verified(Channel &ch) {
    if (!ch.downstream)
        return;
    Session &s = *ch.session;
    s.up_verified = true;
    s.up_since = Clock::now();
    ++counters_.sessions_up;
    log_info("tunnel up: site=%s session=%s", config_.site.c_str(), s.id.c_str());
}

bool Tunnel::on_downstream_bytes(Channel &ch, const char *data, size_t len) {
    Session &s = *ch.session;
    counters_.bytes_down += len;
    s.decoder.feed(reinterpret_cast<const uint8_t *>(data), len);
    sofw::Frame &frame = s.down_frame;
    for (;;) {
        const auto result = s.decoder.next(frame);
        if (result == sofw::FrameDecoder::Result::need_more)
            return true;
        if (result == sofw::FrameDecoder::Result::error) {
            ++counters_.decode_errors;
            ch.failure = std::string("downstream decode error: ") +
                         sofw::decode_error_name(s.decoder.error());
            return false;
        }
        ++counters_.frames_down;
        restart_downstream_deadline();
        if (frame.type == sofw::FrameType::keepalive) {
            ++counters_.keepalives_received;
            continue;
        }
        const auto handler = handlers_.find(frame.type);
        if (handler == handlers_.end()) {
            ++counters_.ignored_down;
            log_debug("ignored a downstream %s frame (%zu bytes)", sofw::frame_type_name(frame.type),
                      frame.payload.size());
            continue;
        }
        handler->second(frame);
    }
}

void Tunnel::on_channel_done(Channel &ch, CURLcode result) {
    std::string reason;
    bool refused = false;
    if (!ch.failure.empty()) {
        reason = ch.failure;
    } else if (ch.status != 0 && ch.status != 200) {
        refused = true;
        const std::string why = refusal_reason(ch.refusal_body);
        reason = "HRAS refused site '" + config_.site + "': " + std::to_string(ch.status) +
                 (why.empty() ? "" : " " + why);
    } else if (result != CURLE_OK) {
        reason = std::string(ch.name()) + ": " + (ch.error[0] ? ch.error : curl_easy_strerror(result));
    } else {
        reason = std::string("HRAS closed the ") + ch.name();
    }
    // Destroys ch: nothing may touch it afterwards.
    drop_session(reason, refused);
}

size_t Tunnel::on_header(char *buf, size_t size, size_t n, void *channel) {
    auto &ch = *static_cast<Channel *>(channel);
    const size_t len = size * n;
    const std::string line = trim(std::string(buf, len));

    if (line.compare(0, 5, "HTTP/") == 0) {
        // A new header block (interim 1xx responses come before the final one).
        const auto space = line.find(' ');
        ch.status = space == std::string::npos ? 0 : atoi(line.c_str() + space + 1);
        ch.server_proof.clear();
        return len;
    }
    if (!line.empty()) {
        const auto colon = line.find(':');
        if (colon != std::string::npos && iequals(trim(line.substr(0, colon)), sofw::hdr::server_signature))
            ch.server_proof = trim(line.substr(colon + 1));
        return len;
    }

    // End of a header block.
    if (ch.status >= 100 && ch.status < 200)
        return len;
    ch.headers_done = true;
    if (ch.status != 200)
        return len;  // the body names the reason; reported when the transfer ends
    Tunnel &tunnel = *ch.tunnel;
    const std::string expected = sofw::sign_server_proof(tunnel.config_.secret, ch.auth);
    if (ch.server_proof.empty()) {
        ch.failure = std::string("HRAS sent no server proof on the ") + ch.name();
        return 0;
    }
    if (!sofw::constant_time_equal(ch.server_proof, expected)) {
        ch.failure = std::string("wrong server proof on the ") + ch.name() +
                     " (is this HRAS configured with the same secret?)";
        return 0;
    }
    ch.verified = true;
    tunnel.on_channel_verified(ch);
    return len;
}

size_t Tunnel::on_body(char *buf, size_t size, size_t n, void *channel) {
    auto &ch = *static_cast<Channel *>(channel);
    const size_t len = size * n;
    if (ch.status != 200) {
        const size_t room = refusal_body_limit - std::min(refusal_body_limit, ch.refusal_body.size());
        ch.refusal_body.append(buf, std::min(room, len));
        return len;
    }
    if (!ch.verified)
        return 0;  // never accept frames from an unproven server
    if (!ch.downstream)
        return len;  // HRAS has nothing to say in the POST's response body
    return ch.tunnel->on_downstream_bytes(ch, buf, len) ? len : 0;
}

size_t Tunnel::on_upload_read(char *buf, size_t size, size_t n, void *channel) {
    auto &ch = *static_cast<Channel *>(channel);
    Session &s = *ch.session;
    const size_t taken = s.upload.take(buf, size * n);
    if (taken)
        return taken;
    // Nothing queued: pause until queue_frame() resumes us. Returning 0
    // would end the body.
    s.upload_paused = true;
    return CURL_READFUNC_PAUSE;
}

} // namespace hrac
