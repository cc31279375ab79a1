// The HRAS half of the media relay (papers §2.4): the public ports, latching
// and forwarding, all on binary endpoints. RTP/RTCP from the far side
// arrives on a leg's public port and goes down the site's tunnel with an RA
// header naming the phone; media frames from HRAC go out of the leg's public
// port to the far side, latched on the first packet (symmetric RTP). Which
// leg a port belongs to is the RAT's; what the SDP says is the media
// planner's.
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
    // port someone else holds is retired and the next one tried. False:
    // no port left.
    bool open(RatEntry &e, size_t i);
    // Closes stream i's public sockets and gives its HRAS port back.
    void close(RatEntry &e, size_t i);

    // A media frame from HRAC: out of the leg's public port to the far side.
    void on_media(size_t site, const Frame &f);

private:
    void on_public_packet(uint16_t hras_port, int comp);

    struct Sockets {
        int fd[2] = {-1, -1};  // RTP, RTCP
    };

    EventLoop &loop_;
    TunnelServer &tunnel_;
    Stats &stats_;
    Rat &rat_;
    in_addr_t public_ip_;
    std::map<uint16_t, Sockets> sockets_;  // by HRAS RTP port
};

}  // namespace sofw::hras
