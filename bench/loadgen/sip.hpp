// Minimal SIP over UDP for the load generator: a message parser that keeps
// header lines as they came (so a UAS can copy Via/Record-Route verbatim),
// and the few URI and SDP helpers a UAC/UAS needs. IPv4, UDP only.
#pragma once
#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace loadgen {

struct SipMsg {
    bool is_request = false;
    std::string method;  // requests
    std::string ruri;    // requests
    int status = 0;      // responses
    // (canonical lower-case long name, value) in the order received
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    // First value of a header, "" if absent.
    std::string get(const std::string &name) const;
    // Every value of a header: all lines, each split at top-level commas.
    std::vector<std::string> all(const std::string &name) const;
    // Raw header line values (not split), for copying into a reply.
    std::vector<std::string> lines(const std::string &name) const;

    std::string call_id() const { return get("call-id"); }
    // CSeq number and method.
    std::pair<uint32_t, std::string> cseq() const;
};

// Parses one datagram. False if it is not a SIP message we understand.
bool parse_sip(const char *data, size_t len, SipMsg &out);

// The ";tag=" parameter of a From/To value, "" if none.
std::string header_tag(const std::string &value);
// The URI of a name-addr or addr-spec ("<sip:a@b;lr>" -> "sip:a@b;lr").
std::string header_uri(const std::string &value);
// The user part of a SIP URI ("sip:bench7@x" -> "bench7").
std::string uri_user(const std::string &uri);
// Host and port of a SIP URI as a socket address (IPv4 literal hosts only;
// port 5060 if none).
std::optional<sockaddr_in> uri_addr(const std::string &uri);
bool uri_has_lr(const std::string &uri);

// The audio stream an SDP body names: connection address and RTP port.
std::optional<sockaddr_in> sdp_audio(const std::string &sdp);

std::optional<sockaddr_in> make_addr(const std::string &ip, uint16_t port);
// "ip:port" -> address.
std::optional<sockaddr_in> parse_hostport(const std::string &s);
std::string addr_text(const sockaddr_in &a);

}  // namespace loadgen
