// A hostile proxy for the tunnel pair test: a loopback TCP relay between
// HRAC and HRAS that understands just enough HTTP/1.1 (heads, chunked and
// Content-Length bodies, several messages per connection) to cut tunnel
// bodies into records (3-byte length, ciphertext, 16-byte tag) and, once
// armed, to tamper with the next record of one direction: flip a bit,
// inject a frame-shaped blob before it, replay it, swap it with the one
// after it, or cut it in half and end the body there. The HTTP around the
// records stays well-formed (chunks re-made, Content-Length adjusted), so
// what the halves see is exactly what a proxy in the path could make.
//
// It runs on a thread of its own with blocking poll(); the test thread
// arms it and reads what it did through a mutex.
#pragma once
#include <sofw/frame.hpp>
#include <sofw/ra_header.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace sofw::test {

enum class Tamper { none, flip, inject, replay, reorder, truncate };
enum class Direction { up, down };  // up: HRAC -> HRAS (requests), down: HRAS -> HRAC (responses)

inline const char *tamper_name(Tamper t)
{
    switch (t) {
    case Tamper::none: return "none";
    case Tamper::flip: return "flip";
    case Tamper::inject: return "inject";
    case Tamper::replay: return "replay";
    case Tamper::reorder: return "reorder";
    case Tamper::truncate: return "truncate";
    }
    return "?";
}

// What an attacker without the keys would like to get in: a clear SIP
// REGISTER frame dressed as a record (its length header, then the frame,
// then 16 bytes where a tag would be).
inline std::string injected_blob()
{
    Frame f;
    f.type = FrameType::sip;
    f.ra = RaHeader::parse("192.168.1.66:5060");
    const std::string sip = "REGISTER sip:acme SIP/2.0\r\nCall-ID: INJECTED\r\nContent-Length: 0\r\n\r\n";
    f.payload.assign(sip.begin(), sip.end());
    std::vector<uint8_t> frame = encode_frame(f);
    std::string blob;
    blob += char(frame.size() >> 16);
    blob += char(frame.size() >> 8);
    blob += char(frame.size());
    blob.append(frame.begin(), frame.end());
    blob.append(16, '\0');
    return blob;
}

class TamperRelay {
public:
    explicit TamperRelay(uint16_t server_port) : server_port_(server_port)
    {
        listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof sa;
        int one = 1;
        setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0 ||
            listen(listen_fd_, 16) != 0 || getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&sa), &len) != 0)
            throw std::runtime_error("tamper relay: cannot listen");
        port_ = ntohs(sa.sin_port);
        if (pipe(wake_) != 0)
            throw std::runtime_error("tamper relay: pipe");
        thread_ = std::thread([this] { run(); });
    }
    ~TamperRelay()
    {
        stop_ = true;
        (void)!write(wake_[1], "x", 1);
        thread_.join();
        for (auto &c : conns_) {
            ::close(c->fd[0]);
            ::close(c->fd[1]);
        }
        ::close(listen_fd_);
        ::close(wake_[0]);
        ::close(wake_[1]);
    }
    TamperRelay(const TamperRelay &) = delete;
    TamperRelay &operator=(const TamperRelay &) = delete;

    uint16_t port() const { return port_; }

    // The next record of dir (after this call) gets t.
    void arm(Direction dir, Tamper t)
    {
        std::lock_guard<std::mutex> lock(mu_);
        dir_ = dir;
        action_ = t;
        done_ = false;
        held_.clear();
    }
    bool done() const
    {
        std::lock_guard<std::mutex> lock(mu_);
        return done_;
    }
    // Every answer from now on: its X-SoFW-Server-Nonce changed in one
    // hex digit (change), left out (drop), or passed (keep).
    enum class Nonce { keep, change, drop };
    void set_nonce(Nonce n) { nonce_ = n; }
    // Every request from now on: its X-SoFW-Lanes left out, as by a proxy
    // that drops headers it does not know (HRAS then answers as one
    // without lanes does).
    void set_drop_lanes(bool drop) { drop_lanes_ = drop; }
    // Each request head seen so far: its request line and its
    // X-SoFW-Lanes value ("" without one), in order.
    struct Request {
        std::string line;
        std::string lanes;
    };
    std::vector<Request> requests() const
    {
        std::lock_guard<std::mutex> lock(mu_);
        return requests_;
    }
    // Holds back every byte going dir on the connections whose request
    // line starts with request ("POST /sofw/v1/up/1 "), until thaw(): one
    // TCP connection stuck behind a lost segment, as lanes meet one.
    void freeze(Direction dir, const std::string &request)
    {
        std::lock_guard<std::mutex> lock(mu_);
        freeze_dir_ = dir;
        freeze_request_ = request;
    }
    void thaw()
    {
        {
            std::lock_guard<std::mutex> lock(mu_);
            freeze_request_.clear();
        }
        (void)!write(wake_[1], "x", 1);
    }
    // reorder: the first record is held, waiting for the one to swap it with.
    bool holding() const
    {
        std::lock_guard<std::mutex> lock(mu_);
        return !held_.empty();
    }
    // Records seen in dir so far (whole ones, before tampering).
    size_t records(Direction dir) const
    {
        std::lock_guard<std::mutex> lock(mu_);
        return seen_[dir == Direction::up ? 0 : 1];
    }

