// Streaming (docs/protocol.md "Channels"): one endless GET carries frames
// down, one endless chunked POST carries them up. The upload pauses while
// nothing is queued and resumes on flush(). Losing either request loses
// the session.
#pragma once
#include "re_handle.hpp"
#include "tunnel_request.hpp"
#include "tunnel_session.hpp"

namespace hrac {

class StreamSession : public TunnelSession {
public:
    StreamSession(RequestContext &context, SessionEvents &events);

    bool poll() const override { return false; }
    bool start() override;
    void flush() override;

private:
    bool start_upstream();
    size_t read_upload(char *buf, size_t room);
    void failed(TunnelRequest &request, CURLcode result);

    TunnelRequest down_;
    TunnelRequest up_;
    bool upload_paused_ = false;
    bool upstream_deferred_ = false;  // waits for the GET to learn the proxy's scheme
    ReTimer deferred_start_;
};

}  // namespace hrac
