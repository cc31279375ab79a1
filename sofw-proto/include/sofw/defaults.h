/*
 * The numbers both halves of the tunnel agree on (docs/protocol.md): HRAC's
 * settings, HRAS's modparams and its tunnel server start from these, so the
 * two sides cannot drift apart. Plain C as well as C++: the Kamailio
 * module's C glue (sofw_mod.c) declares its modparams with the first ones.
 */
#ifndef SOFW_DEFAULTS_H
#define SOFW_DEFAULTS_H

enum sofw_defaults {
    /* seconds without other traffic before a channel carries a keep-alive */
    SOFW_DEFAULT_KEEPALIVE_INTERVAL_S = 15,
    /* seconds a signed request's time may be away from HRAS's clock */
    SOFW_DEFAULT_AUTH_WINDOW_S = 120,
    /* milliseconds media may wait for other media to share a tunnel write */
    SOFW_DEFAULT_COALESCE_MS = 1,
    SOFW_COALESCE_MAX_MS = 20
};

#ifdef __cplusplus
#include <cstddef>
#include <cstdint>

namespace sofw {

constexpr unsigned default_keepalive_interval_s = SOFW_DEFAULT_KEEPALIVE_INTERVAL_S;
// What either side accepts as keepalive_interval.
constexpr unsigned keepalive_interval_min_s = 1;
constexpr unsigned keepalive_interval_max_s = 3600;
// Each side drops a session that received nothing for this many intervals.
constexpr unsigned keepalive_intervals_before_drop = 3;

constexpr unsigned default_auth_window_s = SOFW_DEFAULT_AUTH_WINDOW_S;

// The LAN ports HRAC offers for media pairs (X-SoFW-Media-Ports) unless
// configured otherwise, and what HRAS assumes before it has heard.
constexpr uint16_t default_media_port_min = 20000;
constexpr uint16_t default_media_port_max = 29999;

// Polling: HRAS answers a long poll after this long at the latest (with a
// keep-alive), with whole frames of at most poll_answer_max_bytes; HRAC
// sends whole frames of at most send_batch_max_bytes in one send.
constexpr unsigned poll_wait_s = 20;
constexpr size_t poll_answer_max_bytes = 1 << 20;
constexpr size_t send_batch_max_bytes = 256 * 1024;

// How long a media frame may wait for other media to share its write to
// the tunnel (HRAC's tunnel_coalesce_ms, HRAS's modparam of the same name;
// docs/performance.md "Coalescing").
constexpr unsigned default_coalesce_ms = SOFW_DEFAULT_COALESCE_MS;
constexpr unsigned coalesce_max_ms = SOFW_COALESCE_MAX_MS;

}  // namespace sofw
#endif

#endif
