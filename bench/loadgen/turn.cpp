#include "turn.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace loadgen::turn {

namespace {

constexpr uint16_t a_channel_number = 0x000C, a_lifetime = 0x000D, a_xor_peer_address = 0x0012,
                   a_xor_relayed_address = 0x0016, a_requested_transport = 0x0019, a_error_code = 0x0009,
                   a_xor_mapped_address = 0x0020;
constexpr uint8_t proto_udp = 17;

uint16_t get16(const uint8_t *p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t *p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
void put16(std::vector<uint8_t> &o, uint16_t v)
{
    o.push_back(uint8_t(v >> 8));
    o.push_back(uint8_t(v));
}
void put32(std::vector<uint8_t> &o, uint32_t v)
{
    put16(o, uint16_t(v >> 16));
    put16(o, uint16_t(v));
}

// Message type = method bits interleaved with the two class bits (RFC 5389 §6).
uint16_t stun_type(uint16_t method, uint8_t cls)
{
    return uint16_t((method & 0x000F) | (method & 0x0070) << 1 | (method & 0x0F80) << 2 | (cls & 1) << 4 |
                    (cls & 2) << 7);
}

// An XOR-*-ADDRESS value; nothing unless IPv4 and well formed.
std::optional<sockaddr_in> xor_address(const uint8_t *v, size_t len)
{
    if (len != 8 || v[1] != 0x01)
        return std::nullopt;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(get16(v + 2) ^ (magic_cookie >> 16)));
    a.sin_addr.s_addr = htonl(get32(v + 4) ^ magic_cookie);
    return a;
}

void put_xor_address(std::vector<uint8_t> &o, uint16_t type, const sockaddr_in &a)
{
    put16(o, type);
    put16(o, 8);
    o.push_back(0);
    o.push_back(0x01);  // IPv4
    put16(o, uint16_t(ntohs(a.sin_port) ^ (magic_cookie >> 16)));
    put32(o, ntohl(a.sin_addr.s_addr) ^ magic_cookie);
}

// Starts a request; finish() writes its length once the attributes are in.
size_t begin(std::vector<uint8_t> &o, uint16_t method, const TxnId &id)
{
    size_t at = o.size();
    put16(o, stun_type(method, c_request));
    put16(o, 0);
    put32(o, magic_cookie);
    o.insert(o.end(), id.begin(), id.end());
    return at;
}

void finish(std::vector<uint8_t> &o, size_t at)
{
    size_t len = o.size() - at - stun_header;
    o[at + 2] = uint8_t(len >> 8);
    o[at + 3] = uint8_t(len);
}

bool parse_stun(const uint8_t *buf, size_t len, StunMessage &m)
{
    uint16_t type = get16(buf);
    m.method = uint16_t((type & 0x000F) | (type & 0x00E0) >> 1 | (type & 0x3E00) >> 2);
    m.cls = uint8_t((type & 0x0010) >> 4 | (type & 0x0100) >> 7);
    std::memcpy(m.id.data(), buf + 8, m.id.size());
    size_t at = stun_header;
    while (at < len) {
        if (len - at < 4)
            return false;
        uint16_t t = get16(buf + at), l = get16(buf + at + 2);
        size_t padded = (size_t(l) + 3) & ~size_t(3);
        if (padded > len - at - 4)
            return false;
        const uint8_t *v = buf + at + 4;
        switch (t) {
        case a_xor_relayed_address: m.relayed = xor_address(v, l); break;
        case a_xor_mapped_address: m.mapped = xor_address(v, l); break;
        case a_lifetime:
            if (l != 4)
                return false;
            m.lifetime = get32(v);
            break;
        case a_error_code: {
            if (l < 4)
                return false;
            int code = (v[2] & 0x07) * 100 + v[3];
            if (code < 300 || code > 699)
                return false;
            m.error_code = code;
            break;
        }
        default: break;  // not needed by this client
        }
        at += 4 + padded;
    }
    return true;
}

void log_limited(const char *what)
{
    // At most one line a second for the whole process.
    static time_t last = 0;
    time_t now = time(nullptr);
    if (now == last)
        return;
    last = now;
    fprintf(stderr, "turn: %s\n", what);
}

int64_t realtime_ns()
{
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

Decode decode_frame(const uint8_t *buf, size_t len, Frame &out, size_t &used)
{
    if (len < 4)
        return Decode::need_more;
    uint8_t top = buf[0] >> 6;
    if (top == 1) {  // ChannelData: 0x4000-0x7FFF
        size_t n = get16(buf + 2);
        size_t total = channel_header + ((n + 3) & ~size_t(3));
        if (total > max_frame)
            return Decode::bad;
        if (len < total)
            return Decode::need_more;
        out.kind = Frame::Kind::channel_data;
        out.channel = get16(buf);
        out.data = buf + channel_header;
        out.len = n;
        used = total;
        return Decode::frame;
    }
    if (top != 0)
        return Decode::bad;
    size_t n = get16(buf + 2);
    if (n % 4 != 0 || stun_header + n > max_frame)
        return Decode::bad;
    if (len < stun_header)
        return Decode::need_more;
    if (get32(buf + 4) != magic_cookie)
        return Decode::bad;
    if (len < stun_header + n)
        return Decode::need_more;
    out = Frame{};
    out.kind = Frame::Kind::stun;
    if (!parse_stun(buf, stun_header + n, out.stun))
        return Decode::bad;
    used = stun_header + n;
    return Decode::frame;
}

void encode_allocate(std::vector<uint8_t> &out, const TxnId &id, uint32_t lifetime_s)
{
    size_t at = begin(out, m_allocate, id);
    put16(out, a_requested_transport);
    put16(out, 4);
    put32(out, uint32_t(proto_udp) << 24);
    put16(out, a_lifetime);
    put16(out, 4);
    put32(out, lifetime_s);
    finish(out, at);
}

void encode_refresh(std::vector<uint8_t> &out, const TxnId &id, uint32_t lifetime_s)
{
    size_t at = begin(out, m_refresh, id);
    put16(out, a_lifetime);
    put16(out, 4);
    put32(out, lifetime_s);
    finish(out, at);
}

void encode_create_permission(std::vector<uint8_t> &out, const TxnId &id, const sockaddr_in &peer)
{
    size_t at = begin(out, m_create_permission, id);
    put_xor_address(out, a_xor_peer_address, peer);
    finish(out, at);
}

void encode_channel_bind(std::vector<uint8_t> &out, const TxnId &id, uint16_t channel, const sockaddr_in &peer)
{
    size_t at = begin(out, m_channel_bind, id);
    put16(out, a_channel_number);
    put16(out, 4);
    put16(out, channel);
    put16(out, 0);
    put_xor_address(out, a_xor_peer_address, peer);
    finish(out, at);
}

size_t encode_channel_header(uint8_t hdr[channel_header], uint16_t channel, size_t len)
{
    hdr[0] = uint8_t(channel >> 8);
    hdr[1] = uint8_t(channel);
    hdr[2] = uint8_t(len >> 8);
    hdr[3] = uint8_t(len);
    return ((len + 3) & ~size_t(3)) - len;
}

// ---------------------------------------------------------------- Link

bool Link::open(const sockaddr_in &server, uint64_t seed, int64_t now_ms)
{
    close();
    seed_ = seed;
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
        return false;
    // Media must not wait for the ACK of the previous packet (Nagle).
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (stats_)
        stats_->connects++;
    if (connect(fd_, reinterpret_cast<const sockaddr *>(&server), sizeof server) != 0 && errno != EINPROGRESS) {
        fail(&Stats::connect_failed);
        return true;  // a call that fails, not a broken load generator
    }
    connecting_ = true;
    state_ = State::allocating;
    perm_ok_ = chan_ok_ = false;
    if (!request(m_allocate, now_ms))
        fail(&Stats::allocate_failed);
    return true;
}

bool Link::bind(const sockaddr_in &peer, int64_t now_ms)
{
    if (state_ != State::allocated)
        return false;
    peer_ = peer;
    state_ = State::binding;
    // Both at once: ChannelBind alone would install the permission too, but
    // a client that also sends to the peer outside the channel asks for it.
    if (!request(m_create_permission, now_ms) || !request(m_channel_bind, now_ms)) {
        fail(&Stats::bind_failed);
        return false;
    }
    return flush();
}

void Link::close()
{
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
    connecting_ = false;
    out_.clear();
    out_off_ = 0;
    in_len_ = 0;
    for (auto &p : pending_)
        p.on = false;
    if (state_ != State::failed)
        state_ = State::closed;
}

unsigned Link::fail(uint64_t Stats::*counter)
{
    if (stats_)
        stats_->*counter += 1;
    bool was_up = state_ != State::failed && state_ != State::closed;
    close();
    state_ = State::failed;
    return was_up ? unsigned(ev_failed) : 0u;
}

TxnId Link::next_id()
{
    // Unique per connection: the seed (random per call) and a counter.
    TxnId id{};
    uint64_t a = seed_, b = ++seq_;
    for (int i = 0; i < 8; i++)
        id[size_t(i)] = uint8_t(a >> (8 * i));
    for (int i = 0; i < 4; i++)
        id[size_t(8 + i)] = uint8_t(b >> (8 * i));
    return id;
}

bool Link::request(uint16_t method, int64_t now_ms)
{
    Pending *slot = nullptr;
    for (auto &p : pending_)
        if (!p.on) {
            slot = &p;
            break;
        }
    if (!slot || out_.size() - out_off_ > max_queue) {
        if (stats_)
            stats_->requests_dropped++;
        log_limited("a request not sent: too many outstanding, or the send queue is full");
        return false;
    }
    slot->on = true;
    slot->method = method;
    slot->id = next_id();
    slot->sent_ms = now_ms;
    switch (method) {
    case m_allocate: encode_allocate(out_, slot->id, lifetime_s); break;
    case m_refresh: encode_refresh(out_, slot->id, lifetime_s); break;
    case m_create_permission: encode_create_permission(out_, slot->id, peer_); break;
    case m_channel_bind: encode_channel_bind(out_, slot->id, first_channel, peer_); break;
    default: slot->on = false; return false;
    }
    return true;
}

Link::Send Link::send_media(const uint8_t *data, size_t len)
{
    if (state_ != State::bound || fd_ < 0)
        return Send::closed;
    uint8_t hdr[channel_header];
    size_t pad = encode_channel_header(hdr, first_channel, len);
    size_t need = channel_header + len + pad;
    if (len + channel_header > max_frame || out_.size() - out_off_ + need > max_queue) {
        if (stats_)
            stats_->queue_full++;
        log_limited("media dropped: the TCP send queue is at its limit");
        return Send::dropped;
    }
    bool idle = out_off_ == out_.size();
    out_.insert(out_.end(), hdr, hdr + channel_header);
    out_.insert(out_.end(), data, data + len);
    out_.insert(out_.end(), pad, 0);
    if (!idle || connecting_)
        return Send::queued;  // behind bytes TCP has not taken yet
    if (!flush())
        return Send::closed;
    return out_off_ == out_.size() ? Send::sent : Send::queued;
}

bool Link::flush()
{
    while (fd_ >= 0 && !connecting_ && out_off_ < out_.size()) {
        ssize_t n = ::send(fd_, out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            fail(&Stats::closed_by_server);
            return false;
        }
        out_off_ += size_t(n);
    }
    if (out_off_ == out_.size()) {
        out_.clear();  // keeps its capacity: no allocation once warmed up
        out_off_ = 0;
    } else if (out_off_ > max_queue / 2) {
        out_.erase(out_.begin(), out_.begin() + std::ptrdiff_t(out_off_));
        out_off_ = 0;
    }
    return true;
}

unsigned Link::on_writable(int64_t now_ms)
{
    (void)now_ms;
    if (fd_ < 0)
        return 0;
    if (connecting_) {
        int err = 0;
        socklen_t l = sizeof err;
        if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &l) != 0 || err != 0)
            return fail(&Stats::connect_failed);
        connecting_ = false;
    }
    return flush() ? 0u : unsigned(ev_failed);
}

