#include "tunnel_server.hpp"

#include "tunnel_lanes.hpp"
#include "sofw/control.hpp"
#include "sofw/defaults.h"
#include "sofw/record.hpp"
#include "sofw/tunnel_http.hpp"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>

namespace sofw::hras {

struct TunnelServer::Channel {
    // down/up: the two endless requests of a streaming session; poll/send:
    // the short requests of a polling session.
    enum class Kind { down, up, poll, send, rejected };
    TunnelServer *srv = nullptr;
    MHD_Connection *conn = nullptr;
    Kind kind = Kind::rejected;
    size_t site = 0;
    unsigned lane = 0;           // down/up: which lane of its session
    unsigned lanes_answer = 0;   // lane 0's down: X-SoFW-Lanes of its 200 (0: none)
    Session *session = nullptr;  // null once detached
    int reject_status = 0;
    std::string reject_reason;
    std::string proof;         // X-SoFW-Server-Signature for this request
    std::string server_nonce;  // X-SoFW-Server-Nonce: the session's
    bool queued = false;  // response queued
    bool suspended = false;
    bool closing = false;
    int refs = 1;                      // MHD's request, plus the response reader for down
    int64_t deadline = 0;              // poll: when to answer with a keep-alive
    bool opens = false;                // poll: the first of its session, answered at once
    std::optional<HttpAnswer> answer;  // rejected: a status page answer instead of the reason
};

struct TunnelServer::Session {
    enum class Mode { stream, poll };
    size_t site;
    std::string id;
    Mode mode = Mode::stream;
    HostPort hrac;
    std::string peer;
    uint16_t media_min = default_media_port_min, media_max = default_media_port_max;
    // Lanes (docs/protocol.md "Lanes"): lane 0 is the GET/POST pair of
    // streaming (or the polls and sends of polling) and carries everything
    // in order; lanes 1.. carry sequenced media and acks. Each has its own
    // records, keyed from the request that opened the session (GET down or
    // the first poll) and Ns.
    struct Lane : LaneRecords {
        Channel *down = nullptr;
        Channel *up = nullptr;
    };
    std::vector<Lane> lane;               // m of them, fixed when the session opens
    std::unique_ptr<SessionLanes> lanes;  // m > 1: numbering, acks, resends
    Channel *poll = nullptr;       // the outstanding long poll
    std::vector<Channel *> sends;  // POST /sofw/v1/send requests in progress
    std::string server_nonce;    // Ns, 32 hex chars from getrandom()
    std::vector<uint8_t> answer;  // polling: the records of the poll answer being made (reused)
    int64_t created = now_ms();
    int64_t last_rx = now_ms();  // bytes from any lane; polling: the last request (or poll answer)
    int64_t last_media = 0;      // when media was last queued down (coalescing)
    bool announced = false;
    bool stream_ok_sent = false;
    bool overflowed = false;  // over tunnel_queue_limit: refuses frames until it is closed

    explicit Session(unsigned m) : lane(m) {}
    const char *mode_name() const { return mode == Mode::poll ? "poll" : "stream"; }
    // tunnel_queue_limit counts every lane's queue.
    size_t queued() const
    {
        size_t n = 0;
        for (const Lane &l : lane)
            n += l.queued();
        return n;
    }
};

// Where a session's lanes put their frames: the down queue of one lane.
struct TunnelServer::LaneQueue : LaneOutput {
    TunnelServer &srv;
    Session &s;
    LaneQueue(TunnelServer &srv, Session &s) : srv(srv), s(s) {}
    bool queue(unsigned lane, const uint8_t *frame, size_t len) override
    {
        return srv.queue_on_lane(s, lane, frame, len);
    }
};

namespace {

void unref(TunnelServer::Channel *ch)
{
    if (--ch->refs == 0)
        delete ch;
}

std::string peer_of(MHD_Connection *c)
{
    auto *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr)
        return "?";
    char buf[INET6_ADDRSTRLEN] = "?";
    const sockaddr *sa = info->client_addr;
    uint16_t port = 0;
    if (sa->sa_family == AF_INET) {
        auto *in = reinterpret_cast<const sockaddr_in *>(sa);
        inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        auto *in6 = reinterpret_cast<const sockaddr_in6 *>(sa);
        inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
        port = ntohs(in6->sin6_port);
    }
    return std::string(buf) + ":" + std::to_string(port);
}

// The address without the port: what the per-address limits count.
std::string ip_of(const sockaddr *sa)
{
    char buf[INET6_ADDRSTRLEN] = "?";
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in *>(sa)->sin_addr, buf, sizeof buf);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6 *>(sa)->sin6_addr, buf, sizeof buf);
    return buf;
}

std::string ip_of(MHD_Connection *c)
{
    auto *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return ip_of(info ? info->client_addr : nullptr);
}

// The connection's entry in ConnectionLimits (set when it started).
ConnectionLimits::Conn *limits_entry(MHD_Connection *c)
{
    auto *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? static_cast<ConnectionLimits::Conn *>(info->socket_context) : nullptr;
}

std::string header(MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v ? v : "";
}

// Every 200 of a session proves HRAS and carries the session's nonce.
void add_proof(MHD_Response *r, const TunnelServer::Channel &ch)
{
    MHD_add_response_header(r, hdr::server_nonce, ch.server_nonce.c_str());
    MHD_add_response_header(r, hdr::server_signature, ch.proof.c_str());
}

