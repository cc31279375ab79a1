// The probes of hrac-agent --check (check.hpp), each bounded in time:
// name resolution, a TCP connect, one plain curl request (forwarding,
// CONNECT, TLS), and the tunnel's own requests (a signed send, a short
// streaming session, a poll) run on the agent's CurlLoop/TunnelRequest
// under a libre loop that stops at a deadline.
#pragma once
#include "check.hpp"
#include "curl_loop.hpp"
#include "request_failure.hpp"
#include "tunnel_request.hpp"

#include <sys/socket.h>

#include <string>
#include <vector>

namespace hrac::check {

struct Address {
    sockaddr_storage addr{};
    socklen_t len = 0;
};
std::string address_text(const Address &a);  // "198.51.100.1:80"

struct Resolution {
    std::vector<Address> addresses;
    std::string error;  // empty: resolved
    double ms = 0;
};
// getaddrinfo() in a thread of its own, given up after timeout_s (the
// thread is left to finish by itself).
Resolution resolve(const std::string &host, uint16_t port, unsigned timeout_s);

// Tries the addresses in turn within timeout_s in all.
TcpOutcome tcp_connect(const std::vector<Address> &addresses, unsigned timeout_s);

// One curl request with the agent's proxy and TLS options.
struct EasyOutcome {
    CURLcode result = CURLE_OK;
    long status = 0;           // final response status
    long connect_code = 0;     // the proxy's answer to CONNECT
    bool proxy_error = false;  // the proxy said it made the answer itself (X-Squid-Error)
    bool auth_challenge = false;
    std::string refusal;  // refusal_reason() of the body
    std::string curl_error;
    double ms = 0;
};
enum class EasyKind {
    get,           // GET url
    connect_only,  // connect (through the proxy, with TLS for https://) and stop
    tunnel_only,   // CONNECT through the proxy to url's host:port, no TLS
};
EasyOutcome easy_request(const Config &config, const std::string &url, EasyKind kind, long timeout_s);

// The tunnel probes share one RequestContext (the proxy scheme learned by
// the first carries over) and one libre loop.
class TunnelProbes {
public:
    TunnelProbes(const Config &config, bool via_proxy, bool proxy_credentials);

    struct Result {
        bool works = false;
        Failure failure;      // when !works
        double ms = 0;        // until it worked
        int status = 0;       // HTTP status of the answer, if any
        std::string refusal;  // the reason a refusal gave ("bad_signature")
    };
    // One signed POST /sofw/v1/send with a keep-alive frame.
    Result authenticate(unsigned timeout_s);
    // GET /down and POST /up with a keep-alive: works once the GET's 200
    // (proven) and STREAM_OK have both arrived within timeout_s.
    Result stream(unsigned timeout_s);
    // A long poll answered within timeout_s.
    Result poll(unsigned timeout_s);

private:
    // Runs the loop until *finished or timeout_ms; false on the deadline.
    bool run(const bool &finished, uint64_t timeout_ms);

    CurlLoop loop_;
    RequestContext context_;
};

}  // namespace hrac::check
