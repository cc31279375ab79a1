// Test helpers for the HRAS core without Kamailio: a non-blocking HTTP/1.1
// client over raw TCP that speaks the tunnel protocol (signed requests, an
// endless chunked downstream decoded with FrameDecoder, a chunked upstream
// of encoded frames), a UDP socket standing for Kamailio's sip_socket, and a
// driver that runs the EventLoop until a condition holds or a deadline passes.
// Everything runs on the test's one thread; nothing blocks.
#pragma once
#include "core/event_loop.hpp"
#include "sofw/auth.hpp"
#include "sofw/frame.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sofw::test {

class Pollable {
public:
    virtual ~Pollable() = default;
    virtual void poll() = 0;  // non-blocking: moves whatever bytes are ready
};

// One HTTP/1.1 request on its own TCP connection to 127.0.0.1:port.
class HttpConn : public Pollable {
public:
    explicit HttpConn(uint16_t port)
    {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd_ < 0)
            throw std::runtime_error("socket failed");
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd_, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0 && errno != EINPROGRESS)
            throw std::runtime_error("connect failed");
    }
    ~HttpConn() override
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    HttpConn(const HttpConn &) = delete;
    HttpConn &operator=(const HttpConn &) = delete;

    void write(const std::string &bytes)
    {
        out_ += bytes;
        flush();
    }
    // Our end closes the connection (HRAC dropping a channel).
    void close()
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
        closed_ = true;
    }

    void poll() override
    {
        flush();
        char buf[16384];
        while (fd_ >= 0 && !closed_) {
            ssize_t n = recv(fd_, buf, sizeof buf, 0);
            if (n > 0) {
                in_.append(buf, size_t(n));
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                closed_ = true;
            break;
        }
        parse();
    }

    int status() const { return status_; }  // 0 until the response header is in
    std::string header(const std::string &name) const
    {
        for (auto &kv : headers_)
            if (strcasecmp(kv.first.c_str(), name.c_str()) == 0)
                return kv.second;
        return "";
    }
    bool has_header(const std::string &name) const
    {
        for (auto &kv : headers_)
            if (strcasecmp(kv.first.c_str(), name.c_str()) == 0)
                return true;
        return false;
    }
    const std::string &body() const { return body_; }  // de-chunked
    bool body_complete() const { return body_complete_; }
    bool closed() const { return closed_; }  // peer closed or reset (or we did)
    bool framing_error() const { return framing_error_; }

private:
    void flush()
    {
        while (fd_ >= 0 && !out_.empty()) {
            ssize_t n = send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
            if (n > 0) {
                out_.erase(0, size_t(n));
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ENOTCONN))
                return;  // not connected yet or socket buffer full: later
            closed_ = true;
            return;
        }
    }

    void parse()
    {
        if (status_ == 0) {
            auto end = in_.find("\r\n\r\n");
            if (end == std::string::npos)
                return;
            std::string head = in_.substr(0, end);
            in_.erase(0, end + 4);
            size_t eol = head.find("\r\n");
            std::string line = head.substr(0, eol);
            if (line.compare(0, 9, "HTTP/1.1 ") != 0 && line.compare(0, 9, "HTTP/1.0 ") != 0) {
                framing_error_ = true;
                return;
            }
            status_ = atoi(line.c_str() + 9);
            while (eol != std::string::npos) {
                size_t start = eol + 2;
                eol = head.find("\r\n", start);
                std::string h = head.substr(start, eol == std::string::npos ? std::string::npos : eol - start);
                auto colon = h.find(':');
                if (colon == std::string::npos)
                    continue;
                size_t v = colon + 1;
                while (v < h.size() && h[v] == ' ')
                    v++;
                headers_.emplace_back(h.substr(0, colon), h.substr(v));
            }
            chunked_ = strcasecmp(header("Transfer-Encoding").c_str(), "chunked") == 0;
            if (!chunked_ && has_header("Content-Length"))
                remaining_ = std::stoll(header("Content-Length"));
        }
        if (body_complete_ || framing_error_)
            return;
        if (!chunked_) {
            if (remaining_ >= 0) {
                size_t n = std::min<size_t>(size_t(remaining_), in_.size());
                body_.append(in_, 0, n);
                in_.erase(0, n);
                remaining_ -= int64_t(n);
                body_complete_ = remaining_ == 0;
            } else {  // delimited by the end of the connection
                body_ += in_;
                in_.clear();
                body_complete_ = closed_;
            }
            return;
        }
        for (;;) {  // chunk-size CRLF data CRLF ... 0 CRLF CRLF
            if (chunk_left_ < 0) {
                auto eol = in_.find("\r\n");
                if (eol == std::string::npos)
                    return;
                char *end = nullptr;
                long long n = strtoll(in_.c_str(), &end, 16);
                if (end == in_.c_str() || n < 0) {
                    framing_error_ = true;
                    return;
                }
                in_.erase(0, eol + 2);
                chunk_left_ = n;
                if (n == 0) {
                    body_complete_ = true;  // trailers ignored
                    return;
                }
            }
            size_t n = std::min<size_t>(size_t(chunk_left_), in_.size());
            body_.append(in_, 0, n);
            in_.erase(0, n);
            chunk_left_ -= int64_t(n);
            if (chunk_left_ > 0)
                return;
            if (in_.size() < 2)
                return;  // chunk_left_ == 0: waiting for the CRLF after the data
            if (in_.compare(0, 2, "\r\n") != 0) {
                framing_error_ = true;
                return;
            }
            in_.erase(0, 2);
            chunk_left_ = -1;
        }
    }

    int fd_ = -1;
    std::string out_, in_, body_;
    bool closed_ = false;
    int status_ = 0;
    std::vector<std::pair<std::string, std::string>> headers_;
    bool chunked_ = false;
    int64_t remaining_ = -1;   // Content-Length left, -1: none
    int64_t chunk_left_ = -1;  // -1: expecting a chunk-size line
    bool body_complete_ = false;
    bool framing_error_ = false;
};