// A complete 200 of a polling request: records (maybe none) and the proof.
void queue_records(const TunnelServer::Channel &ch, const uint8_t *data, size_t len)
{
    MHD_Response *r = MHD_create_response_from_buffer(len, const_cast<uint8_t *>(data), MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, frames_content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    add_proof(r, ch);
    MHD_queue_response(ch.conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
}

void queue_answer(MHD_Connection *c, const HttpAnswer &a)
{
    MHD_Response *r =
        MHD_create_response_from_buffer(a.body.size(), const_cast<char *>(a.body.data()), MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a.content_type.c_str());
    for (auto &h : a.headers)
        MHD_add_response_header(r, h.first.c_str(), h.second.c_str());
    MHD_queue_response(c, a.status, r);
    MHD_destroy_response(r);
}

void queue_text(MHD_Connection *c, unsigned status, const std::string &text)
{
    std::string body = text + "\n";
    MHD_Response *r = MHD_create_response_from_buffer(body.size(), body.data(), MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
}

}  // namespace

// C callbacks of libmicrohttpd, forwarding to the server object.
struct TunnelCallbacks {
    static MHD_Result on_access(void *cls, MHD_Connection *c, const char *url, const char *method, const char *,
                                const char *upload, size_t *upload_size, void **con_cls)
    {
        auto *srv = static_cast<TunnelServer *>(cls);
        auto *ch = static_cast<TunnelServer::Channel *>(*con_cls);
        if (!ch) {
            ch = new TunnelServer::Channel;
            ch->srv = srv;
            ch->conn = c;
            *con_cls = ch;
            srv->on_new_request(ch, url, method);
            // A tunnel channel may last; anything else still owes its end
            // within tunnel_header_timeout.
            if (ch->kind != TunnelServer::Channel::Kind::rejected)
                if (auto *lc = limits_entry(c))
                    ConnectionLimits::channel_started(lc);
            if (ch->kind == TunnelServer::Channel::Kind::rejected) {
                if (ch->answer)
                    queue_answer(c, *ch->answer);
                else
                    queue_text(c, ch->reject_status, ch->reject_reason);
                ch->queued = true;
            }
            return MHD_YES;
        }
        if (ch->kind == TunnelServer::Channel::Kind::rejected) {
            if (*upload_size) {
                *upload_size = 0;  // discard the body of a refused request
            } else if (!ch->queued) {  // a send refused halfway (a record failed): answered at its end
                queue_text(c, ch->reject_status, ch->reject_reason);
                ch->queued = true;
            }
            return MHD_YES;
        }
        if (ch->kind == TunnelServer::Channel::Kind::send) {
            if (*upload_size) {
                srv->on_upload(ch, upload, *upload_size);
                *upload_size = 0;
                return MHD_YES;
            }
            if (ch->closing)
                return MHD_NO;
            if (!ch->queued) {  // the whole batch is in
                if (!srv->on_send_done(ch))
                    queue_text(c, ch->reject_status ? ch->reject_status : MHD_HTTP_CONFLICT,
                               ch->reject_status ? ch->reject_reason : "session not open");
                else
                    queue_records(*ch, nullptr, 0);
                ch->queued = true;
            }
            return MHD_YES;
        }
        if (ch->kind == TunnelServer::Channel::Kind::poll) {
            // Called again after each resume; answers once.
            if (ch->closing)
                return MHD_NO;
            if (!ch->queued)
                srv->answer_poll(ch);
            return MHD_YES;
        }
        if (ch->kind == TunnelServer::Channel::Kind::up) {
            if (*upload_size) {
                srv->on_upload(ch, upload, *upload_size);
                *upload_size = 0;
                return MHD_YES;
            }
            if (!ch->queued) {  // HRAC ended its upstream body
                srv->on_upload_end(ch);
                queue_records(*ch, nullptr, 0);
                ch->queued = true;
            }
            return MHD_YES;
        }
        // downstream: start the endless response on the second call (a
        // response queued on the first call would close the connection)
        if (!ch->queued) {
            ch->queued = true;
            ch->refs++;  // held by the response's reader
            MHD_Response *r =
                MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, &on_read, ch, &on_read_done);
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, frames_content_type);
            MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
            MHD_add_response_header(r, "X-Accel-Buffering", "no");
            add_proof(r, *ch);
            if (ch->lanes_answer)
                MHD_add_response_header(r, hdr::lanes, lanes_value(ch->lanes_answer).c_str());
            MHD_queue_response(c, MHD_HTTP_OK, r);
            MHD_destroy_response(r);
            if (ch->session)
                srv->maybe_announce(*ch->session);
        }
        return MHD_YES;
    }

    static ssize_t on_read(void *cls, uint64_t, char *buf, size_t max)
    {
        auto *ch = static_cast<TunnelServer::Channel *>(cls);
        if (ch->closing || !ch->session)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        auto &s = *ch->session;
        auto &l = s.lane[ch->lane];
        if (l.sealed_off == l.sealed.size()) {
            // Everything queued since the last write goes into one record
            // (19 bytes whatever the number of frames).
            l.sealed.clear();
            l.sealed_off = 0;
            if (!ch->srv->seal_queued(s, l, record_max_plaintext, l.sealed))
                return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        size_t avail = l.sealed.size() - l.sealed_off;
        if (avail == 0) {
            MHD_suspend_connection(ch->conn);
            ch->suspended = true;
            return 0;
        }
        size_t n = avail < max ? avail : max;
        memcpy(buf, l.sealed.data() + l.sealed_off, n);
        l.sealed_off += n;
        return ssize_t(n);
    }

    static void on_read_done(void *cls) { unref(static_cast<TunnelServer::Channel *>(cls)); }

    static void on_completed(void *, MHD_Connection *c, void **con_cls, MHD_RequestTerminationCode)
    {
        if (auto *lc = limits_entry(c))
            ConnectionLimits::request_done(lc, now_ms());
        auto *ch = static_cast<TunnelServer::Channel *>(*con_cls);
        if (!ch)
            return;
        *con_cls = nullptr;
        ch->srv->on_channel_closed(ch);
        unref(ch);
    }

    // libmicrohttpd's accept policy: the connection limits, before the
    // connection takes a slot.
    static MHD_Result on_accept(void *cls, const sockaddr *addr, socklen_t)
    {
        return static_cast<TunnelServer *>(cls)->admit(addr) ? MHD_YES : MHD_NO;
    }

    static void on_connection(void *cls, MHD_Connection *c, void **socket_context,
                              MHD_ConnectionNotificationCode code)
    {
        auto &limits = static_cast<TunnelServer *>(cls)->limits_;
        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
            auto *fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
            *socket_context = limits.opened(ip_of(c), fd ? fd->connect_fd : -1, now_ms());
        } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
            limits.closed(static_cast<ConnectionLimits::Conn *>(*socket_context));
            *socket_context = nullptr;
        }
    }

    static void on_log(void *cls, const char *fmt, va_list ap)
    {
        char buf[512];
        vsnprintf(buf, sizeof buf, fmt, ap);
        size_t n = strlen(buf);
        while (n && buf[n - 1] == '\n')
            buf[--n] = 0;
        static_cast<TunnelServer *>(cls)->stats_.dbg(std::string("tunnel: libmicrohttpd: ") + buf);
    }
};

TunnelServer::TunnelServer(EventLoop &loop, const SiteTable &sites, TunnelConfig cfg, Stats &stats)
    : loop_(loop), sites_(sites), cfg_(std::move(cfg)), stats_(stats),
      verifier_(cfg_.auth_window_s, cfg_.replay_cache_size), limits_(cfg_.connections),
      status_backoff_(AuthBackoff::Config{cfg_.status_backoff_size})
{
    cfg_.lanes = std::clamp(cfg_.lanes, 1u, lanes_max);
    sessions_.resize(sites.size());
    lane_timer_sites_ = std::make_unique<LaneTimerSites>(sites.size());
    coalesced_sites_ = std::make_unique<LaneTimerSites>(sites.size());
    cfg_.coalesce_ms = std::min(cfg_.coalesce_ms, coalesce_max_ms);
}

TunnelServer::~TunnelServer()
{
    for (size_t i = 0; i < sessions_.size(); i++)
        close_session(i, "server stopping");
    // The loop may outlive this server (a restart in the tests): nothing of
    // it may run there any more.
    if (epfd_ >= 0)
        loop_.remove(epfd_);
    loop_.forget(this);
    if (daemon_) {
        MHD_stop_daemon(daemon_);
    }
}