unsigned Link::on_readable(int64_t now_ms, MediaFn fn, void *ctx)
{
    if (fd_ < 0)
        return 0;
    // One read per readiness event (level-triggered: more is reported again).
    ssize_t n = ::recv(fd_, in_.data() + in_len_, in_.size() - in_len_, 0);
    if (n == 0)
        return fail(&Stats::closed_by_server);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : fail(&Stats::closed_by_server);
    int64_t read_ns = realtime_ns();
    in_len_ += size_t(n);
    unsigned ev = 0;
    size_t at = 0;
    while (fd_ >= 0) {
        Frame f;
        size_t used = 0;
        Decode d = decode_frame(in_.data() + at, in_len_ - at, f, used);
        if (d == Decode::need_more)
            break;
        if (d == Decode::bad) {
            log_limited("malformed or oversized frame from the server: connection closed");
            return ev | fail(&Stats::bad_frames);
        }
        at += used;
        if (f.kind == Frame::Kind::channel_data) {
            if (f.channel == first_channel && state_ == State::bound)
                fn(ctx, f.data, f.len, read_ns);
            else if (stats_)
                stats_->foreign_channel++;
            continue;
        }
        ev |= on_answer(f.stun, now_ms);
    }
    if (fd_ < 0)
        return ev;
    // in_ is larger than any frame, so what is left is one incomplete frame
    std::memmove(in_.data(), in_.data() + at, in_len_ - at);
    in_len_ -= at;
    return ev;
}

