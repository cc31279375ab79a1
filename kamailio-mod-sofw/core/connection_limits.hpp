// Who may hold a connection to the tunnel server, and for how long before
// it has said what it wants. The tunnel port faces the Internet: without
// limits 2,000 idle connections from one host filled libmicrohttpd's slots
// and locked every site out. Three rules, each a modparam:
//   - at most max_total connections open (tunnel_max_connections);
//   - at most max_per_ip from one address (tunnel_max_connections_per_ip);
//   - a connection must deliver a complete request (TLS handshake and
//     headers) within header_timeout_ms of being accepted, or of the end of
//     its previous request (tunnel_header_timeout). A request accepted as a
//     tunnel channel (streaming GET/POST, long poll, send) is exempt while
//     it lasts: those are long-lived by design and carry keep-alives, which
//     the tunnel server's own silence rules watch. So a slowloris that
//     trickles header bytes is cut, a streaming session is not.
// This class keeps the books only (no sockets, no libmicrohttpd), so the
// rules are tested on their own; the tunnel server wires it to
// libmicrohttpd's accept policy and connection notifications.
#pragma once
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

namespace sofw::hras {

struct ConnectionLimitsConfig {
    size_t max_total = 1000;
    size_t max_per_ip = 32;
    int64_t header_timeout_ms = 10000;
};

class ConnectionLimits {
public:
    enum class Verdict { accept, total_full, ip_full };
    struct Conn {
        std::string ip;
        int fd = -1;
        uint64_t inode = 0;         // of its socket: tells a reused descriptor number apart
        int64_t waiting_since = 0;  // when it started owing a complete request
        bool in_channel = false;    // its current request is a tunnel channel
        bool cut = false;           // reported overdue (once)
        std::list<Conn>::iterator self;  // its place in the list (O(1) close)
    };

    explicit ConnectionLimits(ConnectionLimitsConfig cfg) : cfg_(cfg) {}

    // At accept, before the connection is taken.
    Verdict admit(const std::string &ip) const;
    // The connection was taken (libmicrohttpd's STARTED) / is gone (CLOSED).
    Conn *opened(const std::string &ip, int fd, int64_t now_ms);
    void closed(Conn *c);
    // Its request was accepted as a tunnel channel / that request ended
    // (the next one owes complete headers within the timeout again).
    static void channel_started(Conn *c) { c->in_channel = true; }
    static void request_done(Conn *c, int64_t now_ms);
    // Connections that owe a complete request for longer than the timeout,
    // each reported once.
    std::vector<Conn *> overdue(int64_t now_ms);
    // True while fd is still the socket the connection was opened with.
    static bool same_socket(const Conn *c);

    size_t open() const { return conns_.size(); }
    size_t open_from(const std::string &ip) const;
    const ConnectionLimitsConfig &config() const { return cfg_; }
    void set_max_total(size_t n) { cfg_.max_total = n; }

private:
    ConnectionLimitsConfig cfg_;
    std::list<Conn> conns_;
    std::unordered_map<std::string, size_t> per_ip_;
};

const char *verdict_name(ConnectionLimits::Verdict v);

// The descriptor budget of the relay process: raises RLIMIT_NOFILE's soft
// limit towards the hard limit until `wanted` descriptors fit, and returns
// the soft limit it ended with (>= wanted when that was possible).
size_t raise_descriptor_limit(size_t wanted);

}  // namespace sofw::hras