std::string TunnelServer::start()
{
    // "address:0" asks the kernel for a free port (HostPort reads port 0 as
    // absent, which means 80 here).
    const std::string &listen = cfg_.listen;
    bool any_port = listen.size() > 2 && listen.compare(listen.size() - 2, 2, ":0") == 0;
    auto hp = HostPort::parse(any_port ? listen.substr(0, listen.size() - 2) : listen);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    if (!hp || (any_port && hp->port) || inet_pton(AF_INET, hp->host.c_str(), &sa.sin_addr) != 1)
        return "tunnel_listen '" + cfg_.listen + "' is not IPv4 address:port";
    sa.sin_port = htons(any_port ? 0 : hp->port ? hp->port : 80);
    bool tls = !cfg_.tls_cert.empty();
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    MHD_OptionItem tls_opts[4];
    size_t n_opts = 0;
    if (tls) {
        std::string e = check_tls_config(cfg_);
        if (!e.empty())
            return e;
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
            return "this libmicrohttpd has no TLS support (tls_cert is set)";
        flags |= MHD_USE_TLS;
        tls_opts[n_opts++] = {MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char *>(cfg_.tls_key.c_str())};
        tls_opts[n_opts++] = {MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char *>(cfg_.tls_cert.c_str())};
        // Makes MHD ask for a client certificate; check_client_cert() then
        // refuses requests without a valid one.
        if (!cfg_.tls_client_ca.empty())
            tls_opts[n_opts++] = {MHD_OPTION_HTTPS_MEM_TRUST, 0, const_cast<char *>(cfg_.tls_client_ca.c_str())};
    } else if (!cfg_.tls_key.empty() || !cfg_.tls_client_ca.empty()) {
        return check_tls_config(cfg_);
    }
    tls_opts[n_opts] = {MHD_OPTION_END, 0, nullptr};
    // Idle channels still carry keep-alives; a connection silent for longer
    // than this is a request that never completed.
    unsigned timeout = unsigned(std::max(60, 4 * cfg_.keepalive_s));
    fit_descriptors();
    // Our accept policy enforces the limits (and counts them); libmicrohttpd's
    // own limit, a little above, is only the backstop (its default would be
    // FD_SETSIZE - 4, about 1020, whatever the descriptor limit).
    unsigned mhd_limit = unsigned(limits_.config().max_total + 8);
    daemon_ = MHD_start_daemon(flags, 0, &TunnelCallbacks::on_accept, this, &TunnelCallbacks::on_access, this,
                               MHD_OPTION_EXTERNAL_LOGGER, &TunnelCallbacks::on_log, this,  // first, see its doc
                               MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr *>(&sa), MHD_OPTION_NOTIFY_COMPLETED,
                               &TunnelCallbacks::on_completed, this, MHD_OPTION_NOTIFY_CONNECTION,
                               &TunnelCallbacks::on_connection, this, MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
                               MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!daemon_)
        return "cannot listen for tunnels on " + cfg_.listen +
               (tls ? " (in use, no permission, or TLS setup failed?)" : " (in use or no permission?)");
    port_ = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT)->port;
    epfd_ = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd;
    loop_.add(epfd_, EPOLLIN, [this](uint32_t) { run_mhd(); });
    loop_.every(1000, [this] { tick(); }, this);
    lane_timer_ = loop_.idle_timer(lane_timer_ms, [this] { lane_tick(); }, this);
    coalesce_timer_ = loop_.idle_timer(int(std::max(cfg_.coalesce_ms, 1u)), [this] { write_coalesced(); }, this);
    // Long polls are answered on their deadline, not on the next 1 s tick.
    loop_.every(std::clamp(cfg_.poll_wait_ms / 20, 20, 500), [this] { expire_polls(); }, this);
    stats_.info("tunnel: listening on " + hp->host + ":" + std::to_string(port_) + (tls ? " (https)" : " (http)") +
                (tls && !cfg_.tls_client_ca.empty() ? ", client certificates required" : ""));
    return "";
}

void TunnelServer::run_mhd()
{
    run_pending_ = false;
    // One MHD_run may leave work that raises no new epoll event (a resumed
    // downstream's data prepared but not yet written); MHD then reports a
    // timeout of 0. Finish it now rather than at the next tick.
    for (int round = 0; round < 64; round++) {
        MHD_run(daemon_);
        MHD_UNSIGNED_LONG_LONG timeout = 0;
        if (MHD_get_timeout(daemon_, &timeout) != MHD_YES || timeout != 0)
            break;
    }
}

std::string check_tls_config(const TunnelConfig &cfg)
{
    if (cfg.tls_cert.empty() != cfg.tls_key.empty())
        return "tls_cert and tls_key must be set together";
    if (cfg.tls_cert.empty()) {
        if (!cfg.tls_client_ca.empty())
            return "tls_client_ca needs tls_cert and tls_key";
        return "";
    }
    gnutls_certificate_credentials_t cred = nullptr;
    if (gnutls_certificate_allocate_credentials(&cred) < 0)
        return "TLS: cannot allocate credentials";
    auto datum = [](const std::string &s) {
        return gnutls_datum_t{reinterpret_cast<unsigned char *>(const_cast<char *>(s.data())), unsigned(s.size())};
    };
    gnutls_datum_t cert = datum(cfg.tls_cert), key = datum(cfg.tls_key), ca = datum(cfg.tls_client_ca);
    std::string err;
    int r = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
    if (r < 0)
        err = std::string("tls_cert/tls_key: ") + gnutls_strerror(r);
    if (err.empty() && !cfg.tls_client_ca.empty()) {
        r = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
        if (r <= 0)
            err = std::string("tls_client_ca: ") + (r < 0 ? gnutls_strerror(r) : "no PEM certificate in it");
    }
    gnutls_certificate_free_credentials(cred);
    return err;
}

// "" when the connection's TLS client certificate chains to tls_client_ca,
// else the reason to refuse it (logged in detail here).
std::string TunnelServer::check_client_cert(MHD_Connection *c)
{
    auto *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!info || !info->tls_session)
        return "no_tls";
    auto session = static_cast<gnutls_session_t>(info->tls_session);
    unsigned n = 0;
    if (!gnutls_certificate_get_peers(session, &n) || n == 0)
        return "no_client_certificate";
    unsigned status = 0;
    int r = gnutls_certificate_verify_peers2(session, &status);
    if (r == GNUTLS_E_NO_CERTIFICATE_FOUND)
        return "no_client_certificate";
    if (r < 0) {
        stats_.dbg(std::string("tunnel: client certificate not verified: ") + gnutls_strerror(r));
        return "bad_client_certificate";
    }
    if (status != 0) {
        gnutls_datum_t out{};
        if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
            stats_.dbg(std::string("tunnel: client certificate: ") + reinterpret_cast<char *>(out.data));
            gnutls_free(out.data);
        }
        return "bad_client_certificate";
    }
    return "";
}

