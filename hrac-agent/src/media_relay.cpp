#include "media_relay.hpp"

#include "log.hpp"
#include "ra_address.hpp"

#include <sofw/control.hpp>

#include <algorithm>
#include <cstring>
#include <string>

namespace hrac {

namespace {

// Room for a typical RTP packet; the buffer grows (once) for larger ones.
constexpr size_t down_buf_initial = 2048;

std::string endpoint_text(const std::optional<sofw::RaHeader> &phone)
{
    return phone ? phone->to_string() : std::string("(not named)");
}

bool same_phone(const std::optional<sofw::RaHeader> &a, const std::optional<sofw::RaHeader> &b)
{
    if (!a || !b)
        return !a && !b;
    return a->same_endpoint(*b);
}

}  // namespace

MediaRelay::MediaRelay(const Config &config, Counters &counters, const LanPolicy &policy, Upstream upstream)
    : config_(config), counters_(counters), policy_(policy), upstream_(std::move(upstream)),
      down_buf_(mbuf_alloc(down_buf_initial))
{
    up_frame_.type = sofw::FrameType::media;
}

MediaRelay::~MediaRelay() { counters_.media_ports_open = 0; }

void MediaRelay::on_control(const sofw::Frame &frame)
{
    const auto control = sofw::decode_control(frame.payload.data(), frame.payload.size());
    if (!control) {
        ++counters_.control_invalid;
        uint64_t unlogged = 0;
        if (control_log_.allow(tmr_jiffies(), unlogged))
            log_warn("ignored a control frame HRAC cannot decode (%zu bytes; op %d)%s", frame.payload.size(),
                     frame.payload.empty() ? -1 : frame.payload[0], sofw::not_logged_text(unlogged).c_str());
        return;
    }
    switch (control->op) {
    case sofw::ControlOp::open_media: open(control->port, frame.ra); return;
    case sofw::ControlOp::close_media:
        if (close(control->port))
            return;
        log_debug("media %u/%u: CLOSE_MEDIA, but not open", control->port, control->port + 1);
        return;
    case sofw::ControlOp::stream_ok:  // the tunnel's business; it never hands one on
    case sofw::ControlOp::lane_ack: return;
    case sofw::ControlOp::media_failed: break;
    }
    ++counters_.control_invalid;
    uint64_t unlogged = 0;
    if (control_log_.allow(tmr_jiffies(), unlogged))
        log_warn("ignored a %s from HRAS: only HRAC sends it%s", sofw::control_op_name(control->op),
                 sofw::not_logged_text(unlogged).c_str());
}

void MediaRelay::open(uint16_t port, const std::optional<sofw::RaHeader> &phone)
{
    if (const char *problem = media_port_problem(port, config_.media_port_min, config_.media_port_max)) {
        refuse(port, problem);
        return;
    }
    if (MediaPair *pair = table_.find(port)) {
        // A re-INVITE (or HRAS re-announcing after a reconnect): same ports,
        // perhaps a new phone endpoint. The call is plainly alive.
        ++counters_.media_updates;
        pair->active = true;
        if (same_phone(pair->phone, phone)) {
            log_debug("media %u/%u: OPEN_MEDIA again for %s", port, port + 1, endpoint_text(phone).c_str());
        } else {
            log_info("media %u/%u now serves %s (was %s)", port, port + 1, endpoint_text(phone).c_str(),
                     endpoint_text(pair->phone).c_str());
            pair->phone = phone;
        }
        return;
    }

    if (table_.size() >= max_pairs_) {
        ++counters_.media_pairs_limit;
        refuse(port, ("already " + std::to_string(table_.size()) +
                      " pairs open, all the open-files limit holds (see the capacity logged at start)")
                         .c_str());
        return;
    }
    MediaPair &pair = table_.add(port, tmr_jiffies());
    pair.phone = phone;
    int err = bind(pair.rtp);
    if (!err)
        err = bind(pair.rtcp);
    if (err) {
        table_.remove(port);  // closes whichever socket did open
        refuse(port, strerror(err));
        return;
    }
    ++counters_.media_opens;
    counters_.media_ports_open = table_.size();
    log_info("media %u/%u open on %s for %s", port, port + 1, config_.sip_host.c_str(), endpoint_text(phone).c_str());
    schedule_idle_check();
}

bool MediaRelay::close(uint16_t port)
{
    if (port % 2 != 0 || !table_.find(port))
        return false;
    ++counters_.media_closes;
    remove(port, "CLOSE_MEDIA");
    return true;
}

void MediaRelay::close_all(const char *why)
{
    for (uint16_t port : table_.ports())
        remove(port, why);
    idle_timer_.cancel();
}

void MediaRelay::close_idle(uint64_t now_ms)
{
    const uint64_t timeout_ms = config_.media_timeout * 1000ull;
    const std::string why = "no media for " + std::to_string(config_.media_timeout) + " s";
    for (uint16_t port : table_.idle(now_ms, timeout_ms)) {
        ++counters_.media_timeouts;
        remove(port, why.c_str());
    }
}

void MediaRelay::remove(uint16_t port, const char *why)
{
    const MediaPair *pair = table_.find(port);
    if (!pair)
        return;
    log_info("media %u/%u closed (%s): %llu packets up, %llu down", port, port + 1, why,
             static_cast<unsigned long long>(pair->packets_up), static_cast<unsigned long long>(pair->packets_down));
    table_.remove(port);
    counters_.media_ports_open = table_.size();
}

int MediaRelay::bind(MediaSocket &socket)
{
    socket.relay = this;
    struct sa local;
    if (int err = sa_set_str(&local, config_.sip_host.c_str(), socket.port))
        return err;
    // libre's default receive buffer (8 KiB) holds any RTP packet.
    return udp_listen(socket.sock.out(), &local, &MediaRelay::on_datagram, &socket);
}

void MediaRelay::refuse(uint16_t port, const char *reason)
{
    ++counters_.media_open_failures;
    const bool told = upstream_(sofw::make_control_frame({sofw::ControlOp::media_failed, port}));
    // HRAS decides how often this happens: one line per interval at most.
    uint64_t unlogged = 0;
    if (open_failure_log_.allow(tmr_jiffies(), unlogged))
        log_warn("media %u/%u: cannot open on %s (media_ports %s): %s; %s%s", port, port + 1, config_.sip_host.c_str(),
                 media_ports_text(config_).c_str(), reason,
                 told ? "MEDIA_FAILED sent" : "MEDIA_FAILED not sent (tunnel down)", sofw::not_logged_text(unlogged).c_str());
}

void MediaRelay::schedule_idle_check()
{
    if (idle_timer_.running())
        return;
    // A quarter of the timeout: a pair is closed between one and one and a
    // half timeouts after its last packet; no check more often than 1 s or
    // rarer than 30 s.
    const uint64_t interval_ms = std::clamp<uint64_t>(config_.media_timeout * 1000ull / 4, 1000, 30000);
    idle_timer_.start(interval_ms, [this] {
        close_idle(tmr_jiffies());
        if (!table_.empty())
            schedule_idle_check();
    });
}

// The hot path up: one copy into the reused frame, one into the upload queue.
void MediaRelay::on_datagram(const struct sa *src, struct mbuf *mb, void *socket_arg)
{
    MediaSocket &socket = *static_cast<MediaSocket *>(socket_arg);
    MediaRelay &relay = *socket.relay;
    MediaPair &pair = *socket.pair;
    const sofw::RaHeader from = ra_from_sa(src, socket.port);
    // Only the phone's own SDP endpoint may feed the pair: a hostile LAN
    // host cannot inject into, or take over, the phone's media.
    const uint64_t now = tmr_jiffies();
    if (!relay.policy_.media_from_lan(pair.phone, from, now)) {
        ++relay.counters_.lan_refused_source;
        uint64_t unlogged = 0;
        if (relay.refusal_log_.allow(now, unlogged))
            log_warn("LAN closed: dropped media from %s to port %u: no registered phone named it in its SDP%s",
                     from.to_string().c_str(), socket.port,
                     sofw::not_logged_text(unlogged).c_str());
        return;
    }
    pair.active = true;

    const uint8_t *data = mbuf_buf(mb);
    const size_t len = mbuf_get_left(mb);
    sofw::Frame &frame = relay.up_frame_;
    frame.ra = from;
    frame.payload.assign(data, data + len);
    if (!relay.upstream_(frame)) {
        ++relay.counters_.media_dropped_up;
        return;
    }
    ++pair.packets_up;
    ++relay.counters_.media_frames_up;
    relay.counters_.media_bytes_up += len;
}

// The hot path down: one table lookup, one copy into the reused mbuf.
void MediaRelay::deliver(const sofw::Frame &frame)
{
    if (!frame.ra || frame.ra->transport != sofw::Transport::udp) {
        ++counters_.media_dropped_down;
        log_debug("media frame without a UDP RA header dropped");
        return;
    }
    const sofw::RaHeader &ra = *frame.ra;
    MediaPair *pair = table_.find(ra.relay_port);
    if (!pair) {
        ++counters_.media_dropped_closed;
        log_debug("media for %s dropped: relay port %u is not open", ra.to_string().c_str(), ra.relay_port);
        return;
    }
    std::string why;
    const uint64_t now = tmr_jiffies();
    if (!policy_.media_to_lan(pair->phone, ra, now, why)) {
        ++counters_.lan_refused_media;
        uint64_t unlogged = 0;
        if (refusal_log_.allow(now, unlogged))
            log_warn("LAN closed: refused media to %s from port %u: %s%s", ra.to_string().c_str(), ra.relay_port,
                     why.c_str(), sofw::not_logged_text(unlogged).c_str());
        return;
    }
    pair->active = true;

    struct sa dst;
    sa_from_ra(ra, &dst);
    mbuf *mb = down_buf_.get();
    if (!mb) {
        ++counters_.media_dropped_down;
        return;
    }
    mbuf_rewind(mb);
    if (mbuf_write_mem(mb, frame.payload.data(), frame.payload.size())) {
        ++counters_.media_dropped_down;
        return;
    }
    mbuf_set_pos(mb, 0);
    if (int err = udp_send(pair->socket(ra.relay_port).sock.get(), &dst, mb)) {
        ++counters_.media_dropped_down;
        log_debug("media to %s from port %u: %s", ra.to_string().c_str(), ra.relay_port, strerror(err));
        return;
    }
    ++pair->packets_down;
    ++counters_.media_frames_down;
    counters_.media_bytes_down += frame.payload.size();
}

}  // namespace hrac
