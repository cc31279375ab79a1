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
    // Limits on what one message, one site and one public source can take
    // (modparams of the same names; see sofw_admin.xml).
    int offer_timeout_s = 32;    // a leg whose first offer has no answer by then goes (Timer B)
    int max_media_lines = 8;     // m-lines relayed per SDP; the rest are declined
    int site_max_legs = 1000;    // RAT entries per site
    int source_max_legs = 50;    // RAT entries created by one public source IP
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

    // An internal phone's message on its way to Kamailio; phone_ip: its LAN
    // address (0 if not IPv4).
    MediaPlan up(size_t site, uint64_t phone, in_addr_t phone_ip, SipMessage &msg);
    // A message on its way down to an internal phone whose HRAC LAN address
    // is hrac and whose LAN address is phone_ip. sip_source: the public IP
    // Kamailio received the message from (X-SoFW-Source), 0 if unknown or
    // not public (another site's phone).
    MediaPlan down(size_t site, uint64_t phone, const HostPort &hrac, in_addr_t phone_ip, SipMessage &msg,
                   in_addr_t sip_source = 0);

    void on_control(size_t site, const Frame &f);
    void on_session_up(size_t site, uint16_t hrac_port_min, uint16_t hrac_port_max);

    const Rat &rat() const { return rat_; }
    // The RAT as status views show it; reading it changes nothing. history:
    // if given, gets each row's quality chart, in the same order.
    std::vector<hras_rat_row> rows(std::vector<RtpQualityHistory> *history = nullptr) const;
    // Hands rows() to the glue (shared memory for the RPCs).
    void publish();

private:
    enum class Dir { up, down };
    MediaPlan plan(Dir dir, size_t site, uint64_t phone, const HostPort *hrac, in_addr_t phone_ip,
                   in_addr_t sip_source, SipMessage &msg);
    // Every active stream declined: SDP that gets no relay, with no address
    // of the other side left in it.
    void decline_all(const SdpBody &sdp, const std::string &own_addr, SipMessage &msg);
    // Whether a new leg may be created; counts and logs when not.
    bool may_create(size_t site, in_addr_t sip_source, const std::string &call_id);
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
    LogLimiter limit_log_{1000};
};

}  // namespace sofw::hras
