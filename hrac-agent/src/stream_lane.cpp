#include "stream_lane.hpp"

#include <sofw/lanes.hpp>
#include <sofw/tunnel_http.hpp>

#include <algorithm>
#include <cstring>

namespace hrac {

namespace {

std::string channel_name(unsigned lane, const char *direction)
{
    return lane == 0 ? std::string(direction) : "lane " + std::to_string(lane) + " " + direction;
}

}  // namespace

std::optional<unsigned> granted_lanes(bool answered, const std::string &value, unsigned asked)
{
    if (!answered)
        return 1;
    const auto granted = sofw::parse_lanes_value(value);
    if (!granted || *granted > asked)
        return std::nullopt;
    return granted;
}

StreamLane::StreamLane(RequestContext &context, SessionEvents &events, unsigned index, UploadQueue &upload,
                       sofw::RecordSealer &sealer)
    : events_(events), index_(index), down_path_(sofw::lane_path(sofw::Channel::down, index)),
      up_path_(sofw::lane_path(sofw::Channel::up, index)), upload_(upload), sealer_(sealer),
      down_(context, channel_name(index, "downstream")), up_(context, channel_name(index, "upstream"))
{}

bool StreamLane::start_down(const std::string &session, Verified verified)
{
    TunnelRequest::Handlers down;
    down.verified = [this, verified = std::move(verified)] { return verified(down_); };
    down.body = [this](const char *data, size_t len) {
        std::string why;
        if (events_.on_downstream_bytes(index_, data, len, why))
            return true;
        down_.set_failure(why);
        return false;
    };
    down.done = [this](CURLcode result) {
        std::string why;
        if (down_.verified() && !events_.on_downstream_end(index_, why))
            down_.set_failure(why);
        // Either stream ending ends the session, even cleanly: they never
        // end while the session is healthy.
        events_.on_session_failed(down_.failure(result));
    };
    // The streams never end, so no total timeout: liveness is the tunnel's
    // keep-alive deadline.
    return down_.start("GET", down_path_.c_str(), session, TunnelRequest::Body::none, {}, 0, std::move(down));
}

void StreamLane::start_up_soon(const std::string &session, Verified verified)
{
    deferred_start_.start(0, [this, session, verified = std::move(verified)]() mutable {
        if (!start_up(session, std::move(verified)))
            events_.on_session_failed({FailureKind::transport, "cannot start the " + up_.name(), 0});
    });
}

bool StreamLane::start_up(const std::string &session, Verified verified)
{
    TunnelRequest::Handlers up;
    up.verified = [this, verified = std::move(verified)] { return verified(up_); };
    up.read = [this](char *buf, size_t room) { return read_upload(buf, room); };
    up.done = [this](CURLcode result) { events_.on_session_failed(up_.failure(result)); };
    return up_.start("POST", up_path_.c_str(), session, TunnelRequest::Body::streaming, {}, 0, std::move(up));
}

bool StreamLane::resume()
{
    if (!upload_paused_ || upload_.empty())
        return false;
    upload_paused_ = false;
    up_.resume_upload();
    return true;
}

size_t StreamLane::read_upload(char *buf, size_t room)
{
    if (!sending_) {
        // HRAS answers a streaming POST only when its body ends: curl
        // asking for the body is the sign that the channel is up.
        sending_ = true;
        events_.on_upstream_sending(index_);
    }
    if (sealed_off_ == sealed_.size()) {
        sealed_.clear();
        sealed_off_ = 0;
        // All that is queued now, in one record (two if it is larger).
        const sofw::RecordError e = upload_.seal_frames(sealer_, sofw::record_max_plaintext, sealed_);
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
    // Nothing queued: pause until resume(). Returning 0 would end the body.
    upload_paused_ = true;
    return CURL_READFUNC_PAUSE;
}

}  // namespace hrac