void TunnelServer::on_new_request(Channel *ch, const char *url, const char *method)
{
    using Kind = Channel::Kind;
    using Mode = Session::Mode;
    std::string path = url ? url : "";
    std::string peer = peer_of(ch->conn);
    if (!cfg_.tls_client_ca.empty()) {
        // Before anything else: without a valid client certificate the
        // connection gets nothing, not even a 404.
        std::string why = check_client_cert(ch->conn);
        if (!why.empty()) {
            stats_.add(HRAS_CNT_AUTH_FAILURES);
            stats_.log_limited(refused_log_, HRAS_LOG_WARN, [&] {
                return "tunnel: refused " + std::string(method) + " " + path + " from " + peer + ": " + why;
            });
            ch->reject_status = MHD_HTTP_FORBIDDEN;
            ch->reject_reason = why;
            return;
        }
    }
    if (status_ && status_->enabled() && StatusPage::is_status_path(path)) {
        // Not a tunnel request: answered at once, any request body discarded.
        std::string ip = ip_of(ch->conn);
        if (status_backed_off(ch, ip))
            return;
        std::string auth = header(ch->conn, MHD_HTTP_HEADER_AUTHORIZATION);
        ch->answer = status_->answer(method, path, auth);
        status_answered(ch, ip, peer, !auth.empty());
        return;
    }
    // down and up are lane 0's channels, /sofw/v1/down/i and /up/i lane
    // i's; a malformed lane path is no tunnel endpoint.
    Kind kind = Kind::rejected;
    auto lane_path = parse_lane_path(path);
    const unsigned lane = lane_path ? lane_path->lane : 0;
    if (strcmp(method, "GET") == 0)
        kind = lane_path && lane_path->channel == sofw::Channel::down ? Kind::down
               : path == tunnel_path::poll                           ? Kind::poll
                                                                     : Kind::rejected;
    else if (strcmp(method, "POST") == 0)
        kind = lane_path && lane_path->channel == sofw::Channel::up ? Kind::up
               : path == tunnel_path::send                         ? Kind::send
                                                                   : Kind::rejected;
    if (kind == Kind::rejected) {
        ch->reject_status = MHD_HTTP_NOT_FOUND;
        ch->reject_reason = "not a SoFW tunnel endpoint";
        return;
    }
    Mode mode = (kind == Kind::down || kind == Kind::up) ? Mode::stream : Mode::poll;
    AuthRequest req;
    req.method = method;
    req.path = path;
    req.site = header(ch->conn, hdr::site);
    req.session = header(ch->conn, hdr::session);
    req.lan = header(ch->conn, hdr::lan);
    req.nonce = header(ch->conn, hdr::nonce);
    std::string t = header(ch->conn, hdr::time);
    char *end = nullptr;
    req.time = strtoull(t.c_str(), &end, 10);
    auto site = sites_.find(req.site);
    AuthResult res = (t.empty() || *end)
                         ? AuthResult::malformed
                         : verifier_.verify(req, header(ch->conn, hdr::signature),
                                            site ? &sites_.at(*site).secret : nullptr, uint64_t(time(nullptr)));
    auto lan = HostPort::parse(req.lan);
    if (res == AuthResult::ok && !lan)
        res = AuthResult::malformed;
    if (res != AuthResult::ok) {
        // A full replay cache is no authentication failure: the site sends
        // faster than replay_cache_size allows; it is told to come back.
        bool full = res == AuthResult::replay_cache_full;
        stats_.add(full ? HRAS_CNT_REPLAY_CACHE_FULL : HRAS_CNT_AUTH_FAILURES);
        stats_.log_limited(refused_log_, HRAS_LOG_WARN, [&] {
            return "tunnel: refused " + std::string(method) + " " + path + " for site '" + req.site + "' from " +
                   peer + ": " + auth_result_name(res) + (full ? " (replay_cache_size)" : "");
        });
        ch->reject_status = full ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_UNAUTHORIZED;
        ch->reject_reason = auth_result_name(res);
        return;
    }

    // Only the request that carries frames down opens a session: its 200
    // gives HRAC the server nonce, without which no up record can be
    // sealed (docs/protocol.md "Handshake").
    const bool opener = (kind == Kind::down && lane == 0) || kind == Kind::poll;
    auto &slot = sessions_[*site];
    const bool joins = slot && slot->id == req.session && slot->mode == mode;
    if (lane > 0 && (!joins || lane >= slot->lane.size() ||
                     (kind == Kind::down ? slot->lane[lane].down : slot->lane[lane].up))) {
        // Lanes join the session lane 0's GET opened, once each, up to the
        // number its 200 gave.
        ch->reject_status = MHD_HTTP_CONFLICT;
        ch->reject_reason = "no such lane";
        stats_.dbg("tunnel: site '" + req.site + "' " + method + " " + path + " of session " + req.session +
                   " from " + peer + ": no such lane");
        return;
    }
    if (!joins && !opener) {
        ch->reject_status = MHD_HTTP_CONFLICT;
        ch->reject_reason = "session not open";
        stats_.dbg("tunnel: site '" + req.site + "' " + method + " " + path + " of session " + req.session +
                   " from " + peer + ": session not open");
        return;
    }
    if (slot && slot->id != req.session)
        close_session(*site, "replaced by a new session from " + peer);
    else if (slot && slot->mode != mode)  // HRAC fell back (or forward) keeping its session id
        close_session(*site, std::string("replaced by a ") + (mode == Mode::poll ? "polling" : "streaming") +
                                 " session from " + peer);
    bool fresh = !slot;
    if (!slot) {
        // Lanes: what lane 0's GET asks for, if tunnel_lanes allows as many.
        // Polling has one lane.
        auto asked = mode == Mode::stream ? parse_lanes_value(header(ch->conn, hdr::lanes)) : std::nullopt;
        unsigned m = asked ? std::min(*asked, cfg_.lanes) : 1;
        auto s = std::make_unique<Session>(m);
        s->site = *site;
        s->id = req.session;
        s->mode = mode;
        s->hrac = *lan;
        s->peer = peer;
        s->server_nonce = random_hex(16);
        if (!key_lanes(*s, req)) {
            // The verifier checked both hex fields; only getrandom() failing gets here.
            stats_.add(HRAS_CNT_INTERNAL_ERRORS);
            stats_.err("tunnel: cannot make session keys for site '" + req.site + "'");
            ch->reject_status = MHD_HTTP_SERVICE_UNAVAILABLE;
            ch->reject_reason = "no session keys";
            return;
        }
        if (m > 1)
            s->lanes = std::make_unique<SessionLanes>(m, stats_);
        ch->lanes_answer = asked ? m : 0;
        slot = std::move(s);
    }
    if (auto ports = parse_media_ports_value(header(ch->conn, hdr::media_ports))) {
        slot->media_min = ports->first;
        slot->media_max = ports->second;
    }
    if (kind == Kind::down || kind == Kind::up) {
        Channel *&chan_slot = kind == Kind::down ? slot->lane[lane].down : slot->lane[lane].up;
        if (chan_slot) {
            ch->reject_status = MHD_HTTP_CONFLICT;
            ch->reject_reason = "channel already open for this session";
            return;
        }
        chan_slot = ch;
        ch->lane = lane;
        if (kind == Kind::down && lane > 0 && slot->lanes)
            slot->lanes->set_open(lane);
    } else if (kind == Kind::poll) {
        if (Channel *old = slot->poll) {  // one poll at a time: the old one gets an empty answer
            old->session = nullptr;
            slot->poll = nullptr;
            wake(old);
        }
        slot->poll = ch;
        ch->deadline = now_ms() + cfg_.poll_wait_ms;
        ch->opens = fresh;
    } else {
        slot->sends.push_back(ch);
    }
    ch->kind = kind;
    ch->site = *site;
    ch->session = slot.get();
    ch->server_nonce = slot->server_nonce;
    ch->proof = sign_server_proof(sites_.at(*site).secret, req, slot->server_nonce);
    slot->last_rx = now_ms();
    if (mode == Mode::stream)
        stats_.dbg("tunnel: site '" + req.site + "' opened " + (kind == Kind::down ? "downstream" : "upstream") +
                   (lane ? " of lane " + std::to_string(lane) : "") + " of session " + req.session + " from " +
                   peer + (ch->lanes_answer ? ", lanes: " + std::to_string(ch->lanes_answer) : ""));
    else if (fresh)
        stats_.dbg("tunnel: site '" + req.site + "' polling session " + req.session + " from " + peer);
    maybe_announce(*slot);
}

