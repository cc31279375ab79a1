#include "tunnel_writer.hpp"

namespace sofw::hras {

bool TunnelWriter::crossing(size_t site, const std::vector<Frame> &controls, const RaHeader &phone,
                            std::string_view sip)
{
    for (const Frame &c : controls)
        if (!tunnel_.send(site, c)) {
            stats_.add(HRAS_CNT_SIP_NO_TUNNEL);
            return false;
        }
    Frame f;
    f.type = FrameType::sip;
    f.ra = phone;
    f.payload.assign(sip.begin(), sip.end());
    if (!tunnel_.send(site, f)) {
        stats_.add(HRAS_CNT_SIP_NO_TUNNEL);
        return false;
    }
    stats_.add(HRAS_CNT_SIP_DOWN);
    return true;
}

void TunnelWriter::controls(size_t site, const std::vector<Frame> &controls)
{
    for (const Frame &c : controls)
        if (!tunnel_.send(site, c))
            return;  // no tunnel: HRAC learns the state again when it reconnects (on_session_up)
}

}  // namespace sofw::hras
