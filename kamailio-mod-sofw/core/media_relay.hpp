// The HRAS half of the media relay (papers §2.4): the public ports, latching
// and forwarding, all on binary endpoints. RTP/RTCP from the far side
// arrives on a leg's public port and goes down the site's tunnel with an RA
// header naming the phone; media frames from HRAC go out of the leg's public
// port to the far side, latched on the first packet (symmetric RTP). Which
// leg a port belongs to is the RAT's; what the SDP says is the media
// planner's.
//
// Latching is strict about who: a public port hears only the far side's IPs
// the planner set from its last SDP (RatStream::far_ips: the c= address and
// the source of the SIP message that carried it). The first packet from one
// of them latches the exact source (IP and port; NATs change ports); after
// that only it is heard, until the next SDP of the far side opens the latch
// again, to that SDP's IPs only. Anyone else is dropped and counted
// (media_foreign_source), so spraying the port range takes nothing.
//
// Every RTP packet relayed is measured on the way (RatStream::quality_down
// as it goes into the tunnel, quality_up as it comes out): the stream's
// state is found by the lookup the relay does anyway, the header is read
// in place. Once a second each stream keeps a point of its history and
// what grew goes to the rtp_* counters; a stream that closes reports the
// rest.
#pragma once
#include "event_loop.hpp"
#include "rat.hpp"
#include "sofw/frame.hpp"
#include "stats.hpp"
#include "tunnel_server.hpp"

#include <map>

namespace sofw::hras {

class MediaRelay {
public:
    // public_ip: the media address (network byte order).
    MediaRelay(EventLoop &loop, TunnelServer &tunnel, Stats &stats, Rat &rat, in_addr_t public_ip);
    ~MediaRelay();
    MediaRelay(const MediaRelay &) = delete;
    MediaRelay &operator=(const MediaRelay &) = delete;

    // Gives stream i of e an HRAS port pair from the RAT and binds it; a
    // port someone else holds is parked (bind_park_ms) and the next one
    // tried. False: no port left, or no descriptor (the port goes back).
    bool open(RatEntry &e, size_t i);
    // Closes stream i's public sockets and gives its HRAS port back.
    void close(RatEntry &e, size_t i);

    // A media frame from HRAC: out of the leg's public port to the far side.
    void on_media(size_t site, const Frame &f);

    // How long a port that could not be bound stays out of the pool.
    static constexpr int64_t bind_park_ms = 30000;

private:
    void on_public_packet(uint16_t hras_port, int comp);
    // An RTP packet relayed on the RTP component: into q.
    void measure(RtpQuality &q, const uint8_t *data, size_t len, int64_t arrival_us);
    // Once a second: every stream's history point and counters.
    void tick_quality();
    // What st's figures grew by since they were last reported, to the counters.
    void report_quality(RatStream &st);
    // Whether a packet from src may feed component comp of st (and latch it).
    bool heard(RatStream &st, int comp, const MediaEndpoint &src);

    struct Sockets {
        int fd[2] = {-1, -1};  // RTP, RTCP
    };

    EventLoop &loop_;
    TunnelServer &tunnel_;
    Stats &stats_;
    Rat &rat_;
    in_addr_t public_ip_;
    std::map<uint16_t, Sockets> sockets_;  // by HRAS RTP port
    LogLimiter foreign_log_{1000}, bind_log_{1000};
};

}  // namespace sofw::hras