inline uint64_t unix_now() { return uint64_t(::time(nullptr)); }

// The fields of one tunnel request and how it is signed; tests bend them to
// provoke each authentication failure.
struct TunnelRequest {
    std::string method = "GET";
    std::string path = "/sofw/v1/down";
    std::string site;
    std::string secret;     // the key used to sign (wrong on purpose in some tests)
    std::string session = random_hex(16);
    std::string lan = "10.0.0.2:5060";
    uint64_t time = unix_now();
    std::string nonce = random_hex(16);

    AuthRequest auth() const { return AuthRequest{method, path, site, session, lan, time, nonce}; }
    std::string expected_proof() const { return sign_server_proof(secret, auth()); }

    std::string http() const
    {
        std::string r = method + " " + path + " HTTP/1.1\r\n"
                        "Host: 127.0.0.1\r\n";
        r += std::string(hdr::site) + ": " + site + "\r\n";
        r += std::string(hdr::session) + ": " + session + "\r\n";
        r += std::string(hdr::lan) + ": " + lan + "\r\n";
        r += std::string(hdr::time) + ": " + std::to_string(time) + "\r\n";
        r += std::string(hdr::nonce) + ": " + nonce + "\r\n";
        r += std::string(hdr::signature) + ": " + sign_request(secret, auth()) + "\r\n";
        if (method == "POST")
            r += "Content-Type: application/x-sofw-frames\r\nTransfer-Encoding: chunked\r\n";
        return r + "\r\n";
    }
};

inline std::unique_ptr<HttpConn> send_request(uint16_t port, const TunnelRequest &r)
{
    auto c = std::make_unique<HttpConn>(port);
    c->write(r.http());
    return c;
}

inline std::string chunk(const std::string &data)
{
    char len[32];
    snprintf(len, sizeof len, "%zx\r\n", data.size());
    return len + data + "\r\n";
}

inline std::string bytes(const std::vector<uint8_t> &v) { return std::string(v.begin(), v.end()); }

// HRAC's side of one session: the downstream GET and the upstream POST.
class TunnelClient : public Pollable {
public:
    TunnelClient(uint16_t port, std::string site, std::string secret, std::string lan = "10.0.0.2:5060")
        : port_(port), site_(std::move(site)), secret_(std::move(secret)), lan_(std::move(lan)),
          session_(random_hex(16))
    {
    }

    TunnelRequest request(const std::string &method, const std::string &path) const
    {
        TunnelRequest r;
        r.method = method;
        r.path = path;
        r.site = site_;
        r.secret = secret_;
        r.session = session_;
        r.lan = lan_;
        return r;
    }
    void open_down()
    {
        down_req_ = request("GET", "/sofw/v1/down");
        down = send_request(port_, down_req_);
    }
    void open_up()
    {
        up = send_request(port_, request("POST", "/sofw/v1/up"));
    }
    void open()
    {
        open_down();
        open_up();
    }

    // One frame as one HTTP chunk; send_raw cuts the stream anywhere.
    void send_frame(const Frame &f) { up->write(chunk(bytes(encode_frame(f)))); }
    void send_raw(const std::string &data) { up->write(chunk(data)); }

