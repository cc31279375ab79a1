#include "tunnel.hpp"

#include "log.hpp"
#include "poll_session.hpp"
#include "stream_session.hpp"

#include <sofw/control.hpp>
#include <sofw/defaults.h>

#include <algorithm>

namespace hrac {

namespace {

uint64_t monotonic_ms()
{
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

bool has_credentials(const Config &config, const ProxyChoice &proxy)
{
    return !config.proxy_user.empty() || proxy.url.find('@') != std::string::npos;
}

}  // namespace

Tunnel::Tunnel(const Config &config, CurlLoop &loop, Counters &counters, const ProxyChoice &proxy)
    : config_(config),
      counters_(counters), context_{config, loop, !proxy.url.empty(), has_credentials(config, proxy),
                                    ProxyAuthMemory(config.proxy_auth, has_credentials(config, proxy))},
      chooser_(config.tunnel_mode)
{}

Tunnel::~Tunnel() { stop(); }

void Tunnel::set_frame_handler(sofw::FrameType type, FrameHandler handler) { handlers_[type] = std::move(handler); }

void Tunnel::start()
{
    stopping_ = false;
    connect();
}

void Tunnel::stop()
{
    stopping_ = true;
    reconnect_timer_.cancel();
    end_session("shutting down", false);
}

bool Tunnel::is_up() const { return session_ && usable_; }

bool Tunnel::send(const sofw::Frame &frame)
{
    if (!is_up()) {
        ++counters_.dropped_no_session;
        return false;
    }
    if (lanes_ && frame.type == sofw::FrameType::media) {
        if (lanes_->send(frame, static_cast<int64_t>(tmr_jiffies())))
            return true;
        ++counters_.dropped_queue_full;
        return false;
    }
    return queue_frame(frame);
}

void Tunnel::connect()
{
    const ModeChooser::Choice choice = chooser_.next(tmr_jiffies());
    SessionEvents &events = *this;
    if (choice.poll)
        session_ = std::make_unique<PollSession>(context_, events);
    else
        session_ = std::make_unique<StreamSession>(context_, events);
    usable_ = up_ = false;
    probe_ = StreamProbe{};
    probing_ = choice.probe;
    counters_.polling = choice.poll ? 1 : 0;
    log_info("tunnel connecting: server=%s session=%s mode=%s (%s)", config_.server.c_str(), session_->id().c_str(),
             choice.poll ? "poll" : "stream", choice.why.c_str());

    // Silence from HRAS ends the session, including a server that accepts
    // the connection but never answers.
    restart_downstream_deadline();
    if (probing_)
        probe_timer_.start(config_.stream_probe_timeout * 1000ull, [this] { on_probe_timeout(); });
    if (!session_->start()) {
        end_session("cannot start the HTTP requests", false);
        schedule_reconnect(backoff_.next_delay(0));
        return;
    }
    // At once, not after the first interval: it starts the streaming body
    // (HRAS answers the first upstream frame with STREAM_OK, which the
    // probe waits for), and opens a polling session without waiting for
    // the long poll.
    send_keepalive();
}

unsigned Tunnel::end_session(const std::string &reason, bool error, bool quiet)
{
    if (!session_)
        return 0;
    const bool was_up = up_;
    const auto lived = was_up ? Clock::now() - up_since_ : Clock::duration::zero();
    // Destroying the session removes its transfers from the loop.
    lanes_.reset();
    session_.reset();
    usable_ = up_ = probing_ = false;
    counters_.lanes = 0;
    for (ReTimer &timer : keepalive_timer_)
        timer.cancel();
    downstream_deadline_timer_.cancel();
    flush_timer_.cancel();
    probe_timer_.cancel();

    if (!quiet) {
        if (was_up && stopping_)
            log_info("tunnel down: %s", reason.c_str());
        else if (was_up)
            log_warn("tunnel down: %s", reason.c_str());
        else if (error)
            log_error("tunnel connect failed: %s", reason.c_str());
        else if (!stopping_)
            log_warn("tunnel connect failed: %s", reason.c_str());
    }
    return static_cast<unsigned>(std::chrono::duration_cast<std::chrono::seconds>(lived).count());
}

void Tunnel::schedule_reconnect(unsigned delay_s)
{
    if (stopping_)
        return;
    if (delay_s)
        log_info("reconnecting in %u s", delay_s);
    reconnect_timer_.start(delay_s * 1000ull, [this] {
        ++counters_.reconnects;
        connect();
    });
}

void Tunnel::fall_back_to_polling(const std::string &why)
{
    ++counters_.stream_fallbacks;
    log_warn("streaming does not get through: %s; falling back to polling", why.c_str());
    end_session("switching to polling", false, true);
    // Not a failure of HRAS: no backoff.
    schedule_reconnect(0);
}

void Tunnel::announce_up()
{
    if (up_)
        return;
    up_ = true;
    up_since_ = Clock::now();
    ++counters_.sessions_up;
    if (session_->poll())
        log_info("tunnel up: site=%s session=%s mode=poll", config_.site.c_str(), session_->id().c_str());
    else
        log_info("tunnel up: site=%s session=%s mode=stream lanes=%u", config_.site.c_str(), session_->id().c_str(),
                 session_->lanes());
}

bool Tunnel::queue_frame(const sofw::Frame &frame, unsigned lane)
{
    UploadQueue *upload = session_ ? session_->upload(lane) : nullptr;
    if (!upload)
        return false;
    size_t encoded = 0;
    switch (upload->push(frame, encoded)) {
    case UploadQueue::Push::queued: break;
    case UploadQueue::Push::full:
        ++counters_.dropped_queue_full;
        log_debug("upstream queue full: dropped a %s frame", sofw::frame_type_name(frame.type));
        return false;
    case UploadQueue::Push::invalid:
        log_debug("refused to queue an invalid %s frame", sofw::frame_type_name(frame.type));
        return false;
    }
    queued(lane, encoded, frame.type == sofw::FrameType::media);
    return true;
}

void Tunnel::queued(unsigned lane, size_t bytes, bool may_wait)
{
    ++counters_.frames_up;
    counters_.bytes_up += bytes;
    // Each lane's connections carry their own keep-alives: a proxy cuts
    // an idle one however busy the others are.
    keepalive_timer_[lane].start(config_.keepalive_interval * 1000ull, [this, lane] { send_keepalive(lane); });
    // Move the frames from the loop, not from here: send() may be called
    // from inside a curl callback, where curl must not be re-entered.
    // Media may wait tunnel_coalesce_ms for other media to share its
    // write (one segment, one ACK and one wake-up for many calls);
    // anything else goes on the next turn of the loop, and takes what
    // waits along.
    // Waiting pays only while media comes faster than the window: a lone
    // call's packet, 20 ms after the last one, would wait for nothing.
    unsigned delay_ms = 0;
    if (may_wait) {
        const uint64_t now = tmr_jiffies();
        if (now - last_media_ms_ <= config_.tunnel_coalesce_ms)
            delay_ms = config_.tunnel_coalesce_ms;
        last_media_ms_ = now;
    }
    if (!flush_timer_.running() || delay_ms == 0)
        flush_timer_.start(delay_ms, [this] {
            if (session_)
                session_->flush();
        });
}

void Tunnel::send_keepalive(unsigned lane)
{
    if (queue_frame(sofw::keepalive_frame(monotonic_ms()), lane))
        ++counters_.keepalives_sent;
}

void Tunnel::restart_downstream_deadline()
{
    // A long poll is legitimately quiet for up to poll_wait_s.
    unsigned deadline_s = sofw::keepalive_intervals_before_drop * config_.keepalive_interval;
    if (session_ && session_->poll())
        deadline_s = std::max(deadline_s, PollSession::poll_wait_s + config_.keepalive_interval);
    downstream_deadline_timer_.start(deadline_s * 1000ull, [this, deadline_s] {
        on_session_failed({FailureKind::transport, "nothing from HRAS for " + std::to_string(deadline_s) + " s", 0});
    });
}

void Tunnel::on_probe_timeout()
{
    const std::string why = probe_.failure(config_.stream_probe_timeout);
    chooser_.probe_failed(tmr_jiffies());
    fall_back_to_polling(why);
}

void Tunnel::on_stream_ok()
{
    if (!session_ || session_->poll() || !probing_) {
        log_debug("STREAM_OK from HRAS (no probe waiting for it)");
        return;
    }
    probe_.got_stream_ok();
    if (!probe_.passed())
        return;
    probing_ = false;
    probe_timer_.cancel();
    announce_up();
}

void Tunnel::on_verified(bool downstream)
{
    if (!session_)
        return;
    if (session_->poll()) {
        // The first poll's answer brought the keys: sends may start. Any
        // proven answer shows that this session's requests get through to
        // HRAS and back.
        usable_ = true;
        if (downstream && !flush_timer_.running())
            flush_timer_.start(0, [this] {
                if (session_)
                    session_->flush();
            });
        announce_up();
        return;
    }
    if (!downstream)
        return;  // the streaming POST's answer says nothing about the GET
    usable_ = true;
    counters_.lanes = session_->lanes();
    if (session_->lanes() > 1 && !lanes_) {
        sofw::LaneOutput &lane_queues = *this;
        lanes_ = std::make_unique<LaneMedia>(session_->lanes(), lane_queues, counters_);
    }
    // The keys exist now: what waited for them (the first keep-alive, LAN
    // traffic) may go up. From the loop, not from this curl callback.
    if (!flush_timer_.running())
        flush_timer_.start(0, [this] {
            if (session_)
                session_->flush();
        });
    if (probing_) {
        probe_.got_response();
        if (!probe_.passed())
            return;  // STREAM_OK still to come
        probing_ = false;
        probe_timer_.cancel();
    }
    announce_up();
}

// A down record failed: tampered, injected, replayed, reordered or cut on
// the way, or HRAS broke the rules. Nothing of it was delivered (the
// decoder opens a record before it decodes a frame of it).
std::string Tunnel::record_failed(unsigned lane, sofw::RecordError e)
{
    ++counters_.record_errors;
    std::string why = std::string("record error from HRAS: ") + sofw::record_error_name(e);
    if (e == sofw::RecordError::bad_frame) {
        ++counters_.decode_errors;
        why += std::string(" (") + sofw::decode_error_name(session_->records().decoder(lane).frame_error()) + ")";
    }
    if (lane)
        why += " on lane " + std::to_string(lane);
    // The session ends with this as its reason ("tunnel down: ..."); the
    // reconnect backoff (at least 1 s) limits how often that line comes.
    return why;
}

bool Tunnel::on_downstream_end(unsigned lane, std::string &why)
{
    sofw::RecordFrameDecoder &decoder = session_->records().decoder(lane);
    if (decoder.error() != sofw::RecordError::none)
        return true;  // counted and reported when it happened
    const sofw::RecordError e = decoder.end_of_body();
    if (e == sofw::RecordError::none)
        return true;
    why = record_failed(lane, e);
    return false;
}

bool Tunnel::on_downstream_bytes(unsigned lane, const char *data, size_t len, std::string &why)
{
    sofw::RecordFrameDecoder &decoder = session_->records().decoder(lane);
    counters_.bytes_down += len;
    decoder.feed(reinterpret_cast<const uint8_t *>(data), len);
    sofw::Frame &frame = down_frame_;
    for (;;) {
        const auto result = decoder.next(frame);
        if (result == sofw::RecordFrameDecoder::Result::need_more)
            return true;
        if (result == sofw::RecordFrameDecoder::Result::error) {
            why = record_failed(lane, decoder.error());
            return false;
        }
        ++counters_.frames_down;
        // Any lane's frames show that HRAS is alive.
        restart_downstream_deadline();
        if (frame.type == sofw::FrameType::keepalive) {
            ++counters_.keepalives_received;
            continue;
        }
        if (lane_frame(lane, frame))
            continue;
        if (sofw::is_stream_ok(frame)) {
            on_stream_ok();
            continue;
        }
        deliver(frame);
    }
}

void Tunnel::on_round_trip() { restart_downstream_deadline(); }

void Tunnel::count_failure(const Failure &failure)
{
    switch (failure.kind) {
    case FailureKind::proxy_refused: ++counters_.proxy_refusals; break;
    case FailureKind::tls: ++counters_.tls_failures; break;
    case FailureKind::hras_refused: ++counters_.hras_refusals; break;
    case FailureKind::stream_refused: ++counters_.proxy_refusals; break;
    case FailureKind::transport: break;
    }
}

void Tunnel::on_session_failed(const Failure &failure)
{
    if (!session_)
        return;
    count_failure(failure);
    if (failure.kind == FailureKind::proxy_refused)
        context_.proxy_auth.refused();
    const bool polling = session_->poll();
    if (failure.kind == FailureKind::stream_refused && !polling && chooser_.streaming_refused(tmr_jiffies())) {
        end_session(failure.message, false);
        fall_back_to_polling(failure.message);
        return;
    }
    if (polling && failure.status == 404 && chooser_.polling_unsupported()) {
        end_session(failure.message, false, true);
        log_warn("HRAS does not offer polling (404): streaming without the probe from now on");
        schedule_reconnect(0);
        return;
    }
    const bool refused = failure.kind != FailureKind::transport;
    // Ends the session, and with it the request calling us: nothing after.
    schedule_reconnect(backoff_.next_delay(end_session(failure.message, refused)));
}

}  // namespace hrac
