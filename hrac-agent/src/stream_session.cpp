#include "stream_session.hpp"

#include <sofw/tunnel_http.hpp>

namespace hrac {

StreamSession::StreamSession(RequestContext &context, SessionEvents &events)
    : TunnelSession(context, events), down_(context, "downstream"), up_(context, "upstream")
{}

bool StreamSession::start()
{
    TunnelRequest::Handlers down;
    down.verified = [this] {
        if (upstream_deferred_) {
            // Not from inside curl's callback: start it from the loop.
            deferred_start_.start(0, [this] {
                upstream_deferred_ = false;
                if (!start_upstream())
                    events_.on_session_failed({FailureKind::transport, "cannot start the upstream", 0});
            });
        }
        events_.on_verified(true);
    };
    down.body = [this](const char *data, size_t len) {
        std::string why;
        if (events_.on_downstream_bytes(data, len, why))
            return true;
        down_.set_failure(why);
        return false;
    };
    down.done = [this](CURLcode result) { failed(down_, result); };

    // The streams never end, so no total timeout: liveness is the tunnel's
    // keep-alive deadline.
    if (!down_.start("GET", sofw::tunnel_path::down, id_, TunnelRequest::Body::none, {}, 0, std::move(down)))
        return false;
    // An endless upload cannot go through a proxy's 407 with NTLM
    // (http_options.hpp): let the GET find out the scheme first. Costs the
    // first session a round trip.
    if (context_.via_proxy && context_.proxy_auth.still_negotiating()) {
        upstream_deferred_ = true;
        return true;
    }
    return start_upstream();
}

bool StreamSession::start_upstream()
{
    TunnelRequest::Handlers up;
    up.verified = [this] { events_.on_verified(false); };
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
    const size_t taken = upload_.take(buf, room);
    if (taken)
        return taken;
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
