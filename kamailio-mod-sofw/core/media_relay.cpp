#include "media_relay.hpp"

#include "sdp.hpp"
#include "sofw/control.hpp"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace sofw::hras {

MediaRelay::MediaRelay(EventLoop &loop, TunnelServer &tunnel, Stats &stats, MediaConfig cfg)
    : loop_(loop), tunnel_(tunnel), stats_(stats), cfg_(std::move(cfg)),
      public_ip_(MediaEndpoint::from_text(cfg_.address, 0).ip), rat_(cfg_.port_min, cfg_.port_max)
{
    loop_.every(1000, [this] {
        expire();
        publish();
    });
}

MediaRelay::~MediaRelay()
{
    for (auto &kv : sockets_)
        for (int fd : kv.second.fd)
            if (fd >= 0) {
                loop_.remove(fd);
                close(fd);
            }
}

MediaRelay::Outcome MediaRelay::on_sip_up(size_t site, uint64_t phone, std::string msg)
{
    return handle(Dir::up, site, phone, nullptr, 0, std::move(msg));
}

MediaRelay::Outcome MediaRelay::on_sip_down(size_t site, uint64_t phone, const HostPort &hrac, in_addr_t phone_ip,
                                            std::string msg)
{
    return handle(Dir::down, site, phone, &hrac, phone_ip, std::move(msg));
}

// Ends legs on BYE, CANCEL and a failed initial INVITE; marks answered calls.
void MediaRelay::track_dialog(size_t, uint64_t phone, const SipInfo &info)
{
    if (info.is_request) {
        if (info.method == "BYE" || info.method == "CANCEL")
            remove(phone, info.call_id, info.method == "BYE" ? "BYE" : "CANCEL");
        return;
    }
    RatEntry *e = rat_.find(phone, info.call_id);
    if (!e || info.cseq_method != "INVITE")
        return;
    if (info.status >= 200 && info.status < 300)
        e->answered = true;
    else if (info.status >= 300 && !e->answered)
        remove(phone, info.call_id, "call failed");
}

