// Test helpers for the HRAS core without Kamailio: a non-blocking HTTP/1.1
// client over raw TCP (or GnuTLS) that speaks the tunnel protocol (signed
// requests; records keyed from the opening request and the server nonce;
// an endless chunked downstream of records, a chunked upstream of sealed
// frames opened once the keys exist; long polls and Content-Length send
// batches; lanes: X-SoFW-Lanes on the opening GET, then each lane's GET and
// POST with its own keys), a UDP socket standing for Kamailio's sip_socket, and a driver
// that runs the EventLoop until a condition holds or a deadline passes.
// The client also keeps which frames came down together in one record
// (RecordLog), to see what shared a write.
// Everything runs on the test's one thread; nothing blocks.
#pragma once
#include "core/event_loop.hpp"
#include "sofw/auth.hpp"
#include "sofw/frame.hpp"
#include "sofw/record.hpp"
#include "sofw/tunnel_http.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sofw::test {

// The two sites the HRAS tests configure, and how soon "promptly" is: well
// under the server's 1 s tick.
const std::string acme_secret = "acme-0123456789abcdef";
const std::string beta_secret = "beta-0123456789abcdef";
constexpr int prompt_ms = 500;

class Pollable {
public:
    virtual ~Pollable() = default;
    virtual void poll() = 0;  // non-blocking: moves whatever bytes are ready
};

// Client side TLS: PEM files; the server certificate must be for 127.0.0.1.
struct TlsOptions {
    std::string ca_file;              // trust anchor for the server certificate
    std::string cert_file, key_file;  // client certificate (optional)
};

