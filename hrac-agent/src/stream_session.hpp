// Streaming (docs/protocol.md "Channels", "Channels with records"): one
// endless GET carries records down, one endless chunked POST carries them
// up. The POST starts once the GET's 200 has given the keys. The upload
// seals what is queued when curl asks for bytes (so frames queued together
// share a record), pauses while nothing is queued and resumes on flush().
// Losing either request loses the session.
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
    std::vector<uint8_t> sealed_;  // up records not yet handed to curl (reused)
    size_t sealed_off_ = 0;
    ReTimer deferred_start_;
};

}  // namespace hrac
