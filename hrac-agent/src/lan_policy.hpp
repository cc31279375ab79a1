// The LAN stays closed: HRAS (or anyone in the middle holding the site
// secret) can make HRAC send SIP and media only to LAN endpoints that
// asked for it. Pure logic with the clock passed in; the relays ask it
// before every delivery and count and log its refusals.
//
// SIP goes to
//  - a registered phone: an ip:port that sent a REGISTER through HRAC and
//    was then sent a 2xx for it; it stays registered for the largest
//    expiry that 2xx (or else the REGISTER) states, default 3600 s, plus a
//    grace of 10 min for late refreshes; a 2xx to a REGISTER asking for
//    expiry 0 ends the registration;
//  - responses only: an ip:port that sent any SIP through HRAC within the
//    last 5 min (Timer C: an INVITE may ring for 3 min), so that a phone's
//    first REGISTER gets its 401 and an unregistered phone its answers.
// Media goes only to an endpoint a registered phone named itself: the
// c= address and m= port (RTP; the port + 1 for RTCP) of the SDP in the
// SIP that phone sent up through HRAC (its offers and answers), and only
// if that address is the phone's own IP. HRAS's word (OPEN_MEDIA's RA
// header, a media frame's RA header) is checked against that, never
// trusted: if OPEN_MEDIA named a phone, the endpoint must also have its IP.
// The same endpoints are the only LAN sources a media pair accepts
// (media_from_lan: strict source, no latching). An endpoint lives as long as
// the registration of the phone that named it, and at most
// media_endpoint_lifetime_ms after the phone last named it.
//
// Not checked: whether a destination lies in the LAN interface's subnet.
// Phones often sit in other routed subnets (voice VLANs); the rules above
// already stop HRAS from choosing a target no phone gave it.
//
// The tables live in memory: after a restart of HRAC a phone can be called
// again once it has re-registered (it answers its own calls meanwhile).
#pragma once
#include <sofw/ra_header.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace hrac {

class LanPolicy {
public:
    static constexpr uint64_t answer_window_ms = 5 * 60 * 1000;
    static constexpr uint64_t registration_grace_ms = 10 * 60 * 1000;
    static constexpr unsigned default_expires_s = 3600;
    // Beyond this many recent senders (a LAN host spraying spoofed
    // sources), new ones are not remembered: they get no answers.
    static constexpr size_t max_senders = 65536;
    // Media endpoints phones named in their SDP; beyond this many, new ones
    // are not remembered (their media is refused).
    static constexpr size_t default_max_media_endpoints = 4096;
    static constexpr uint64_t media_endpoint_lifetime_ms = 24 * 60 * 60 * 1000ull;

    // What sip_from_lan made of a SIP message's SDP, for the caller to
    // count and log.
    enum class Sdp {
        none,             // no SDP body (or none HRAC needs to read)
        recorded,         // its media endpoints were remembered
        unregistered,     // SDP from an endpoint that did not register through HRAC: ignored
        unreadable,       // SDP HRAC cannot read (sdp_scan.hpp): ignored
        foreign_address,  // it names an IP other than the phone's: that endpoint ignored
        table_full,       // max_media_endpoints reached: endpoint not remembered
    };

    explicit LanPolicy(size_t max_media_endpoints = default_max_media_endpoints)
        : max_media_endpoints_(max_media_endpoints)
    {}

    // A SIP datagram from the LAN went up to HRAS. Returns what became of
    // the SDP it carried.
    Sdp sip_from_lan(const sofw::RaHeader &src, const uint8_t *msg, size_t len, uint64_t now_ms);

    // Whether a SIP message from HRAS may go to dst. Records a
    // registration when it is the 2xx to dst's REGISTER. why: the reason
    // of a refusal.
    bool sip_to_lan(const sofw::RaHeader &dst, const uint8_t *msg, size_t len, uint64_t now_ms, std::string &why);

    // Whether an OPEN_MEDIA's RA header names a phone (not 0.0.0.0 / ::).
    static bool names_phone(const std::optional<sofw::RaHeader> &phone);

    // Whether media from a pair whose OPEN_MEDIA named phone may go to dst:
    // dst is an endpoint a registered phone named in its own SDP.
    bool media_to_lan(const std::optional<sofw::RaHeader> &phone, const sofw::RaHeader &dst, uint64_t now_ms,
                      std::string &why) const;
    // Whether a LAN datagram from src may enter a pair whose OPEN_MEDIA
    // named phone: the same rule as media_to_lan.
    bool media_from_lan(const std::optional<sofw::RaHeader> &phone, const sofw::RaHeader &src, uint64_t now_ms) const;

    bool registered(const sofw::RaHeader &endpoint, uint64_t now_ms) const;
    size_t registrations() const { return registered_.size(); }
    size_t media_endpoints() const { return media_.size(); }

private:
    struct Endpoint {
        uint8_t family = 4;
        std::array<uint8_t, 16> addr{};
        uint16_t port = 0;
        bool operator<(const Endpoint &o) const
        {
            if (family != o.family)
                return family < o.family;
            if (addr != o.addr)
                return addr < o.addr;
            return port < o.port;
        }
    };
    struct Sender {
        uint64_t last_ms = 0;           // any SIP
        bool registering = false;       // it sent a REGISTER ...
        uint64_t register_ms = 0;       // ... last at this time
        std::optional<unsigned> asked;  // that REGISTER's expiry
    };

    struct MediaEndpoint {
        Endpoint phone;         // the registration (SIP ip:port) that named it
        uint64_t named_ms = 0;  // last named in an SDP
    };

    static Endpoint endpoint_of(const sofw::RaHeader &ra);
    void purge(uint64_t now_ms);
    Sdp record_sdp(const Endpoint &phone, const sofw::RaHeader &src, const uint8_t *body, size_t body_len,
                   uint64_t now_ms);
    bool phone_media(const std::optional<sofw::RaHeader> &phone, const sofw::RaHeader &at, uint64_t now_ms,
                     std::string *why) const;

    std::map<Endpoint, Sender> senders_;
    std::map<Endpoint, uint64_t> registered_;  // -> until, ms
    std::map<Endpoint, MediaEndpoint> media_;  // RTP endpoint (ip:port) -> who named it
    size_t max_media_endpoints_;
    uint64_t last_purge_ms_ = 0;
};

}  // namespace hrac
