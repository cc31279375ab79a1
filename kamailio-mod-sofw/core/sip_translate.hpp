// Address translation at the tunnel boundary. Kamailio writes the module's
// SIP socket address into the messages it sends to internal phones (top Via,
// Record-Route); internal phones must only ever see their HRAC's LAN address
// there, and what they send back (Route, Via of replies, Record-Route they
// copy) must read as Kamailio again. Both directions live here, side by side,
// so they stay symmetric. The body is never touched.
#pragma once
#include "sip_message.hpp"
#include "sofw/host_port.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace sofw::hras {

struct DownTranslation {  // Kamailio -> internal phone
    HostPort kamailio;    // the module's SIP socket, as Kamailio writes it
    HostPort hrac;        // the site's HRAC LAN SIP address
    HostPort phone_loop;  // the phone's loopback endpoint (the source Kamailio saw)
    HostPort phone_real;  // the phone's LAN address
};

struct UpTranslation {  // internal phone -> Kamailio
    HostPort hrac;
    HostPort kamailio;
};

// Edit the message's Via, Route and Record-Route values in place.
void translate_down(SipMessage &msg, const DownTranslation &t);
void translate_up(SipMessage &msg, const UpTranslation &t);

// The same on text, for a single question. nullopt: not a SIP message (no
// start line or no end of headers). A CRLF keep-alive (only whitespace)
// comes back unchanged.
std::optional<std::string> translate_down(std::string_view msg, const DownTranslation &t);
std::optional<std::string> translate_up(std::string_view msg, const UpTranslation &t);

}  // namespace sofw::hras
