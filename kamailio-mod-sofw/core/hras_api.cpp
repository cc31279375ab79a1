// The C API of hras.h over the C++ core. Configuration is kept in every
// process (set before Kamailio forks); the relay objects exist only in the
// module's own relay process.
#include "../hras.h"

#include "event_loop.hpp"
#include "media_relay.hpp"
#include "site_endpoints.hpp"
#include "site_table.hpp"
#include "stats.hpp"
#include "tunnel_server.hpp"

#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>

using namespace sofw::hras;

namespace {

struct Relay {
    EventLoop loop;
    std::unique_ptr<TunnelServer> tunnel;
    std::unique_ptr<MediaRelay> media;
    std::unique_ptr<SiteEndpoints> endpoints;
};

SiteTable g_sites;
TunnelConfig g_tunnel_cfg;
HostPort g_sip_socket{"127.0.0.1", 5062};
int g_phone_idle_timeout = 7200;
MediaConfig g_media_cfg;
Stats g_stats;
std::unique_ptr<Relay> g_relay;

int fail(char *err, int len, const std::string &msg)
{
    if (err && len > 0)
        snprintf(err, size_t(len), "%s", msg.c_str());
    return -1;
}

} // namespace

extern "C" {

int hras_add_site(const char *spec, char *err, int err_len)
{
    std::string e = g_sites.add(spec ? spec : "");
    return e.empty() ? 0 : fail(err, err_len, e);
}

int hras_configure(const struct hras_config *cfg, char *err, int err_len)
{
    if (cfg->tunnel_listen)
        g_tunnel_cfg.listen = cfg->tunnel_listen;
    if (cfg->keepalive_interval < 1 || cfg->keepalive_interval > 3600)
        return fail(err, err_len, "keepalive_interval must be 1..3600 seconds");
    if (cfg->auth_window < 5)
        return fail(err, err_len, "auth_window must be at least 5 seconds");
    g_tunnel_cfg.keepalive_s = cfg->keepalive_interval;
    g_tunnel_cfg.auth_window_s = cfg->auth_window;
    g_phone_idle_timeout = cfg->phone_idle_timeout;
    auto sip = HostPort::parse(cfg->sip_socket ? cfg->sip_socket : "");
    if (!sip || !sip->port)
        return fail(err, err_len, "sip_socket must be address:port");
    g_sip_socket = *sip;
    g_media_cfg.address = cfg->media_address ? cfg->media_address : "";
    if (cfg->rtp_port_min < 1024 || cfg->rtp_port_max > 65535 || cfg->rtp_port_min + 1 >= cfg->rtp_port_max)
        return fail(err, err_len, "rtp_port_min/rtp_port_max must be a range within 1024..65535");
    g_media_cfg.port_min = uint16_t(cfg->rtp_port_min);
    g_media_cfg.port_max = uint16_t(cfg->rtp_port_max);
    if (cfg->media_timeout < 5)
        return fail(err, err_len, "media_timeout must be at least 5 seconds");
    g_media_cfg.timeout_s = cfg->media_timeout;
    g_tunnel_cfg.tls_cert = cfg->tls_cert ? cfg->tls_cert : "";
    g_tunnel_cfg.tls_key = cfg->tls_key ? cfg->tls_key : "";
    g_tunnel_cfg.tls_client_ca = cfg->tls_client_ca ? cfg->tls_client_ca : "";
    std::string e = check_tls_config(g_tunnel_cfg);
    if (!e.empty())
        return fail(err, err_len, e);
    e = g_sites.assign_addresses(cfg->loopback_base ? cfg->loopback_base : "127.1.0.0");
    return e.empty() ? 0 : fail(err, err_len, e);
}

void hras_set_hooks(const struct hras_hooks *hooks) { g_stats.set_hooks(hooks); }

int hras_site_count(void) { return int(g_sites.size()); }
const char *hras_site_name(int site) { return g_sites.at(size_t(site)).name.c_str(); }
const char *hras_site_domain(int site) { return g_sites.at(size_t(site)).domain.c_str(); }
const char *hras_site_addr(int site) { return g_sites.at(size_t(site)).loop_addr.c_str(); }

int hras_site_by_addr(const char *ip, int len)
{
    auto i = g_sites.find_by_addr(std::string(ip, size_t(len)));
    return i ? int(*i) : -1;
}

int hras_start(char *err, int err_len)
{
    try {
        auto r = std::make_unique<Relay>();
        r->tunnel = std::make_unique<TunnelServer>(r->loop, g_sites, g_tunnel_cfg, g_stats);
        r->media = std::make_unique<MediaRelay>(r->loop, *r->tunnel, g_stats, g_media_cfg);
        r->endpoints = std::make_unique<SiteEndpoints>(r->loop, g_sites, *r->tunnel, g_sip_socket, g_stats,
                                                       g_phone_idle_timeout,
                                                       r->media->enabled() ? r->media.get() : nullptr);
        if (!r->media->enabled())
            g_stats.warn("media_address is not set: SDP is passed on unchanged and no media is relayed");
        r->tunnel->set_listener(r->endpoints.get());
        std::string e = r->tunnel->start();
        if (!e.empty())
            return fail(err, err_len, e);
        for (size_t i = 0; i < g_sites.size(); i++)
            r->tunnel->publish(i);
        g_relay = std::move(r);
        return 0;
    } catch (const std::exception &ex) {
        return fail(err, err_len, ex.what());
    }
}

void hras_poll(int max_ms)
{
    if (g_relay)
        g_relay->loop.run_once(max_ms);
}

void hras_stop(void)
{
    if (g_relay) {
        g_relay->tunnel->set_listener(nullptr);
        g_relay->endpoints.reset();
        g_relay->media.reset();
        g_relay.reset();
    }
}

} // extern "C"
