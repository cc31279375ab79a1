#include "rat.hpp"

#include "sofw/defaults.h"

#include <cstring>

namespace sofw::hras {

MediaEndpoint MediaEndpoint::from_text(const std::string &ip, uint16_t port)
{
    in_addr a{};
    if (inet_pton(AF_INET, ip.c_str(), &a) != 1)
        return {};
    return {a.s_addr, port};
}

MediaEndpoint MediaEndpoint::from_ra(const RaHeader &ra)
{
    if (ra.family != 4)
        return {};
    MediaEndpoint m;
    memcpy(&m.ip, ra.addr, 4);
    m.port = ra.port;
    return m;
}

sockaddr_in MediaEndpoint::to_sockaddr() const
{
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = ip;
    return sa;
}

RaHeader MediaEndpoint::to_ra() const
{
    RaHeader ra;
    ra.family = 4;
    memcpy(ra.addr, &ip, 4);
    ra.port = port;
    return ra;
}

std::string MediaEndpoint::ip_text() const
{
    if (!ip)
        return "";
    char buf[INET_ADDRSTRLEN];
    in_addr a{ip};
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
}

std::string MediaEndpoint::to_string() const { return ip_text() + ":" + std::to_string(port); }

void Rat::set_site_ports(size_t site, uint16_t min, uint16_t max)
{
    pending_ranges_.erase(site);
    auto it = hrac_pools_.find(site);
    if (it != hrac_pools_.end()) {
        if (it->second.min() == min && it->second.max() == max)
            return;
        if (it->second.used() > 0) {  // ports of live calls stay valid until those calls end
            pending_ranges_[site] = {min, max};
            return;
        }
        hrac_pools_.erase(it);
    }
    hrac_pools_.emplace(site, PortPool(min, max));
}

const PortPool *Rat::hrac_pool(size_t site) const
{
    auto it = hrac_pools_.find(site);
    return it == hrac_pools_.end() ? nullptr : &it->second;
}

size_t Rat::hrac_ports_used() const
{
    size_t n = 0;
    for (auto &kv : hrac_pools_)
        n += kv.second.used();
    return n;
}

RatEntry *Rat::find(uint64_t phone, const std::string &call_id)
{
    auto it = entries_.find({phone, call_id});
    return it == entries_.end() ? nullptr : it->second.get();
}

RatEntry &Rat::get_or_create(size_t site, uint64_t phone, const std::string &call_id, int64_t now_ms,
                             in_addr_t source)
{
    auto &slot = entries_[{phone, call_id}];
    if (!slot) {
        slot = std::make_unique<RatEntry>();
        slot->site = site;
        slot->phone = phone;
        slot->call_id = call_id;
        slot->created_ms = now_ms;
        slot->last_activity_ms = now_ms;
        slot->source = source;
        site_legs_[site]++;
        if (source)
            source_legs_[source]++;
    }
    return *slot;
}

size_t Rat::legs_of_site(size_t site) const
{
    auto it = site_legs_.find(site);
    return it == site_legs_.end() ? 0 : it->second;
}

size_t Rat::legs_of_source(in_addr_t ip) const
{
    auto it = source_legs_.find(ip);
    return it == source_legs_.end() ? 0 : it->second;
}

bool Rat::allocate_hras(RatEntry &e, size_t i, int64_t now_ms)
{
    if (e.streams.size() <= i)
        e.streams.resize(i + 1);
    if (e.streams[i].hras_port)
        return true;
    auto p = hras_pool_.take(now_ms);
    if (!p)
        return false;
    e.streams[i].hras_port = *p;
    by_hras_[*p] = {&e, i};
    return true;
}

bool Rat::allocate_hrac(RatEntry &e, size_t i)
{
    if (e.streams.size() <= i)
        e.streams.resize(i + 1);
    if (e.streams[i].hrac_port)
        return true;
    auto pool = hrac_pools_.find(e.site);
    if (pool == hrac_pools_.end())
        pool = hrac_pools_.emplace(e.site, PortPool(default_media_port_min, default_media_port_max)).first;
    auto p = pool->second.take();
    if (!p)
        return false;
    e.streams[i].hrac_port = *p;
    by_hrac_[{e.site, *p}] = {&e, i};
    return true;
}

void Rat::release_hras(RatEntry &e, size_t i)
{
    uint16_t &p = e.streams[i].hras_port;
    if (!p)
        return;
    by_hras_.erase(p);
    hras_pool_.give(p);
    p = 0;
}

void Rat::park_hras(RatEntry &e, size_t i, int64_t until_ms)
{
    uint16_t &p = e.streams[i].hras_port;
    if (!p)
        return;
    by_hras_.erase(p);
    hras_pool_.park(p, until_ms);
    p = 0;
}

void Rat::release_hrac(RatEntry &e, size_t i)
{
    uint16_t &p = e.streams[i].hrac_port;
    if (!p)
        return;
    by_hrac_.erase({e.site, p});
    auto pool = hrac_pools_.find(e.site);
    if (pool != hrac_pools_.end()) {
        pool->second.give(p);
        auto pending = pending_ranges_.find(e.site);
        if (pending != pending_ranges_.end() && pool->second.used() == 0) {
            pool->second = PortPool(pending->second.first, pending->second.second);
            pending_ranges_.erase(pending);
        }
    }
    p = 0;
}

std::pair<RatEntry *, size_t> Rat::by_hras_port(uint16_t rtp_port)
{
    auto it = by_hras_.find(rtp_port);
    return it == by_hras_.end() ? std::make_pair(nullptr, size_t(0)) : it->second;
}

std::pair<RatEntry *, size_t> Rat::by_hrac_port(size_t site, uint16_t rtp_port)
{
    auto it = by_hrac_.find({site, rtp_port});
    return it == by_hrac_.end() ? std::make_pair(nullptr, size_t(0)) : it->second;
}

std::vector<uint16_t> Rat::remove(uint64_t phone, const std::string &call_id)
{
    std::vector<uint16_t> hrac_ports;
    auto it = entries_.find({phone, call_id});
    if (it == entries_.end())
        return hrac_ports;
    RatEntry &e = *it->second;
    for (size_t i = 0; i < e.streams.size(); i++) {
        if (e.streams[i].hrac_port)
            hrac_ports.push_back(e.streams[i].hrac_port);
        release_hras(e, i);
        release_hrac(e, i);
    }
    auto drop = [](auto &counts, auto key) {
        auto c = counts.find(key);
        if (c != counts.end() && --c->second == 0)
            counts.erase(c);
    };
    drop(site_legs_, e.site);
    if (e.source)
        drop(source_legs_, e.source);
    entries_.erase(it);
    return hrac_ports;
}

std::vector<Rat::Key> Rat::idle(int64_t now_ms, int64_t timeout_ms) const
{
    std::vector<Key> keys;
    for (auto &kv : entries_)
        if (now_ms - kv.second->last_activity_ms > timeout_ms)
            keys.push_back(kv.first);
    return keys;
}

}  // namespace sofw::hras