MediaRelay::Outcome MediaRelay::handle(Dir dir, size_t site, uint64_t phone, const HostPort *hrac,
                                       in_addr_t phone_ip, std::string msg)
{
    Outcome out;
    if (!enabled()) {
        out.msg = std::move(msg);
        return out;
    }
    auto info = sip_inspect(msg);
    if (!info) {
        out.msg = std::move(msg);
        return out;
    }
    if (RatEntry *e = rat_.find(phone, info->call_id))
        e->last_activity_ms = now_ms();
    if (!info->has_sdp()) {
        track_dialog(site, phone, *info);
        out.msg = std::move(msg);
        return out;
    }
    std::string_view body(msg.data() + info->body_offset, info->body_len);
    auto sdp = sdp_parse(body);
    if (!sdp) {
        stats_.add(HRAS_CNT_SDP_UNPARSED);
        stats_.warn("media: SDP of " + info->call_id + " not understood; passed on unchanged");
        track_dialog(site, phone, *info);
        out.msg = std::move(msg);
        return out;
    }

    bool is_new = rat_.find(phone, info->call_id) == nullptr;
    RatEntry &e = rat_.get_or_create(site, phone, info->call_id, now_ms());
    if (is_new) {
        stats_.add(HRAS_CNT_RAT_CREATED);
        e.from = info->from;
        e.to = info->to;
        publish_soon();
    }
    std::vector<SdpTarget> targets(sdp->streams.size());
    bool exhausted = false;
    for (size_t i = 0; i < sdp->streams.size() && !exhausted; i++) {
        const SdpStream &s = sdp->streams[i];
        if (s.port == 0)
            continue;
        if (e.streams.size() <= i)
            e.streams.resize(i + 1);
        RatStream &st = e.streams[i];
        st.media = s.media;
        if (dir == Dir::down) {
            if (auto t = try_bypass(e, i, s)) {
                targets[i] = *t;
                continue;
            }
        }
        st.bypass = false;
        if (!s.hold_zero) {
            // Text from SDP becomes binary here, once; a name or an IPv6
            // address gives an invalid endpoint (the relays are IPv4).
            if (dir == Dir::up) {  // the phone's own media address: IIP/IPort
                st.internal[0] = MediaEndpoint::from_text(s.addr, s.port);
                st.internal[1] = MediaEndpoint::from_text(s.addr, s.rtcp_port);
            } else {  // the far side's: OIP/OPort, to be latched anew
                st.external[0] = MediaEndpoint::from_text(s.addr, s.port);
                st.external[1] = MediaEndpoint::from_text(s.addr, s.rtcp_port);
                st.external_latched[0] = st.external_latched[1] = false;
            }
        }
        // Both agents' ports at the first SDP in either direction, so media
        // that races ahead of the answer already finds its way.
        if (!open_hras(e, i) || !rat_.allocate_hrac(e, i)) {
            exhausted = true;
            break;
        }
        send_open(e, i, phone_ip);
        targets[i] = dir == Dir::up ? SdpTarget{cfg_.address, st.hras_port, uint16_t(st.hras_port + 1)}
                                    : SdpTarget{hrac->host, st.hrac_port, uint16_t(st.hrac_port + 1)};
    }

    if (exhausted) {
        stats_.add(HRAS_CNT_PORTS_EXHAUSTED);
        stats_.warn("media: no free media port for " + info->call_id + " (" +
                    (dir == Dir::up ? "HRAS public range" : "HRAC range of the site") + ")");
        if (is_new)
            remove(phone, info->call_id, "no media ports");
        if (info->is_request) {
            out.reject = sip_make_reply(msg, 503, "Service Unavailable (no media ports)");
            if (out.reject)
                return out;
        }
        out.msg = std::move(msg);
        return out;
    }
    auto rewritten = sdp_rewrite(body, targets);
    if (!rewritten) {
        stats_.add(HRAS_CNT_SDP_UNPARSED);
        out.msg = std::move(msg);
        return out;
    }
    stats_.add(HRAS_CNT_SDP_REWRITTEN);
    out.msg = sip_replace_body(msg, *info, *rewritten);
    track_dialog(site, phone, *info);
    return out;
}

// The far side of this SDP is one of our own legs in the same site: both
// phones are in one LAN, so each gets the other's real address and no port
// of either agent is kept for this stream.
std::optional<SdpTarget> MediaRelay::try_bypass(RatEntry &e, size_t i, const SdpStream &s)
{
    if (s.addr != cfg_.address)
        return std::nullopt;
    auto [other, j] = rat_.by_hras_port(s.port);
    if (!other || other == &e || other->site != e.site || j >= other->streams.size() ||
        !other->streams[j].internal[0].valid())
        return std::nullopt;
    const RatStream &os = other->streams[j];
    SdpTarget peer{os.internal[0].ip_text(), os.internal[0].port, os.internal[1].port};
    for (RatEntry *leg : {other, &e}) {
        size_t k = leg == other ? j : i;
        if (leg->streams[k].hrac_port) {
            send_close(leg->site, leg->streams[k].hrac_port);
            rat_.release_hrac(*leg, k);
        }
        close_hras(*leg, k);
        leg->streams[k].bypass = true;
    }
    return peer;
}

