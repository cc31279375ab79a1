// The HRAS half of the media relay (papers §2.3-2.4). As an internal
// phone's SIP crosses the tunnel boundary it rewrites the SDP — the phone is
// told to send media to HRAC, the far side to send media to HRAS — and keeps
// the RAT. RTP/RTCP from the far side arrives on the leg's public port and
// goes down the site's tunnel with an RA header naming the phone; media
// frames from HRAC go out of the leg's public port to the far side (latched
// on the first packet, symmetric RTP). Calls between two phones of one site
// keep their media in the LAN: their SDP is given back untouched.
#pragma once
#include "event_loop.hpp"
#include "sofw/host_port.hpp"
#include "rat.hpp"
#include "sdp.hpp"
#include "sip_message.hpp"
#include "stats.hpp"
#include "tunnel_server.hpp"
#include "sofw/frame.hpp"

#include <map>
#include <optional>
#include <string>

namespace sofw::hras {

struct MediaConfig {
    std::string address;  // public IPv4 of HRAS media; empty = relay off
    uint16_t port_min = 30000;
    uint16_t port_max = 39999;
    int timeout_s = 120;
};

class MediaRelay {
public:
    MediaRelay(EventLoop &loop, TunnelServer &tunnel, Stats &stats, MediaConfig cfg);
    ~MediaRelay();

    bool enabled() const { return !cfg_.address.empty(); }

    struct Outcome {
        std::string msg;                    // the message to pass on
        std::optional<std::string> reject;  // instead: this reply goes back to the sender
    };
    // An internal phone's message on its way to Kamailio.
    Outcome on_sip_up(size_t site, uint64_t phone, std::string msg);
    // A message on its way down the tunnel to an internal phone whose HRAC
    // LAN address is hrac and whose LAN address is phone_ip.
    Outcome on_sip_down(size_t site, uint64_t phone, const HostPort &hrac, in_addr_t phone_ip, std::string msg);

    void on_media(size_t site, const Frame &f);
    void on_control(size_t site, const Frame &f);
    void on_session_up(size_t site, uint16_t hrac_port_min, uint16_t hrac_port_max);

    const Rat &rat() const { return rat_; }
    void publish();

private:
    enum class Dir { up, down };
    Outcome handle(Dir dir, size_t site, uint64_t phone, const HostPort *hrac, in_addr_t phone_ip, std::string msg);
    void track_dialog(size_t site, uint64_t phone, const SipInfo &info);
    std::optional<SdpTarget> try_bypass(RatEntry &e, size_t i, const SdpStream &s);
    bool open_hras(RatEntry &e, size_t i);
    void close_hras(RatEntry &e, size_t i);
    void send_open(const RatEntry &e, size_t i, in_addr_t phone_ip);
    void send_close(size_t site, uint16_t hrac_port);
    void remove(uint64_t phone, const std::string &call_id, const char *why);
    void on_public_packet(uint16_t hras_port, int comp);
    void expire();
    void publish_soon();  // after this loop pass, once

    struct Sockets {
        int fd[2] = {-1, -1};  // RTP, RTCP
    };

    EventLoop &loop_;
    TunnelServer &tunnel_;
    Stats &stats_;
    MediaConfig cfg_;
    in_addr_t public_ip_;  // cfg_.address, binary
    Rat rat_;
    std::map<uint16_t, Sockets> sockets_;  // by HRAS RTP port
    bool publish_pending_ = false;
};

}  // namespace sofw::hras
