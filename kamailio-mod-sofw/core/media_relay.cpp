#include "media_relay.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace sofw::hras {

namespace {

// Arrival times for the quality figures: finer than now_ms(), same clock.
int64_t now_us()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace

MediaRelay::MediaRelay(EventLoop &loop, TunnelServer &tunnel, Stats &stats, Rat &rat, in_addr_t public_ip)
    : loop_(loop), tunnel_(tunnel), stats_(stats), rat_(rat), public_ip_(public_ip)
{
    loop_.every(1000, [this] { tick_quality(); });
}

MediaRelay::~MediaRelay()
{
    for (auto &kv : sockets_)
        for (int fd : kv.second.fd)
            if (fd >= 0) {
                loop_.remove(fd);
                ::close(fd);
            }
}

bool MediaRelay::open(RatEntry &e, size_t i)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        if (!rat_.allocate_hras(e, i, now_ms()))
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
        int err = errno;
        for (int fd : s.fd)
            if (fd >= 0)
                ::close(fd);
        stats_.add(HRAS_CNT_MEDIA_BIND_FAILURES);
        stats_.log_limited(bind_log_, HRAS_LOG_WARN, [&] {
            return "media: cannot bind " + MediaEndpoint{public_ip_, port}.to_string() + ": " + strerror(err);
        });
        if (err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOBUFS) {
            // Out of descriptors: no other port would fare better now, and
            // this one is not to blame. It goes back; the call is refused.
            rat_.release_hras(e, i);
            return false;
        }
        // Someone else holds this port (or it cannot be had now): out of the
        // pool for a while, found by no lookup, then tried again.
        rat_.park_hras(e, i, now_ms() + bind_park_ms);
    }
    return false;
}

void MediaRelay::close(RatEntry &e, size_t i)
{
    report_quality(e.streams[i]);
    uint16_t port = e.streams[i].hras_port;
    auto it = sockets_.find(port);
    if (it != sockets_.end()) {
        for (int fd : it->second.fd) {
            loop_.remove(fd);
            ::close(fd);
        }
        sockets_.erase(it);
    }
    rat_.release_hras(e, i);
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
        const int64_t arrival_us = now_us();
        auto [e, i] = rat_.by_hras_port(hras_port);
        if (!e) {
            stats_.add(HRAS_CNT_MEDIA_DROPPED);
            continue;
        }
        RatStream &st = e->streams[i];
        if (!heard(st, comp, MediaEndpoint::from_sockaddr(from)))
            continue;
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
        if (comp == 0)
            measure(st.quality_down, buf, size_t(len), arrival_us);
        st.packets_down++;
        st.bytes_down += size_t(len);
        stats_.add(HRAS_CNT_MEDIA_PACKETS_DOWN);
        stats_.add(HRAS_CNT_MEDIA_BYTES_DOWN, size_t(len));
    }
}

bool MediaRelay::heard(RatStream &st, int comp, const MediaEndpoint &src)
{
    if (st.external_latched[comp] && st.external[comp] == src)
        return true;
    bool expected = src.ip && (src.ip == st.far_ips[0] || src.ip == st.far_ips[1]);
    if (!expected) {
        stats_.add(HRAS_CNT_MEDIA_FOREIGN_SOURCE);
        stats_.log_limited(foreign_log_, HRAS_LOG_WARN, [&] {
            return "media: dropped packets on public port " + std::to_string(st.hras_port + comp) + " from " +
                   src.to_string() + ": not the far side of the call";
        });
        return false;
    }
    if (st.external_latched[comp]) {  // the far side's IP, but not the source it latched
        stats_.add(HRAS_CNT_MEDIA_WRONG_SOURCE);
        return false;
    }
    // Symmetric RTP: the far side's real source wins over its SDP (NAT).
    st.external[comp] = src;
    st.external_latched[comp] = true;
    return true;
}

void MediaRelay::on_media(size_t site, const Frame &f)
{
    if (!f.ra) {
        stats_.add(HRAS_CNT_MEDIA_DROPPED);
        return;
    }
    const int64_t arrival_us = now_us();
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
    if (comp == 0)
        measure(st.quality_up, f.payload.data(), f.payload.size(), arrival_us);
    st.packets_up++;
    st.bytes_up += f.payload.size();
    stats_.add(HRAS_CNT_MEDIA_PACKETS_UP);
    stats_.add(HRAS_CNT_MEDIA_BYTES_UP, f.payload.size());
}

void MediaRelay::measure(RtpQuality &q, const uint8_t *data, size_t len, int64_t arrival_us)
{
    // RTCP multiplexed on the RTP port (rtcp-mux) and whatever else is not
    // RTP is relayed all the same, but not measured.
    if (!q.on_packet(data, len, arrival_us))
        stats_.add(HRAS_CNT_MEDIA_NOT_RTP);
}

void MediaRelay::tick_quality()
{
    for (auto &kv : rat_.entries())
        for (RatStream &st : kv.second->streams) {
            st.quality_down.tick();
            st.quality_up.tick();
            report_quality(st);
        }
}

void MediaRelay::report_quality(RatStream &st)
{
    auto add = [this](hras_counter c, uint64_t n) {
        if (n)
            stats_.add(c, n);
    };
    const RtpQualityCounts down = st.quality_down.take_unreported();
    const RtpQualityCounts up = st.quality_up.take_unreported();
    add(HRAS_CNT_RTP_PACKETS_DOWN, down.packets);
    add(HRAS_CNT_RTP_LOST_DOWN, down.lost);
    add(HRAS_CNT_RTP_LATE_60_DOWN, down.late[0]);
    add(HRAS_CNT_RTP_LATE_150_DOWN, down.late[1]);
    add(HRAS_CNT_RTP_PACKETS_UP, up.packets);
    add(HRAS_CNT_RTP_LOST_UP, up.lost);
    add(HRAS_CNT_RTP_LATE_60_UP, up.late[0]);
    add(HRAS_CNT_RTP_LATE_150_UP, up.late[1]);
}

}  // namespace sofw::hras