unsigned Link::on_answer(const StunMessage &m, int64_t now_ms)
{
    Pending *p = nullptr;
    for (auto &q : pending_)
        if (q.on && q.id == m.id && q.method == m.method)
            p = &q;
    if (!p || (m.cls != c_success && m.cls != c_error)) {
        if (stats_)
            stats_->stray_answers++;
        return 0;
    }
    p->on = false;
    bool ok = m.cls == c_success;
    switch (m.method) {
    case m_allocate:
        if (!ok || !m.relayed || state_ != State::allocating)
            return fail(&Stats::allocate_failed);
        relayed_ = *m.relayed;
        state_ = State::allocated;
        next_refresh_ms_ = now_ms + refresh_every_ms;
        if (stats_)
            stats_->allocated++;
        return ev_allocated;
    case m_create_permission:
    case m_channel_bind:
        if (state_ == State::binding) {
            if (!ok)
                return fail(&Stats::bind_failed);
            (m.method == m_channel_bind ? chan_ok_ : perm_ok_) = true;
            if (perm_ok_ && chan_ok_) {
                state_ = State::bound;
                if (stats_)
                    stats_->bound++;
                return ev_bound;
            }
            return 0;
        }
        [[fallthrough]];  // a refresh of them
    case m_refresh:
        if (!ok && stats_)
            stats_->refresh_failed++;
        return 0;
    default: return 0;
    }
}

unsigned Link::on_tick(int64_t now_ms)
{
    if (fd_ < 0)
        return 0;
    for (auto &p : pending_)
        if (p.on && now_ms - p.sent_ms > txn_timeout_ms) {
            log_limited("no answer from the TURN server in time: connection closed");
            return fail(&Stats::txn_timeouts);
        }
    if (state_ != State::allocating && next_refresh_ms_ && now_ms >= next_refresh_ms_) {
        next_refresh_ms_ = now_ms + refresh_every_ms;
        bool ok = request(m_refresh, now_ms);
        if (state_ == State::bound)
            ok = request(m_create_permission, now_ms) && request(m_channel_bind, now_ms) && ok;
        if (stats_)
            stats_->refreshes++;
        if (!ok && stats_)
            stats_->refresh_failed++;
        if (!flush())
            return ev_failed;
    }
    return 0;
}

}  // namespace loadgen::turn
