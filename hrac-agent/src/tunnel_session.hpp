// One tunnel session (docs/protocol.md): a session id shared by all its
// requests, the frames waiting to go up, and its records (the keys, the
// sealer of what goes up, the decoder of what comes down). StreamSession
// carries frames on endless GETs and POSTs, one pair per lane;
// PollSession on short long-poll GETs and Content-Length POSTs.
// Both report to the Tunnel through SessionEvents; the Tunnel owns the
// session, keeps time (keep-alives, deadlines, the streaming probe) and
// decides what a failure means.
#pragma once
#include "config.hpp"
#include "curl_loop.hpp"
#include "request_failure.hpp"
#include "session_records.hpp"
#include "tunnel_request.hpp"
#include "upload_queue.hpp"

#include <sofw/auth.hpp>
#include <sofw/frame.hpp>
#include <sofw/lanes.hpp>

#include <string>
#include <vector>

namespace hrac {

class SessionEvents {
public:
    // A request of the session got a 200 with a correct server proof.
    // downstream: the request that carries frames down (streaming GET of
    // lane 0, poll). Lanes are known by then (TunnelSession::lanes()).
    virtual void on_verified(bool downstream) = 0;
    // Downstream body bytes of a lane (0 but when streaming with lanes).
    // False: a record failed (why says how); the session aborts the request.
    virtual bool on_downstream_bytes(unsigned lane, const char *data, size_t len, std::string &why) = 0;
    // A downstream body ended (a poll answer, or a GET's body broke off).
    // False: it ended inside a record (why says so).
    virtual bool on_downstream_end(unsigned lane, std::string &why) = 0;
    // A streaming lane's POST carries its body now (HRAS answers it only
    // when it ends): frames queued on the lane move.
    virtual void on_upstream_sending(unsigned lane) = 0;
    // A poll or send round trip completed: HRAS is alive.
    virtual void on_round_trip() = 0;
    // The session cannot go on. The tunnel destroys it here, so the session
    // calls this last and touches nothing afterwards.
    virtual void on_session_failed(const Failure &failure) = 0;

protected:
    ~SessionEvents() = default;
};

class TunnelSession {
public:
    static constexpr size_t upload_limit_bytes = 1024 * 1024;

    TunnelSession(RequestContext &context, SessionEvents &events)
        : context_(context), config_(context.config), loop_(context.loop), events_(events)
    {}
    virtual ~TunnelSession() = default;
    TunnelSession(const TunnelSession &) = delete;
    TunnelSession &operator=(const TunnelSession &) = delete;

    virtual bool poll() const = 0;
    // Lanes of the session (docs/protocol.md "Lanes"): 1 unless HRAS
    // granted more to a streaming session.
    virtual unsigned lanes() const { return 1; }
    // Opens the session's requests. False: could not start them.
    virtual bool start() = 0;
    // A proven 200 of request r: takes the keys from it (the opening
    // request) or checks that it repeats the session's server nonce.
    bool accept(TunnelRequest &r)
    {
        std::string why;
        if (records_.accept(config_.secret, id_, r.client_nonce(), r.server_nonce(), why))
            return true;
        r.set_failure(why + " on the " + r.name());
        return false;
    }
    // Frames were queued: get them moving. Never from inside a curl
    // callback (curl must not be re-entered); may end the session.
    virtual void flush() = 0;

    const std::string &id() const { return id_; }
    // Frames waiting to go up on a lane; nullptr for a lane the session
    // does not have.
    UploadQueue *upload(unsigned lane) { return lane < lanes() ? &uploads_[lane] : nullptr; }
    SessionRecords &records() { return records_; }

protected:
    RequestContext &context_;
    const Config &config_;
    CurlLoop &loop_;
    SessionEvents &events_;
    const std::string id_ = sofw::random_hex(16);
    // One queue per lane, each bounded: a lane whose connection stalls
    // fills only its own.
    std::vector<UploadQueue> uploads_ = std::vector<UploadQueue>(sofw::lanes_max, UploadQueue(upload_limit_bytes));
    SessionRecords records_;
};

}  // namespace hrac