// One HTTP/1.1 request on its own TCP connection to 127.0.0.1:port, over
// TLS if tls is given.
class HttpConn : public Pollable {
public:
    explicit HttpConn(uint16_t port, const TlsOptions *tls = nullptr)
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
        if (tls)
            start_tls(*tls);
    }
    ~HttpConn() override
    {
        if (tls_)
            gnutls_deinit(tls_);
        if (cred_)
            gnutls_certificate_free_credentials(cred_);
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
            if (tls_) {
                if (!handshake())
                    break;
                ssize_t n = gnutls_record_recv(tls_, buf, sizeof buf);
                if (n > 0) {
                    in_.append(buf, size_t(n));
                    continue;
                }
                if (n != GNUTLS_E_AGAIN && n != GNUTLS_E_INTERRUPTED)
                    closed_ = true;
                break;
            }
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

private:
    void start_tls(const TlsOptions &o)
    {
        if (gnutls_certificate_allocate_credentials(&cred_) < 0)
            throw std::runtime_error("gnutls credentials");
        if (!o.ca_file.empty() &&
            gnutls_certificate_set_x509_trust_file(cred_, o.ca_file.c_str(), GNUTLS_X509_FMT_PEM) <= 0)
            throw std::runtime_error("cannot load " + o.ca_file);
        if (!o.cert_file.empty() && gnutls_certificate_set_x509_key_file(cred_, o.cert_file.c_str(), o.key_file.c_str(),
                                                                         GNUTLS_X509_FMT_PEM) < 0)
            throw std::runtime_error("cannot load " + o.cert_file);
        if (gnutls_init(&tls_, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) < 0)
            throw std::runtime_error("gnutls_init");
        gnutls_set_default_priority(tls_);
        gnutls_credentials_set(tls_, GNUTLS_CRD_CERTIFICATE, cred_);
        gnutls_session_set_verify_cert(tls_, "127.0.0.1", 0);
        gnutls_transport_set_int(tls_, fd_);
    }
    // Drives the TLS handshake; true once it is done.
    bool handshake()
    {
        if (handshaken_)
            return true;
        if (closed_ || fd_ < 0)
            return false;
        sockaddr_in peer{};
        socklen_t len = sizeof peer;
        if (getpeername(fd_, reinterpret_cast<sockaddr *>(&peer), &len) != 0) {
            int err = 0;
            socklen_t elen = sizeof err;
            getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &elen);
            if (err != 0 && err != EINPROGRESS)
                closed_ = true;
            return false;  // still connecting
        }
        int r = gnutls_handshake(tls_);
        if (r == 0) {
            handshaken_ = true;
            return true;
        }
        if (gnutls_error_is_fatal(r))
            closed_ = true;
        return false;
    }

    void flush()
    {
        while (tls_ && !closed_ && !out_.empty()) {
            if (!handshake())
                return;
            // After GNUTLS_E_AGAIN the same record must be offered again.
            size_t len = tls_pending_ ? tls_pending_ : std::min<size_t>(out_.size(), 16384);
            ssize_t n = gnutls_record_send(tls_, out_.data(), len);
            if (n > 0) {
                out_.erase(0, size_t(n));
                tls_pending_ = 0;
                continue;
            }
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
                tls_pending_ = len;
                return;
            }
            closed_ = true;
        }
        while (!tls_ && fd_ >= 0 && !out_.empty()) {
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
    gnutls_certificate_credentials_t cred_ = nullptr;
    gnutls_session_t tls_ = nullptr;
    bool handshaken_ = false;
    size_t tls_pending_ = 0;
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
    std::string secret;  // the key used to sign (wrong on purpose in some tests)
    std::string session = random_hex(16);
    std::string lan = "10.0.0.2:5060";
    uint64_t time = unix_now();
    std::string nonce = random_hex(16);
    std::optional<std::string> body;  // a POST with Content-Length (else chunked)
    std::string extra;                // more header lines, each ending in CRLF

    AuthRequest auth() const { return AuthRequest{method, path, site, session, lan, time, nonce}; }
    // The proof HRAS must send with server nonce ns.
    std::string expected_proof(const std::string &ns) const { return sign_server_proof(secret, auth(), ns); }

    std::string http() const
    {
        std::string r = method + " " + path +
                        " HTTP/1.1\r\n"
                        "Host: 127.0.0.1\r\n";
        r += std::string(hdr::site) + ": " + site + "\r\n";
        r += std::string(hdr::session) + ": " + session + "\r\n";
        r += std::string(hdr::lan) + ": " + lan + "\r\n";
        r += std::string(hdr::time) + ": " + std::to_string(time) + "\r\n";
        r += std::string(hdr::nonce) + ": " + nonce + "\r\n";
        r += std::string(hdr::signature) + ": " + sign_request(secret, auth()) + "\r\n";
        r += extra;
        if (method == "POST" && body)
            return r + "Content-Type: application/x-sofw-frames\r\nContent-Length: " + std::to_string(body->size()) +
                   "\r\n\r\n" + *body;
        if (method == "POST")
            r += "Content-Type: application/x-sofw-frames\r\nTransfer-Encoding: chunked\r\n";
        return r + "\r\n";
    }
};

