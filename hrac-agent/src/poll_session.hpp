// Polling (docs/protocol.md "Streaming probe and the polling fallback"),
// for paths where a proxy buffers or cuts endless bodies: always exactly
// one long-poll GET /sofw/v1/poll outstanding, whose Content-Length body
// of records is fed to the session's decoder; frames go up as one POST
// /sofw/v1/send at a time carrying all that is queued, sealed as one
// record. Sends wait for the first poll's 200 (the keys). Every request is signed with its own
// nonce under the session's id. Any request failing loses the session.
#pragma once
#include "tunnel_request.hpp"
#include "tunnel_session.hpp"

#include <sofw/defaults.h>

#include <memory>

namespace hrac {

class PollSession : public TunnelSession {
public:
    // HRAS answers a poll after at most this long (with a keep-alive).
    static constexpr unsigned poll_wait_s = sofw::poll_wait_s;
    // A batch larger than this waits for the next POST: proxies cap request
    // bodies (nginx: 1 MB by default).
    static constexpr size_t batch_limit_bytes = sofw::send_batch_max_bytes;

    PollSession(RequestContext &context, SessionEvents &events);

    bool poll() const override { return true; }
    bool start() override;
    void flush() override;

private:
    bool start_poll();
    void poll_done(CURLcode result);
    void send_done(CURLcode result);
    long request_timeout_s() const;

    std::unique_ptr<TunnelRequest> poll_;
    std::unique_ptr<TunnelRequest> send_;  // null: no POST in flight
};

}  // namespace hrac