bool MediaRelay::open_hras(RatEntry &e, size_t i)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        if (!rat_.allocate_hras(e, i))
            return false;
        uint16_t port = e.streams[i].hras_port;
        if (sockets_.count(port))
            return true;
        Sockets s;
        bool ok = true;
        for (int c = 0; c < 2 && ok; c++) {
            const sockaddr_in sa = MediaEndpoint{public_ip_, uint16_t(port + c)}.to_sockaddr();
            s.fd[c] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            ok = s.fd[c] >= 0 && bind(s.fd[c], reinterpret_cast<const sockaddr *>(&sa), sizeof sa) == 0;
        }
        if (ok) {
            for (int c = 0; c < 2; c++)
                loop_.add(s.fd[c], EPOLLIN, [this, port, c](uint32_t) { on_public_packet(port, c); });
            sockets_[port] = s;
            return true;
        }
        // Someone else holds this port: keep it out of the pool (allocated
        // to nobody, found by no lookup) and try the next one.
        stats_.warn("media: cannot bind " + cfg_.address + ":" + std::to_string(port) + ": " + strerror(errno));
        for (int fd : s.fd)
            if (fd >= 0)
                close(fd);
        rat_.retire_hras(e, i);
    }
    return false;
}

void MediaRelay::close_hras(RatEntry &e, size_t i)
{
    uint16_t port = e.streams[i].hras_port;
    auto it = sockets_.find(port);
    if (it != sockets_.end()) {
        for (int fd : it->second.fd) {
            loop_.remove(fd);
            close(fd);
        }
        sockets_.erase(it);
    }
    rat_.release_hras(e, i);
}

void MediaRelay::send_open(const RatEntry &e, size_t i, in_addr_t phone_ip)
{
    const RatStream &st = e.streams[i];
    // Until the phone's SDP names its media address, its SIP address stands in.
    const MediaEndpoint phone{st.internal[0].ip ? st.internal[0].ip : phone_ip, st.internal[0].port};
    tunnel_.send(e.site, make_control_frame({ControlOp::open_media, st.hrac_port}, phone.to_ra()));
}

void MediaRelay::send_close(size_t site, uint16_t hrac_port)
{
    tunnel_.send(site, make_control_frame({ControlOp::close_media, hrac_port}));
}

void MediaRelay::remove(uint64_t phone, const std::string &call_id, const char *why)
{
    RatEntry *e = rat_.find(phone, call_id);
    if (!e)
        return;
    size_t site = e->site;
    for (size_t i = 0; i < e->streams.size(); i++)
        close_hras(*e, i);
    for (uint16_t p : rat_.remove(phone, call_id))
        send_close(site, p);
    stats_.add(HRAS_CNT_RAT_REMOVED);
    stats_.dbg("media: RAT entry of call " + call_id + " removed (" + why + ")");
    publish_soon();
}

void MediaRelay::on_session_up(size_t site, uint16_t hrac_port_min, uint16_t hrac_port_max)
{
    rat_.set_site_ports(site, hrac_port_min, hrac_port_max);
    // HRAC may have restarted: open the ports of live calls again.
    for (auto &kv : rat_.entries()) {
        const RatEntry &e = *kv.second;
        if (e.site != site)
            continue;
        for (size_t i = 0; i < e.streams.size(); i++)
            if (e.streams[i].hrac_port)
                send_open(e, i, e.streams[i].internal[0].ip);
    }
}

