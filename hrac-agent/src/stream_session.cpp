#include "stream_session.hpp"

#include <sofw/tunnel_http.hpp>

#include <algorithm>
#include <cstring>

namespace hrac {

StreamSession::StreamSession(RequestContext &context, SessionEvents &events)
    : TunnelSession(context, events), down_(context, "downstream"), up_(context, "upstream")
{}

bool StreamSession::start()
{
    TunnelRequest::Handlers down;
    down.verified = [this] {
        if (!accept(down_))
            return false;
        // The keys exist now: the POST may follow. Not from inside curl's
        // callback: start it from the loop. (Waiting for the GET also lets
        // it find out a proxy's authentication scheme first: an endless
        // upload cannot go through a 407 with NTLM, http_options.hpp.)
        deferred_start_.start(0, [this] {
            if (!start_upstream())
                events_.on_session_failed({FailureKind::transport, "cannot start the upstream", 0});
        });
        events_.on_verified(true);
        return true;
    };
    down.body = [this](const char *data, size_t len) {
        std::string why;
        if (events_.on_downstream_bytes(data, len, why))
            return true;
        down_.set_failure(why);
        return false;
    };
    down.done = [this](CURLcode result) {
        std::string why;
        if (down_.verified() && !events_.on_downstream_end(why))
            down_.set_failure(why);
        failed(down_, result);
    };

    // The streams never end, so no total timeout: liveness is the tunnel's
    // keep-alive deadline.
    return down_.start("GET", sofw::tunnel_path::down, id_, TunnelRequest::Body::none, {}, 0, std::move(down));
}

bool StreamSession::start_upstream()
{
    TunnelRequest::Handlers up;
    up.verified = [this] {
        if (!accept(up_))
            return false;
        events_.on_verified(false);
        return true;
    };
    up.read = [this](char *buf, size_t room) { return read_upload(buf, room); };
    up.done = [this](CURLcode result) { failed(up_, result); };

    return up_.start("POST", sofw::tunnel_path::up, id_, TunnelRequest::Body::streaming, {}, 0, std::move(up));
}

void StreamSession::flush()
{
    if (!upload_paused_ || upload_.empty())
        return;
    upload_paused_ = false;
    up_.resume_upload();
    // Let curl send now rather than at its next timer. May end the session
    // (a transfer found dead): nothing after this.
    loop_.kick();
}

size_t StreamSession::read_upload(char *buf, size_t room)
{
    if (sealed_off_ == sealed_.size()) {
        sealed_.clear();
        sealed_off_ = 0;
        // All that is queued now, in one record (two if it is larger).
        const sofw::RecordError e = upload_.seal_frames(records_.sealer(), sofw::record_max_plaintext, sealed_);
        if (e != sofw::RecordError::none) {
            up_.set_failure(std::string("cannot seal up records: ") + sofw::record_error_name(e));
            return CURL_READFUNC_ABORT;
        }
    }
    const size_t taken = std::min(room, sealed_.size() - sealed_off_);
    if (taken) {
        memcpy(buf, sealed_.data() + sealed_off_, taken);
        sealed_off_ += taken;
        return taken;
    }
    // Nothing queued: pause until flush(). Returning 0 would end the body.
    upload_paused_ = true;
    return CURL_READFUNC_PAUSE;
}

void StreamSession::failed(TunnelRequest &request, CURLcode result)
{
    // Either stream ending ends the session, even cleanly: they never end
    // while the session is healthy.
    events_.on_session_failed(request.failure(result));
}

}  // namespace hrac
