// Seen from Kamailio, a site is a NAT. Each internal phone (site + LAN
// address from the RA header) gets a UDP endpoint of its own on the site's
// loopback address. SIP from the phone is sent to Kamailio from that
// endpoint; whatever Kamailio sends to it (requests, replies,
// retransmissions, CANCEL, ACK) is handed on for the phone. Kamailio's
// ordinary NAT handling (rport, fix_nated_register, set_contact_alias) then
// routes everything, overlapping LAN plans included. This class is the
// sockets only; what crosses them is the SIP boundary's.
#pragma once
#include "event_loop.hpp"
#include "site_table.hpp"
#include "sofw/host_port.hpp"
#include "sofw/ra_header.hpp"
#include "stats.hpp"

#include <functional>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <string_view>
#include <vector>

namespace sofw::hras {

class SiteEndpoints {
public:
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
    // A message Kamailio sent to a phone's endpoint.
    using OnSip = std::function<void(Endpoint &, std::string_view msg)>;
    // A site's phone table changed (an endpoint came or went).
    using OnChange = std::function<void(size_t site)>;

    // kamailio_sip: the Kamailio UDP socket reserved for tunnel traffic.
    SiteEndpoints(EventLoop &loop, const SiteTable &sites, HostPort kamailio_sip, Stats &stats, int idle_timeout_s,
                  OnSip on_sip, OnChange on_change);
    ~SiteEndpoints();
    SiteEndpoints(const SiteEndpoints &) = delete;
    SiteEndpoints &operator=(const SiteEndpoints &) = delete;

    // At most this many endpoints per site (site_max_phones): a new phone
    // of a full site gets none, so one site's flood of RA headers costs
    // only that site, never another site's phones or the descriptors.
    static constexpr size_t default_max_phones = 1000;
    void set_max_phones(size_t n) { max_phones_ = n ? n : 1; }
    size_t max_phones() const { return max_phones_; }

    // The phone's endpoint, made on first use; nullptr if no socket can be
    // had or the site has max_phones() already (counted, logged).
    Endpoint *endpoint_for(size_t site, const RaHeader &ra);
    // Sends a message to Kamailio from the phone's endpoint.
    bool to_kamailio(Endpoint &ep, std::string_view msg);

    const HostPort &kamailio() const { return kamailio_; }
    unsigned long phone_count(size_t site) const;
    // For status views and tests.
    std::vector<const Endpoint *> endpoints(size_t site) const;

private:
    void on_readable(Endpoint *ep);
    void expire_idle();
    void destroy(Endpoint *ep);

    EventLoop &loop_;
    const SiteTable &sites_;
    HostPort kamailio_;
    sockaddr_in kamailio_sa_{};
    Stats &stats_;
    int idle_timeout_s_;
    OnSip on_sip_;
    OnChange on_change_;
    uint64_t next_id_ = 1;
    std::map<std::pair<size_t, std::string>, std::unique_ptr<Endpoint>> by_phone_;
    std::vector<unsigned long> phones_;
    size_t max_phones_ = default_max_phones;
    std::vector<LogLimiter> full_log_;  // per site: one site's flood hides no other's line
};

}  // namespace sofw::hras
