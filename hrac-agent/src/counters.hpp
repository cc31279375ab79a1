// What HRAC has done since it started; logged on SIGUSR1.
#pragma once
#include <cstdint>
#include <string>

namespace hrac {

struct Counters {
    uint64_t frames_up = 0;          // every frame queued to HRAS, keep-alives included
    uint64_t bytes_up = 0;           // encoded frame bytes queued to HRAS
    uint64_t frames_down = 0;        // every frame decoded from HRAS, keep-alives included
    uint64_t bytes_down = 0;         // body bytes received on the downstream channel
    uint64_t keepalives_sent = 0;
    uint64_t keepalives_received = 0;
    uint64_t sessions_up = 0;        // sessions whose downstream proof verified
    uint64_t reconnects = 0;         // connection attempts after the first
    uint64_t decode_errors = 0;
    uint64_t dropped_no_session = 0; // LAN datagrams dropped while the tunnel was down
    uint64_t dropped_queue_full = 0; // frames dropped because HRAS was not reading
    uint64_t dropped_down = 0;       // downstream frames HRAC could not deliver
    uint64_t ignored_down = 0;       // media/control frames (not handled yet)

    std::string summary() const {
        auto item = [](const char *name, uint64_t v) {
            return std::string(name) + "=" + std::to_string(v) + " ";
        };
        std::string s = item("frames_up", frames_up) + item("bytes_up", bytes_up) +
                        item("frames_down", frames_down) + item("bytes_down", bytes_down) +
                        item("keepalives_sent", keepalives_sent) +
                        item("keepalives_received", keepalives_received) +
                        item("sessions_up", sessions_up) + item("reconnects", reconnects) +
                        item("decode_errors", decode_errors) +
                        item("dropped_no_session", dropped_no_session) +
                        item("dropped_queue_full", dropped_queue_full) +
                        item("dropped_down", dropped_down) + item("ignored_down", ignored_down);
        s.pop_back();
        return s;
    }
};

} // namespace hrac
