// The C API of hras.h over the C++ core. Configuration is kept in every
// process (set before Kamailio forks); the relay objects exist only in the
// module's own relay process.
#include "../hras.h"

#include "event_loop.hpp"
#include "hras_process.hpp"
#include "site_table.hpp"
#include "stats.hpp"
#include "status_page.hpp"
#include "tunnel_server.hpp"
#include "sofw/defaults.h"

#include <arpa/inet.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <vector>

using namespace sofw::hras;

namespace {

struct Relay {
    EventLoop loop;
    std::unique_ptr<HrasProcess> process;
    std::unique_ptr<StatusPage> status;
    bool phones_pending = false;
};

#define HRAS_NAME_ITEM(id, name, description) name,
const char *const counter_names[HRAS_CNT_COUNT] = {HRAS_COUNTERS(HRAS_NAME_ITEM)};
const char *const gauge_names[HRAS_GAUGE_COUNT] = {HRAS_GAUGES(HRAS_NAME_ITEM)};
#undef HRAS_NAME_ITEM

SiteTable g_sites;
TunnelConfig g_tunnel_cfg;
sofw::HostPort g_sip_socket{"127.0.0.1", 5062};
int g_phone_idle_timeout = 7200;
size_t g_site_max_phones = SiteEndpoints::default_max_phones;
MediaConfig g_media_cfg;
std::string g_status_user, g_status_password;
Stats g_stats;
std::unique_ptr<Relay> g_relay;

// What the relay process published last, kept for the status page. The
// core publishes through these hooks, which pass everything on to the
// glue's.
const hras_hooks *g_glue = nullptr;
std::vector<hras_site_state> g_site_states;
std::vector<hras_rat_row> g_rat_rows;
int g_hras_ports = 0, g_hrac_ports = 0;

void publish_phones_soon();

const hras_hooks g_hooks = {
    [](int level, const char *msg) {
        if (g_glue && g_glue->log)
            g_glue->log(level, msg);
        else if (getenv("SOFW_TEST_LOG"))
            fprintf(stderr, "hras[%d]: %s\n", level, msg);
    },
    [](int counter, unsigned long n) {
        if (g_glue && g_glue->counter_add)
            g_glue->counter_add(counter, n);
    },
    [](int site, const hras_site_state *st) {
        if (site >= 0) {
            if (g_site_states.size() <= size_t(site))
                g_site_states.resize(size_t(site) + 1);
            g_site_states[size_t(site)] = *st;
        }
        if (g_glue && g_glue->site_state)
            g_glue->site_state(site, st);
        publish_phones_soon();  // a site state is published when a phone comes or goes
    },
    [](const hras_rat_row *rows, int n, int hras_ports, int hrac_ports) {
        g_rat_rows.assign(rows, rows + (n > 0 ? n : 0));
        g_hras_ports = hras_ports;
        g_hrac_ports = hrac_ports;
        if (g_glue && g_glue->rat_publish)
            g_glue->rat_publish(rows, n, hras_ports, hrac_ports);
    },
    [](const hras_phone_row *rows, int n) {
        if (g_glue && g_glue->phones_publish)
            g_glue->phones_publish(rows, n);
    },
};

std::vector<hras_phone_row> phone_rows()
{
    std::vector<hras_phone_row> rows;
    if (!g_relay || !g_relay->process)
        return rows;
    int64_t now = now_ms();
    for (size_t site = 0; site < g_sites.size(); site++)
        for (const auto *ep : g_relay->process->endpoints().endpoints(site)) {
            hras_phone_row r{};
            r.site = int(site);
            snprintf(r.lan, sizeof r.lan, "%s", ep->real.to_string().c_str());
            snprintf(r.endpoint, sizeof r.endpoint, "%s", ep->loop.to_string().c_str());
            r.idle = long((now - ep->last_used) / 1000);
            rows.push_back(r);
        }
    return rows;
}

void publish_phones()
{
    if (!g_relay)
        return;
    g_relay->phones_pending = false;
    auto rows = phone_rows();
    g_hooks.phones_publish(rows.data(), int(rows.size()));
}

// After this loop pass, once: the endpoint table is consistent by then.
void publish_phones_soon()
{
    if (!g_relay || g_relay->phones_pending)
        return;
    g_relay->phones_pending = true;
    g_relay->loop.defer([] { publish_phones(); });
}

StatusSnapshot status_snapshot()
{
    StatusSnapshot s;
    s.now = long(time(nullptr));
    for (size_t i = 0; i < g_sites.size(); i++) {
        StatusSnapshot::SiteView v;
        v.name = g_sites.at(i).name;
        v.domain = g_sites.at(i).domain;
        v.addr = g_sites.at(i).loop_addr;
        if (i < g_site_states.size())
            v.state = g_site_states[i];
        s.sites.push_back(std::move(v));
    }
    s.phones = phone_rows();
    // Fresh packet counts from the relay itself, when the page is served
    // there; the published copy otherwise. Reading publishes nothing.
    const MediaPlanner *media = g_relay && g_relay->process ? g_relay->process->media() : nullptr;
    s.calls = media ? media->rows(&s.call_history) : g_rat_rows;
    for (int c = 0; c < HRAS_CNT_COUNT; c++)
        s.counters.emplace_back(counter_names[c], g_stats.get(hras_counter(c)));
    unsigned long gauges[HRAS_GAUGE_COUNT] = {};
    hras_site_gauges(g_site_states.data(), int(g_site_states.size()), gauges);
    int hras_ports = media ? int(media->rat().hras_pool().used()) : g_hras_ports;
    int hrac_ports = media ? int(media->rat().hrac_ports_used()) : g_hrac_ports;
    hras_rat_gauges(s.calls.data(), int(s.calls.size()), hras_ports, hrac_ports, gauges);
    for (int g = 0; g < HRAS_GAUGE_COUNT; g++)
        s.counters.emplace_back(gauge_names[g], gauges[g]);
    return s;
}

int fail(char *err, int len, const std::string &msg)
{
    if (err && len > 0)
        snprintf(err, size_t(len), "%s", msg.c_str());
    return -1;
}

// The barrier between the core and Kamailio: no exception leaves an entry
// of this API (it would abort the process and with it Kamailio). What
// throws is dropped, counted and logged (rate-limited); the caller gets
// `failed`.
sofw::LogLimiter g_error_log{1000};

template <class R, class F>
R guarded(const char *entry, R failed, F &&f) noexcept
{
    try {
        return f();
    } catch (const std::exception &e) {
        g_stats.add(HRAS_CNT_INTERNAL_ERRORS);
        g_stats.log_limited(g_error_log, HRAS_LOG_ERR, [&] { return std::string(entry) + ": " + e.what(); });
    } catch (...) {
        g_stats.add(HRAS_CNT_INTERNAL_ERRORS);
        g_stats.log_limited(g_error_log, HRAS_LOG_ERR, [&] { return std::string(entry) + ": unknown exception"; });
    }
    return failed;
}

template <class F>
void guarded_void(const char *entry, F &&f) noexcept
{
    guarded(entry, 0, [&] {
        f();
        return 0;
    });
}

bool valid_site(int site) { return site >= 0 && size_t(site) < g_sites.size(); }

// Each public media pair takes two descriptors; with a soft limit of 1024
// a few hundred calls exhaust them (EMFILE). The relay process, and only
// it, raises its soft limit as far as the hard limit allows and says what
// that is; raising the hard limit is the admin's (LimitNOFILE).
void raise_descriptor_limit()
{
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return;
    if (lim.rlim_cur < lim.rlim_max) {
        rlimit want = lim;
        want.rlim_cur = lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            lim = want;
    }
    size_t pairs = (g_media_cfg.port_max - g_media_cfg.port_min + 1) / 2;
    const char *note = lim.rlim_cur / 2 < pairs + 512 ? " (raise LimitNOFILE for more)" : "";
    g_stats.info("relay process: " + std::to_string(lim.rlim_cur) + " descriptors, room for about " +
                 std::to_string(lim.rlim_cur > 512 ? (lim.rlim_cur - 512) / 2 : 0) + " media port pairs of " +
                 std::to_string(pairs) + note);
}

}  // namespace

