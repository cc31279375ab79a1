#include "tunnel_server.hpp"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include <cstdarg>
#include <cstring>

namespace sofw::hras {

namespace {
constexpr const char *down_path = "/sofw/v1/down";
constexpr const char *up_path = "/sofw/v1/up";
constexpr const char *content_type = "application/x-sofw-frames";
}

struct TunnelServer::Channel {
    enum class Kind { down, up, rejected };
    TunnelServer *srv = nullptr;
    MHD_Connection *conn = nullptr;
    Kind kind = Kind::rejected;
    size_t site = 0;
    Session *session = nullptr;  // null once detached
    int reject_status = 0;
    std::string reject_reason;
    std::string proof;      // X-SoFW-Server-Signature for this request
    bool queued = false;    // response queued
    bool suspended = false;
    bool closing = false;
    int refs = 1;           // MHD's request, plus the response reader for down
    FrameDecoder decoder;   // upstream only
};

struct TunnelServer::Session {
    size_t site;
    std::string id;
    HostPort hrac;
    std::string peer;
    uint16_t media_min = 20000, media_max = 29999;
    Channel *down = nullptr;
    Channel *up = nullptr;
    std::vector<uint8_t> downq;
    size_t downq_off = 0;
    int64_t created = now_ms();
    int64_t last_rx = now_ms();
    int64_t last_tx = now_ms();
    bool announced = false;
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

std::string header(MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v ? v : "";
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

} // namespace

// C callbacks of libmicrohttpd, forwarding to the server object.
struct TunnelCallbacks {
    static MHD_Result on_access(void *cls, MHD_Connection *c, const char *url, const char *method,
                                const char *, const char *upload, size_t *upload_size, void **con_cls)
    {
        auto *srv = static_cast<TunnelServer *>(cls);
        auto *ch = static_cast<TunnelServer::Channel *>(*con_cls);
        if (!ch) {
            ch = new TunnelServer::Channel;
            ch->srv = srv;
            ch->conn = c;
            *con_cls = ch;
            srv->on_new_request(ch, url, method);
            if (ch->kind == TunnelServer::Channel::Kind::rejected) {
                queue_text(c, ch->reject_status, ch->reject_reason);
                ch->queued = true;
            }
            return MHD_YES;
        }
        if (ch->kind == TunnelServer::Channel::Kind::rejected) {
            *upload_size = 0;  // discard the body of a refused request
            return MHD_YES;
        }
        if (ch->kind == TunnelServer::Channel::Kind::up) {
            if (*upload_size) {
                srv->on_upload(ch, upload, *upload_size);
                *upload_size = 0;
                return MHD_YES;
            }
            if (!ch->queued) {  // HRAC ended its upstream body
                queue_text(c, MHD_HTTP_OK, "upstream closed");
                ch->queued = true;
            }
            return MHD_YES;
        }
        // downstream: start the endless response on the second call (a
        // response queued on the first call would close the connection)
        if (!ch->queued) {
            ch->queued = true;
            ch->refs++;  // held by the response's reader
            MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, &on_read, ch, &on_read_done);
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
            MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
            MHD_add_response_header(r, "X-Accel-Buffering", "no");
            MHD_add_response_header(r, hdr::server_signature, ch->proof.c_str());
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
        size_t avail = s.downq.size() - s.downq_off;
        if (avail == 0) {
            s.downq.clear();
            s.downq_off = 0;
            MHD_suspend_connection(ch->conn);
            ch->suspended = true;
            return 0;
        }
        size_t n = avail < max ? avail : max;
        memcpy(buf, s.downq.data() + s.downq_off, n);
        s.downq_off += n;
        return ssize_t(n);
    }

    static void on_read_done(void *cls) { unref(static_cast<TunnelServer::Channel *>(cls)); }

