// Everything HRAS sends down a site's tunnel about SIP goes through here.
// Its one rule: the control frames a SIP message depends on (OPEN_MEDIA of
// the HRAC port its SDP names) are written before that message, on the same
// ordered stream, so HRAC has the port open before the phone can use it.
// Media frames do not pass here: the relay writes them straight into the
// tunnel, as nothing depends on their order against SIP.
#pragma once
#include "sofw/frame.hpp"
#include "stats.hpp"
#include "tunnel_server.hpp"

#include <string_view>
#include <vector>

namespace sofw::hras {

class TunnelWriter {
public:
    TunnelWriter(TunnelServer &tunnel, Stats &stats) : tunnel_(tunnel), stats_(stats) {}

    // controls first, then the SIP message for the phone. False (and the
    // message not written) when the site's tunnel cannot take a frame.
    bool crossing(size_t site, const std::vector<Frame> &controls, const RaHeader &phone, std::string_view sip);
    // Control frames no SIP message names (expiry, a session coming back).
    void controls(size_t site, const std::vector<Frame> &controls);

private:
    TunnelServer &tunnel_;
    Stats &stats_;
};

}  // namespace sofw::hras
