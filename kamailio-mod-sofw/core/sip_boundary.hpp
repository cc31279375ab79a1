// The tunnel boundary: what happens to a SIP message crossing between a
// site's tunnel and Kamailio, in both directions, in one place. A message is
// parsed once into a SipMessage; its addresses are translated (sip_translate)
// and its media planned (media_planner) on that one view; it is written once,
// to Kamailio from the phone's loopback endpoint, or down the tunnel through
// the tunnel writer, control frames first.
#pragma once
#include "media_planner.hpp"
#include "site_endpoints.hpp"
#include "site_table.hpp"
#include "sofw/frame.hpp"
#include "stats.hpp"
#include "tunnel_server.hpp"
#include "tunnel_writer.hpp"

#include <string_view>

namespace sofw::hras {

class SipBoundary {
public:
    // media: nullptr when the relay is off (SDP passes unchanged).
    SipBoundary(const SiteTable &sites, TunnelServer &tunnel, SiteEndpoints &endpoints, TunnelWriter &writer,
                MediaPlanner *media, Stats &stats);

    // Up: a SIP frame from the site's HRAC, for Kamailio.
    void from_site(size_t site, const Frame &f);
    // Down: what Kamailio sent to a phone's endpoint, for the phone.
    void from_kamailio(SiteEndpoints::Endpoint &ep, std::string_view msg);

    // The header (lower case) in which the module hands the relay the IP a
    // message came from.
    static constexpr const char *source_header = "x-sofw-source";

private:
    in_addr_t take_source(SipMessage &msg) const;

    const SiteTable &sites_;
    TunnelServer &tunnel_;
    SiteEndpoints &endpoints_;
    TunnelWriter &writer_;
    MediaPlanner *media_;
    Stats &stats_;
};

}  // namespace sofw::hras
