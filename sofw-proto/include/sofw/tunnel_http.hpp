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
}  // namespace tunnel_path

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
}  // namespace hdr

// The X-SoFW-Media-Ports value for the range first..last: "20000-29999".
std::string media_ports_value(uint16_t first, uint16_t last);
// The range an X-SoFW-Media-Ports value names, if HRAS may use it: two
// unsigned numbers joined by '-', 1024 <= first < last <= 65535. What
// follows the second number is ignored.
std::optional<std::pair<uint16_t, uint16_t>> parse_media_ports_value(const std::string &value);

}  // namespace sofw