void MediaRelay::on_public_packet(uint16_t hras_port, int comp)
{
    auto it = sockets_.find(hras_port);
    if (it == sockets_.end())
        return;
    int fd = it->second.fd[comp];
    uint8_t buf[65536];
    for (int n = 0; n < 64; n++) {
        sockaddr_in from{};
        socklen_t flen = sizeof from;
        ssize_t len = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr *>(&from), &flen);
        if (len < 0)
            return;
        auto [e, i] = rat_.by_hras_port(hras_port);
        if (!e) {
            stats_.add(HRAS_CNT_MEDIA_DROPPED);
            continue;
        }
        RatStream &st = e->streams[i];
        const MediaEndpoint src = MediaEndpoint::from_sockaddr(from);
        // Symmetric RTP: the far side's real source wins over its SDP (NAT),
        // and once learned nobody else may feed this port.
        if (!st.external_latched[comp]) {
            st.external[comp] = src;
            st.external_latched[comp] = true;
        } else if (st.external[comp] != src) {
            stats_.add(HRAS_CNT_MEDIA_WRONG_SOURCE);
            continue;
        }
        e->last_activity_ms = now_ms();
        const MediaEndpoint &dst = st.internal[comp];
        if (!st.hrac_port || !dst.valid()) {
            stats_.add(HRAS_CNT_MEDIA_DROPPED);
            continue;
        }
        Frame f;
        f.type = FrameType::media;
        f.ra = dst.to_ra();
        f.ra->relay_port = uint16_t(st.hrac_port + comp);
        f.payload.assign(buf, buf + len);
        if (!tunnel_.send(e->site, f)) {
            stats_.add(HRAS_CNT_MEDIA_DROPPED);
            continue;
        }
        st.packets_down++;
        st.bytes_down += size_t(len);
        stats_.add(HRAS_CNT_MEDIA_PACKETS_DOWN);
        stats_.add(HRAS_CNT_MEDIA_BYTES_DOWN, size_t(len));
    }
}

void MediaRelay::on_media(size_t site, const Frame &f)
{
    uint16_t relay = f.ra->relay_port;
    int comp = relay & 1;
    auto [e, i] = rat_.by_hrac_port(site, uint16_t(relay & ~1u));
    if (!e) {
        stats_.add(HRAS_CNT_MEDIA_DROPPED);
        return;
    }
    RatStream &st = e->streams[i];
    // The phone's real source (it came through the authenticated tunnel).
    if (const MediaEndpoint src = MediaEndpoint::from_ra(*f.ra); src.valid())
        st.internal[comp] = src;
    e->last_activity_ms = now_ms();
    auto sock = sockets_.find(st.hras_port);
    if (sock == sockets_.end() || !st.external[comp].valid()) {
        stats_.add(HRAS_CNT_MEDIA_DROPPED);
        return;
    }
    const sockaddr_in dst = st.external[comp].to_sockaddr();
    if (sendto(sock->second.fd[comp], f.payload.data(), f.payload.size(), 0, reinterpret_cast<const sockaddr *>(&dst),
               sizeof dst) < 0) {
        stats_.add(HRAS_CNT_MEDIA_DROPPED);
        return;
    }
    st.packets_up++;
    st.bytes_up += f.payload.size();
    stats_.add(HRAS_CNT_MEDIA_PACKETS_UP);
    stats_.add(HRAS_CNT_MEDIA_BYTES_UP, f.payload.size());
}

void MediaRelay::on_control(size_t site, const Frame &f)
{
    auto c = decode_control(f.payload.data(), f.payload.size());
    if (c && c->op == ControlOp::media_failed) {
        stats_.add(HRAS_CNT_HRAC_MEDIA_FAILED);
        stats_.warn("media: HRAC of site " + std::to_string(site) + " could not open port " + std::to_string(c->port));
    }
}

void MediaRelay::expire()
{
    int64_t timeout = int64_t(cfg_.timeout_s) * 1000;
    for (auto &key : rat_.idle(now_ms(), timeout)) {
        stats_.add(HRAS_CNT_RAT_EXPIRED);
        stats_.info("media: call " + key.second + " expired: no SIP or media for " + std::to_string(cfg_.timeout_s) +
                    " s");
        remove(key.first, key.second, "inactivity timeout");
    }
}

// Status views see a call appear and go at once, not up to a second late.
void MediaRelay::publish_soon()
{
    if (publish_pending_)
        return;
    publish_pending_ = true;
    loop_.defer([this] { publish(); });
}

void MediaRelay::publish()
{
    publish_pending_ = false;
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
            rows.push_back(r);
        }
    }
    stats_.rat_publish(rows.data(), int(rows.size()), int(rat_.hras_pool().used()), int(rat_.hrac_ports_used()));
}

}  // namespace sofw::hras