// Each lane's records have their own keys (docs/protocol.md "Lanes"), all
// from the session's PRK: the opening request's client nonce and Ns.
bool TunnelServer::key_lanes(Session &s, const AuthRequest &opening)
{
    if (s.server_nonce.size() != 32)
        return false;
    for (unsigned i = 0; i < s.lane.size(); i++) {
        SessionKeys keys;
        if (!derive_session_keys(sites_.at(s.site).secret, opening.session, opening.nonce, s.server_nonce, keys, i)) {
            wipe_keys(keys);
            return false;
        }
        s.lane[i].sealer.reset(keys.down);
        s.lane[i].opener.reset(keys.up);
        s.lane[i].last_tx = now_ms();
        wipe_keys(keys);
    }
    return true;
}

void TunnelServer::maybe_announce(Session &s)
{
    if (s.announced)
        return;
    const Session::Lane &l0 = s.lane[0];
    if (s.mode == Session::Mode::stream && (!l0.down || !l0.up || !l0.down->queued))
        return;
    if (s.mode == Session::Mode::poll && !s.poll)  // a send alone does not make a session
        return;
    s.announced = true;
    stats_.add(HRAS_CNT_SESSIONS_OPENED);
    stats_.info("tunnel: site '" + sites_.at(s.site).name + "' up (" + s.mode_name() + "): session " + s.id +
                ", HRAC " + s.hrac.to_string() + ", from " + s.peer +
                (s.lane.size() > 1 ? ", " + std::to_string(s.lane.size()) + " lanes" : ""));
    publish(s.site);
    if (listener_)
        listener_->on_session_change(s.site, true);
}

// Frames of an upstream POST (streaming) or of a send batch (polling).
void TunnelServer::on_upload(Channel *ch, const char *data, size_t len)
{
    if (!ch->session)
        return;
    Session &s = *ch->session;
    size_t site = s.site;
    const unsigned lane = ch->lane;
    RecordFrameDecoder &opener = s.lane[lane].opener;
    s.last_rx = now_ms();  // the silence deadline is the session's: any lane counts
    opener.feed(reinterpret_cast<const uint8_t *>(data), len);
    // A member, so its payload buffer is reused from frame to frame.
    Frame &f = up_frame_;
    for (;;) {
        auto r = opener.next(f);
        if (r == RecordFrameDecoder::Result::need_more)
            return;
        if (r == RecordFrameDecoder::Result::error) {
            refuse_send(ch);
            record_failed(s, lane, opener.error());
            return;
        }
        stats_.add(HRAS_CNT_FRAMES_UP);
        stats_.add(HRAS_CNT_BYTES_UP, frame_header_size + (f.ra ? f.ra->encoded_size() : 0) + f.payload.size());
        if (s.mode == Session::Mode::stream && lane == 0 && !s.stream_ok_sent) {
            // The upstream gets through: tell HRAC's streaming probe.
            s.stream_ok_sent = true;
            queue_down(s, make_control_frame({ControlOp::stream_ok, 0}));
        }
        if (f.type == FrameType::keepalive) {
            stats_.add(HRAS_CNT_KEEPALIVES_RECEIVED);
            continue;
        }
        if (is_lane_frame(f) || lane > 0) {
            // Lanes 1.. carry only sequenced media, acks and keep-alives;
            // SIP and control keep their order on lane 0.
            if (!on_lane_frame(s, lane, f))
                continue;
        }
        if (listener_)
            listener_->on_frame(site, f);
        if (!ch->session)  // the listener closed the session
            return;
    }
}

// A frame of lanes (or anything on a lane above 0): true if f is now a
// plain media frame for the listener. What the session's lanes do not
// allow is dropped and counted, not a session error: the records already
// proved that HRAC sent it.
bool TunnelServer::on_lane_frame(Session &s, unsigned lane, Frame &f)
{
    LaneVerdict v = s.lanes && is_lane_frame(f) ? s.lanes->on_frame(lane, f, now_ms()) : LaneVerdict::invalid;
    wants_lane_timer(s);  // an ack is owed now, or acked media left the sender
    if (v == LaneVerdict::invalid) {
        stats_.add(HRAS_CNT_LANE_INVALID);
        stats_.log_limited(lane_log_, HRAS_LOG_WARN, [&] {
            return "tunnel: site '" + sites_.at(s.site).name + "': dropped a " + frame_type_name(f.type) +
                   " frame on lane " + std::to_string(lane) + " of a session with " + std::to_string(s.lane.size()) +
                   (s.lane.size() == 1 ? " lane" : " lanes");
        });
        return false;
    }
    return v == LaneVerdict::deliver;
}

// The whole body of a send has arrived: true to answer 200.
bool TunnelServer::on_send_done(Channel *ch)
{
    Session *s = ch->session;
    if (!s)
        return false;
    if (RecordError e = s->lane[0].opener.end_of_body(); e != RecordError::none) {
        refuse_send(ch);
        record_failed(*s, 0, e);
        return false;
    }
    s->sends.erase(std::remove(s->sends.begin(), s->sends.end(), ch), s->sends.end());
    ch->session = nullptr;
    s->last_rx = now_ms();
    return true;
}