    static void on_completed(void *, MHD_Connection *, void **con_cls, MHD_RequestTerminationCode)
    {
        auto *ch = static_cast<TunnelServer::Channel *>(*con_cls);
        if (!ch)
            return;
        *con_cls = nullptr;
        ch->srv->on_channel_closed(ch);
        unref(ch);
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
    : loop_(loop), sites_(sites), cfg_(std::move(cfg)), stats_(stats), verifier_(cfg_.auth_window_s)
{
    sessions_.resize(sites.size());
}

TunnelServer::~TunnelServer()
{
    for (size_t i = 0; i < sessions_.size(); i++)
        close_session(i, "server stopping");
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
    // Idle channels still carry keep-alives; a connection silent for longer
    // than this is a request that never completed.
    unsigned timeout = unsigned(std::max(60, 4 * cfg_.keepalive_s));
    daemon_ = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, nullptr, nullptr,
                               &TunnelCallbacks::on_access, this,
                               MHD_OPTION_EXTERNAL_LOGGER, &TunnelCallbacks::on_log, this,  // first, see its doc
                               MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr *>(&sa),
                               MHD_OPTION_NOTIFY_COMPLETED, &TunnelCallbacks::on_completed, this,
                               MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                               MHD_OPTION_END);
    if (!daemon_)
        return "cannot listen for tunnels on " + cfg_.listen + " (in use or no permission?)";
    port_ = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT)->port;
    int epfd = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd;
    loop_.add(epfd, EPOLLIN, [this](uint32_t) { run_mhd(); });
    loop_.every(1000, [this] { tick(); });
    stats_.info("tunnel: listening on " + hp->host + ":" + std::to_string(port_));
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

void TunnelServer::on_new_request(Channel *ch, const char *url, const char *method)
{
    using Kind = Channel::Kind;
    std::string path = url ? url : "";
    std::string peer = peer_of(ch->conn);
    bool is_down = path == down_path && strcmp(method, "GET") == 0;
    bool is_up = path == up_path && strcmp(method, "POST") == 0;
    if (!is_down && !is_up) {
        ch->reject_status = MHD_HTTP_NOT_FOUND;
        ch->reject_reason = "not a SoFW tunnel endpoint";
        return;
    }
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
    AuthResult res = (t.empty() || *end) ? AuthResult::malformed
                                         : verifier_.verify(req, header(ch->conn, hdr::signature),
                                                            site ? &sites_.at(*site).secret : nullptr,
                                                            uint64_t(time(nullptr)));
    auto lan = HostPort::parse(req.lan);
    if (res == AuthResult::ok && !lan)
        res = AuthResult::malformed;
    if (res != AuthResult::ok) {
        stats_.add(HRAS_CNT_AUTH_FAILURES);
        stats_.warn("tunnel: refused " + std::string(method) + " " + path + " for site '" + req.site + "' from " +
                    peer + ": " + auth_result_name(res));
        ch->reject_status = MHD_HTTP_UNAUTHORIZED;
        ch->reject_reason = auth_result_name(res);
        return;
    }

    auto &slot = sessions_[*site];
    if (slot && slot->id != req.session)
        close_session(*site, "replaced by a new session from " + peer);
    if (!slot) {
        slot = std::make_unique<Session>();
        slot->site = *site;
        slot->id = req.session;
        slot->hrac = *lan;
        slot->peer = peer;
    }
    unsigned lo = 0, hi = 0;
    std::string ports = header(ch->conn, "X-SoFW-Media-Ports");
    if (sscanf(ports.c_str(), "%u-%u", &lo, &hi) == 2 && lo >= 1024 && lo < hi && hi <= 65535) {
        slot->media_min = uint16_t(lo);
        slot->media_max = uint16_t(hi);
    }
    Channel *&chan_slot = is_down ? slot->down : slot->up;
    if (chan_slot) {
        ch->reject_status = MHD_HTTP_CONFLICT;
        ch->reject_reason = "channel already open for this session";
        return;
    }
    ch->kind = is_down ? Kind::down : Kind::up;
    ch->site = *site;
    ch->session = slot.get();
    ch->proof = sign_server_proof(sites_.at(*site).secret, req);
    chan_slot = ch;
    slot->last_rx = now_ms();
    stats_.dbg("tunnel: site '" + req.site + "' opened " + (is_down ? "downstream" : "upstream") + " of session " +
               req.session + " from " + peer);
    maybe_announce(*slot);
}

void TunnelServer::maybe_announce(Session &s)
{
    if (s.announced || !s.down || !s.up || !s.down->queued)
        return;
    s.announced = true;
    stats_.add(HRAS_CNT_SESSIONS_OPENED);
    stats_.info("tunnel: site '" + sites_.at(s.site).name + "' up: session " + s.id + ", HRAC " + s.hrac.to_string() +
                ", from " + s.peer);
    publish(s.site);
    if (listener_)
        listener_->on_session_change(s.site, true);
}

void TunnelServer::on_upload(Channel *ch, const char *data, size_t len)
{
    if (!ch->session)
        return;
    Session &s = *ch->session;
    size_t site = s.site;
    s.last_rx = now_ms();
    ch->decoder.feed(reinterpret_cast<const uint8_t *>(data), len);
    Frame f;
    for (;;) {
        auto r = ch->decoder.next(f);
        if (r == FrameDecoder::Result::need_more)
            return;
        if (r == FrameDecoder::Result::error) {
            stats_.add(HRAS_CNT_FRAME_ERRORS);
            close_session(site, std::string("malformed frame from HRAC: ") + decode_error_name(ch->decoder.error()));
            return;
        }
        stats_.add(HRAS_CNT_FRAMES_UP);
        stats_.add(HRAS_CNT_BYTES_UP, frame_header_size + (f.ra ? f.ra->encoded_size() : 0) + f.payload.size());
        if (f.type == FrameType::keepalive) {
            stats_.add(HRAS_CNT_KEEPALIVES_RECEIVED);
            continue;
        }
        if (listener_)
            listener_->on_frame(site, f);
        if (!ch->session)  // the listener closed the session
            return;
    }
}

void TunnelServer::on_channel_closed(Channel *ch)
{
    Session *s = ch->session;
    if (!s)
        return;
    if (s->down == ch)
        s->down = nullptr;
    if (s->up == ch)
        s->up = nullptr;
    ch->session = nullptr;
    close_session(s->site, ch->kind == Channel::Kind::down ? "downstream channel closed" : "upstream channel closed");
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
        loop_.defer([this] { run_mhd(); });
    }
}

void TunnelServer::close_session(size_t site, const std::string &why)
{
    auto s = std::move(sessions_[site]);
    if (!s)
        return;
    for (Channel *ch : {s->down, s->up})
        if (ch)
            close_channel(ch);
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

bool TunnelServer::send(size_t site, const Frame &f)
{
    Session *s = site < sessions_.size() ? sessions_[site].get() : nullptr;
    if (!s || !s->down || !s->announced)
        return false;
    size_t before = s->downq.size();
    if (before - s->downq_off > cfg_.max_down_queue)
        return false;
    if (!encode_frame(f, s->downq))
        return false;
    stats_.add(HRAS_CNT_FRAMES_DOWN);
    stats_.add(HRAS_CNT_BYTES_DOWN, s->downq.size() - before);
    s->last_tx = now_ms();
    wake(s->down);
    return true;
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
        return {20000, 29999};
    return {sessions_[site]->media_min, sessions_[site]->media_max};
}

void TunnelServer::tick()
{
    int64_t now = now_ms();
    int64_t ka = int64_t(cfg_.keepalive_s) * 1000;
    for (size_t i = 0; i < sessions_.size(); i++) {
        Session *s = sessions_[i].get();
        if (!s)
            continue;
        if (!s->announced) {
            if (now - s->created > int64_t(cfg_.half_open_timeout_s) * 1000)
                close_session(i, "half-open: only one channel arrived");
            continue;
        }
        if (now - s->last_rx > 3 * ka) {
            close_session(i, "nothing received for 3 keep-alive intervals");
            continue;
        }
        if (now - s->last_tx >= ka) {
            Frame k;
            k.type = FrameType::keepalive;
            for (int b = 7; b >= 0; b--)
                k.payload.push_back(uint8_t(uint64_t(now) >> (8 * b)));
            if (send(i, k))
                stats_.add(HRAS_CNT_KEEPALIVES_SENT);
        }
    }
    run_mhd();  // lets libmicrohttpd handle its own timeouts
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
    }
    st.since = long(time(nullptr));
    st.phones = listener_ ? listener_->phone_count(site) : 0;
    stats_.site_state(int(site), st);
}

} // namespace sofw::hras
