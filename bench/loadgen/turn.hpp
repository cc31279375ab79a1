// A TURN client over TCP for the load generator (RFC 5766 with STUN, RFC
// 5389): what a phone behind a firewall that lets only TCP out does to reach
// a TURN relay. One connection per call: Allocate (a UDP relayed address),
// CreatePermission and ChannelBind for the one peer the far side's SDP
// names, then media both ways as ChannelData (4-byte header, padded to 4
// bytes on TCP). No authentication: the benchmark's coturn runs with
// --no-auth in namespaces of its own.
//
// Everything read from the server is hostile: a frame that is malformed,
// longer than max_frame or not for us ends the connection (counted). The
// receive buffer and the send queue have fixed limits; what does not fit is
// counted and logged at most once a second.
#pragma once
#include <netinet/in.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace loadgen::turn {

// ---------------------------------------------------------------- codec
// Pure functions, no sockets (fuzz/turn_fuzz.cpp drives them).

constexpr uint16_t m_allocate = 0x003, m_refresh = 0x004, m_create_permission = 0x008, m_channel_bind = 0x009;
enum Class : uint8_t { c_request = 0, c_indication = 1, c_success = 2, c_error = 3 };
constexpr uint32_t magic_cookie = 0x2112A442;
constexpr size_t stun_header = 20;
constexpr size_t channel_header = 4;
// Longest frame (header included) we accept: a relayed RTP packet or a
// STUN answer is far shorter; anything longer is not for us.
constexpr size_t max_frame = 4096;
constexpr uint16_t first_channel = 0x4000;  // channel numbers 0x4000-0x7FFF

using TxnId = std::array<uint8_t, 12>;

struct StunMessage {
    uint16_t method = 0;
    uint8_t cls = c_request;
    TxnId id{};
    int error_code = 0;                  // ERROR-CODE (300-699), 0 if absent
    std::optional<sockaddr_in> relayed;  // XOR-RELAYED-ADDRESS, IPv4 only
    std::optional<sockaddr_in> mapped;   // XOR-MAPPED-ADDRESS, IPv4 only
    std::optional<uint32_t> lifetime;    // LIFETIME, seconds
};

// One unit off the TCP stream.
struct Frame {
    enum class Kind { stun, channel_data } kind = Kind::stun;
    StunMessage stun;
    uint16_t channel = 0;
    const uint8_t *data = nullptr;  // ChannelData application data (in the input)
    size_t len = 0;
};

enum class Decode { frame, need_more, bad };

// The first frame of stream bytes buf[0, len): a STUN message, or
// ChannelData with its padding. used: the bytes it takes (frame only).
// need_more: not complete yet (never for a frame longer than max_frame:
// that is bad at once, from its header).
Decode decode_frame(const uint8_t *buf, size_t len, Frame &out, size_t &used);

// Requests, appended to out.
void encode_allocate(std::vector<uint8_t> &out, const TxnId &id, uint32_t lifetime_s);
void encode_refresh(std::vector<uint8_t> &out, const TxnId &id, uint32_t lifetime_s);
void encode_create_permission(std::vector<uint8_t> &out, const TxnId &id, const sockaddr_in &peer);
void encode_channel_bind(std::vector<uint8_t> &out, const TxnId &id, uint16_t channel, const sockaddr_in &peer);
// ChannelData header for len bytes of data; returns the padding bytes that
// must follow the data on TCP.
size_t encode_channel_header(uint8_t hdr[channel_header], uint16_t channel, size_t len);

// ---------------------------------------------------------------- client

// Shared by every connection of a process, reported in its JSON.
struct Stats {
    uint64_t connects = 0, allocated = 0, bound = 0;
    uint64_t connect_failed = 0, allocate_failed = 0, bind_failed = 0;  // with an error answer or none
    uint64_t closed_by_server = 0;                                      // EOF or a socket error
    uint64_t bad_frames = 0;                                            // malformed or oversized: connection ended
    uint64_t foreign_channel = 0;                                       // ChannelData on a channel we did not bind
    uint64_t stray_answers = 0;                                         // STUN answers to no request of ours
    uint64_t txn_timeouts = 0;                                          // no answer within txn_timeout_ms
    uint64_t refreshes = 0, refresh_failed = 0;
    uint64_t queue_full = 0;        // media not queued: the send queue was at its limit
    uint64_t requests_dropped = 0;  // a request not queued (queue full, or too many outstanding)
};

class Link {
public:
    enum class State { closed, allocating, allocated, binding, bound, failed };
    enum Event : unsigned { ev_allocated = 1, ev_bound = 2, ev_failed = 4 };
    enum class Send { sent, queued, dropped, closed };
    // Called for every ChannelData on our channel, with the CLOCK_REALTIME
    // time the bytes were read off the socket.
    using MediaFn = void (*)(void *ctx, const uint8_t *data, size_t len, int64_t read_ns);

    static constexpr size_t max_queue = 256 * 1024;  // bytes waiting for TCP: ~7 s of one call's media
    static constexpr int64_t txn_timeout_ms = 10000;
    static constexpr int64_t refresh_every_ms = 120000;  // permissions last 300 s, the rest 600 s
    static constexpr uint32_t lifetime_s = 600;

    Link() = default;
    Link(const Link &) = delete;
    Link &operator=(const Link &) = delete;
    ~Link() { close(); }

    void set_stats(Stats *s) { stats_ = s; }
    // Connects (non-blocking) and queues the Allocate. False if no socket.
    bool open(const sockaddr_in &server, uint64_t seed, int64_t now_ms);
    // After allocated: permission and channel for peer, media once bound.
    bool bind(const sockaddr_in &peer, int64_t now_ms);
    void close();

    int fd() const { return fd_; }
    State state() const { return state_; }
    const sockaddr_in &relayed() const { return relayed_; }
    // The socket should be watched for EPOLLOUT (connecting, or bytes queued).
    bool want_write() const { return fd_ >= 0 && (connecting_ || out_off_ < out_.size()); }

    // ChannelData of len bytes to the peer. Only when bound.
    Send send_media(const uint8_t *data, size_t len);
    // Readiness: returns Event bits.
    unsigned on_readable(int64_t now_ms, MediaFn fn, void *ctx);
    unsigned on_writable(int64_t now_ms);
    // Answers overdue, refreshes due (call every few ms).
    unsigned on_tick(int64_t now_ms);

private:
    struct Pending {
        bool on = false;
        uint16_t method = 0;
        TxnId id{};
        int64_t sent_ms = 0;
    };
    bool request(uint16_t method, int64_t now_ms);  // encodes and queues one request
    unsigned on_answer(const StunMessage &m, int64_t now_ms);
    unsigned fail(uint64_t Stats::*counter);
    bool flush();  // false if the connection broke
    TxnId next_id();

    Stats *stats_ = nullptr;
    int fd_ = -1;
    State state_ = State::closed;
    bool connecting_ = false;
    bool perm_ok_ = false, chan_ok_ = false;
    sockaddr_in relayed_{}, peer_{};
    uint64_t seed_ = 0, seq_ = 0;
    int64_t next_refresh_ms_ = 0;
    std::array<Pending, 4> pending_{};
    std::vector<uint8_t> out_;
    size_t out_off_ = 0;
    std::array<uint8_t, 16384> in_{};  // > max_frame: a full buffer always holds a whole frame
    size_t in_len_ = 0;
};

}  // namespace loadgen::turn