// A long poll: answer with what is queued, or wait (suspended) until send()
// or the poll_wait deadline queues something. A poll that a newer one
// replaced is answered empty.
void TunnelServer::answer_poll(Channel *ch)
{
    Session *s = ch->session;
    if (!s) {  // replaced by a newer poll: empty, so no sequence number used
        queue_records(*ch, nullptr, 0);
        ch->queued = true;
        return;
    }
    if (s->queued() == 0 && ch->opens) {
        // The poll that opened the session brings HRAC the server nonce
        // at once, rather than after poll_wait: nothing goes up before it.
        queue_records(*ch, nullptr, 0);
        ch->queued = true;
        s->poll = nullptr;
        s->last_rx = now_ms();
        ch->session = nullptr;
        return;
    }
    if (s->queued() == 0) {
        MHD_suspend_connection(ch->conn);
        ch->suspended = true;
        return;
    }
    // Sealed now: an answer that gets lost leaves a gap in the down
    // sequence, which ends the session (docs/protocol.md).
    s->answer.clear();
    if (!seal_queued(*s, s->lane[0], cfg_.poll_max_body, s->answer)) {
        ch->closing = true;
        queue_text(ch->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "session ended");
        ch->queued = true;
        close_session(s->site, "down records exhausted");
        return;
    }
    queue_records(*ch, s->answer.data(), s->answer.size());
    ch->queued = true;
    s->poll = nullptr;
    s->last_rx = now_ms();
    ch->session = nullptr;
}

void TunnelServer::on_channel_closed(Channel *ch)
{
    Session *s = ch->session;
    if (!s)
        return;
    ch->session = nullptr;
    // An upload that broke off inside a record (a cut, or a truncating
    // proxy) ends the session: nothing of that record was delivered.
    Session::Lane &l = s->lane[ch->lane];
    const bool cut = (ch->kind == Channel::Kind::up || ch->kind == Channel::Kind::send) &&
                     l.opener.end_of_body() != RecordError::none;
    switch (ch->kind) {
    case Channel::Kind::poll:  // a polling session lives on its requests, not its connections
        if (s->poll == ch)
            s->poll = nullptr;
        return;
    case Channel::Kind::send:
        s->sends.erase(std::remove(s->sends.begin(), s->sends.end(), ch), s->sends.end());
        if (cut)
            record_failed(*s, 0, l.opener.error());
        return;
    default: break;
    }
    if (l.down == ch)
        l.down = nullptr;
    if (l.up == ch)
        l.up = nullptr;
    // Any channel of any lane: the session is lost (HRAC reconnects).
    if (cut)
        record_failed(*s, ch->lane, l.opener.error());
    else
        close_session(s->site, std::string(ch->kind == Channel::Kind::down ? "downstream" : "upstream") +
                                   " channel" + (ch->lane ? " of lane " + std::to_string(ch->lane) : "") + " closed");
}

// A send whose records failed is answered 400 when its body is in, rather
// than cut: libcurl resends a request whose reused connection closed
// without an answer, and the resent one would be refused as a replay.
void TunnelServer::refuse_send(Channel *ch)
{
    if (ch->kind != Channel::Kind::send || !ch->session)
        return;
    Session &s = *ch->session;
    s.sends.erase(std::remove(s.sends.begin(), s.sends.end(), ch), s.sends.end());
    ch->session = nullptr;
    ch->kind = Channel::Kind::rejected;
    ch->reject_status = MHD_HTTP_BAD_REQUEST;
    ch->reject_reason = "record error";
}

void TunnelServer::answer_closed(Channel *ch)
{
    ch->session = nullptr;
    ch->kind = Channel::Kind::rejected;
    ch->reject_status = MHD_HTTP_GONE;
    ch->reject_reason = "session closed";
    wake(ch);
}

void TunnelServer::on_upload_end(Channel *ch)
{
    if (Session *s = ch->session)
        if (RecordError e = s->lane[ch->lane].opener.end_of_body(); e != RecordError::none)
            record_failed(*s, ch->lane, e);
}

void TunnelServer::close_channel(Channel *ch)
{
    ch->closing = true;
    ch->session = nullptr;
    auto *info = MHD_get_connection_info(ch->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info)
        shutdown(info->connect_fd, SHUT_RDWR);
    wake(ch);
}

void TunnelServer::wake(Channel *ch)
{
    if (ch->suspended) {
        ch->suspended = false;
        MHD_resume_connection(ch->conn);
    }
    if (!run_pending_) {
        run_pending_ = true;
        loop_.defer([this] { run_mhd(); }, this);
    }
}

void TunnelServer::close_session(size_t site, const std::string &why)
{
    auto s = std::move(sessions_[site]);
    if (!s)
        return;
    for (Session::Lane &l : s->lane)
        for (Channel *ch : {l.down, l.up})
            if (ch)
                close_channel(ch);
    // A poll or send in progress gets an answer rather than a cut: libcurl
    // resends a request whose reused connection closed unanswered, and the
    // resent one would be refused as a replay (a false auth failure).
    if (s->poll)
        answer_closed(s->poll);
    for (Channel *ch : s->sends)
        answer_closed(ch);
    if (s->announced) {
        stats_.add(HRAS_CNT_SESSIONS_CLOSED);
        stats_.info("tunnel: site '" + sites_.at(site).name + "' down: " + why);
        publish(site);
        if (listener_)
            listener_->on_session_change(site, false);
    } else {
        stats_.dbg("tunnel: site '" + sites_.at(site).name + "' session " + s->id + " dropped: " + why);
    }
}

// The upload of the HRAC of s broke the record rules: the session ends,
// nothing of the failing record was delivered (RecordFrameDecoder opens a
// record before it decodes a frame of it).
void TunnelServer::record_failed(Session &s, unsigned lane, RecordError e)
{
    stats_.add(HRAS_CNT_RECORD_ERRORS);
    std::string why = std::string("record error from HRAC: ") + record_error_name(e);
    if (e == RecordError::bad_frame) {
        stats_.add(HRAS_CNT_FRAME_ERRORS);
        why += std::string(" (") + decode_error_name(s.lane[lane].opener.frame_error()) + ")";
    }
    if (lane)
        why += " on lane " + std::to_string(lane);
    const std::string site = sites_.at(s.site).name;
    stats_.log_limited(record_log_, HRAS_LOG_WARN,
                       [&] { return "tunnel: site '" + site + "' from " + s.peer + ": " + why + ", dropping the session"; });
    close_session(s.site, why);
}

// Seals what lane l of s has queued (LaneRecords::seal_queued). False: the
// down sequence is used up (the session must end).
bool TunnelServer::seal_queued(Session &s, LaneRecords &l, size_t limit, std::vector<uint8_t> &out)
{
    RecordError e = l.seal_queued(limit, out);
    if (e == RecordError::none)
        return true;
    stats_.add(HRAS_CNT_RECORD_ERRORS);
    stats_.warn("tunnel: site '" + sites_.at(s.site).name + "': cannot seal down records: " + record_error_name(e));
    return false;
}

