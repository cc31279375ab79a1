// HRAC's SIP socket on the LAN (papers §2.4): every datagram a phone sends
// to it goes up the tunnel as a SIP frame whose RA header names the phone;
// every SIP frame coming down is sent from this socket to the phone its RA
// header names, if the LAN policy lets it (lan_policy.hpp). HRAC does not
// rewrite SIP: HRAS does.
#pragma once
#include "config.hpp"
#include "counters.hpp"
#include "lan_policy.hpp"
#include <sofw/log_limiter.hpp>
#include "re_handle.hpp"
#include "tunnel.hpp"

#include <sofw/frame.hpp>

namespace hrac {

class SipRelay {
public:
    SipRelay(const Config &config, Tunnel &tunnel, Counters &counters, LanPolicy &policy);
    SipRelay(const SipRelay &) = delete;
    SipRelay &operator=(const SipRelay &) = delete;

    // Binds config.sip_listen. Returns 0 or an errno value.
    int open();
    void close();

    // A downstream SIP frame: send its payload to the LAN endpoint, or
    // refuse it (counted, logged at most once a second).
    void deliver(const sofw::Frame &frame);

private:
    static void on_datagram(const struct sa *src, struct mbuf *mb, void *relay);
    void raise_receive_buffer();
    void count_sdp(const sofw::RaHeader &src, LanPolicy::Sdp sdp);

    const Config &config_;
    Tunnel &tunnel_;
    Counters &counters_;
    LanPolicy &policy_;
    sofw::LogLimiter refusal_log_{1000};
    sofw::LogLimiter sdp_log_{1000};
    ReRef<udp_sock> sock_;
    struct sa sock_local_ {};
};

}  // namespace hrac