inline std::unique_ptr<HttpConn> send_request(uint16_t port, const TunnelRequest &r, const TlsOptions *tls = nullptr)
{
    auto c = std::make_unique<HttpConn>(port, tls);
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

// The records of one down channel, each as the frames it held: opened
// beside the client's own decoder, from the same bytes with the same key.
class RecordLog {
public:
    void reset(const DirectionKey &k) { opener_.reset(k); }
    void feed(const uint8_t *data, size_t len)
    {
        opener_.feed(data, len);
        while (opener_.next(plain_) == RecordDecoder::Result::record) {
            FrameDecoder d;
            d.feed(plain_.data(), plain_.size());
            std::vector<Frame> held;
            Frame f;
            while (d.next(f) == FrameDecoder::Result::frame)
                held.push_back(f);
            records.push_back(std::move(held));
        }
    }
    std::vector<std::vector<Frame>> records;  // in order of arrival

private:
    RecordDecoder opener_;
    std::vector<uint8_t> plain_;
};

// HRAC's side of one session: the downstream GET and the upstream POST
// (streaming), or long polls and send batches (polling), each request on a
// connection of its own.
class TunnelClient : public Pollable {
public:
    TunnelClient(uint16_t port, std::string site, std::string secret, std::string lan = "10.0.0.2:5060",
                 const TlsOptions *tls = nullptr)
        : port_(port), site_(std::move(site)), secret_(std::move(secret)), lan_(std::move(lan)),
          session_(random_hex(16)), tls_(tls)
    {}

    // One request of a polling session and, for a poll, the frames of its answer.
    struct Short {
        TunnelRequest req;
        std::unique_ptr<HttpConn> conn;
        bool done = false;          // complete response seen (and decoded)
        std::vector<Frame> frames;  // poll: the answer's frames
        bool decode_error = false;

        int status() const { return conn->status(); }
        bool proof_ok() const
        {
            const std::string ns = conn->header(hdr::server_nonce);
            return ns.size() == 32 && conn->header(hdr::server_signature) == req.expected_proof(ns);
        }
    };

    TunnelRequest request(const std::string &method, const std::string &path) const
    {
        TunnelRequest r;
        r.method = method;
        r.path = path;
        r.site = site_;
        r.secret = secret_;
        r.session = session_;
        r.lan = lan_;
        r.extra = extra_headers;
        return r;
    }
    void open_down()
    {
        down_req_ = request("GET", "/sofw/v1/down");
        if (lanes_asked)
            down_req_.extra += std::string(hdr::lanes) + ": " + std::to_string(lanes_asked) + "\r\n";
        down = send_request(port_, down_req_, tls_);
    }
    // As HRAC does: the POST goes out once the keys exist (the GET's 200);
    // what is sent before waits.
    void open_up() { want_up_ = true; }
    void open()
    {
        open_down();
        open_up();
    }

    // GET /sofw/v1/poll; its answer's frames also go to `frames`.
    Short &start_poll()
    {
        polls.push_back(std::make_unique<Short>());
        Short &p = *polls.back();
        p.req = request("GET", "/sofw/v1/poll");
        p.conn = send_request(port_, p.req, tls_);
        return p;
    }
    // POST /sofw/v1/send with a Content-Length body.
    Short &send_batch(const std::string &body)
    {
        sends.push_back(std::make_unique<Short>());
        Short &p = *sends.back();
        p.req = request("POST", "/sofw/v1/send");
        p.req.body = body;
        p.conn = send_request(port_, p.req, tls_);
        return p;
    }
    // One lane (1..) of a streaming session, as HRAC opens it once lane
    // 0's 200 named the lanes: the GET, and the POST after the GET's 200.
    struct Lane {
        TunnelRequest down_req;
        std::unique_ptr<HttpConn> down, up;
        RecordSealer sealer;
        RecordFrameDecoder decoder;
        RecordLog log;
        size_t fed = 0;
        std::string pending_up;
        std::vector<Frame> frames;  // decoded from this lane's downstream, in order

        // Open, with HRAS's proof over this request and the session's nonce.
        bool down_ok(const std::string &session_nonce) const
        {
            return down && down->status() == 200 && down->header(hdr::server_nonce) == session_nonce &&
                   down->header(hdr::server_signature) == down_req.expected_proof(session_nonce);
        }
    };
    // The lanes lane 0's 200 gave (X-SoFW-Lanes; 1 without it), 0 before it.
    unsigned lane_count() const
    {
        if (!down || down->status() != 200)
            return 0;
        auto n = parse_lanes_value(down->header(hdr::lanes));
        return n ? *n : 1;
    }
    bool lanes_ok() const
    {
        if (!down_ok() || lane_count() != lanes.size() + 1)
            return false;
        for (auto &l : lanes)
            if (!l->down_ok(server_nonce_) || !l->up)
                return false;
        return true;
    }
    // Lane 0 is send_frame(); the others seal with their own keys.
    void send_frame_on(unsigned lane, const Frame &f)
    {
        if (lane == 0)
            return send_frame(f);
        Lane &l = *lanes.at(lane - 1);
        std::vector<uint8_t> out;
        std::string wire = bytes(encode_frame(f));
        if (l.sealer.seal(reinterpret_cast<const uint8_t *>(wire.data()), wire.size(), out) != RecordError::none)
            throw std::logic_error("seal() failed");
        if (l.up)
            l.up->write(chunk(bytes(out)));
        else
            l.pending_up += chunk(bytes(out));
    }
    // The frames lane (0..) brought down so far.
    const std::vector<Frame> &frames_of(unsigned lane) const { return lane == 0 ? frames : lanes.at(lane - 1)->frames; }
    // The records lane (0..) brought down so far (lane 0: poll answers too).
    const std::vector<std::vector<Frame>> &records_of(unsigned lane) const
    {
        return lane == 0 ? log_.records : lanes.at(lane - 1)->log.records;
    }

    // The frames as one record.
    Short &send_frames(const std::vector<Frame> &fs)
    {
        std::string frames;
        for (auto &f : fs)
            frames += bytes(encode_frame(f));
        return send_batch(seal(frames));
    }

    // The next up record holding these frame bytes (needs the keys).
    std::string seal(const std::string &frames)
    {
        if (!keyed())
            throw std::logic_error("seal() before the session has keys");
        std::vector<uint8_t> out;
        if (sealer_.seal(reinterpret_cast<const uint8_t *>(frames.data()), frames.size(), out) != RecordError::none)
            throw std::logic_error("seal() failed");
        return bytes(out);
    }
    // One frame as one record in one HTTP chunk; send_raw sends any bytes
    // (records cut anywhere, or forged ones) as one chunk.
    void send_frame(const Frame &f) { send_raw(seal(bytes(encode_frame(f)))); }
    void send_raw(const std::string &data)
    {
        if (up)
            up->write(chunk(data));
        else
            pending_up_ += chunk(data);
    }
    bool keyed() const { return !server_nonce_.empty(); }
    const std::string &server_nonce() const { return server_nonce_; }

    void poll() override
    {
        for (auto *c : {down.get(), up.get()})
            if (c)
                c->poll();
        for (auto *list : {&polls, &sends})
            for (auto &p : *list) {
                p->conn->poll();
                if (p->done || !p->conn->body_complete())
                    continue;
                p->done = true;
                if (list != &polls || p->status() != 200)
                    continue;
                key_from(p->req, *p->conn);
                decoder_.feed(reinterpret_cast<const uint8_t *>(p->conn->body().data()), p->conn->body().size());
                log_.feed(reinterpret_cast<const uint8_t *>(p->conn->body().data()), p->conn->body().size());
                Frame f;
                while (decoder_.next(f) == RecordFrameDecoder::Result::frame) {
                    p->frames.push_back(f);
                    frames.push_back(f);
                }
                p->decode_error = decoder_.end_of_body() != RecordError::none;
            }
        if (!down || down->status() != 200)
            return;
        if (!keyed())  // a later poll of the same id may have re-keyed (a switch to polling)
            key_from(down_req_, *down);
        if (want_up_ && !up && keyed()) {
            up = send_request(port_, request("POST", "/sofw/v1/up"), tls_);
            up->write(pending_up_);
            pending_up_.clear();
        }
        const std::string &b = down->body();
        if (b.size() > fed_) {
            decoder_.feed(reinterpret_cast<const uint8_t *>(b.data()) + fed_, b.size() - fed_);
            log_.feed(reinterpret_cast<const uint8_t *>(b.data()) + fed_, b.size() - fed_);
            fed_ = b.size();
        }
        Frame f;
        for (;;) {
            auto r = decoder_.next(f);
            if (r != RecordFrameDecoder::Result::frame)
                break;
            frames.push_back(f);
        }
        poll_lanes();
    }

    // The downstream is open and HRAS proved it holds the site secret.
    bool down_ok() const
    {
        const std::string ns = down ? down->header(hdr::server_nonce) : "";
        return down && down->status() == 200 && ns.size() == 32 &&
               down->header(hdr::server_signature) == down_req_.expected_proof(ns);
    }
    bool both_closed() const { return down && up && down->closed() && up->closed(); }
    bool decode_error() const { return decoder_.error() != RecordError::none; }
    size_t count(FrameType t) const
    {
        size_t n = 0;
        for (auto &f : frames)
            n += f.type == t;
        return n;
    }
    const std::string &session() const { return session_; }
    const TunnelRequest &down_request() const { return down_req_; }

    std::string extra_headers;  // on every request, e.g. X-SoFW-Media-Ports
    std::unique_ptr<HttpConn> down, up;
    std::vector<std::unique_ptr<Short>> polls, sends;
    std::vector<Frame> frames;  // decoded from the downstream (or poll answers), in order

    unsigned lanes_asked = 0;  // X-SoFW-Lanes on the opening GET (0: none)
    bool open_lanes = true;    // open the lanes the 200 gives, as HRAC does
    std::vector<std::unique_ptr<Lane>> lanes;  // lanes 1.. (lanes[0] is lane 1)

private:
    void poll_lanes()
    {
        if (open_lanes && keyed() && lanes.empty())
            for (unsigned i = 1; i < lane_count(); i++) {
                auto l = std::make_unique<Lane>();
                SessionKeys keys;
                if (!derive_session_keys(secret_, session_, down_req_.nonce, server_nonce_, keys, i))
                    throw std::logic_error("no lane keys");
                l->sealer.reset(keys.up);
                l->decoder.reset(keys.down);
                l->log.reset(keys.down);
                l->down_req = request("GET", lane_path(sofw::Channel::down, i));
                l->down = send_request(port_, l->down_req, tls_);
                lanes.push_back(std::move(l));
            }
        for (size_t i = 0; i < lanes.size(); i++) {
            Lane &l = *lanes[i];
            for (auto *c : {l.down.get(), l.up.get()})
                if (c)
                    c->poll();
            if (l.down->status() != 200)
                continue;
            if (want_up_ && !l.up) {
                l.up = send_request(port_, request("POST", lane_path(sofw::Channel::up, unsigned(i + 1))), tls_);
                l.up->write(l.pending_up);
                l.pending_up.clear();
            }
            const std::string &b = l.down->body();
            if (b.size() > l.fed) {
                l.decoder.feed(reinterpret_cast<const uint8_t *>(b.data()) + l.fed, b.size() - l.fed);
                l.log.feed(reinterpret_cast<const uint8_t *>(b.data()) + l.fed, b.size() - l.fed);
                l.fed = b.size();
            }
            Frame f;
            while (l.decoder.next(f) == RecordFrameDecoder::Result::frame)
                l.frames.push_back(f);
        }
    }

    // A 200 whose server nonce is new to this client opened a session
    // (the first GET or poll, or one that replaced the session): keys
    // from its request's nonce. A test tool may follow; HRAC would end
    // its session instead.
    void key_from(const TunnelRequest &r, const HttpConn &c)
    {
        const std::string ns = c.header(hdr::server_nonce);
        if (ns.empty() || ns == server_nonce_)
            return;
        SessionKeys keys;
        if (!derive_session_keys(secret_, session_, r.nonce, ns, keys))
            return;
        sealer_.reset(keys.up);
        decoder_.reset(keys.down);
        log_.reset(keys.down);
        server_nonce_ = ns;
    }

    uint16_t port_;
    std::string site_, secret_, lan_, session_;
    const TlsOptions *tls_;
    TunnelRequest down_req_;
    std::string server_nonce_;
    RecordSealer sealer_;
    RecordFrameDecoder decoder_;
    RecordLog log_;
    size_t fed_ = 0;
    bool want_up_ = false;
    std::string pending_up_;  // chunks sent before the POST could open
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

}  // namespace sofw::test
