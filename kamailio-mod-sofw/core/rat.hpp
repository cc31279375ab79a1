// The Relay Agent Table (papers §2.3): one entry per call leg of an internal
// phone — the phone's endpoint and Call-ID — with the paper's fields (To,
// From, Call-ID; internal IIP/IPort; external OIP/OPort) per media stream,
// plus the ports given to the leg on each agent and when media last flowed.
// Owns the port pools, so a port is never handed to two legs. No sockets
// here: the media relay binds what the table allocates.
#pragma once
#include "port_pool.hpp"
#include "rtp_quality.hpp"
#include "sofw/ra_header.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sofw::hras {

// A media address as the per-packet path uses it: binary IPv4 (the relays
// are IPv4), compared and handed to sendto() without any text. Text only
// where a person or SDP needs it.
struct MediaEndpoint {
    in_addr_t ip = 0;   // network byte order; 0: none
    uint16_t port = 0;  // host byte order; 0: none

    bool valid() const { return port != 0 && ip != 0; }
    bool operator==(const MediaEndpoint &o) const { return port == o.port && ip == o.ip; }
    bool operator!=(const MediaEndpoint &o) const { return !(*this == o); }

    static MediaEndpoint from_sockaddr(const sockaddr_in &sa) { return {sa.sin_addr.s_addr, ntohs(sa.sin_port)}; }
    // Invalid (ip 0) unless ip is a dotted IPv4 address.
    static MediaEndpoint from_text(const std::string &ip, uint16_t port);
    // IPv4 RA headers only; anything else is invalid.
    static MediaEndpoint from_ra(const RaHeader &ra);
    sockaddr_in to_sockaddr() const;
    // The same endpoint as an RA header (relay_port 0).
    RaHeader to_ra() const;
    std::string ip_text() const;  // "" when there is none
    std::string to_string() const;  // "ip:port"
};

struct RatStream {
    std::string media;          // "audio", "video"
    uint16_t hras_port = 0;     // HRAS public RTP port (RTCP +1); 0: none
    uint16_t hrac_port = 0;     // HRAC LAN RTP port (RTCP +1); 0: none
    MediaEndpoint internal[2];  // phone RTP/RTCP: IIP/IPort (from SDP, then latched)
    MediaEndpoint external[2];  // far side RTP/RTCP: OIP/OPort (from SDP, then latched)
    bool external_latched[2] = {false, false};
    // Who may feed the public port (either component): the IPs of the far
    // side's last SDP, its c= address and the source of the SIP message
    // that carried it; 0: none. Nobody else latches, nobody else is heard.
    in_addr_t far_ips[2] = {0, 0};
    bool bypass = false;                        // both ends in one site: media stays in the LAN
    uint64_t packets_up = 0, packets_down = 0;  // up = from the phone
    uint64_t bytes_up = 0, bytes_down = 0;
    // Media quality of the RTP relayed (rtp_quality.hpp): down = far side ->
    // phone, as it arrives at the public port, before the tunnel; up = phone
    // -> far side, as it comes out of the tunnel.
    RtpQuality quality_down, quality_up;
    // The RTP clock both directions count in (SDP rtpmap); 0: 8000 Hz.
    void set_clock(uint32_t hz)
    {
        quality_down.set_clock(hz);
        quality_up.set_clock(hz);
    }
};

struct RatEntry {
    size_t site = 0;
    uint64_t phone = 0;  // the phone's loopback endpoint (site + LAN address)
    std::string call_id, from, to;
    std::vector<RatStream> streams;
    int64_t created_ms = 0;
    int64_t last_activity_ms = 0;  // SIP of the dialog or media
    bool answered = false;
    // A response (above 100, or final) to the leg's first offer has been
    // seen; until then the offer_timeout runs.
    bool responded = false;
    in_addr_t source = 0;  // public IP whose SIP created the leg; 0: a phone's (or unknown)
    // The caller's From tag (of the message that created the leg): every
    // message of the dialog carries it in From or in To. Another dialog
    // naming the same Call-ID is not this call.
    std::string dialog_tag;
};

class Rat {
public:
    using Key = std::pair<uint64_t, std::string>;  // phone, Call-ID

    Rat(uint16_t hras_min, uint16_t hras_max) : hras_pool_(hras_min, hras_max, PortOrder::random) {}

    // The HRAC port range a site announced (first session; kept while in use).
    void set_site_ports(size_t site, uint16_t min, uint16_t max);

    RatEntry *find(uint64_t phone, const std::string &call_id);
    // source: the public IP whose SIP creates the leg (0: none), counted
    // for legs_of_source().
    RatEntry &get_or_create(size_t site, uint64_t phone, const std::string &call_id, int64_t now_ms,
                            in_addr_t source = 0);
    // Allocations for stream i of e (the stream vector grows as needed).
    // false when the pool is exhausted.
    bool allocate_hras(RatEntry &e, size_t i, int64_t now_ms = 0);
    bool allocate_hrac(RatEntry &e, size_t i);
    void release_hras(RatEntry &e, size_t i);
    // Takes stream i's HRAS port away from it and keeps it out of use until
    // until_ms (a port another program holds now); then the pool has it back.
    void park_hras(RatEntry &e, size_t i, int64_t until_ms);
    void release_hrac(RatEntry &e, size_t i);

    // Lookups for the media path.
    std::pair<RatEntry *, size_t> by_hras_port(uint16_t rtp_port);
    std::pair<RatEntry *, size_t> by_hrac_port(size_t site, uint16_t rtp_port);

    // Removes the entry; the caller has closed its sockets first. Returns
    // the HRAC ports it held (to send CLOSE_MEDIA for).
    std::vector<uint16_t> remove(uint64_t phone, const std::string &call_id);
    // Keys of entries with no activity since now - timeout.
    std::vector<Key> idle(int64_t now_ms, int64_t timeout_ms) const;

    size_t size() const { return entries_.size(); }
    size_t legs_of_site(size_t site) const;
    size_t legs_of_source(in_addr_t ip) const;
    const std::map<Key, std::unique_ptr<RatEntry>> &entries() const { return entries_; }
    const PortPool &hras_pool() const { return hras_pool_; }
    const PortPool *hrac_pool(size_t site) const;
    size_t hrac_ports_used() const;

private:
    PortPool hras_pool_;
    std::map<size_t, PortPool> hrac_pools_;
    // A range announced while the old one still had live calls: it takes
    // over when the last of them ends.
    std::map<size_t, std::pair<uint16_t, uint16_t>> pending_ranges_;
    std::map<Key, std::unique_ptr<RatEntry>> entries_;
    std::map<size_t, size_t> site_legs_;
    std::map<in_addr_t, size_t> source_legs_;
    std::map<uint16_t, std::pair<RatEntry *, size_t>> by_hras_;
    std::map<std::pair<size_t, uint16_t>, std::pair<RatEntry *, size_t>> by_hrac_;
};

}  // namespace sofw::hras
