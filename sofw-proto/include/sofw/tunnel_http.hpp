// The HTTP face of the tunnel (docs/protocol.md "Channels", "Streaming
// probe and the polling fallback", "Authentication"): the request paths,
// the content type of frame bodies and the headers SoFW defines. HRAC
// writes them, HRAS matches them; both take them from here.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace sofw {

// Request paths below the server's base URL.
namespace tunnel_path {
// Every tunnel request lies below this; anything else is not a tunnel endpoint.
constexpr const char *prefix = "/sofw/v1/";
constexpr const char *down = "/sofw/v1/down";  // GET, streaming: the endless HRAS→HRAC body
constexpr const char *up = "/sofw/v1/up";      // POST, streaming: the endless HRAC→HRAS body
constexpr const char *poll = "/sofw/v1/poll";  // GET, polling: a long poll for queued frames
constexpr const char *send = "/sofw/v1/send";  // POST, polling: one batch of frames
// Lane i >= 1 of a streaming session (docs/protocol.md "Lanes"): down or
// up, a slash and i in decimal, "/sofw/v1/down/2". Lane 0 is down and up.
constexpr const char *down_lane_prefix = "/sofw/v1/down/";
constexpr const char *up_lane_prefix = "/sofw/v1/up/";
}  // namespace tunnel_path

// The two channels of a streaming lane.
enum class Channel { down, up };

struct LanePath {
    Channel channel = Channel::down;
    unsigned lane = 0;
};

// The path of a lane's channel: tunnel_path::down / up for lane 0,
// "/sofw/v1/down/<lane>" / "/sofw/v1/up/<lane>" for the others.
std::string lane_path(Channel c, unsigned lane);
// Which channel and lane a request path names: lane 0 for down and up
// themselves, 1..lanes_max-1 for a lane path whose number is decimal
// without a leading zero. nullopt for anything else ("/sofw/v1/down/0",
// "/down/01", "/down/x", "/down/9", poll, send): a malformed lane path is
// not a tunnel endpoint.
std::optional<LanePath> parse_lane_path(std::string_view path);

// Content-Type of every body of frames, in either direction.
constexpr const char *frames_content_type = "application/x-sofw-frames";

// HTTP header names used on tunnel requests/responses.
namespace hdr {
constexpr const char *site = "X-SoFW-Site";
constexpr const char *session = "X-SoFW-Session";
constexpr const char *lan = "X-SoFW-Lan";
constexpr const char *time = "X-SoFW-Time";
constexpr const char *nonce = "X-SoFW-Nonce";
constexpr const char *signature = "X-SoFW-Signature";
constexpr const char *server_signature = "X-SoFW-Server-Signature";
constexpr const char *server_nonce = "X-SoFW-Server-Nonce";  // 32 hex chars, random per session
// On both tunnel requests of HRAC: "20000-29999", the LAN ports HRAS may
// name in OPEN_MEDIA. Not part of the signature.
constexpr const char *media_ports = "X-SoFW-Media-Ports";
// On HRAC's opening GET /sofw/v1/down: the lanes it asks for (1..8); on
// HRAS's 200 to it: the lanes the session has. Not part of the signature.
constexpr const char *lanes = "X-SoFW-Lanes";
}  // namespace hdr

// The X-SoFW-Media-Ports value for the range first..last: "20000-29999".
std::string media_ports_value(uint16_t first, uint16_t last);
// The range an X-SoFW-Media-Ports value names, if HRAS may use it: two
// unsigned numbers joined by '-', 1024 <= first < last <= 65535. What
// follows the second number is ignored.
std::optional<std::pair<uint16_t, uint16_t>> parse_media_ports_value(const std::string &value);

// The X-SoFW-Lanes value for n lanes: "3".
std::string lanes_value(unsigned n);
// The lane count an X-SoFW-Lanes value names: one digit 1..8 (spaces and
// tabs around it allowed, as HTTP allows them around any value); nullopt
// for anything else, which counts as 1 lane: the protocol without lanes.
std::optional<unsigned> parse_lanes_value(std::string_view value);

}  // namespace sofw
