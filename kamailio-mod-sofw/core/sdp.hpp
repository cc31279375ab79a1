// SDP rewriting for the media relay. As an offer or answer crosses the
// tunnel, HRAS rewrites its SDP so that the internal phone sends media to
// HRAC (its LAN agent) and the external phone sends media to HRAS: each
// stream's address and ports become the relay leg's.
//
// Rewrite rules (sdp_rewrite), stream i being the i-th m= line:
// - A stream is rewritten only if its m= port is not 0 and targets[i].port
//   is not 0; every other stream (missing target, target port 0, disabled
//   stream) keeps its m=, c= and a=rtcp lines byte for byte.
// - m= port -> targets[i].port; media, proto, formats and a "/count" suffix
//   of the port are kept.
// - A media-level c= of a rewritten stream -> "c=IN IP4 <targets[i].addr>".
// - The session target address is the address of the first rewritten
//   stream's target. The session-level c= becomes "c=IN IP4 <session target>".
//   A rewritten stream without media-level c= whose target address differs
//   from the session target gets "c=IN IP4 <its target>" inserted right after
//   its m= line (after any i= lines: RFC 4566 order is m, i, c).
//   An active stream that is not rewritten and had no media-level c= gets
//   the original session-level c= line inserted the same way, so that
//   rewriting the session c= does not move it.
// - IPv6 c= becomes IN IP4 (the relays are IPv4).
// - Hold (RFC 2543): a c= whose address is 0.0.0.0 stays as it is, at session
//   or media level; a stream that inherits a session c=0.0.0.0 gets no c= of
//   its own. Its ports are still rewritten.
// - o=: address type and address -> "IP4 <session target>", so the private
//   address does not leak; username, sess-id, sess-version and nettype are
//   kept.
// - a=rtcp:PORT -> "a=rtcp:<targets[i].rtcp_port>" (targets[i].port + 1, or
//   targets[i].port with a=rtcp-mux, if rtcp_port is 0). If it carried an
//   address: " IN IP4 <targets[i].addr>", except that 0.0.0.0 stays on a
//   stream that is on hold.
// - ICE candidates would route media around the relay: a=candidate,
//   a=remote-candidates and a=end-of-candidates are removed from rewritten
//   streams (and from the session level once any stream is rewritten).
//   a=ice-ufrag, a=ice-pwd and a=ice-options stay.
// - Everything else stays byte for byte (a=crypto, a=fingerprint, a=setup,
//   a=rtpmap/fmtp, direction attributes, a=mid, a=ssrc, b=, unknown lines),
//   and so does each line's ending (CRLF or LF). Inserted lines use the
//   ending of the first line. Rewriting is idempotent.
// - A declined target (decline: true) turns the stream off: m= port 0
//   (RFC 3264 6: a stream refused), c= becomes the target's address, its
//   a=rtcp and ICE candidates go. For streams HRAS relays no media for.
// - If no stream is rewritten, the body comes back unchanged.
// - A multipart/mixed or multipart/alternative body with one application/sdp
//   part (multipart.hpp) has that part rewritten by these rules; the other
//   parts, delimiters and part headers stay byte for byte.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sofw::hras {

struct SdpStream {
    std::string media;           // "audio", "video", "application", ...
    uint16_t port = 0;           // m= port; 0 = stream disabled/rejected
    std::string addr;            // effective connection address: media-level c= if present, else session-level c=
    bool ipv6 = false;           // that c= was IN IP6
    uint16_t rtcp_port = 0;      // from a=rtcp:PORT, else port+1 (0 if port==0)
    bool rtcp_explicit = false;  // a=rtcp present
    bool rtcp_mux = false;       // a=rtcp-mux present
    bool hold_zero = false;      // addr is 0.0.0.0 (RFC 2543 hold)
    // RTP clock rate of the stream's first (preferred) format: its a=rtpmap,
    // else the static payload type's (RFC 3551); 0: not known.
    uint32_t clock_rate = 0;
};

struct SdpInfo {
    std::vector<SdpStream> streams;
};

// nullopt: not SDP we understand: first line not v=0, a line that is not
// "<letter>=...", no m= line, an m= line without a valid port (0..65535) or
// without formats, a malformed c=, o= or a=rtcp, or an active stream with no
// connection address. A disabled stream (port 0) is valid and needs no c=.
std::optional<SdpInfo> sdp_parse(std::string_view body);

struct SdpTarget {           // where the other side must send this stream now
    std::string addr;        // IPv4 address written into c= (and a=rtcp when it carries an address)
    uint16_t port = 0;       // new m= port; 0 = leave this stream untouched (unless declined)
    uint16_t rtcp_port = 0;  // new a=rtcp port (only used if the stream had a=rtcp)
    bool decline = false;    // turn the stream off: m= port 0, c= addr

    static SdpTarget declined(std::string addr) { return {std::move(addr), 0, 0, true}; }
};

// An SDP body parsed once: its streams for the media plan, then the
// rewrite (the rules above) from the same parse. It refers to the body it
// was parsed from: keep that alive and unchanged while using it.
class SdpBody {
public:
    // nullopt as sdp_parse.
    static std::optional<SdpBody> parse(std::string_view body);
    // A message body with its Content-Type value: plain SDP or a multipart
    // body with one SDP part (multipart.hpp); nullopt: no SDP we understand.
    static std::optional<SdpBody> parse(std::string_view content_type, std::string_view body);
    const SdpInfo &info() const { return info_; }
    // targets[i] applies to the i-th m= line; missing entries = untouched.
    // The whole body: a multipart body comes back with its SDP part rewritten.
    std::string rewrite(const std::vector<SdpTarget> &targets) const;

private:
    struct Parsed;
    std::shared_ptr<const Parsed> parsed_;
    std::string_view body_;  // the SDP
    std::string_view before_, after_;  // of a multipart body, around the SDP
    SdpInfo info_;
};

// One-shot forms: parse (and rewrite) in one call.
std::optional<std::string> sdp_rewrite(std::string_view body, const std::vector<SdpTarget> &targets);

}  // namespace sofw::hras
