// The HRAS end of the tunnel (papers §2.2, docs/protocol.md): a
// libmicrohttpd daemon driven from the relay process's event loop, over
// plain HTTP or HTTPS. Each site has at most one session, in one of two
// modes: streaming = one downstream GET (endless response) and one upstream
// POST (endless request body), confirmed with STREAM_OK on the first
// upstream frame, and as many more pairs as the session has lanes
// (tunnel_lanes.hpp); polling = long-poll GETs and Content-Length POSTs, all
// carrying the session id. Authenticates sites (and optionally their client
// certificates), sends and checks keep-alives, forgets half-open and silent
// sessions.
#pragma once
#include "auth_backoff.hpp"
#include "connection_limits.hpp"
#include "event_loop.hpp"
#include "sofw/host_port.hpp"
#include "site_table.hpp"
#include "stats.hpp"
#include "status_page.hpp"
#include "sofw/auth.hpp"
#include "sofw/defaults.h"
#include "sofw/frame.hpp"
#include "sofw/lanes.hpp"
#include "sofw/log_limiter.hpp"
#include "sofw/record.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sockaddr;
struct MHD_Daemon;
struct MHD_Connection;

namespace sofw::hras {

struct LaneRecords;
class LaneTimerSites;

// tunnel_lanes: the most lanes (docs/protocol.md "Lanes") HRAS gives a
// streaming session; HRAC asks for its own number, the smaller one counts.
constexpr unsigned default_tunnel_lanes = 4;

struct TunnelConfig {
    std::string listen = "0.0.0.0:80";
    int keepalive_s = int(default_keepalive_interval_s);
    int auth_window_s = int(default_auth_window_s);
    // tunnel_queue_limit: bytes waiting for a slow reader; a session over
    // it is dropped (its HRAC reconnects) instead of growing memory.
    size_t max_down_queue = 4 << 20;
    ConnectionLimitsConfig connections;             // tunnel_max_connections*, tunnel_header_timeout
    size_t other_descriptors = 64;                  // what else the process needs open (phones, media)
    size_t replay_cache_size = ReplayCache::default_capacity;  // nonces per site
    size_t status_backoff_size = 4096;                          // addresses the status page backs off
    int half_open_timeout_s = 10;
    int poll_wait_ms = int(poll_wait_s * 1000);    // a long poll with nothing to say is answered with a keep-alive
    size_t poll_max_body = poll_answer_max_bytes;  // bytes of frames in one poll answer (the rest waits)
    unsigned lanes = default_tunnel_lanes;         // 1..lanes_max
    // How long media queued for a site may wait for more media to share its
    // write (docs/performance.md "Coalescing"); SIP and control never wait.
    unsigned coalesce_ms = default_coalesce_ms;  // 0..coalesce_max_ms
    // TLS: PEM contents (not paths). Cert and key both or neither; with a
    // client CA every request needs a client certificate it signed.
    std::string tls_cert, tls_key, tls_client_ca;
};

// "" if the TLS settings are usable (key matches cert, CA parses), else why not.
std::string check_tls_config(const TunnelConfig &cfg);

// Receives what HRAC sends (SIP, media, control) and session changes.
class TunnelListener {
public:
    virtual ~TunnelListener() = default;
    virtual void on_frame(size_t site, const Frame &f) = 0;
    virtual void on_session_change(size_t site, bool up) = 0;
    virtual unsigned long phone_count(size_t site) const = 0;
};

class TunnelServer {
public:
    TunnelServer(EventLoop &loop, const SiteTable &sites, TunnelConfig cfg, Stats &stats);
    ~TunnelServer();

    void set_listener(TunnelListener *l) { listener_ = l; }
    // Serves GET /sofw/status and /sofw/status.json from this page (when it
    // is enabled); without one those paths are unknown like any other.
    void set_status_page(const StatusPage *p) { status_ = p; }
    std::string start();  // "" or an error text
    uint16_t port() const { return port_; }
    // Connections open now, as the connection limits count them.
    size_t open_connections() const { return limits_.open(); }

    // Queues a frame down the site's tunnel (either mode); false (counted by
    // the caller) when the site's session is not up.
    bool send(size_t site, const Frame &f);
    bool is_up(size_t site) const;
    std::optional<HostPort> hrac_addr(size_t site) const;
    // The LAN media port range the site's HRAC announced (X-SoFW-Media-Ports).
    std::pair<uint16_t, uint16_t> media_ports(size_t site) const;
    void close_session(size_t site, const std::string &why);
    // Publishes the site's state (tunnel, phones) through the stats hooks.
    void publish(size_t site);

    struct Channel;
    struct Session;

private:
    struct LaneQueue;
    friend struct TunnelCallbacks;
    void on_new_request(Channel *ch, const char *url, const char *method);
    void on_upload(Channel *ch, const char *data, size_t len);
    void on_upload_end(Channel *ch);
    void refuse_send(Channel *ch);
    void answer_closed(Channel *ch);
    void record_failed(Session &s, unsigned lane, RecordError e);
    bool seal_queued(Session &s, LaneRecords &l, size_t limit, std::vector<uint8_t> &out);
    bool on_send_done(Channel *ch);
    void answer_poll(Channel *ch);
    void on_channel_closed(Channel *ch);
    void maybe_announce(Session &s);
    bool key_lanes(Session &s, const AuthRequest &opening);
    void queue_down(Session &s, const Frame &f, unsigned lane = 0);
    bool queue_on_lane(Session &s, unsigned lane, const uint8_t *frame, size_t len);
    bool on_lane_frame(Session &s, unsigned lane, Frame &f);
    void wants_lane_timer(Session &s);
    void lane_tick();
    void wake_for_media(Session &s);
    void write_coalesced();
    bool keepalive(Session &s, unsigned lane, int64_t now);
    void close_channel(Channel *ch);
    void wake(Channel *ch);
    void tick();
    void expire_polls();
    void run_mhd();
    std::string check_client_cert(MHD_Connection *c);
    bool admit(const ::sockaddr *addr);
    void cut_overdue();
    void fit_descriptors();
    bool status_backed_off(Channel *ch, const std::string &ip);
    void status_answered(Channel *ch, const std::string &ip, const std::string &peer, bool with_auth);
    void drop_slow_reader(Session &s);

    EventLoop &loop_;
    const SiteTable &sites_;
    TunnelConfig cfg_;
    Stats &stats_;
    TunnelListener *listener_ = nullptr;
    const StatusPage *status_ = nullptr;
    AuthVerifier verifier_;
    MHD_Daemon *daemon_ = nullptr;
    uint16_t port_ = 0;
    int epfd_ = -1;  // libmicrohttpd's, watched by the loop
    bool run_pending_ = false;
    std::vector<std::unique_ptr<Session>> sessions_;  // by site index
    ConnectionLimits limits_;
    AuthBackoff status_backoff_;
    LogLimiter refused_log_{1000}, conn_log_{1000}, timeout_log_{1000}, queue_log_{1000}, backoff_log_{10000};
    Frame up_frame_;                                  // the frame being delivered, reused
    LogLimiter record_log_{1000}, lane_log_{1000};
    size_t lane_timer_ = 0;                              // EventLoop::idle_timer of lane_tick()
    size_t coalesce_timer_ = 0;                          // EventLoop::idle_timer of write_coalesced()
    std::unique_ptr<LaneTimerSites> coalesced_sites_;    // whose media waits for it
    std::unique_ptr<LaneTimerSites> lane_timer_sites_;  // whose session needs it now
};

}  // namespace sofw::hras
