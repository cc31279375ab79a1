// The media plan of a SIP message crossing the tunnel (papers §2.3): its SDP
// is rewritten so that the internal phone sends media to HRAC (its LAN
// agent) and the far side sends media to HRAS, and the RAT follows the
// dialog. Calls between two phones of one site keep their media in the LAN:
// each phone is given the other's address (LAN bypass). The planner writes
// nothing into the tunnel for a crossing: the control frames it needs go
// back in the plan, for the tunnel writer to send ahead of the message.
#pragma once
#include "event_loop.hpp"
#include "media_relay.hpp"
#include "rat.hpp"
#include "sdp.hpp"
#include "sip_message.hpp"
#include "sofw/frame.hpp"
#include "sofw/host_port.hpp"
#include "stats.hpp"
#include "tunnel_writer.hpp"

#include <optional>
#include <string>
#include <vector>

namespace sofw::hras {

struct MediaConfig {
    std::string address;  // public IPv4 of HRAS media; empty = relay off
    uint16_t port_min = 30000;
    uint16_t port_max = 39999;
    int timeout_s = 120;
};

struct MediaPlan {
    std::vector<Frame> controls;        // for the site, before the message (OPEN_MEDIA, CLOSE_MEDIA)
    std::optional<std::string> reject;  // instead of the message: this reply goes back to its sender
};

class MediaPlanner {
public:
    MediaPlanner(EventLoop &loop, Stats &stats, const MediaConfig &cfg, Rat &rat, MediaRelay &relay,
                 TunnelWriter &writer);

    bool enabled() const { return !cfg_.address.empty(); }

    // An internal phone's message on its way to Kamailio.
    MediaPlan up(size_t site, uint64_t phone, SipMessage &msg);
    // A message on its way down to an internal phone whose HRAC LAN address
    // is hrac and whose LAN address is phone_ip.
    MediaPlan down(size_t site, uint64_t phone, const HostPort &hrac, in_addr_t phone_ip, SipMessage &msg);

    void on_control(size_t site, const Frame &f);
    void on_session_up(size_t site, uint16_t hrac_port_min, uint16_t hrac_port_max);

    const Rat &rat() const { return rat_; }
    // The RAT as status views show it; reading it changes nothing.
    std::vector<hras_rat_row> rows() const;
    // Hands rows() to the glue (shared memory for the RPCs).
    void publish();

private:
    enum class Dir { up, down };
    MediaPlan plan(Dir dir, size_t site, uint64_t phone, const HostPort *hrac, in_addr_t phone_ip, SipMessage &msg);
    void track_dialog(uint64_t phone, const SipInfo &info, std::vector<Frame> &controls);
    std::optional<SdpTarget> try_bypass(RatEntry &e, size_t i, const SdpStream &s, std::vector<Frame> &controls);
    void remove(uint64_t phone, const std::string &call_id, const char *why, std::vector<Frame> &controls);
    void expire();
    void publish_soon();  // after this loop pass, once

    EventLoop &loop_;
    Stats &stats_;
    MediaConfig cfg_;
    Rat &rat_;
    MediaRelay &relay_;
    TunnelWriter &writer_;
    bool publish_pending_ = false;
};

}  // namespace sofw::hras
