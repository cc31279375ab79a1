#include "site_endpoints.hpp"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sofw::hras {

SiteEndpoints::SiteEndpoints(EventLoop &loop, const SiteTable &sites, HostPort kamailio_sip, Stats &stats,
                             int idle_timeout_s, OnSip on_sip, OnChange on_change)
    : loop_(loop), sites_(sites), kamailio_(std::move(kamailio_sip)), stats_(stats), idle_timeout_s_(idle_timeout_s),
      on_sip_(std::move(on_sip)), on_change_(std::move(on_change)), phones_(sites.size()),
      full_log_(sites.size(), LogLimiter(10000))
{
    kamailio_sa_.sin_family = AF_INET;
    kamailio_sa_.sin_port = htons(kamailio_.effective_port());
    if (inet_pton(AF_INET, kamailio_.host.c_str(), &kamailio_sa_.sin_addr) != 1)
        throw std::invalid_argument("sip_socket must be an IPv4 address:port");
    loop_.every(10000, [this] { expire_idle(); });
}

SiteEndpoints::~SiteEndpoints()
{
    while (!by_phone_.empty())
        destroy(by_phone_.begin()->second.get());
}

SiteEndpoints::Endpoint *SiteEndpoints::endpoint_for(size_t site, const RaHeader &ra)
{
    if (site >= sites_.size() || !may_name_lan_phone(ra))
        return nullptr;
    auto key = std::make_pair(site, ra.to_string());
    auto it = by_phone_.find(key);
    if (it != by_phone_.end())
        return it->second.get();
    if (phones_[site] >= max_phones_) {
        stats_.add(HRAS_CNT_SITE_PHONES_REFUSED);
        stats_.log_limited(full_log_[site], HRAS_LOG_WARN, [&] {
            return "site '" + sites_.at(site).name + "': phone " + ra.to_string() + " refused: the site has " +
                   std::to_string(max_phones_) + " phones (site_max_phones)";
        });
        return nullptr;
    }

    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, sites_.at(site).loop_addr.c_str(), &sa.sin_addr);
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &len) != 0) {
        stats_.err("site '" + sites_.at(site).name + "': cannot open a loopback endpoint: " + strerror(errno));
        if (fd >= 0)
            close(fd);
        return nullptr;
    }
    auto ep = std::make_unique<Endpoint>();
    ep->site = site;
    ep->real = ra;
    char host[INET6_ADDRSTRLEN] = "";
    inet_ntop(ra.family == 6 ? AF_INET6 : AF_INET, ra.addr, host, sizeof host);
    ep->real_sip = HostPort{host, ra.port};
    if (ra.family == 4)
        memcpy(&ep->real_ip, ra.addr, 4);
    ep->fd = fd;
    ep->loop = HostPort{sites_.at(site).loop_addr, ntohs(sa.sin_port)};
    ep->id = next_id_++;
    Endpoint *raw = ep.get();
    loop_.add(fd, EPOLLIN, [this, raw](uint32_t) { on_readable(raw); });
    by_phone_.emplace(key, std::move(ep));
    phones_[site]++;
    stats_.info("site '" + sites_.at(site).name + "': phone " + ra.to_string() + " is " + raw->loop.to_string() +
                " towards Kamailio");
    on_change_(site);
    return raw;
}

void SiteEndpoints::destroy(Endpoint *ep)
{
    loop_.remove(ep->fd);
    close(ep->fd);
    size_t site = ep->site;
    phones_[site]--;
    by_phone_.erase(std::make_pair(site, ep->real.to_string()));
}

bool SiteEndpoints::to_kamailio(Endpoint &ep, std::string_view msg)
{
    ep.last_used = now_ms();
    if (sendto(ep.fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr *>(&kamailio_sa_), sizeof kamailio_sa_) <
        0) {
        stats_.warn("site '" + sites_.at(ep.site).name + "': cannot hand SIP to Kamailio at " + kamailio_.to_string() +
                    ": " + strerror(errno));
        return false;
    }
    stats_.add(HRAS_CNT_SIP_UP);
    return true;
}

void SiteEndpoints::on_readable(Endpoint *ep)
{
    char buf[65536];
    for (int i = 0; i < 64; i++) {
        sockaddr_in from{};
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(ep->fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr *>(&from), &flen);
        if (n < 0)
            return;  // EAGAIN, or an ICMP error from an earlier send
        ep->last_used = now_ms();
        if (from.sin_port != kamailio_sa_.sin_port || from.sin_addr.s_addr != kamailio_sa_.sin_addr.s_addr)
            stats_.warn("site '" + sites_.at(ep->site).name + "': SIP for " + ep->real.to_string() +
                        " was not sent from sip_socket " + kamailio_.to_string() +
                        "; call sofw_relay() before relaying to internal phones");
        on_sip_(*ep, std::string_view(buf, size_t(n)));
    }
}

unsigned long SiteEndpoints::phone_count(size_t site) const { return site < phones_.size() ? phones_[site] : 0; }

std::vector<const SiteEndpoints::Endpoint *> SiteEndpoints::endpoints(size_t site) const
{
    std::vector<const Endpoint *> r;
    for (auto &kv : by_phone_)
        if (kv.first.first == site)
            r.push_back(kv.second.get());
    return r;
}

void SiteEndpoints::expire_idle()
{
    int64_t limit = now_ms() - int64_t(idle_timeout_s_) * 1000;
    std::vector<Endpoint *> idle;
    for (auto &kv : by_phone_)
        if (kv.second->last_used < limit)
            idle.push_back(kv.second.get());
    for (Endpoint *ep : idle) {
        size_t site = ep->site;
        stats_.info("site '" + sites_.at(site).name + "': phone " + ep->real.to_string() + " idle, endpoint " +
                    ep->loop.to_string() + " released");
        destroy(ep);
        on_change_(site);
    }
}

}  // namespace sofw::hras