extern "C" {

int hras_add_site(const char *spec, char *err, int err_len)
{
    return guarded("hras_add_site", -1, [&] {
        std::string e = g_sites.add(spec ? spec : "");
        return e.empty() ? 0 : fail(err, err_len, e);
    });
}

// One limit: 0 means its default; else it must lie in lo..hi.
static std::string limit_value(const char *name, int v, long dflt, long lo, long hi, long &out)
{
    if (v == 0) {
        out = dflt;
        return "";
    }
    if (v < lo || v > hi)
        return std::string(name) + " must be " + std::to_string(lo) + ".." + std::to_string(hi);
    out = v;
    return "";
}

// The limits of docs/security.md "Limits", and the descriptors the relay
// process needs beside its tunnel connections (phones' endpoints, two per
// media port pair, a reserve).
static std::string configure_limits(const struct hras_config *cfg)
{
    long phones, conns, per_ip, header_s, queue_kib, replay, backoff, lanes;
    std::string e;
    if (!(e = limit_value("site_max_phones", cfg->site_max_phones, 1000, 1, 100000, phones)).empty() ||
        !(e = limit_value("tunnel_max_connections", cfg->tunnel_max_connections, 1000, 16, 1000000, conns))
             .empty() ||
        !(e = limit_value("tunnel_max_connections_per_ip", cfg->tunnel_max_connections_per_ip, 32, 1, 1000000,
                          per_ip))
             .empty() ||
        !(e = limit_value("tunnel_header_timeout", cfg->tunnel_header_timeout, 10, 1, 300, header_s)).empty() ||
        !(e = limit_value("tunnel_queue_limit", cfg->tunnel_queue_limit, 4096, 64, 1048576, queue_kib)).empty() ||
        !(e = limit_value("replay_cache_size", cfg->replay_cache_size, 100000, 100, 10000000, replay)).empty() ||
        !(e = limit_value("status_backoff_size", cfg->status_backoff_size, 4096, 16, 1000000, backoff)).empty() ||
        !(e = limit_value("tunnel_lanes", cfg->tunnel_lanes, long(default_tunnel_lanes), 1, long(sofw::lanes_max),
                          lanes))
             .empty())
        return e;
    g_site_max_phones = size_t(phones);
    g_tunnel_cfg.connections.max_total = size_t(conns);
    g_tunnel_cfg.connections.max_per_ip = size_t(per_ip);
    g_tunnel_cfg.connections.header_timeout_ms = int64_t(header_s) * 1000;
    g_tunnel_cfg.max_down_queue = size_t(queue_kib) * 1024;
    g_tunnel_cfg.replay_cache_size = size_t(replay);
    g_tunnel_cfg.status_backoff_size = size_t(backoff);
    g_tunnel_cfg.lanes = unsigned(lanes);
    // 0 is a value here (write at once), not "the default": the glue
    // starts the modparam from SOFW_DEFAULT_COALESCE_MS.
    if (cfg->tunnel_coalesce_ms < 0 || unsigned(cfg->tunnel_coalesce_ms) > sofw::coalesce_max_ms)
        return "tunnel_coalesce_ms must be 0.." + std::to_string(sofw::coalesce_max_ms);
    g_tunnel_cfg.coalesce_ms = unsigned(cfg->tunnel_coalesce_ms);
    size_t media_pairs = size_t(g_media_cfg.port_max - g_media_cfg.port_min + 1) / 2;
    g_tunnel_cfg.other_descriptors = g_sites.size() * g_site_max_phones + 2 * media_pairs + 64;
    return "";
}

static int configure(const struct hras_config *cfg, char *err, int err_len)
{
    if (!cfg)
        return fail(err, err_len, "no configuration");
    if (cfg->tunnel_listen)
        g_tunnel_cfg.listen = cfg->tunnel_listen;
    if (cfg->keepalive_interval < int(sofw::keepalive_interval_min_s) ||
        cfg->keepalive_interval > int(sofw::keepalive_interval_max_s))
        return fail(err, err_len,
                    "keepalive_interval must be " + std::to_string(sofw::keepalive_interval_min_s) + ".." +
                        std::to_string(sofw::keepalive_interval_max_s) + " seconds");
    if (cfg->auth_window < 5)
        return fail(err, err_len, "auth_window must be at least 5 seconds");
    g_tunnel_cfg.keepalive_s = cfg->keepalive_interval;
    g_tunnel_cfg.auth_window_s = cfg->auth_window;
    if (cfg->phone_idle_timeout < 60)
        return fail(err, err_len, "phone_idle_timeout must be at least 60 seconds (longer than any registration)");
    g_phone_idle_timeout = cfg->phone_idle_timeout;
    auto sip = sofw::HostPort::parse(cfg->sip_socket ? cfg->sip_socket : "");
    if (!sip || !sip->port)
        return fail(err, err_len, "sip_socket must be address:port");
    g_sip_socket = *sip;
    g_media_cfg.address = cfg->media_address ? cfg->media_address : "";
    in_addr media_ip;
    if (!g_media_cfg.address.empty() && inet_pton(AF_INET, g_media_cfg.address.c_str(), &media_ip) != 1)
        return fail(err, err_len, "media_address '" + g_media_cfg.address + "' is not an IPv4 address");
    if (cfg->rtp_port_min < 1024 || cfg->rtp_port_max > 65535 || cfg->rtp_port_min + 1 >= cfg->rtp_port_max)
        return fail(err, err_len, "rtp_port_min/rtp_port_max must be a range within 1024..65535");
    g_media_cfg.port_min = uint16_t(cfg->rtp_port_min);
    g_media_cfg.port_max = uint16_t(cfg->rtp_port_max);
    if (cfg->media_timeout < 5)
        return fail(err, err_len, "media_timeout must be at least 5 seconds");
    g_media_cfg.timeout_s = cfg->media_timeout;
    // The media limits (0 in the struct: the glue left the default).
    auto limit = [&](int v, int dflt, int min, int max, const char *name, int &out) {
        if (v == 0)
            v = dflt;
        if (v < min || v > max)
            return fail(err, err_len,
                        std::string(name) + " must be from " + std::to_string(min) + " to " + std::to_string(max));
        out = v;
        return 0;
    };
    const MediaConfig dflt;
    if (limit(cfg->offer_timeout, dflt.offer_timeout_s, 1, 3600, "offer_timeout", g_media_cfg.offer_timeout_s) < 0 ||
        limit(cfg->max_media_lines, dflt.max_media_lines, 1, 64, "max_media_lines", g_media_cfg.max_media_lines) < 0 ||
        limit(cfg->site_max_legs, dflt.site_max_legs, 1, 1000000, "site_max_legs", g_media_cfg.site_max_legs) < 0 ||
        limit(cfg->source_max_legs, dflt.source_max_legs, 1, 1000000, "source_max_legs",
              g_media_cfg.source_max_legs) < 0)
        return -1;
    g_tunnel_cfg.tls_cert = cfg->tls_cert ? cfg->tls_cert : "";
    g_tunnel_cfg.tls_key = cfg->tls_key ? cfg->tls_key : "";
    g_tunnel_cfg.tls_client_ca = cfg->tls_client_ca ? cfg->tls_client_ca : "";
    std::string e = check_tls_config(g_tunnel_cfg);
    if (!e.empty())
        return fail(err, err_len, e);
    g_status_user = cfg->status_user ? cfg->status_user : "";
    g_status_password = cfg->status_password ? cfg->status_password : "";
    e = check_status_credentials(g_status_user, g_status_password);
    if (!e.empty())
        return fail(err, err_len, e);
    e = configure_limits(cfg);
    if (!e.empty())
        return fail(err, err_len, e);
    e = g_sites.assign_addresses(cfg->loopback_base ? cfg->loopback_base : "127.1.0.0");
    return e.empty() ? 0 : fail(err, err_len, e);
}

int hras_configure(const struct hras_config *cfg, char *err, int err_len)
{
    return guarded("hras_configure", -1, [&] { return configure(cfg, err, err_len); });
}

void hras_set_hooks(const struct hras_hooks *hooks)
{
    g_glue = hooks;
    g_stats.set_hooks(&g_hooks);
}

int hras_site_count(void) { return int(g_sites.size()); }
const char *hras_site_name(int site) { return valid_site(site) ? g_sites.at(size_t(site)).name.c_str() : ""; }
const char *hras_site_domain(int site) { return valid_site(site) ? g_sites.at(size_t(site)).domain.c_str() : ""; }
const char *hras_site_addr(int site) { return valid_site(site) ? g_sites.at(size_t(site)).loop_addr.c_str() : ""; }

int hras_site_by_addr(const char *ip, int len)
{
    if (!ip || len <= 0)
        return -1;
    return guarded("hras_site_by_addr", -1, [&] {
        auto i = g_sites.find_by_addr(std::string(ip, size_t(len)));
        return i ? int(*i) : -1;
    });
}

int hras_site_by_domain(const char *domain, int len)
{
    if (!domain || len <= 0)
        return -1;
    return guarded("hras_site_by_domain", -1, [&] {
        auto i = g_sites.find_by_domain(std::string_view(domain, size_t(len)));
        return i ? int(*i) : -1;
    });
}

int hras_site_has_domain(int site, const char *domain, int len)
{
    if (!valid_site(site) || !domain || len <= 0)
        return 0;
    return guarded("hras_site_has_domain", 0, [&] {
        return g_sites.has_domain(size_t(site), std::string_view(domain, size_t(len))) ? 1 : 0;
    });
}

int hras_site_by_name(const char *name)
{
    return guarded("hras_site_by_name", -1, [&] {
        auto i = g_sites.find(name ? name : "");
        return i ? int(*i) : -1;
    });
}

const char *hras_counter_name(int counter)
{
    return counter >= 0 && counter < HRAS_CNT_COUNT ? counter_names[counter] : nullptr;
}

const char *hras_gauge_name(int gauge) { return gauge >= 0 && gauge < HRAS_GAUGE_COUNT ? gauge_names[gauge] : nullptr; }

void hras_site_gauges(const struct hras_site_state *sites, int n, unsigned long *out)
{
    if (!out || (n > 0 && !sites))
        return;
    unsigned long up = 0, phones = 0;
    for (int i = 0; i < n; i++) {
        up += sites[i].up ? 1 : 0;
        phones += sites[i].phones;
    }
    out[HRAS_GAUGE_ACTIVE_SITES] = up;
    out[HRAS_GAUGE_PHONES] = phones;
}

void hras_rat_gauges(const struct hras_rat_row *rows, int n, int hras_ports, int hrac_ports, unsigned long *out)
{
    if (!out)
        return;
    if (!rows)
        n = 0;
    unsigned long calls = 0;
    for (int i = 0; i < n; i++)
        calls += rows[i].stream == 0 ? 1 : 0;  // one row per stream: count the legs
    out[HRAS_GAUGE_ACTIVE_CALLS] = calls;
    out[HRAS_GAUGE_MEDIA_PORTS_HRAS] = hras_ports > 0 ? (unsigned long)hras_ports : 0;
    out[HRAS_GAUGE_MEDIA_PORTS_HRAC] = hrac_ports > 0 ? (unsigned long)hrac_ports : 0;
}

int hras_start(char *err, int err_len)
{
    try {
        raise_descriptor_limit();
        auto r = std::make_unique<Relay>();
        r->process = std::make_unique<HrasProcess>(r->loop, g_sites, g_tunnel_cfg, g_sip_socket, g_phone_idle_timeout,
                                                   g_media_cfg, g_stats);
        r->process->set_site_max_phones(g_site_max_phones);
        if (!r->process->media())
            g_stats.warn("media_address is not set: SDP is passed on unchanged and no media is relayed");
        r->status = std::make_unique<StatusPage>(g_status_user, g_status_password, status_snapshot);
        r->process->tunnel().set_status_page(r->status.get());
        std::string e = r->process->tunnel().start();
        if (!e.empty())
            return fail(err, err_len, e);
        if (r->status->enabled())
            g_stats.info("status page: http" + std::string(g_tunnel_cfg.tls_cert.empty() ? "" : "s") + "://" +
                         g_tunnel_cfg.listen + "/sofw/status (user " + g_status_user + ")");
        // idle times of the phones move on without any event
        r->loop.every(1000, [] { publish_phones(); });
        g_relay = std::move(r);
        for (size_t i = 0; i < g_sites.size(); i++)
            g_relay->process->tunnel().publish(i);
        return 0;
    } catch (const std::exception &ex) {
        return fail(err, err_len, ex.what());
    } catch (...) {
        return fail(err, err_len, "unknown exception");
    }
}

void hras_poll(int max_ms)
{
    // The loop guards each handler itself; this is the last line.
    guarded_void("hras_poll", [&] {
        if (g_relay)
            g_relay->loop.run_once(max_ms);
    });
}

int hras_kick(int site)
{
    if (!g_relay || !g_relay->process || !valid_site(site))
        return -1;
    return guarded("hras_kick", -1, [&] {
        TunnelServer &tunnel = g_relay->process->tunnel();
        bool up = tunnel.is_up(size_t(site));
        tunnel.close_session(size_t(site), "closed by the admin (sofw.kick)");
        return up ? 1 : 0;
    });
}

void hras_stop(void)
{
    guarded_void("hras_stop", [&] {
        if (g_relay) {
            g_relay->process.reset();
            g_relay.reset();
        }
    });
}

}  // extern "C"
