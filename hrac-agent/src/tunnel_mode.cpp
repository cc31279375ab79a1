#include "tunnel_mode.hpp"

namespace hrac {

std::string StreamProbe::failure(unsigned timeout_s) const
{
    const std::string after = " after " + std::to_string(timeout_s) + " s (a proxy may be buffering)";
    if (!response_)
        return "no answer to the streaming GET" + after;
    if (!stream_ok_)
        return "no STREAM_OK" + after;
    return "passed";
}

ModeChooser::Choice ModeChooser::next(uint64_t now_ms) const
{
    switch (configured_) {
    case TunnelMode::stream: return {false, false, "tunnel_mode = stream"};
    case TunnelMode::poll: return {true, false, "tunnel_mode = poll"};
    case TunnelMode::automatic: break;
    }
    if (no_polling_)
        return {false, false, "auto; HRAS does not offer polling"};
    if (!decided_poll_)
        return {false, true, "auto; probing streaming"};
    const uint64_t since = now_ms - decided_at_ms_;
    if (since >= retry_after_ms_)
        return {false, true,
                "auto; probing streaming again after " + std::to_string(since / 60000) + " min of polling"};
    return {true, false, "auto; streaming did not get through " + std::to_string(since / 1000) + " s ago"};
}

void ModeChooser::probe_failed(uint64_t now_ms)
{
    decided_poll_ = true;
    decided_at_ms_ = now_ms;
}

bool ModeChooser::polling_unsupported()
{
    if (configured_ != TunnelMode::automatic)
        return false;
    no_polling_ = true;
    decided_poll_ = false;
    return true;
}

bool ModeChooser::streaming_refused(uint64_t now_ms)
{
    if (configured_ != TunnelMode::automatic || no_polling_)
        return false;
    probe_failed(now_ms);
    return true;
}

}  // namespace hrac