private:
    // One direction of one connection: HTTP messages in, (tampered) out.
    struct Pipe {
        explicit Pipe(Direction d) : dir(d) {}
        Direction dir;
        std::string in, out;
        enum class State { head, chunk_size, chunk_data, chunk_crlf, trailer, length_body } state = State::head;
        bool records = false;  // the body is a record stream (application/x-sofw-frames)
        bool chunked = false;
        size_t left = 0;      // bytes of the current chunk or Content-Length body still to come
        std::string head;     // a Content-Length message's head, sent with its (new) body
        std::string body;     // a Content-Length body being collected
        std::string pending;  // record bytes not yet a whole record
        bool dead = false;    // truncated: everything further is dropped
        std::string request;  // up: the request line of the last request head
    };
    struct Conn {
        int fd[2];  // client, server
        Pipe pipe[2] = {Pipe(Direction::up), Pipe(Direction::down)};
    };

    static bool has(const std::string &head, const char *needle)
    {
        std::string lower = head;
        for (char &c : lower)
            c = char(tolower(static_cast<unsigned char>(c)));
        return lower.find(needle) != std::string::npos;
    }
    static std::string chunk(const std::string &data)
    {
        if (data.empty())
            return "";
        char len[32];
        snprintf(len, sizeof len, "%zx\r\n", data.size());
        return len + data + "\r\n";
    }

    // Whole records out of p.pending, each through the tamper; what is to
    // be sent goes to emitted. True: the body must end here (truncate).
    bool take_records(Pipe &p, std::string &emitted)
    {
        for (;;) {
            if (p.pending.size() < 3)
                return false;
            const auto *b = reinterpret_cast<const uint8_t *>(p.pending.data());
            const size_t len = size_t(b[0]) << 16 | size_t(b[1]) << 8 | b[2];
            const size_t whole = 3 + len + 16;
            if (p.pending.size() < whole)
                return false;
            std::string rec = p.pending.substr(0, whole);
            p.pending.erase(0, whole);
            std::lock_guard<std::mutex> lock(mu_);
            seen_[p.dir == Direction::up ? 0 : 1]++;
            if (done_ || action_ == Tamper::none || p.dir != dir_) {
                emitted += rec;
                continue;
            }
            switch (action_) {
            case Tamper::flip:
                rec[rec.size() - 1] ^= 1;
                emitted += rec;
                done_ = true;
                break;
            case Tamper::inject:
                emitted += injected_blob() + rec;
                done_ = true;
                break;
            case Tamper::replay:
                emitted += rec + rec;
                done_ = true;
                break;
            case Tamper::reorder:
                if (held_.empty()) {
                    held_ = rec;
                } else {
                    emitted += rec + held_;
                    held_.clear();
                    done_ = true;
                }
                break;
            case Tamper::truncate:
                emitted += rec.substr(0, rec.size() / 2);
                done_ = true;
                return true;
            case Tamper::none: break;
            }
        }
    }

    void process(Pipe &p)
    {
        while (!p.dead) {
            switch (p.state) {
            case Pipe::State::head: {
                const size_t end = p.in.find("\r\n\r\n");
                if (end == std::string::npos)
                    return;
                std::string head = p.in.substr(0, end + 4);
                p.in.erase(0, end + 4);
                if (p.dir == Direction::down)
                    bend_nonce(head);
                else
                    note_request(p, head);
                p.records = has(head, "application/x-sofw-frames");
                p.chunked = has(head, "transfer-encoding: chunked");
                p.pending.clear();
                if (p.chunked) {
                    p.out += head;
                    p.state = Pipe::State::chunk_size;
                    break;
                }
                size_t cl = 0;
                const size_t at = [&] {
                    std::string lower = head;
                    for (char &c : lower)
                        c = char(tolower(static_cast<unsigned char>(c)));
                    return lower.find("\r\ncontent-length:");
                }();
                if (at != std::string::npos)
                    cl = size_t(strtoull(head.c_str() + at + 17, nullptr, 10));
                if (cl == 0) {
                    p.out += head;
                    break;
                }
                p.head = head;
                p.body.clear();
                p.left = cl;
                p.state = Pipe::State::length_body;
                break;
            }
            case Pipe::State::length_body: {
                const size_t n = std::min(p.left, p.in.size());
                p.body += p.in.substr(0, n);
                p.in.erase(0, n);
                p.left -= n;
                if (p.left > 0)
                    return;
                std::string body = p.body;
                if (p.records) {
                    p.pending = body;
                    body.clear();
                    take_records(p, body);  // a truncated body ends here: the rest is dropped
                    body += p.pending;      // not a whole record: as it came
                    p.pending.clear();
                }
                // The head again, with the body's new length.
                std::string lower = p.head;
                for (char &c : lower)
                    c = char(tolower(static_cast<unsigned char>(c)));
                const size_t at = lower.find("\r\ncontent-length:");
                const size_t eol = p.head.find("\r\n", at + 2);
                p.out += p.head.substr(0, at) + "\r\nContent-Length: " + std::to_string(body.size()) +
                         p.head.substr(eol) + body;
                p.state = Pipe::State::head;
                break;
            }
            case Pipe::State::chunk_size: {
                const size_t eol = p.in.find("\r\n");
                if (eol == std::string::npos)
                    return;
                p.left = size_t(strtoull(p.in.c_str(), nullptr, 16));
                p.in.erase(0, eol + 2);
                p.state = p.left ? Pipe::State::chunk_data : Pipe::State::trailer;
                break;
            }
            case Pipe::State::chunk_data: {
                if (p.in.empty())
                    return;
                const size_t n = std::min(p.left, p.in.size());
                std::string data = p.in.substr(0, n);
                p.in.erase(0, n);
                p.left -= n;
                if (p.left == 0)
                    p.state = Pipe::State::chunk_crlf;
                if (!p.records) {
                    p.out += chunk(data);
                    break;
                }
                p.pending += data;
                std::string emitted;
                const bool cut = take_records(p, emitted);
                p.out += chunk(emitted);
                if (cut) {
                    p.out += "0\r\n\r\n";  // the body ends, inside a record
                    p.dead = true;
                }
                break;
            }
            case Pipe::State::chunk_crlf:
                if (p.in.size() < 2)
                    return;
                p.in.erase(0, 2);
                p.state = Pipe::State::chunk_size;
                break;
            case Pipe::State::trailer: {
                const size_t eol = p.in.find("\r\n");
                if (eol == std::string::npos)
                    return;
                const bool last = eol == 0;
                p.in.erase(0, eol + 2);
                if (last) {
                    p.out += p.pending.empty() ? "" : chunk(p.pending);
                    p.pending.clear();
                    p.out += "0\r\n\r\n";
                    p.state = Pipe::State::head;
                }
                break;
            }
            }
        }
        p.in.clear();
    }

    void bend_nonce(std::string &head) const
    {
        const Nonce n = nonce_;
        const size_t at = head.find("X-SoFW-Server-Nonce: ");
        if (n == Nonce::keep || at == std::string::npos)
            return;
        const size_t eol = head.find("\r\n", at);
        if (n == Nonce::drop) {
            head.erase(at, eol + 2 - at);
            return;
        }
        char &digit = head[at + strlen("X-SoFW-Server-Nonce: ")];
        digit = digit == '0' ? '1' : '0';
    }

    void note_request(Pipe &p, std::string &head)
    {
        Request r;
        r.line = head.substr(0, head.find("\r\n"));
        p.request = r.line;
        const char *name = "\r\nX-SoFW-Lanes: ";
        const size_t at = head.find(name);
        if (at != std::string::npos) {
            const size_t value = at + strlen(name);
            const size_t eol = head.find("\r\n", value);
            r.lanes = head.substr(value, eol - value);
            if (drop_lanes_)
                head.erase(at, eol - at);
        }
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(r);
    }

    void run()
    {
        while (!stop_) {
            std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
            for (auto &c : conns_)
                for (int i = 0; i < 2; i++)
                    fds.push_back({c->fd[i], short(POLLIN | (sendable(*c, i) ? POLLOUT : 0)), 0});
            if (::poll(fds.data(), fds.size(), 200) < 0)
                continue;
            // Only the connections polled: one accepted now has no entry
            // in fds yet (a streaming session with lanes opens several at once).
            const size_t polled = conns_.size();
            if (fds[0].revents & POLLIN)
                accept_one();
            if (fds[1].revents & POLLIN) {
                char drain[16];
                (void)!read(wake_[0], drain, sizeof drain);
            }
            for (size_t k = 0; k < polled; k++) {
                Conn &c = *conns_[k];
                bool closed = false;
                for (int i = 0; i < 2 && !closed; i++) {
                    const pollfd &f = fds[2 + 2 * k + size_t(i)];
                    Pipe &in_pipe = c.pipe[i];        // bytes read from fd[i]
                    Pipe &out_pipe = c.pipe[1 - i];   // bytes to write to fd[i]
                    if (f.revents & (POLLIN | POLLHUP | POLLERR)) {
                        char buf[65536];
                        ssize_t n = recv(c.fd[i], buf, sizeof buf, 0);
                        if (n <= 0) {
                            closed = true;
                            break;
                        }
                        if (!in_pipe.dead)
                            in_pipe.in.append(buf, size_t(n));
                        process(in_pipe);
                    }
                    if ((f.revents & POLLOUT) && sendable(c, i)) {
                        ssize_t n = send(c.fd[i], out_pipe.out.data(), out_pipe.out.size(), MSG_NOSIGNAL);
                        if (n < 0) {
                            closed = true;
                            break;
                        }
                        out_pipe.out.erase(0, size_t(n));
                    }
                }
                if (closed) {
                    // Flush what is already made for the other side, then close both.
                    for (int i = 0; i < 2; i++)
                        if (!c.pipe[1 - i].out.empty())
                            (void)!send(c.fd[i], c.pipe[1 - i].out.data(), c.pipe[1 - i].out.size(),
                                        MSG_NOSIGNAL | MSG_DONTWAIT);
                    ::close(c.fd[0]);
                    ::close(c.fd[1]);
                    conns_.erase(conns_.begin() + std::ptrdiff_t(k));
                    break;  // fds no longer line up with conns_: poll again
                }
            }
        }
    }

    // Bytes wait for fd[i] of c, and are not frozen.
    bool sendable(const Conn &c, int i) const
    {
        const Pipe &out = c.pipe[1 - i];
        if (out.out.empty())
            return false;
        std::lock_guard<std::mutex> lock(mu_);
        return freeze_request_.empty() || out.dir != freeze_dir_ || c.pipe[0].request.rfind(freeze_request_, 0) != 0;
    }

    void accept_one()
    {
        int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0)
            return;
        int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(server_port_);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (server < 0 || connect(server, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) {
            ::close(client);
            if (server >= 0)
                ::close(server);
            return;
        }
        auto c = std::make_unique<Conn>();
        c->fd[0] = client;
        c->fd[1] = server;
        conns_.push_back(std::move(c));
    }

    uint16_t server_port_;
    uint16_t port_ = 0;
    int listen_fd_ = -1;
    int wake_[2] = {-1, -1};
    std::atomic<bool> stop_{false};
    std::atomic<Nonce> nonce_{Nonce::keep};
    std::atomic<bool> drop_lanes_{false};
    std::vector<std::unique_ptr<Conn>> conns_;  // the relay thread's only

    mutable std::mutex mu_;
    Direction dir_ = Direction::up;
    Tamper action_ = Tamper::none;
    bool done_ = false;
    std::string held_;
    size_t seen_[2] = {0, 0};
    std::vector<Request> requests_;
    Direction freeze_dir_ = Direction::up;
    std::string freeze_request_;  // empty: nothing frozen
    std::thread thread_;
};

}  // namespace sofw::test
