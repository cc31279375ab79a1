#include "hras_process.hpp"

#include "sofw/ra_header.hpp"

#include <exception>

namespace sofw::hras {

HrasProcess::HrasProcess(EventLoop &loop, const SiteTable &sites, const TunnelConfig &tunnel,
                         const HostPort &sip_socket, int phone_idle_timeout_s, const MediaConfig &media_cfg,
                         Stats &stats)
    : stats_(stats), sites_(sites), media_enabled_(!media_cfg.address.empty())
{
    tunnel_ = std::make_unique<TunnelServer>(loop, sites, tunnel, stats);
    writer_ = std::make_unique<TunnelWriter>(*tunnel_, stats);
    rat_ = std::make_unique<Rat>(media_cfg.port_min, media_cfg.port_max);
    relay_ =
        std::make_unique<MediaRelay>(loop, *tunnel_, stats, *rat_, MediaEndpoint::from_text(media_cfg.address, 0).ip);
    planner_ = std::make_unique<MediaPlanner>(loop, stats, media_cfg, *rat_, *relay_, *writer_);
    endpoints_ = std::make_unique<SiteEndpoints>(
        loop, sites, sip_socket, stats, phone_idle_timeout_s,
        [this](SiteEndpoints::Endpoint &ep, std::string_view msg) { boundary_->from_kamailio(ep, msg); },
        [this](size_t site) { tunnel_->publish(site); });
    boundary_ = std::make_unique<SipBoundary>(sites, *tunnel_, *endpoints_, *writer_, media(), stats);
    tunnel_->set_listener(this);
    loop.on_error([this](const char *what) {
        stats_.add(HRAS_CNT_INTERNAL_ERRORS);
        stats_.log_limited(error_log_, HRAS_LOG_ERR,
                           [&] { return std::string("relay: dropped what was being handled: ") + what; });
    });
}

HrasProcess::~HrasProcess()
{
    tunnel_->set_listener(nullptr);
    tunnel_->set_status_page(nullptr);
    // Sockets go before what their callbacks refer to.
    boundary_.reset();
    endpoints_.reset();
    planner_.reset();
    relay_.reset();
}

void HrasProcess::on_frame(size_t site, const Frame &f)
{
    if (site >= sites_.size())
        return;
    if ((f.type == FrameType::sip || f.type == FrameType::media) && f.ra && !may_name_lan_phone(*f.ra)) {
        stats_.add(HRAS_CNT_RA_INVALID);
        stats_.log_limited(ra_log_, HRAS_LOG_WARN, [&] {
            return "site '" + sites_.at(site).name + "': dropped a " + frame_type_name(f.type) +
                   " frame whose RA header " + f.ra->to_string() + " names no phone";
        });
        return;
    }
    // The tunnel server calls this from inside libmicrohttpd: nothing may
    // unwind through it.
    try {
        dispatch(site, f);
    } catch (const std::exception &e) {
        stats_.add(HRAS_CNT_INTERNAL_ERRORS);
        stats_.log_limited(error_log_, HRAS_LOG_ERR, [&] {
            return "site '" + sites_.at(site).name + "': dropped a " + frame_type_name(f.type) + " frame: " + e.what();
        });
    } catch (...) {
        stats_.add(HRAS_CNT_INTERNAL_ERRORS);
        stats_.log_limited(error_log_, HRAS_LOG_ERR,
                           [&] { return "site '" + sites_.at(site).name + "': dropped a frame"; });
    }
}

void HrasProcess::dispatch(size_t site, const Frame &f)
{
    switch (f.type) {
    case FrameType::sip: boundary_->from_site(site, f); return;
    case FrameType::media:
        if (media_enabled_) {
            relay_->on_media(site, f);
            return;
        }
        break;
    case FrameType::control:
        if (media_enabled_) {
            planner_->on_control(site, f);
            return;
        }
        break;
    default: break;
    }
    stats_.dbg("site '" + sites_.at(site).name + "': ignoring " + frame_type_name(f.type) + " frame");
}

void HrasProcess::on_session_change(size_t site, bool up)
{
    if (media_enabled_ && up) {
        auto [lo, hi] = tunnel_->media_ports(site);
        planner_->on_session_up(site, lo, hi);
    }
}

unsigned long HrasProcess::phone_count(size_t site) const { return endpoints_->phone_count(site); }

}  // namespace sofw::hras
