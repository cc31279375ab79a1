// One lane of a streaming session (docs/protocol.md "Channels", "Lanes"):
// an endless GET carrying records down and, once its 200 has proven it, an
// endless chunked POST carrying the lane's queue up. Lane 0 is the pair
// that opens the session (/sofw/v1/down, /up); lane i >= 1 is
// /sofw/v1/down/i and /up/i, keyed like lane 0 but with its own keys and
// sequences. The upload seals what is queued when curl asks for bytes (so
// frames queued together share a record), pauses while nothing is queued
// and resumes on resume().
#pragma once
#include "re_handle.hpp"
#include "tunnel_request.hpp"
#include "tunnel_session.hpp"
#include "upload_queue.hpp"

#include <sofw/record.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hrac {

// How many lanes HRAS granted, from the opening GET's 200: no X-SoFW-Lanes
// is an HRAS without lanes (1); otherwise a decimal 1..asked. nullopt:
// HRAS broke the rule (more than asked, or not a number).
std::optional<unsigned> granted_lanes(bool answered, const std::string &value, unsigned asked);

class StreamLane {
public:
    // A proven 200 of this lane's GET or POST: true if the session takes
    // it (else the hook sets the request's failure and the request aborts).
    using Verified = std::function<bool(TunnelRequest &request)>;

    // upload and sealer: this lane's, owned by the session.
    StreamLane(RequestContext &context, SessionEvents &events, unsigned index, UploadQueue &upload,
               sofw::RecordSealer &sealer);
    StreamLane(const StreamLane &) = delete;
    StreamLane &operator=(const StreamLane &) = delete;

    unsigned index() const { return index_; }
    // Headers for the GET, before start_down() (X-SoFW-Lanes on lane 0).
    TunnelRequest &down() { return down_; }

    bool start_down(const std::string &session, Verified verified);
    // Starts the POST from the loop, not from the curl callback that
    // proved the GET; a failure to start ends the session.
    void start_up_soon(const std::string &session, Verified verified);
    // Resumes a paused upload that has something queued. True if it did:
    // the caller lets curl act (CurlLoop::kick), once for all lanes.
    bool resume();

private:
    bool start_up(const std::string &session, Verified verified);
    size_t read_upload(char *buf, size_t room);

    SessionEvents &events_;
    const unsigned index_;
    const std::string down_path_;
    const std::string up_path_;
    UploadQueue &upload_;
    sofw::RecordSealer &sealer_;
    TunnelRequest down_;
    TunnelRequest up_;
    bool upload_paused_ = false;
    bool sending_ = false;         // curl has asked for the POST's body: the channel is up
    std::vector<uint8_t> sealed_;  // up records not yet handed to curl (reused)
    size_t sealed_off_ = 0;
    ReTimer deferred_start_;
};

}  // namespace hrac
