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
// Media from an open pair goes to the IP its OPEN_MEDIA named (any port,
// so RTCP works) or, if it named none, to the IP of a registered phone.
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

    // A SIP datagram from the LAN went up to HRAS.
    void sip_from_lan(const sofw::RaHeader &src, const uint8_t *msg, size_t len, uint64_t now_ms);

    // Whether a SIP message from HRAS may go to dst. Records a
    // registration when it is the 2xx to dst's REGISTER. why: the reason
    // of a refusal.
    bool sip_to_lan(const sofw::RaHeader &dst, const uint8_t *msg, size_t len, uint64_t now_ms, std::string &why);

    // Whether an OPEN_MEDIA's RA header names a phone (not 0.0.0.0 / ::).
    static bool names_phone(const std::optional<sofw::RaHeader> &phone);

    // Whether media from a pair whose OPEN_MEDIA named phone may go to dst.
    // now_ms is only read when phone names nobody: callers on the media
    // hot path may pass 0 then and spare the clock read.
    bool media_to_lan(const std::optional<sofw::RaHeader> &phone, const sofw::RaHeader &dst, uint64_t now_ms,
                      std::string &why) const;

    bool registered(const sofw::RaHeader &endpoint, uint64_t now_ms) const;
    size_t registrations() const { return registered_.size(); }

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

    static Endpoint endpoint_of(const sofw::RaHeader &ra);
    void purge(uint64_t now_ms);

    std::map<Endpoint, Sender> senders_;
    std::map<Endpoint, uint64_t> registered_;  // -> until, ms
    uint64_t last_purge_ms_ = 0;
};

}  // namespace hrac