    void poll() override
    {
        for (auto *c : {down.get(), up.get()})
            if (c)
                c->poll();
        if (!down || down->status() != 200)
            return;
        const std::string &b = down->body();
        if (b.size() > fed_) {
            decoder_.feed(reinterpret_cast<const uint8_t *>(b.data()) + fed_, b.size() - fed_);
            fed_ = b.size();
        }
        Frame f;
        for (;;) {
            auto r = decoder_.next(f);
            if (r != FrameDecoder::Result::frame)
                break;
            frames.push_back(f);
        }
    }

    // The downstream is open and HRAS proved it holds the site secret.
    bool down_ok() const
    {
        return down && down->status() == 200 && down->header(hdr::server_signature) == down_req_.expected_proof();
    }
    bool both_closed() const { return down && up && down->closed() && up->closed(); }
    bool decode_error() const { return decoder_.error() != DecodeError::none; }
    size_t count(FrameType t) const
    {
        size_t n = 0;
        for (auto &f : frames)
            n += f.type == t;
        return n;
    }
    const std::string &session() const { return session_; }
    const TunnelRequest &down_request() const { return down_req_; }

    std::unique_ptr<HttpConn> down, up;
    std::vector<Frame> frames;  // decoded from the downstream, in order

private:
    uint16_t port_;
    std::string site_, secret_, lan_, session_;
    TunnelRequest down_req_;
    FrameDecoder decoder_;
    size_t fed_ = 0;
};

// A UDP socket on 127.0.0.1:<ephemeral>, e.g. standing for Kamailio's
// sip_socket; poll() collects what arrives in `received`.
class UdpSocket : public Pollable {
public:
    explicit UdpSocket(const char *ip = "127.0.0.1")
    {
        fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        inet_pton(AF_INET, ip, &sa.sin_addr);
        socklen_t len = sizeof sa;
        if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0 ||
            getsockname(fd_, reinterpret_cast<sockaddr *>(&sa), &len) != 0)
            throw std::runtime_error("cannot bind a UDP socket");
        port_ = ntohs(sa.sin_port);
    }
    ~UdpSocket() override { ::close(fd_); }
    UdpSocket(const UdpSocket &) = delete;
    UdpSocket &operator=(const UdpSocket &) = delete;

    uint16_t port() const { return port_; }

    struct Datagram {
        std::string from_ip;
        uint16_t from_port;
        std::string data;
    };
    std::optional<Datagram> recv()
    {
        char buf[65536];
        sockaddr_in from{};
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr *>(&from), &flen);
        if (n < 0)
            return std::nullopt;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
        return Datagram{ip, ntohs(from.sin_port), std::string(buf, size_t(n))};
    }
    void poll() override
    {
        while (auto d = recv())
            received.push_back(std::move(*d));
    }
    std::vector<Datagram> received;
    bool send_to(const std::string &ip, uint16_t port, const std::string &data)
    {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        inet_pton(AF_INET, ip.c_str(), &to.sin_addr);
        return sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr *>(&to), sizeof to) ==
               ssize_t(data.size());
    }

private:
    int fd_ = -1;
    uint16_t port_ = 0;
};

// Runs the event loop in small steps, polling the clients between steps.
class Driver {
public:
    explicit Driver(hras::EventLoop &loop) : loop_(loop) {}
    void watch(Pollable *p) { polled_.push_back(p); }
    void unwatch(Pollable *p) { polled_.erase(std::remove(polled_.begin(), polled_.end(), p), polled_.end()); }

    // True as soon as cond() holds; false when timeout_ms passed first.
    bool until(const std::function<bool()> &cond, int timeout_ms = 2000)
    {
        int64_t deadline = hras::now_ms() + timeout_ms;
        for (;;) {
            poll_all();
            if (cond())
                return true;
            if (hras::now_ms() >= deadline)
                return false;
            loop_.run_once(5);
        }
    }
    // Keeps everything running for ms (for "nothing happens" checks); the
    // optional step runs on each pass, e.g. to send traffic.
    void run_for(int ms, const std::function<void()> &step = {})
    {
        int64_t deadline = hras::now_ms() + ms;
        while (hras::now_ms() < deadline) {
            poll_all();
            if (step)
                step();
            loop_.run_once(5);
        }
        poll_all();
    }

private:
    void poll_all()
    {
        for (auto *p : polled_)
            p->poll();
    }
    hras::EventLoop &loop_;
    std::vector<Pollable *> polled_;
};

} // namespace sofw::test
