#include "site_endpoints.hpp"

#include "sip_translate.hpp"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sofw::hras {

namespace {

// An RA header names a phone only with a port and a unicast address a LAN
// host can have: never 0.0.0.0, loopback, multicast or broadcast.
bool usable_phone_address(const RaHeader &ra)
{
    if (ra.port == 0)
        return false;
    if (ra.family == 4) {
        const uint8_t *a = ra.addr;
        return a[0] != 0 && a[0] != 127 && a[0] < 224;
    }
    static const uint8_t zero[16] = {};
    static const uint8_t loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return memcmp(ra.addr, zero, 16) != 0 && memcmp(ra.addr, loopback, 16) != 0 && ra.addr[0] != 0xff;
}

}  // namespace

SiteEndpoints::SiteEndpoints(EventLoop &loop, const SiteTable &sites, TunnelServer &tunnel, HostPort kamailio_sip,
                             Stats &stats, int idle_timeout_s, MediaRelay *media)
    : loop_(loop), sites_(sites), tunnel_(tunnel), kamailio_(std::move(kamailio_sip)), stats_(stats),
      idle_timeout_s_(idle_timeout_s), media_(media), phones_(sites.size())
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
    auto key = std::make_pair(site, ra.to_string());
    auto it = by_phone_.find(key);
    if (it != by_phone_.end())
        return it->second.get();

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
    tunnel_.publish(site);
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

void SiteEndpoints::on_frame(size_t site, const Frame &f)
{
    if (media_ && f.type == FrameType::media) {
        media_->on_media(site, f);
        return;
    }
    if (media_ && f.type == FrameType::control) {
        media_->on_control(site, f);
        return;
    }
    if (f.type != FrameType::sip || !f.ra) {
        stats_.dbg("site '" + sites_.at(site).name + "': ignoring " + frame_type_name(f.type) + " frame");
        return;
    }
    auto hrac = tunnel_.hrac_addr(site);
    if (!hrac)
        return;
    std::string_view msg(reinterpret_cast<const char *>(f.payload.data()), f.payload.size());
    auto out = translate_up(msg, UpTranslation{*hrac, kamailio_});
    if (!out) {
        // checked before the endpoint exists: garbage must not create phones
        stats_.add(HRAS_CNT_SIP_MALFORMED);
        stats_.warn("site '" + sites_.at(site).name + "': dropped a malformed SIP message from " + f.ra->to_string() +
                    " (" + std::to_string(f.payload.size()) + " bytes)");
        return;
    }
    if (!usable_phone_address(*f.ra)) {
        stats_.add(HRAS_CNT_SIP_MALFORMED);
        stats_.warn("site '" + sites_.at(site).name + "': dropped SIP from " + f.ra->to_string() +
                    ", which is no phone's address");
        return;
    }
    Endpoint *ep = endpoint_for(site, *f.ra);
    if (!ep)
        return;
    ep->last_used = now_ms();
    if (media_) {
        auto m = media_->on_sip_up(site, ep->id, std::move(*out));
        if (m.reject) {
            to_phone(ep, *m.reject);
            return;
        }
        *out = std::move(m.msg);
    }
    to_kamailio(ep, *out);
}

void SiteEndpoints::to_kamailio(Endpoint *ep, const std::string &msg)
{
    if (sendto(ep->fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr *>(&kamailio_sa_), sizeof kamailio_sa_) <
        0) {
        stats_.warn("site '" + sites_.at(ep->site).name + "': cannot hand SIP to Kamailio at " + kamailio_.to_string() +
                    ": " + strerror(errno));
        return;
    }
    stats_.add(HRAS_CNT_SIP_UP);
}

void SiteEndpoints::to_phone(Endpoint *ep, const std::string &msg)
{
    Frame f;
    f.type = FrameType::sip;
    f.ra = ep->real;
    f.payload.assign(msg.begin(), msg.end());
    if (tunnel_.send(ep->site, f))
        stats_.add(HRAS_CNT_SIP_DOWN);
    else
        stats_.add(HRAS_CNT_SIP_NO_TUNNEL);
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
        auto hrac = tunnel_.hrac_addr(ep->site);
        if (!hrac) {
            stats_.add(HRAS_CNT_SIP_NO_TUNNEL);
            stats_.dbg("site '" + sites_.at(ep->site).name + "': no tunnel, dropped SIP for " + ep->real.to_string());
            continue;
        }
        if (from.sin_port != kamailio_sa_.sin_port || from.sin_addr.s_addr != kamailio_sa_.sin_addr.s_addr)
            stats_.warn("site '" + sites_.at(ep->site).name + "': SIP for " + ep->real.to_string() +
                        " was not sent from sip_socket " + kamailio_.to_string() +
                        "; call sofw_relay() before relaying to internal phones");
        std::string_view msg(buf, size_t(n));
        auto out = translate_down(msg, DownTranslation{kamailio_, *hrac, ep->loop, ep->real_sip});
        if (!out) {
            stats_.add(HRAS_CNT_SIP_MALFORMED);
            stats_.warn("site '" + sites_.at(ep->site).name + "': Kamailio sent a malformed message; dropped");
            continue;
        }
        if (media_) {
            auto m = media_->on_sip_down(ep->site, ep->id, *hrac, ep->real_ip, std::move(*out));
            if (m.reject) {
                to_kamailio(ep, *m.reject);  // as if the phone had answered it
                continue;
            }
            *out = std::move(m.msg);
        }
        to_phone(ep, *out);
    }
}

void SiteEndpoints::on_session_change(size_t site, bool up)
{
    if (media_ && up) {
        auto [lo, hi] = tunnel_.media_ports(site);
        media_->on_session_up(site, lo, hi);
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
        tunnel_.publish(site);
    }
}

}  // namespace sofw::hras
