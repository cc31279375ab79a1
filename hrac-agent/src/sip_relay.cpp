#include "sip_relay.hpp"

#include "log.hpp"
#include "ra_address.hpp"

#include <sys/socket.h>

#include <cstring>
#include <string>

namespace hrac {

namespace {

// UDP's largest payload; libre's default receive buffer (8 KiB) would cut
// large SIP messages.
constexpr size_t max_datagram = 65535;
constexpr int sip_socket_buffer = 4 << 20;  // the kernel caps it at net.core.rmem_max

// "REGISTER sip:example.com SIP/2.0", for logs: printable, however hostile
// the message.
std::string first_line(const uint8_t *data, size_t len)
{
    std::string line;
    for (size_t i = 0; i < len && i < 120 && data[i] != '\r' && data[i] != '\n'; ++i)
        line += data[i] >= 0x20 && data[i] < 0x7f ? static_cast<char>(data[i]) : '?';
    return line;
}

}  // namespace

SipRelay::SipRelay(const Config &config, Tunnel &tunnel, Counters &counters, LanPolicy &policy)
    : config_(config), tunnel_(tunnel), counters_(counters), policy_(policy)
{}

int SipRelay::open()
{
    struct sa local;
    if (int err = sa_set_str(&local, config_.sip_host.c_str(), config_.sip_port))
        return err;
    if (int err = udp_listen(sock_.out(), &local, &SipRelay::on_datagram, this))
        return err;
    sock_local_ = local;
    udp_rxsz_set(sock_.get(), max_datagram);
    raise_receive_buffer();
    log_info("SIP socket listening on %s", config_.sip_listen.c_str());
    return 0;
}

// Bursts (every phone re-registering after a LAN outage, a mass hang-up)
// overflow the kernel's default 212 KB and cost SIP retransmissions. The
// kernel caps SO_RCVBUF at net.core.rmem_max; with CAP_NET_ADMIN the cap
// does not apply (SO_RCVBUFFORCE).
void SipRelay::raise_receive_buffer()
{
    int fd = udp_sock_fd(sock_.get(), sa_af(&sock_local_));
    int size = sip_socket_buffer;
    if (fd < 0)
        return;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    socklen_t len = sizeof size;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &len) == 0 && size < sip_socket_buffer)
        log_info("SIP socket: receive buffer %d bytes (raise net.core.rmem_max for bursts of many phones)", size);
}

void SipRelay::close() { sock_.reset(); }

void SipRelay::on_datagram(const struct sa *src, struct mbuf *mb, void *relay_arg)
{
    auto &relay = *static_cast<SipRelay *>(relay_arg);
    sofw::Frame frame;
    frame.type = sofw::FrameType::sip;
    frame.ra = ra_from_sa(src, 0);  // arrived on HRAC's SIP socket
    const uint8_t *data = mbuf_buf(mb);
    const size_t len = mbuf_get_left(mb);
    frame.payload.assign(data, data + len);

    const bool sent = relay.tunnel_.send(frame);
    if (sent)
        relay.count_sdp(*frame.ra, relay.policy_.sip_from_lan(*frame.ra, data, len, tmr_jiffies()));
    if (log_enabled(LogLevel::debug)) {
        log_debug("SIP %s from %s (%zu bytes): %s", sent ? "up" : "dropped (tunnel down)",
                  frame.ra->to_string().c_str(), len, first_line(data, len).c_str());
    }
}

void SipRelay::count_sdp(const sofw::RaHeader &src, LanPolicy::Sdp sdp)
{
    const char *what = nullptr;
    switch (sdp) {
    case LanPolicy::Sdp::none:
    case LanPolicy::Sdp::recorded: return;
    case LanPolicy::Sdp::unregistered:
        ++counters_.lan_sdp_ignored;
        what = "it did not register through HRAC; no media will reach it";
        break;
    case LanPolicy::Sdp::unreadable:
        ++counters_.lan_sdp_ignored;
        what = "its SDP is not one HRAC can read (c=/m= lines); no media will reach it";
        break;
    case LanPolicy::Sdp::foreign_address:
        ++counters_.lan_sdp_ignored;
        what = "its SDP names an address other than its own; media goes only to its own";
        break;
    case LanPolicy::Sdp::table_full:
        ++counters_.lan_media_table_full;
        what = "the table of media endpoints is full; its new media endpoint was not remembered";
        break;
    }
    uint64_t unlogged = 0;
    if (sdp_log_.allow(tmr_jiffies(), unlogged))
        log_warn("LAN closed: SDP from %s not learnt from: %s%s", src.to_string().c_str(), what,
                 sofw::not_logged_text(unlogged).c_str());
}

void SipRelay::deliver(const sofw::Frame &frame)
{
    if (!frame.ra) {  // the codec refuses these; never trust that blindly
        ++counters_.dropped_down;
        return;
    }
    const sofw::RaHeader &ra = *frame.ra;
    const bool our_socket = ra.relay_port == 0 || ra.relay_port == config_.sip_port;
    if (!sock_ || ra.transport != sofw::Transport::udp || !our_socket) {
        ++counters_.dropped_down;
        log_debug("SIP for %s dropped: not UDP via the SIP socket (relay port %u)", ra.to_string().c_str(),
                  ra.relay_port);
        return;
    }

    std::string why;
    const uint64_t now = tmr_jiffies();
    if (!policy_.sip_to_lan(ra, frame.payload.data(), frame.payload.size(), now, why)) {
        ++counters_.lan_refused_sip;
        uint64_t unlogged = 0;
        if (refusal_log_.allow(now, unlogged))
            log_warn("LAN closed: refused SIP to %s (%s): %s%s", ra.to_string().c_str(),
                     first_line(frame.payload.data(), frame.payload.size()).c_str(), why.c_str(),
                     sofw::not_logged_text(unlogged).c_str());
        return;
    }

    struct sa dst;
    sa_from_ra(ra, &dst);
    ReRef<mbuf> mb(mbuf_alloc(frame.payload.size()));
    if (!mb || mbuf_write_mem(mb.get(), frame.payload.data(), frame.payload.size())) {
        ++counters_.dropped_down;
        return;
    }
    mbuf_set_pos(mb.get(), 0);
    if (int err = udp_send(sock_.get(), &dst, mb.get())) {
        ++counters_.dropped_down;
        log_debug("SIP to %s: %s", ra.to_string().c_str(), strerror(err));
        return;
    }
    log_debug("SIP down to %s (%zu bytes): %s", ra.to_string().c_str(), frame.payload.size(),
              first_line(frame.payload.data(), frame.payload.size()).c_str());
}

}  // namespace hrac
