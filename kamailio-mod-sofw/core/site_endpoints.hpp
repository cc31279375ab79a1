// Seen from Kamailio, a site is a NAT. Each internal phone (site + LAN
// address from the RA header) gets a UDP endpoint of its own on the site's
// loopback address. SIP from the phone is sent to Kamailio from that
// endpoint; whatever Kamailio sends to it (requests, replies,
// retransmissions, CANCEL, ACK) goes down the site's tunnel to the phone.
// Kamailio's ordinary NAT handling (rport, fix_nated_register,
// set_contact_alias) then routes everything, overlapping LAN plans included.
#pragma once
#include "event_loop.hpp"
#include "media_relay.hpp"
#include "sofw/host_port.hpp"
#include "site_table.hpp"
#include "stats.hpp"
#include "tunnel_server.hpp"

#include <map>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <vector>

namespace sofw::hras {

class SiteEndpoints : public TunnelListener {
public:
    // kamailio_sip: the Kamailio UDP socket reserved for tunnel traffic.
    SiteEndpoints(EventLoop &loop, const SiteTable &sites, TunnelServer &tunnel, HostPort kamailio_sip, Stats &stats,
                  int idle_timeout_s, MediaRelay *media = nullptr);
    ~SiteEndpoints() override;

    void on_frame(size_t site, const Frame &f) override;
    void on_session_change(size_t site, bool up) override;
    unsigned long phone_count(size_t site) const override;

    struct Endpoint {
        size_t site;
        RaHeader real;          // the phone's LAN address
        HostPort real_sip;      // the same, as SIP writes it (made once)
        in_addr_t real_ip = 0;  // the same, binary (IPv4 phones; else 0)
        HostPort loop;          // our loopback endpoint for it
        int fd = -1;
        int64_t last_used = 0;
        uint64_t id = 0;  // unique for the process's lifetime (RAT key)
    };
    // For status views and tests.
    std::vector<const Endpoint *> endpoints(size_t site) const;

private:
    Endpoint *endpoint_for(size_t site, const RaHeader &ra);
    void on_readable(Endpoint *ep);
    void expire_idle();
    void destroy(Endpoint *ep);
    void to_kamailio(Endpoint *ep, const std::string &msg);
    void to_phone(Endpoint *ep, const std::string &msg);

    EventLoop &loop_;
    const SiteTable &sites_;
    TunnelServer &tunnel_;
    HostPort kamailio_;
    sockaddr_in kamailio_sa_{};
    Stats &stats_;
    int idle_timeout_s_;
    MediaRelay *media_;
    uint64_t next_id_ = 1;
    std::map<std::pair<size_t, std::string>, std::unique_ptr<Endpoint>> by_phone_;
    std::vector<unsigned long> phones_;
};

}  // namespace sofw::hras
