// What HRAC has done since it started; logged on SIGUSR1.
#pragma once
#include <cstdint>
#include <string>
#include <utility>

namespace hrac {

struct Counters {
    uint64_t frames_up = 0;    // every frame queued to HRAS, keep-alives included
    uint64_t bytes_up = 0;     // encoded frame bytes queued to HRAS
    uint64_t frames_down = 0;  // every frame decoded from HRAS, keep-alives included
    uint64_t bytes_down = 0;   // body bytes received on the downstream channel
    uint64_t keepalives_sent = 0;
    uint64_t keepalives_received = 0;
    uint64_t sessions_up = 0;  // sessions whose downstream proof verified
    uint64_t reconnects = 0;   // connection attempts after the first
    uint64_t decode_errors = 0;
    uint64_t record_errors = 0;  // down records that failed (tampered, injected, replayed, cut): session ended
    uint64_t dropped_no_session = 0;  // LAN datagrams dropped while the tunnel was down
    uint64_t dropped_queue_full = 0;  // frames dropped because HRAS was not reading
    uint64_t dropped_down = 0;        // downstream SIP frames HRAC could not deliver
    uint64_t ignored_down = 0;        // downstream frames of a type nobody handles

    // How the tunnel gets through (tunnel.hpp).
    uint64_t polling = 0;           // 1 while the session polls, 0 while it streams (a gauge)
    uint64_t stream_fallbacks = 0;  // streaming did not get through: switched to polling
    uint64_t proxy_refusals = 0;    // a proxy answered 407, or refused CONNECT or the request
    uint64_t tls_failures = 0;      // HRAS's certificate or pin did not verify, or the handshake failed
    uint64_t hras_refusals = 0;     // HRAS answered a tunnel request with other than 200

    // Lanes (lane_media.hpp): media over several connections per direction.
    uint64_t lanes = 0;              // lanes of the streaming session up now (a gauge; 0 while down or polling)
    uint64_t lane_resent = 0;        // media frames sent again on another lane: theirs had stalled
    uint64_t lane_stalls = 0;        // times a lane up was found stalled (acks overdue)
    uint64_t lane_late_dropped = 0;  // media of a stalled lane past its deadline: not sent again
    uint64_t lane_history_full = 0;  // copies forgotten before their ack: the copy store was full
    uint64_t lane_duplicates = 0;    // media from HRAS that arrived twice (or too late): dropped
    uint64_t lane_invalid = 0;       // lane frames from HRAS that break the lane rules: dropped

    // The LAN stays closed (lan_policy.hpp).
    uint64_t lan_refused_sip = 0;       // SIP from HRAS for a LAN endpoint that did not register through HRAC
    uint64_t lan_refused_media = 0;     // media from HRAS for an endpoint no registered phone's SDP named
    uint64_t lan_refused_source = 0;    // LAN datagrams to a media pair from an endpoint no phone's SDP named
    uint64_t lan_sdp_ignored = 0;       // SDP going up not learnt from: unregistered sender, unreadable, foreign IP
    uint64_t lan_media_table_full = 0;  // a phone's media endpoint not remembered: the table is full

    // Media relay (media_relay.hpp).
    uint64_t media_frames_up = 0;       // RTP/RTCP datagrams from the LAN queued to HRAS
    uint64_t media_bytes_up = 0;        // their payload bytes
    uint64_t media_frames_down = 0;     // media frames from HRAS sent into the LAN
    uint64_t media_bytes_down = 0;      // their payload bytes
    uint64_t media_ports_open = 0;      // RTP/RTCP port pairs open now (a gauge)
    uint64_t media_opens = 0;           // pairs opened by OPEN_MEDIA
    uint64_t media_updates = 0;         // OPEN_MEDIA for an open pair (re-INVITE): endpoint updated
    uint64_t media_closes = 0;          // pairs closed by CLOSE_MEDIA
    uint64_t media_timeouts = 0;        // pairs closed after media_timeout without traffic
    uint64_t media_open_failures = 0;   // OPEN_MEDIA answered with MEDIA_FAILED
    uint64_t media_pairs_limit = 0;     // ... because the pairs the open-files limit holds were open
    uint64_t media_dropped_up = 0;      // LAN media not queued: tunnel down or queue full
    uint64_t media_dropped_closed = 0;  // media from HRAS for a port that is not open
    uint64_t media_dropped_down = 0;    // media from HRAS that could not be sent (bad RA, send error)
    uint64_t control_invalid = 0;       // control frames HRAC cannot act on

    std::string summary() const
    {
        const std::pair<const char *, uint64_t> items[] = {
            {"frames_up", frames_up},
            {"bytes_up", bytes_up},
            {"frames_down", frames_down},
            {"bytes_down", bytes_down},
            {"keepalives_sent", keepalives_sent},
            {"keepalives_received", keepalives_received},
            {"sessions_up", sessions_up},
            {"reconnects", reconnects},
            {"decode_errors", decode_errors},
            {"record_errors", record_errors},
            {"dropped_no_session", dropped_no_session},
            {"dropped_queue_full", dropped_queue_full},
            {"dropped_down", dropped_down},
            {"ignored_down", ignored_down},
            {"polling", polling},
            {"stream_fallbacks", stream_fallbacks},
            {"proxy_refusals", proxy_refusals},
            {"tls_failures", tls_failures},
            {"hras_refusals", hras_refusals},
            {"lanes", lanes},
            {"lane_resent", lane_resent},
            {"lane_stalls", lane_stalls},
            {"lane_late_dropped", lane_late_dropped},
            {"lane_history_full", lane_history_full},
            {"lane_duplicates", lane_duplicates},
            {"lane_invalid", lane_invalid},
            {"lan_refused_sip", lan_refused_sip},
            {"lan_refused_media", lan_refused_media},
            {"lan_refused_source", lan_refused_source},
            {"lan_sdp_ignored", lan_sdp_ignored},
            {"lan_media_table_full", lan_media_table_full},
            {"media_frames_up", media_frames_up},
            {"media_bytes_up", media_bytes_up},
            {"media_frames_down", media_frames_down},
            {"media_bytes_down", media_bytes_down},
            {"media_ports_open", media_ports_open},
            {"media_opens", media_opens},
            {"media_updates", media_updates},
            {"media_closes", media_closes},
            {"media_timeouts", media_timeouts},
            {"media_open_failures", media_open_failures},
            {"media_pairs_limit", media_pairs_limit},
            {"media_dropped_up", media_dropped_up},
            {"media_dropped_closed", media_dropped_closed},
            {"media_dropped_down", media_dropped_down},
            {"control_invalid", control_invalid},
        };
        std::string s;
        for (const auto &[name, value] : items)
            s += std::string(s.empty() ? "" : " ") + name + "=" + std::to_string(value);
        return s;
    }
};

}  // namespace hrac
