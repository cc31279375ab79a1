#include "lan_policy.hpp"

#include "sip_peek.hpp"

#include <cstring>

namespace hrac {

namespace {

constexpr uint64_t purge_every_ms = 10 * 1000;

bool unspecified(const sofw::RaHeader &ra)
{
    static const uint8_t zero[16] = {};
    return memcmp(ra.addr, zero, ra.family == 6 ? 16 : 4) == 0;
}

bool same_ip(const sofw::RaHeader &a, const sofw::RaHeader &b)
{
    return a.family == b.family && memcmp(a.addr, b.addr, a.family == 6 ? 16 : 4) == 0;
}

}  // namespace

LanPolicy::Endpoint LanPolicy::endpoint_of(const sofw::RaHeader &ra)
{
    Endpoint e;
    e.family = ra.family;
    memcpy(e.addr.data(), ra.addr, ra.family == 6 ? 16 : 4);
    e.port = ra.port;
    return e;
}

void LanPolicy::purge(uint64_t now_ms)
{
    if (now_ms - last_purge_ms_ < purge_every_ms)
        return;
    last_purge_ms_ = now_ms;
    for (auto it = senders_.begin(); it != senders_.end();)
        it = now_ms - it->second.last_ms > answer_window_ms ? senders_.erase(it) : std::next(it);
    for (auto it = registered_.begin(); it != registered_.end();)
        it = now_ms >= it->second ? registered_.erase(it) : std::next(it);
}

void LanPolicy::sip_from_lan(const sofw::RaHeader &src, const uint8_t *msg, size_t len, uint64_t now_ms)
{
    purge(now_ms);
    const Endpoint e = endpoint_of(src);
    auto it = senders_.find(e);
    if (it == senders_.end()) {
        if (senders_.size() >= max_senders)
            return;
        it = senders_.emplace(e, Sender{}).first;
    }
    it->second.last_ms = now_ms;
    const auto peek = peek_sip(msg, len);
    if (peek && peek->request && peek->method == "REGISTER") {
        it->second.registering = true;
        it->second.register_ms = now_ms;
        it->second.asked = peek->max_expires;
    }
}

bool LanPolicy::sip_to_lan(const sofw::RaHeader &dst, const uint8_t *msg, size_t len, uint64_t now_ms, std::string &why)
{
    purge(now_ms);
    const Endpoint e = endpoint_of(dst);
    const auto peek = peek_sip(msg, len);
    const bool response = peek && !peek->request;
    const auto sender = senders_.find(e);
    const bool recent = sender != senders_.end() && now_ms - sender->second.last_ms <= answer_window_ms;

    if (response && recent && peek->status >= 200 && peek->status < 300 && peek->cseq_method == "REGISTER" &&
        sender->second.registering && now_ms - sender->second.register_ms <= answer_window_ms) {
        const std::optional<unsigned> expires = peek->max_expires ? peek->max_expires : sender->second.asked;
        if (sender->second.asked && *sender->second.asked == 0) {
            registered_.erase(e);  // the phone unregistered
        } else {
            const unsigned seconds = expires && *expires ? *expires : default_expires_s;
            registered_[e] = now_ms + seconds * 1000ull + registration_grace_ms;
        }
        return true;
    }
    if (registered(dst, now_ms))
        return true;
    if (response && recent)
        return true;
    if (!peek)
        why = "not SIP, for an endpoint that did not register through HRAC";
    else if (response)
        why = "a response for an endpoint that sent nothing through HRAC lately";
    else
        why = "a request for an endpoint that did not register through HRAC";
    return false;
}

bool LanPolicy::registered(const sofw::RaHeader &endpoint, uint64_t now_ms) const
{
    const auto it = registered_.find(endpoint_of(endpoint));
    return it != registered_.end() && now_ms < it->second;
}

bool LanPolicy::names_phone(const std::optional<sofw::RaHeader> &phone) { return phone && !unspecified(*phone); }

bool LanPolicy::media_to_lan(const std::optional<sofw::RaHeader> &phone, const sofw::RaHeader &dst, uint64_t now_ms,
                             std::string &why) const
{
    if (names_phone(phone)) {
        if (same_ip(*phone, dst))
            return true;
        why = "the pair serves " + phone->to_string();
        return false;
    }
    for (const auto &[endpoint, until] : registered_) {
        if (now_ms < until && endpoint.family == dst.family &&
            memcmp(endpoint.addr.data(), dst.addr, dst.family == 6 ? 16 : 4) == 0)
            return true;
    }
    why = "its OPEN_MEDIA named no phone and no registered phone has that address";
    return false;
}

}  // namespace hrac
