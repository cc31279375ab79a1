#include "poll_session.hpp"

#include <sofw/tunnel_http.hpp>

#include <algorithm>

namespace hrac {

PollSession::PollSession(RequestContext &context, SessionEvents &events) : TunnelSession(context, events) {}

bool PollSession::start() { return start_poll(); }

// A backstop only: the tunnel's deadline normally notices a dead HRAS
// first. A send may take long on a slow link, a poll up to poll_wait_s.
long PollSession::request_timeout_s() const
{
    return static_cast<long>(poll_wait_s +
                             std::max(sofw::keepalive_intervals_before_drop * config_.keepalive_interval, 30u));
}

bool PollSession::start_poll()
{
    auto request = std::make_unique<TunnelRequest>(context_, "poll");
    TunnelRequest *r = request.get();
    TunnelRequest::Handlers h;
    h.verified = [this, r] {
        if (!accept(*r))
            return false;
        events_.on_verified(true);
        return true;
    };
    h.body = [this, r](const char *data, size_t len) {
        std::string why;
        if (events_.on_downstream_bytes(0, data, len, why))
            return true;
        r->set_failure(why);
        return false;
    };
    h.done = [this](CURLcode result) { poll_done(result); };
    poll_ = std::move(request);
    return poll_->start("GET", sofw::tunnel_path::poll, id_, TunnelRequest::Body::none, {}, request_timeout_s(),
                        std::move(h));
}

void PollSession::poll_done(CURLcode result)
{
    // An answer ends on a record boundary; a poll answer that broke off is
    // a gap in the down sequence: either way the session ends.
    std::string why;
    if (poll_->verified() && !events_.on_downstream_end(0, why))
        poll_->set_failure(why);
    if (result != CURLE_OK || !poll_->verified() || !why.empty()) {
        events_.on_session_failed(poll_->failure(result));
        return;
    }
    events_.on_round_trip();
    // Runs from the loop's report of finished transfers, not inside a curl
    // callback: starting the next request here is allowed. The old request
    // goes with the assignment inside start_poll().
    if (!start_poll())
        events_.on_session_failed({FailureKind::transport, "cannot start the next poll", 0});
}

void PollSession::flush()
{
    // Nothing goes up before the first poll's 200 gave the keys.
    if (send_ || uploads_[0].empty() || !records_.keyed())
        return;
    // All that is queued, up to a batch, as one record.
    std::vector<uint8_t> batch;
    const sofw::RecordError e = uploads_[0].seal_frames(records_.sealer(), batch_limit_bytes, batch);
    if (e != sofw::RecordError::none) {
        events_.on_session_failed(
            {FailureKind::transport, std::string("cannot seal up records: ") + sofw::record_error_name(e), 0});
        return;
    }
    send_ = std::make_unique<TunnelRequest>(context_, "send");
    TunnelRequest::Handlers h;
    h.verified = [this] {
        if (!accept(*send_))
            return false;
        events_.on_verified(false);
        return true;
    };
    h.done = [this](CURLcode result) { send_done(result); };
    if (!send_->start("POST", sofw::tunnel_path::send, id_, TunnelRequest::Body::fixed, std::move(batch),
                      request_timeout_s(), std::move(h)))
        events_.on_session_failed({FailureKind::transport, "cannot start a send", 0});
}

void PollSession::send_done(CURLcode result)
{
    if (result != CURLE_OK || !send_->verified()) {
        events_.on_session_failed(send_->failure(result));
        return;
    }
    send_.reset();
    events_.on_round_trip();
    flush();  // what was queued meanwhile: the next batch
}

}  // namespace hrac
