#include "media_planner.hpp"

#include "sofw/control.hpp"
#include "sofw/text.hpp"

#include <cmath>
#include <cstdio>

namespace sofw::hras {

namespace {

Frame open_media(const RatStream &st, in_addr_t phone_ip)
{
    // Until the phone's SDP names its media address, its SIP address stands in.
    const MediaEndpoint phone{st.internal[0].ip ? st.internal[0].ip : phone_ip, st.internal[0].port};
    return make_control_frame({ControlOp::open_media, st.hrac_port}, phone.to_ra());
}

Frame close_media(uint16_t hrac_port) { return make_control_frame({ControlOp::close_media, hrac_port}); }

}  // namespace

MediaPlanner::MediaPlanner(EventLoop &loop, Stats &stats, const MediaConfig &cfg, Rat &rat, MediaRelay &relay,
                           TunnelWriter &writer)
    : loop_(loop), stats_(stats), cfg_(cfg), rat_(rat), relay_(relay), writer_(writer)
{
    loop_.every(1000, [this] {
        expire();
        publish();
    });
}

MediaPlan MediaPlanner::up(size_t site, uint64_t phone, in_addr_t phone_ip, SipMessage &msg)
{
    return plan(Dir::up, site, phone, nullptr, phone_ip, 0, msg);
}

MediaPlan MediaPlanner::down(size_t site, uint64_t phone, const HostPort &hrac, in_addr_t phone_ip, SipMessage &msg,
                             in_addr_t sip_source)
{
    return plan(Dir::down, site, phone, &hrac, phone_ip, sip_source, msg);
}

namespace {

// Offers and answers that set up or change a call's media (RFC 3261,
// 3262, 3311): INVITE, UPDATE, PRACK, ACK and their replies. Only these
// get ports; SDP in anything else (MESSAGE, OPTIONS, ...) is declined.
bool carries_offer_answer(const SipInfo &info)
{
    const std::string &m = info.is_request ? info.method : info.cseq_method;
    return m == "INVITE" || m == "UPDATE" || m == "PRACK" || (info.is_request && m == "ACK");
}

// Only an INVITE or its reply starts a leg: the others change one.
bool may_start_leg(const SipInfo &info)
{
    return (info.is_request ? info.method : info.cseq_method) == "INVITE";
}

std::string ip_text(in_addr_t ip) { return MediaEndpoint{ip, 0}.ip_text(); }

// The tag parameter of a From or To value ("" when there is none).
std::string tag_of(std::string_view header)
{
    const std::string low = lower(header);
    size_t at = low.find(";tag=");
    while (at != std::string::npos && low.find('>', at) != std::string::npos)
        at = low.find(";tag=", at + 1);  // a ;tag= inside <...> is the URI's
    if (at == std::string::npos)
        return "";
    std::string_view v = header.substr(at + 5);
    return std::string(trim(v.substr(0, v.find_first_of("; \t,")), blanks));
}

// Whether a message is of the leg's dialog: the caller's tag in From (its
// requests, the answers to them, CANCEL) or in To (the callee's requests).
bool of_dialog(const RatEntry &e, const SipInfo &info)
{
    return e.dialog_tag.empty() || tag_of(info.from) == e.dialog_tag || tag_of(info.to) == e.dialog_tag;
}

}  // namespace

// Ends legs on BYE, CANCEL and a failed initial INVITE; marks answered calls.
void MediaPlanner::track_dialog(uint64_t phone, const SipInfo &info, std::vector<Frame> &controls)
{
    if (const RatEntry *e = rat_.find(phone, info.call_id); e && !of_dialog(*e, info)) {
        // Another dialog with this Call-ID ends nothing of this call.
        if (info.is_request && (info.method == "BYE" || info.method == "CANCEL"))
            stats_.add(HRAS_CNT_SDP_FOREIGN_DIALOG);
        return;
    }
    if (info.is_request) {
        if (info.method == "BYE" || info.method == "CANCEL")
            remove(phone, info.call_id, info.method == "BYE" ? "BYE" : "CANCEL", controls);
        return;
    }
    RatEntry *e = rat_.find(phone, info.call_id);
    if (!e || info.cseq_method != "INVITE")
        return;
    if (info.status >= 200 && info.status < 300)
        e->answered = true;
    else if (info.status >= 300 && !e->answered)
        remove(phone, info.call_id, "call failed", controls);
}

bool MediaPlanner::may_create(size_t site, in_addr_t sip_source, const std::string &call_id)
{
    if (rat_.legs_of_site(site) >= size_t(cfg_.site_max_legs)) {
        stats_.add(HRAS_CNT_SITE_LEGS_LIMIT);
        stats_.log_limited(limit_log_, HRAS_LOG_WARN, [&] {
            return "media: site " + std::to_string(site) + " has " + std::to_string(cfg_.site_max_legs) +
                   " call legs (site_max_legs); no media for " + call_id;
        });
        return false;
    }
    if (sip_source && rat_.legs_of_source(sip_source) >= size_t(cfg_.source_max_legs)) {
        stats_.add(HRAS_CNT_SOURCE_LEGS_LIMIT);
        stats_.log_limited(limit_log_, HRAS_LOG_WARN, [&] {
            return "media: " + ip_text(sip_source) + " has " + std::to_string(cfg_.source_max_legs) +
                   " call legs (source_max_legs); no media for " + call_id;
        });
        return false;
    }
    return true;
}

void MediaPlanner::decline_all(const SdpBody &sdp, const std::string &own_addr, SipMessage &msg)
{
    std::vector<SdpTarget> targets(sdp.info().streams.size(), SdpTarget::declined(own_addr));
    msg.replace_body(sdp.rewrite(targets));
}

MediaPlan MediaPlanner::plan(Dir dir, size_t site, uint64_t phone, const HostPort *hrac, in_addr_t phone_ip,
                             in_addr_t sip_source, SipMessage &msg)
{
    MediaPlan out;
    const SipInfo *info = msg.info();
    if (!enabled() || !info)
        return out;
    if (RatEntry *e = rat_.find(phone, info->call_id); e && of_dialog(*e, *info)) {
        e->last_activity_ms = now_ms();
        if (!info->is_request && info->status > 100)
            e->responded = true;
    }
    if (!info->has_sdp()) {
        track_dialog(phone, *info, out.controls);
        return out;
    }
    auto sdp = SdpBody::parse(info->content_type_value, msg.body());
    if (!sdp) {
        stats_.add(HRAS_CNT_SDP_UNPARSED);
        stats_.log_limited(limit_log_, HRAS_LOG_WARN,
                           [&] { return "media: SDP of " + info->call_id + " not understood; passed on unchanged"; });
        track_dialog(phone, *info, out.controls);
        return out;
    }
    const std::vector<SdpStream> &streams = sdp->info().streams;
    // The address the receiver of this SDP is to send to: ours, never the
    // other side's (a LAN address must not leave, a WAN one is no use).
    const std::string own_addr = dir == Dir::up ? cfg_.address : hrac->host;

    RatEntry *existing = rat_.find(phone, info->call_id);
    bool is_new = existing == nullptr;
    if (!carries_offer_answer(*info) || (is_new && !may_start_leg(*info))) {
        // Capabilities in an OPTIONS answer, SDP in a MESSAGE, an UPDATE
        // outside any call: no media is set up, so no port is taken.
        stats_.add(HRAS_CNT_SDP_NO_CALL);
        track_dialog(phone, *info, out.controls);
        decline_all(*sdp, own_addr, msg);
        return out;
    }
    if (existing && !of_dialog(*existing, *info)) {
        // The Call-ID of a call in progress, from another dialog: an
        // offer meant to take over that call's media. Not applied.
        stats_.add(HRAS_CNT_SDP_FOREIGN_DIALOG);
        stats_.log_limited(limit_log_, HRAS_LOG_WARN, [&] {
            return "media: SDP with the Call-ID of call " + info->call_id + " from another dialog; refused";
        });
        if (info->is_request)
            out.reject = msg.make_reply(403, "Forbidden (another dialog has this Call-ID)");
        else
            decline_all(*sdp, own_addr, msg);
        return out;
    }
    if (is_new && !may_create(site, dir == Dir::down ? sip_source : 0, info->call_id)) {
        if (info->is_request)
            out.reject = msg.make_reply(503, "Service Unavailable (media limit)");
        else
            decline_all(*sdp, own_addr, msg);
        return out;
    }

    RatEntry &e = rat_.get_or_create(site, phone, info->call_id, now_ms(), dir == Dir::down ? sip_source : 0);
    if (is_new) {
        stats_.add(HRAS_CNT_RAT_CREATED);
        e.from = info->from;
        e.to = info->to;
        e.dialog_tag = tag_of(info->from);
        e.responded = !info->is_request;  // a leg started by an answer needs none
        publish_soon();
    }
    std::vector<SdpTarget> targets(streams.size());
    bool exhausted = false;
    if (streams.size() > size_t(cfg_.max_media_lines)) {
        stats_.add(HRAS_CNT_SDP_MEDIA_LINES_LIMIT);
        stats_.log_limited(limit_log_, HRAS_LOG_WARN, [&] {
            return "media: SDP of " + info->call_id + " has " + std::to_string(streams.size()) +
                   " m-lines; those after the first " + std::to_string(cfg_.max_media_lines) +
                   " are declined (max_media_lines)";
        });
    }
    for (size_t i = 0; i < streams.size(); i++) {
        const SdpStream &s = streams[i];
        if (s.port == 0)
            continue;
        if (i >= size_t(cfg_.max_media_lines)) {
            targets[i] = SdpTarget::declined(own_addr);
            continue;
        }
        if (e.streams.size() <= i)
            e.streams.resize(i + 1);
        if (dir == Dir::down) {
            if (auto t = try_bypass(e, i, s, out.controls)) {
                targets[i] = *t;
                continue;
            }
        }
        // Text from SDP becomes binary here, once; a name or an IPv6
        // address gives an invalid endpoint (the relays are IPv4).
        const MediaEndpoint rtp = MediaEndpoint::from_text(s.addr, s.port);
        const MediaEndpoint rtcp = MediaEndpoint::from_text(s.addr, s.rtcp_port);
        if (dir == Dir::up && !s.hold_zero && !rtp.valid()) {
            // HRAS's public side is IPv4 and HRAC opens IPv4 ports: a phone
            // media address we cannot name (IPv6, a host name) gets no relay
            // rather than an OPEN_MEDIA naming nobody.
            stats_.add(HRAS_CNT_SDP_UNRELAYABLE);
            stats_.log_limited(limit_log_, HRAS_LOG_WARN, [&] {
                return "media: stream " + std::to_string(i) + " of " + info->call_id + " names " + s.addr +
                       ": not an IPv4 address; declined";
            });
            targets[i] = SdpTarget::declined(own_addr);
            continue;
        }
        RatStream &st = e.streams[i];
        st.media = s.media;
        st.set_clock(s.clock_rate);  // for the quality figures: the latest SDP's codec
        st.bypass = false;
        if (!s.hold_zero) {
            if (dir == Dir::up) {  // the phone's own media address: IIP/IPort
                st.internal[0] = rtp;
                st.internal[1] = rtcp;
            } else {  // the far side's: OIP/OPort, to be latched anew, and only by it
                st.external[0] = rtp;
                st.external[1] = rtcp;
                st.external_latched[0] = st.external_latched[1] = false;
                st.far_ips[0] = rtp.ip;
                st.far_ips[1] = sip_source;
            }
        }
        if (!(st.internal[0].ip ? st.internal[0].ip : phone_ip)) {
            // No IPv4 address for the phone at all (an IPv6 phone on hold):
            // an OPEN_MEDIA would name nobody.
            stats_.add(HRAS_CNT_SDP_UNRELAYABLE);
            targets[i] = SdpTarget::declined(own_addr);
            continue;
        }
        // Both agents' ports at the first SDP in either direction, so media
        // that races ahead of the answer already finds its way.
        if (!relay_.open(e, i) || !rat_.allocate_hrac(e, i)) {
            stats_.add(HRAS_CNT_PORTS_EXHAUSTED);
            stats_.log_limited(limit_log_, HRAS_LOG_WARN, [&] {
                return "media: no free media port for " + info->call_id + " (" +
                       (dir == Dir::up ? "HRAS public range" : "HRAC range of the site") + ")";
            });
            if (is_new && info->is_request) {
                exhausted = true;  // a new call without media: refused at once
                break;
            }
            // A reply cannot be refused, a live call keeps what it has: this
            // stream goes without.
            relay_.close(e, i);
            targets[i] = SdpTarget::declined(own_addr);
            continue;
        }
        out.controls.push_back(open_media(st, phone_ip));
        targets[i] = dir == Dir::up ? SdpTarget{cfg_.address, st.hras_port, uint16_t(st.hras_port + 1)}
                                    : SdpTarget{hrac->host, st.hrac_port, uint16_t(st.hrac_port + 1)};
    }

    if (exhausted) {
        remove(phone, info->call_id, "no media ports", out.controls);
        out.reject = msg.make_reply(503, "Service Unavailable (no media ports)");
        return out;
    }
    stats_.add(HRAS_CNT_SDP_REWRITTEN);
    track_dialog(phone, *info, out.controls);  // before the body goes: info refers to the message
    msg.replace_body(sdp->rewrite(targets));
    return out;
}

// The far side of this SDP is one of our own legs in the same site: both
// phones are in one LAN, so each gets the other's real address and no port
// of either agent is kept for this stream.
std::optional<SdpTarget> MediaPlanner::try_bypass(RatEntry &e, size_t i, const SdpStream &s,
                                                  std::vector<Frame> &controls)
{
    if (s.addr != cfg_.address)
        return std::nullopt;
    auto [other, j] = rat_.by_hras_port(s.port);
    if (!other || other == &e || other->site != e.site || j >= other->streams.size() ||
        !other->streams[j].internal[0].valid())
        return std::nullopt;
    if (other->call_id != e.call_id) {
        // Our address and a port of another call: not the other leg of this
        // call, whatever the SDP says. Taking it for one would close that
        // call's relay (anyone on the Internet can write such an SDP).
        stats_.add(HRAS_CNT_BYPASS_REFUSED);
        stats_.log_limited(limit_log_, HRAS_LOG_WARN, [&] {
            return "media: SDP of " + e.call_id + " names the public port of another call; relayed, not bypassed";
        });
        return std::nullopt;
    }
    const RatStream &os = other->streams[j];
    SdpTarget peer{os.internal[0].ip_text(), os.internal[0].port, os.internal[1].port};
    for (RatEntry *leg : {other, &e}) {
        size_t k = leg == other ? j : i;
        if (leg->streams[k].hrac_port) {
            controls.push_back(close_media(leg->streams[k].hrac_port));
            rat_.release_hrac(*leg, k);
        }
        relay_.close(*leg, k);
        leg->streams[k].bypass = true;
    }
    return peer;
}

void MediaPlanner::remove(uint64_t phone, const std::string &call_id, const char *why, std::vector<Frame> &controls)
{
    RatEntry *e = rat_.find(phone, call_id);
    if (!e)
        return;
    for (size_t i = 0; i < e->streams.size(); i++)
        relay_.close(*e, i);
    for (uint16_t p : rat_.remove(phone, call_id))
        controls.push_back(close_media(p));
    stats_.add(HRAS_CNT_RAT_REMOVED);
    stats_.dbg("media: RAT entry of call " + call_id + " removed (" + why + ")");
    publish_soon();
}

void MediaPlanner::on_session_up(size_t site, uint16_t hrac_port_min, uint16_t hrac_port_max)
{
    rat_.set_site_ports(site, hrac_port_min, hrac_port_max);
    // HRAC may have restarted: open the ports of live calls again.
    std::vector<Frame> controls;
    for (auto &kv : rat_.entries()) {
        const RatEntry &e = *kv.second;
        if (e.site != site)
            continue;
        for (const RatStream &st : e.streams)
            if (st.hrac_port)
                controls.push_back(open_media(st, st.internal[0].ip));
    }
    writer_.controls(site, controls);
}

void MediaPlanner::on_control(size_t site, const Frame &f)
{
    auto c = decode_control(f.payload.data(), f.payload.size());
    if (c && c->op == ControlOp::media_failed) {
        stats_.add(HRAS_CNT_HRAC_MEDIA_FAILED);
        stats_.warn("media: HRAC of site " + std::to_string(site) + " could not open port " + std::to_string(c->port));
    }
}

void MediaPlanner::expire()
{
    // Offers nobody answered (no response above 100 yet): their ports go
    // after offer_timeout, as a SIP client gives up after Timer B.
    int64_t now = now_ms(), offer_timeout = int64_t(cfg_.offer_timeout_s) * 1000;
    std::vector<Rat::Key> unanswered;
    for (auto &kv : rat_.entries())
        if (!kv.second->responded && now - kv.second->created_ms > offer_timeout)
            unanswered.push_back(kv.first);
    for (auto &key : unanswered) {
        RatEntry *e = rat_.find(key.first, key.second);
        if (!e)
            continue;
        stats_.add(HRAS_CNT_OFFERS_UNANSWERED);
        stats_.log_limited(limit_log_, HRAS_LOG_INFO, [&] {
            return "media: call " + key.second + ": offer not answered within " + std::to_string(cfg_.offer_timeout_s) +
                   " s (offer_timeout); its ports are released";
        });
        size_t site = e->site;
        std::vector<Frame> controls;
        remove(key.first, key.second, "offer not answered", controls);
        writer_.controls(site, controls);
    }
    int64_t timeout = int64_t(cfg_.timeout_s) * 1000;
    for (auto &key : rat_.idle(now_ms(), timeout)) {
        stats_.add(HRAS_CNT_RAT_EXPIRED);
        stats_.info("media: call " + key.second + " expired: no SIP or media for " + std::to_string(cfg_.timeout_s) +
                    " s");
        RatEntry *e = rat_.find(key.first, key.second);
        if (!e)
            continue;
        size_t site = e->site;
        std::vector<Frame> controls;
        remove(key.first, key.second, "inactivity timeout", controls);
        writer_.controls(site, controls);
    }
}

// Status views see a call appear and go at once, not up to a second late.
void MediaPlanner::publish_soon()
{
    if (publish_pending_)
        return;
    publish_pending_ = true;
    loop_.defer([this] { publish(); });
}

namespace {

// A published figure: finite, rounded to 0.01.
double figure(double v) { return std::isfinite(v) ? std::round(v * 100.0) / 100.0 : 0.0; }

void quality_fields(const RatStream &st, hras_rat_row &r)
{
    const RtpQualityFigures up = st.quality_up.figures(), down = st.quality_down.figures();
    r.loss_up = figure(up.loss_percent());
    r.loss_down = figure(down.loss_percent());
    r.jitter_up = figure(up.jitter_ms);
    r.jitter_down = figure(down.jitter_ms);
    r.late60_up = figure(up.late_percent(0));
    r.late60_down = figure(down.late_percent(0));
    r.late150_up = figure(up.late_percent(1));
    r.late150_down = figure(down.late_percent(1));
}

}  // namespace

std::vector<hras_rat_row> MediaPlanner::rows(std::vector<RtpQualityHistory> *history) const
{
    std::vector<hras_rat_row> rows;
    int64_t now = now_ms();
    for (auto &kv : rat_.entries()) {
        const RatEntry &e = *kv.second;
        for (size_t i = 0; i < e.streams.size(); i++) {
            const RatStream &st = e.streams[i];
            hras_rat_row r{};
            r.site = int(e.site);
            snprintf(r.call_id, sizeof r.call_id, "%s", e.call_id.c_str());
            snprintf(r.from, sizeof r.from, "%s", e.from.c_str());
            snprintf(r.to, sizeof r.to, "%s", e.to.c_str());
            r.stream = int(i);
            snprintf(r.media, sizeof r.media, "%s", st.media.c_str());
            snprintf(r.internal, sizeof r.internal, "%s", st.internal[0].to_string().c_str());
            snprintf(r.external, sizeof r.external, "%s", st.external[0].to_string().c_str());
            r.hras_port = st.hras_port;
            r.hrac_port = st.hrac_port;
            r.bypass = st.bypass;
            r.latched = st.external_latched[0];
            r.packets_up = st.packets_up;
            r.packets_down = st.packets_down;
            r.age = long((now - e.created_ms) / 1000);
            r.idle = long((now - e.last_activity_ms) / 1000);
            quality_fields(st, r);
            rows.push_back(r);
            if (history)
                history->push_back({st.quality_up.history_points(), st.quality_down.history_points()});
        }
    }
    return rows;
}

void MediaPlanner::publish()
{
    publish_pending_ = false;
    auto r = rows();
    stats_.rat_publish(r.data(), int(r.size()), int(rat_.hras_pool().used()), int(rat_.hrac_ports_used()));
}

}  // namespace sofw::hras
