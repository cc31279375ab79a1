#include "stream_session.hpp"

#include <sofw/tunnel_http.hpp>

namespace hrac {

StreamSession::StreamSession(RequestContext &context, SessionEvents &events) : TunnelSession(context, events)
{
    lane_[0] = std::make_unique<StreamLane>(context, events, 0, uploads_[0], records_.sealer(0));
}

StreamLane::Verified StreamSession::accept_hook()
{
    return [this](TunnelRequest &r) { return accept(r); };
}

bool StreamSession::start()
{
    StreamLane &first = *lane_[0];
    // An HRAS without lanes ignores it and answers without X-SoFW-Lanes.
    if (config_.tunnel_lanes > 1)
        first.down().add_header(std::string(sofw::hdr::lanes) + ": " + sofw::lanes_value(config_.tunnel_lanes));
    return first.start_down(id_, [this](TunnelRequest &down) { return opened(down); });
}

// Lane 0's GET has a proven 200: the session's keys, and its lanes.
bool StreamSession::opened(TunnelRequest &down)
{
    if (!accept(down))
        return false;
    const auto granted = granted_lanes(down.lanes_answered(), down.lanes_answer(), config_.tunnel_lanes);
    if (!granted) {
        down.set_failure("HRAS granted X-SoFW-Lanes '" + down.lanes_answer() + "' when asked for " +
                         std::to_string(config_.tunnel_lanes));
        return false;
    }
    std::string why;
    if (!records_.add_lanes(config_.secret, id_, *granted, why)) {
        down.set_failure(why);
        return false;
    }
    lanes_ = *granted;
    // The keys exist now: the POST may follow. Not from inside curl's
    // callback: start it from the loop. (Waiting for the GET also lets
    // it find out a proxy's authentication scheme first: an endless
    // upload cannot go through a 407 with NTLM, http_options.hpp.)
    lane_[0]->start_up_soon(id_, accept_hook());
    if (lanes_ > 1)
        deferred_lanes_.start(0, [this] { open_lanes(); });
    events_.on_verified(true);
    return true;
}

// All other lanes at once; each lane's POST follows its GET's 200.
void StreamSession::open_lanes()
{
    for (unsigned i = 1; i < lanes_; ++i) {
        lane_[i] = std::make_unique<StreamLane>(context_, events_, i, uploads_[i], records_.sealer(i));
        StreamLane &lane = *lane_[i];
        const bool started = lane.start_down(id_, [this, &lane](TunnelRequest &down) {
            if (!accept(down))
                return false;
            lane.start_up_soon(id_, accept_hook());
            return true;
        });
        if (!started) {
            // Ends the session: nothing after this.
            events_.on_session_failed(
                {FailureKind::transport, "cannot start the downstream of lane " + std::to_string(i), 0});
            return;
        }
    }
}

void StreamSession::flush()
{
    bool resumed = false;
    for (const auto &lane : lane_)
        resumed = (lane && lane->resume()) || resumed;
    // Let curl send now rather than at its next timer. May end the session
    // (a transfer found dead): nothing after this.
    if (resumed)
        loop_.kick();
}

}  // namespace hrac
