#include "lan_policy.hpp"

#include "sdp_scan.hpp"
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
    for (auto it = media_.begin(); it != media_.end();) {
        const bool gone =
            registered_.count(it->second.phone) == 0 || now_ms - it->second.named_ms > media_endpoint_lifetime_ms;
        it = gone ? media_.erase(it) : std::next(it);
    }
}

LanPolicy::Sdp LanPolicy::record_sdp(const Endpoint &phone, const sofw::RaHeader &src, const uint8_t *body,
                                     size_t body_len, uint64_t now_ms)
{
    // Bodies that are not SDP (presence, messages) are none of its business.
    if (body_len < 2 || body[0] != 'v' || body[1] != '=')
        return Sdp::none;
    if (!registered(src, now_ms))
        return Sdp::unregistered;
    const auto scan = scan_sdp(body, body_len);
    if (!scan)
        return Sdp::unreadable;
    Sdp result = Sdp::recorded;
    for (const SdpMedia &m : scan->media) {
        if (!same_ip(m.endpoint, src)) {
            result = Sdp::foreign_address;
            continue;
        }
        const Endpoint e = endpoint_of(m.endpoint);
        auto it = media_.find(e);
        if (it == media_.end()) {
            if (media_.size() >= max_media_endpoints_) {
                result = Sdp::table_full;
                continue;
            }
            it = media_.emplace(e, MediaEndpoint{}).first;
        }
        it->second.phone = phone;
        it->second.named_ms = now_ms;
    }
    return result;
}

LanPolicy::Sdp LanPolicy::sip_from_lan(const sofw::RaHeader &src, const uint8_t *msg, size_t len, uint64_t now_ms)
{
    purge(now_ms);
    const Endpoint e = endpoint_of(src);
    const auto peek = peek_sip(msg, len);
    const size_t body = peek ? peek->body_offset : 0;
    const Sdp sdp = body ? record_sdp(e, src, msg + body, len - body, now_ms) : Sdp::none;
    auto it = senders_.find(e);
    if (it == senders_.end()) {
        if (senders_.size() >= max_senders)
            return sdp;
        it = senders_.emplace(e, Sender{}).first;
    }
    it->second.last_ms = now_ms;
    if (peek && peek->request && peek->method == "REGISTER") {
        it->second.registering = true;
        it->second.register_ms = now_ms;
        it->second.asked = peek->max_expires;
    }
    return sdp;
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

bool LanPolicy::phone_media(const std::optional<sofw::RaHeader> &phone, const sofw::RaHeader &at, uint64_t now_ms,
                            std::string *why) const
{
    if (names_phone(phone) && !same_ip(*phone, at)) {
        if (why)
            *why = "the pair serves " + phone->to_string();
        return false;
    }
    // RTP at the port the SDP named, RTCP at the next one.
    sofw::RaHeader rtp = at;
    for (int i = 0; i < 2; ++i) {
        const auto it = media_.find(endpoint_of(rtp));
        if (it != media_.end() && now_ms - it->second.named_ms <= media_endpoint_lifetime_ms) {
            const auto reg = registered_.find(it->second.phone);
            if (reg != registered_.end() && now_ms < reg->second)
                return true;
        }
        if (rtp.port == 0)
            break;
        --rtp.port;
    }
    if (why)
        *why = "no registered phone named that endpoint in its SDP";
    return false;
}

bool LanPolicy::media_to_lan(const std::optional<sofw::RaHeader> &phone, const sofw::RaHeader &dst, uint64_t now_ms,
                             std::string &why) const
{
    return phone_media(phone, dst, now_ms, &why);
}

bool LanPolicy::media_from_lan(const std::optional<sofw::RaHeader> &phone, const sofw::RaHeader &src,
                               uint64_t now_ms) const
{
    return phone_media(phone, src, now_ms, nullptr);
}

}  // namespace hrac