void TunnelServer::queue_down(Session &s, const Frame &f, unsigned lane)
{
    Session::Lane &l = s.lane[lane];
    size_t before = l.downq.size();
    if (!encode_frame(f, l.downq))
        return;
    stats_.add(HRAS_CNT_FRAMES_DOWN);
    stats_.add(HRAS_CNT_BYTES_DOWN, l.downq.size() - before);
    l.last_tx = now_ms();
    if (f.type == FrameType::media)
        wake_for_media(s);
    else if (Channel *ch = s.mode == Session::Mode::stream ? l.down : s.poll)
        wake(ch);
}

// An encoded frame from the session's lanes (LaneQueue): media, a resend
// or an ack, onto the down queue of one lane whose channel is open.
bool TunnelServer::queue_on_lane(Session &s, unsigned lane, const uint8_t *frame, size_t len)
{
    if (lane >= s.lane.size() || !s.lane[lane].down || s.overflowed)
        return false;
    if (s.queued() + len > cfg_.max_down_queue) {
        drop_slow_reader(s);
        return false;
    }
    Session::Lane &l = s.lane[lane];
    l.downq.insert(l.downq.end(), frame, frame + len);
    stats_.add(HRAS_CNT_FRAMES_DOWN);
    stats_.add(HRAS_CNT_BYTES_DOWN, len);
    l.last_tx = now_ms();
    wake_for_media(s);
    return true;
}

// Media waits up to coalesce_ms for more media (any call of the site) to
// share its write: one TCP segment, one ACK and one wake-up of HRAC for
// several packets. SIP and control frames wake their channel at once and
// take whatever waits along.
void TunnelServer::wake_for_media(Session &s)
{
    // Waiting pays only while media comes faster than the window: a lone
    // call's packet, 20 ms after the last one, would wait for nothing.
    const int64_t now = now_ms();
    const bool busy = now - s.last_media <= int64_t(cfg_.coalesce_ms);
    s.last_media = now;
    if (cfg_.coalesce_ms == 0 || !busy) {
        for (Session::Lane &l : s.lane)
            if (l.down && l.queued())
                wake(l.down);
        if (s.poll)
            wake(s.poll);
        return;
    }
    if (coalesced_sites_->add(s.site))
        loop_.run_timer(coalesce_timer_, true);
}

void TunnelServer::write_coalesced()
{
    coalesced_sites_->sweep([&](size_t site) {
        Session *s = sessions_[site].get();
        if (!s)
            return false;
        for (Session::Lane &l : s->lane)
            if (l.down && l.queued())
                wake(l.down);
        if (s->poll)
            wake(s->poll);
        return false;
    });
    loop_.run_timer(coalesce_timer_, false);
}

bool TunnelServer::send(size_t site, const Frame &f)
{
    Session *s = site < sessions_.size() ? sessions_[site].get() : nullptr;
    if (!s || !s->announced || (s->mode == Session::Mode::stream && !s->lane[0].down) || s->overflowed)
        return false;
    const bool sequenced = f.type == FrameType::media && s->lanes;
    if (s->queued() + frame_header_size + (f.ra ? f.ra->encoded_size() : 0) + (sequenced ? media_seq_size : 0) +
            f.payload.size() >
        cfg_.max_down_queue) {
        drop_slow_reader(*s);
        return false;
    }
    if (sequenced) {
        // Numbered and spread over the lanes; SIP and control stay on lane 0.
        LaneQueue out(*this, *s);
        bool sent = s->lanes->send_media(f, now_ms(), out);
        wants_lane_timer(*s);
        return sent;
    }
    size_t before = s->lane[0].downq.size();
    queue_down(*s, f);
    return s->lane[0].downq.size() != before;
}

// The lane timer runs while some session has media waiting for acks or
// owes an ack, and idles otherwise.
void TunnelServer::wants_lane_timer(Session &s)
{
    if (s.lanes && s.lanes->busy(now_ms()) && lane_timer_sites_->add(s.site))
        loop_.run_timer(lane_timer_, true);
}

void TunnelServer::lane_tick()
{
    int64_t now = now_ms();
    lane_timer_sites_->sweep([&](size_t site) {
        Session *s = sessions_[site].get();
        if (!s || !s->lanes || s->overflowed)
            return false;
        LaneQueue out(*this, *s);
        return s->lanes->tick(now, out);
    });
    if (lane_timer_sites_->empty())
        loop_.run_timer(lane_timer_, false);
}

bool TunnelServer::is_up(size_t site) const
{
    return site < sessions_.size() && sessions_[site] && sessions_[site]->announced;
}

std::optional<HostPort> TunnelServer::hrac_addr(size_t site) const
{
    if (!is_up(site))
        return std::nullopt;
    return sessions_[site]->hrac;
}

std::pair<uint16_t, uint16_t> TunnelServer::media_ports(size_t site) const
{
    if (site >= sessions_.size() || !sessions_[site])
        return {default_media_port_min, default_media_port_max};
    return {sessions_[site]->media_min, sessions_[site]->media_max};
}

void TunnelServer::tick()
{
    int64_t now = now_ms();
    int64_t ka = int64_t(cfg_.keepalive_s) * 1000;
    int64_t silent_limit = keepalive_intervals_before_drop * ka;
    for (size_t i = 0; i < sessions_.size(); i++) {
        Session *s = sessions_[i].get();
        if (!s)
            continue;
        if (!s->announced) {
            if (now - s->created > int64_t(cfg_.half_open_timeout_s) * 1000)
                close_session(i, s->mode == Session::Mode::poll ? "no poll arrived"
                                                                : "half-open: only one channel arrived");
            continue;
        }
        if (s->mode == Session::Mode::poll) {
            // An outstanding poll is a request in progress; it is answered
            // by poll_wait at the latest. Keep-alives down are those answers.
            if (!s->poll && now - s->last_rx > silent_limit)
                close_session(i, "no request for 3 keep-alive intervals");
            continue;
        }
        if (now - s->last_rx > silent_limit) {
            close_session(i, "nothing received for 3 keep-alive intervals");
            continue;
        }
        // Every lane's downstream gets its own keep-alives: proxies cut
        // idle connections one by one.
        for (unsigned lane = 0; lane < s->lane.size() && sessions_[i]; lane++)
            if (s->lane[lane].down && now - s->lane[lane].last_tx >= ka && keepalive(*s, lane, now))
                stats_.add(HRAS_CNT_KEEPALIVES_SENT);
    }
    cut_overdue();
    run_mhd();  // lets libmicrohttpd handle its own timeouts
}

// A keep-alive down one lane of a streaming session, within
// tunnel_queue_limit like any frame.
bool TunnelServer::keepalive(Session &s, unsigned lane, int64_t now)
{
    if (!s.announced || s.overflowed)
        return false;
    const Frame &ka = keepalive_frame(uint64_t(now));
    if (s.queued() + frame_header_size + ka.payload.size() > cfg_.max_down_queue) {
        drop_slow_reader(s);
        return false;
    }
    queue_down(s, ka, lane);
    return true;
}

