// Streaming (docs/protocol.md "Channels", "Channels with records",
// "Lanes"): the session is one or more lanes, each an endless GET carrying
// records down and an endless chunked POST carrying them up
// (stream_lane.hpp). Lane 0's GET opens the session and asks HRAS for
// tunnel_lanes lanes; its 200 gives the keys and the number HRAS granted.
// Then lane 0's POST and the GETs of all other lanes start at once, and
// each lane's POST once its own GET's 200 has repeated the session's server
// nonce. Losing any request of any lane loses the session.
#pragma once
#include "re_handle.hpp"
#include "stream_lane.hpp"
#include "tunnel_request.hpp"
#include "tunnel_session.hpp"

#include <sofw/lanes.hpp>

#include <memory>

namespace hrac {

class StreamSession : public TunnelSession {
public:
    StreamSession(RequestContext &context, SessionEvents &events);

    bool poll() const override { return false; }
    unsigned lanes() const override { return lanes_; }
    bool start() override;
    void flush() override;

private:
    bool opened(TunnelRequest &down);
    void open_lanes();
    StreamLane::Verified accept_hook();

    unsigned lanes_ = 1;  // granted by HRAS; 1 until lane 0's GET is answered
    std::unique_ptr<StreamLane> lane_[sofw::lanes_max];
    ReTimer deferred_lanes_;
};

}  // namespace hrac
