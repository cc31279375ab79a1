// HRAS's relay process: its parts, who owns what, and how frames from a
// site's tunnel reach them (the frame demux sits here, beside the wiring,
// as in hrac-agent's main.cpp):
//
//   sip frame     -> SipBoundary::from_site      (-> Kamailio)
//   media frame   -> MediaRelay::on_media        (-> far side, UDP)
//   control frame -> MediaPlanner::on_control
//
// Frames are checked here, where they enter: an RA header that can name no
// phone (sofw::may_name_lan_phone) drops its frame. A frame whose handling
// throws is dropped, counted and logged; the session, the other sites and
// the process go on (the event loop does the same for every other handler).
//   Kamailio -> a phone's loopback endpoint -> SipBoundary::from_kamailio
//   far side -> a public media port -> MediaRelay (-> tunnel)
#pragma once
#include "event_loop.hpp"
#include "media_planner.hpp"
#include "media_relay.hpp"
#include "rat.hpp"
#include "sip_boundary.hpp"
#include "site_endpoints.hpp"
#include "site_table.hpp"
#include "stats.hpp"
#include "tunnel_server.hpp"
#include "tunnel_writer.hpp"

#include <memory>

namespace sofw::hras {

class HrasProcess : public TunnelListener {
public:
    HrasProcess(EventLoop &loop, const SiteTable &sites, const TunnelConfig &tunnel, const HostPort &sip_socket,
                int phone_idle_timeout_s, const MediaConfig &media, Stats &stats);
    ~HrasProcess() override;

    TunnelServer &tunnel() { return *tunnel_; }
    const SiteEndpoints &endpoints() const { return *endpoints_; }
    void set_site_max_phones(size_t n) { endpoints_->set_max_phones(n); }
    // nullptr when media_address is not set.
    MediaPlanner *media() { return media_enabled_ ? planner_.get() : nullptr; }
    const MediaPlanner *media() const { return media_enabled_ ? planner_.get() : nullptr; }
    TunnelWriter &writer() { return *writer_; }

    void on_frame(size_t site, const Frame &f) override;
    void on_session_change(size_t site, bool up) override;
    unsigned long phone_count(size_t site) const override;

private:
    void dispatch(size_t site, const Frame &f);

    Stats &stats_;
    LogLimiter ra_log_{1000}, error_log_{1000};
    const SiteTable &sites_;
    bool media_enabled_;
    std::unique_ptr<TunnelServer> tunnel_;
    std::unique_ptr<TunnelWriter> writer_;
    std::unique_ptr<Rat> rat_;
    std::unique_ptr<MediaRelay> relay_;
    std::unique_ptr<MediaPlanner> planner_;
    std::unique_ptr<SiteEndpoints> endpoints_;
    std::unique_ptr<SipBoundary> boundary_;
};

}  // namespace sofw::hras