// A long poll whose poll_wait passed with nothing queued gets a keep-alive.
void TunnelServer::expire_polls()
{
    int64_t now = now_ms();
    for (auto &s : sessions_) {
        if (!s || !s->poll || now < s->poll->deadline || s->queued())
            continue;
        queue_down(*s, keepalive_frame(uint64_t(now)));
        stats_.add(HRAS_CNT_KEEPALIVES_SENT);
    }
}

void TunnelServer::publish(size_t site)
{
    hras_site_state st{};
    Session *s = sessions_[site].get();
    st.up = s && s->announced;
    if (st.up) {
        snprintf(st.session, sizeof st.session, "%s", s->id.c_str());
        snprintf(st.hrac_lan, sizeof st.hrac_lan, "%s", s->hrac.to_string().c_str());
        snprintf(st.peer, sizeof st.peer, "%s", s->peer.c_str());
        snprintf(st.mode, sizeof st.mode, "%s", s->mode_name());
        st.lanes = int(s->lane.size());
    }
    st.since = long(time(nullptr));
    st.phones = listener_ ? listener_->phone_count(site) : 0;
    stats_.site_state(int(site), st);
}

// --- limits (docs/security.md "Limits") ------------------------------------

bool TunnelServer::admit(const sockaddr *addr)
{
    std::string ip = ip_of(addr);
    auto v = limits_.admit(ip);
    if (v == ConnectionLimits::Verdict::accept)
        return true;
    stats_.add(v == ConnectionLimits::Verdict::total_full ? HRAS_CNT_TUNNEL_CONN_REFUSED
                                                          : HRAS_CNT_TUNNEL_CONN_REFUSED_IP);
    stats_.log_limited(conn_log_, HRAS_LOG_WARN, [&] {
        return "tunnel: refused a connection from " + ip + ": " + verdict_name(v) + " (" +
               std::to_string(limits_.open()) + " open, " + std::to_string(limits_.open_from(ip)) +
               " from that address)";
    });
    return false;
}

// A connection that has not delivered a complete request in time (a
// slowloris, a stuck TLS handshake, an idle keep-alive) is closed; the
// connection's descriptor is shut down and libmicrohttpd reaps it.
void TunnelServer::cut_overdue()
{
    for (ConnectionLimits::Conn *c : limits_.overdue(now_ms())) {
        if (!ConnectionLimits::same_socket(c)) {
            // Never shut down a descriptor number that now belongs to
            // another socket: the entry outlived its connection.
            stats_.warn("tunnel: forgetting a connection from " + c->ip + " that is gone (descriptor " +
                        std::to_string(c->fd) + ")");
            limits_.closed(c);
            continue;
        }
        stats_.add(HRAS_CNT_TUNNEL_HEADER_TIMEOUTS);
        stats_.log_limited(timeout_log_, HRAS_LOG_INFO, [&] {
            // A peer that is already gone (reset) is said so: libmicrohttpd
        // may hold such a connection until something wakes it.
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        bool gone = getpeername(c->fd, reinterpret_cast<sockaddr *>(&peer), &len) != 0;
        return "tunnel: closed a connection from " + c->ip + (gone ? " (already disconnected)" : "") +
               ": no complete request within " +
                   std::to_string(limits_.config().header_timeout_ms / 1000) + " s (tunnel_header_timeout)";
        });
        if (c->fd >= 0)
            shutdown(c->fd, SHUT_RDWR);
    }
}

// Every tunnel connection is a descriptor: the limit must let them all in
// beside what the process holds otherwise, or accept() fails for everyone.
void TunnelServer::fit_descriptors()
{
    size_t wanted = limits_.config().max_total + cfg_.other_descriptors;
    size_t have = raise_descriptor_limit(wanted);
    if (have >= wanted)
        return;
    size_t fit = have > cfg_.other_descriptors + 16 ? have - cfg_.other_descriptors : 16;
    stats_.add(HRAS_CNT_FD_LIMIT_CLAMPED);
    stats_.warn("tunnel: the descriptor limit (RLIMIT_NOFILE " + std::to_string(have) + ") is too low for " +
                "tunnel_max_connections " + std::to_string(limits_.config().max_total) + " and " +
                std::to_string(cfg_.other_descriptors) + " other descriptors; allowing " + std::to_string(fit) +
                " connections (raise LimitNOFILE, see docs/deployment.md)");
    limits_.set_max_total(fit);
}

// While an address is backed off its status page requests get 429 with
// Retry-After, whatever credentials they carry.
bool TunnelServer::status_backed_off(Channel *ch, const std::string &ip)
{
    int64_t wait = status_backoff_.wait_ms(ip, now_ms());
    if (wait <= 0)
        return false;
    stats_.add(HRAS_CNT_STATUS_BACKOFF);
    std::string secs = std::to_string((wait + 999) / 1000);
    ch->answer = HttpAnswer{429, "text/plain", "too many wrong passwords; retry after " + secs + " s\n",
                            {{"Retry-After", secs}, {"Cache-Control", "no-store"}}};
    return true;
}

void TunnelServer::status_answered(Channel *ch, const std::string &ip, const std::string &peer, bool with_auth)
{
    if (!ch->answer)
        return;
    if (ch->answer->status == MHD_HTTP_OK) {
        status_backoff_.succeeded(ip);
        return;
    }
    if (ch->answer->status != MHD_HTTP_UNAUTHORIZED || !with_auth)
        return;  // a browser's first request carries no credentials
    if (status_backoff_.failed(ip, now_ms()))
        stats_.add(HRAS_CNT_STATUS_BACKOFF_TABLE_FULL);
    stats_.log_limited(backoff_log_, HRAS_LOG_WARN, [&] { return "status page: wrong credentials from " + peer; });
}

// The session's reader does not keep up: rather than letting its queue
// grow, the session is dropped (its HRAC reconnects with an empty queue).
// Closed from the loop, not from inside whoever was sending.
void TunnelServer::drop_slow_reader(Session &s)
{
    s.overflowed = true;
    stats_.add(HRAS_CNT_TUNNEL_QUEUE_OVERFLOWS);
    stats_.log_limited(queue_log_, HRAS_LOG_WARN, [&] {
        return "tunnel: site '" + sites_.at(s.site).name + "': " + std::to_string(s.queued()) +
               " bytes wait for its HRAC (tunnel_queue_limit " + std::to_string(cfg_.max_down_queue / 1024) +
               " KiB); dropping the session";
    });
    size_t site = s.site;
    std::string id = s.id;
    loop_.defer([this, site, id] {
        if (sessions_[site] && sessions_[site]->id == id && sessions_[site]->overflowed)
            close_session(site, "its HRAC does not read fast enough (tunnel_queue_limit)");
    }, this);
}

}  // namespace sofw::hras
