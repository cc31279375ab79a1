// sofw-loadgen: one end of N concurrent SIP calls with RTP, for the media
// benchmark (bench/run.py).
//
//   --role uas  registers users <prefix>0..N-1 with a registrar, answers
//               every INVITE with 200 + SDP, sends RTP once the ACK came;
//   --role uac  places N calls (INVITE to <prefix>i@domain through an
//               outbound proxy, 200, ACK, later BYE, following Record-Route
//               and Contact), sends RTP once it has the 200.
// With --register, the uac first registers its first caller, as a phone
// does: HRAC sends media only to phones registered through it.
// With --password, both answer a registrar's or proxy's digest challenge
// (401/407) once per request as user <prefix>i (uas) or caller<i> (uac).
// With --turn IP:PORT, the uac reaches the far side through a TURN relay
// over TCP (turn.hpp): per call one connection, an allocation whose relayed
// address its SDP offers, a permission and a channel for the address the
// 200's SDP names, then RTP as ChannelData; the uas sends plain RTP to the
// relayed address as to any other.
//
// RTP: 20 ms ptime, 172-byte packets (12-byte header + 160 bytes), one
// socket per call at --rtp-base + 2*i, sent to the address the peer's SDP
// named. The payload carries a magic, the call index, a 32-bit sequence
// number and the CLOCK_REALTIME send time; the receiver takes the kernel's
// receive time (SO_TIMESTAMPNS, also CLOCK_REALTIME) and its own, and
// counts loss (by sequence), duplicates and reordering, and the packets
// later than 60 and 150 ms. Over TURN/TCP a byte stream has no kernel time
// stamp per packet: the receive time is when the bytes were read (which
// includes TCP's wait for a lost segment). Everything runs in one thread:
// epoll, non-blocking sockets, a timerfd for the send schedule.
//
// Driven over stdin by run.py, one command a line:
//   call                 (uac) start placing the calls, --cps per second
//   window T0 T1         measure packets whose send time (realtime ns) is
//                        in [T0, T1): sent, received, latency, send lag
//   stop                 stop sending RTP on every call
//   bye                  (uac) send BYE on every established call
//   report PATH          write the JSON report to PATH
//   quit
// and reports progress on stdout: READY, REGISTERED ok=N failed=M (uas),
// ACKED n (uas, all N calls confirmed), CALLS up=N failed=M (uac),
// BYES ok=N failed=M (uac), REPORTED.
#include "digest.hpp"
#include "sip.hpp"
#include "turn.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace loadgen {
namespace {

constexpr int64_t ms = 1000000;
constexpr uint32_t magic = 0x53465742;   // "SFWB"
constexpr size_t payload_min = 12 + 20;  // RTP header + our fields
// "Late" thresholds: 60 ms is where a jitter buffer starts to hurt, 150 ms
// one-way is ITU-T G.114's limit for good interactive speech.
constexpr int64_t late_a_ns = 60 * ms, late_b_ns = 150 * ms;

int64_t clock_ns(clockid_t id)
{
    timespec ts;
    clock_gettime(id, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
int64_t mono_ns() { return clock_ns(CLOCK_MONOTONIC); }
int64_t real_ns() { return clock_ns(CLOCK_REALTIME); }

void put32(uint8_t *p, uint32_t v)
{
    p[0] = uint8_t(v >> 24);
    p[1] = uint8_t(v >> 16);
    p[2] = uint8_t(v >> 8);
    p[3] = uint8_t(v);
}
uint32_t get32(const uint8_t *p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
void put64(uint8_t *p, uint64_t v)
{
    put32(p, uint32_t(v >> 32));
    put32(p + 4, uint32_t(v));
}
uint64_t get64(const uint8_t *p) { return uint64_t(get32(p)) << 32 | get32(p + 4); }

struct Options {
    std::string role;
    std::string sip_local;    // ip:port
    std::string proxy;        // ip:port: outbound proxy (uac) / registrar (uas)
    std::string domain;       // the callee users' domain
    std::string from_domain;  // uac: the callers' domain
    std::string prefix = "bench";
    int calls = 10;
    double cps = 100;
    std::string rtp_ip;  // default: the SIP address
    int rtp_base = 40000;
    int ptime_ms = 20;
    int packet = 172;
    int expires = 3600;
    std::string password;       // digest password of every user; "" = none
    bool uac_register = false;  // uac: register caller0 before calling
    std::string turn;           // uac: ip:port of a TURN server (TCP); "" = plain RTP
};

// A request or 2xx response that is retransmitted until answered.
struct Txn {
    enum Kind { reg, invite, bye, ok2xx, kinds };
    Kind kind = reg;
    bool on = false;
    bool resend = true;     // false once a provisional reply came (INVITE)
    bool doubling = false;  // INVITE: Timer A doubles without a cap
    std::string msg;
    sockaddr_in dst{};
    int64_t next = 0, interval = 0, deadline = 0;
};

struct Call {
    int idx = 0;
    enum class St { idle, allocating, inviting, up, failed, byeing, done } st = St::idle;
    std::string call_id, local_tag, remote_tag;
    std::string from_hdr, to_hdr;  // with tags, as used in the dialog
    std::string invite_branch, invite_ruri, invite_route;
    std::string invite_auth;  // the (Proxy-)Authorization line of the INVITE
    bool auth_sent = false;
    uint32_t cseq = 1;
    Txn txn;
    std::string ack_msg;  // uac: the ACK of the 2xx, for its retransmissions
    sockaddr_in ack_dst{};
    std::vector<std::string> route_set;
    std::string remote_target;
    bool acked = false;  // uas
    int final_status = 0;
    // media
    int fd = -1;
    uint16_t rtp_port = 0;
    bool media = false;
    bool media_started = false;
    sockaddr_in media_addr{};  // what our SDP offers: our socket, or the TURN relayed address
    sockaddr_in peer{};
    int turn_watched_fd = -1;  // the TURN socket as registered with epoll
    uint32_t turn_events = 0;
    uint32_t ssrc = 0, seq = 0;
    // receiving
    int64_t max_seq = -1;
    std::vector<uint8_t> seen;
};

struct Reg {
    std::string call_id;
    Txn txn;
    int status = 0;
    uint32_t cseq = 1;
    bool auth_sent = false;
};

struct Dist {
    std::vector<int64_t> v;
    void add(int64_t x) { v.push_back(x); }
    std::string json()
    {
        if (v.empty())
            return "null";
        std::sort(v.begin(), v.end());
        auto q = [&](double p) {
            size_t i = size_t(std::ceil(p * double(v.size())));
            return v[std::min(v.size() - 1, i ? i - 1 : 0)];
        };
        double sum = 0;
        for (int64_t x : v)
            sum += double(x);
        char buf[256];
        snprintf(buf, sizeof buf,
                 "{\"n\": %zu, \"min\": %" PRId64 ", \"p50\": %" PRId64 ", \"p90\": %" PRId64 ", \"p99\": %" PRId64
                 ", \"p999\": %" PRId64 ", \"max\": %" PRId64 ", \"mean\": %.0f}",
                 v.size(), v.front(), q(0.5), q(0.9), q(0.99), q(0.999), v.back(), sum / double(v.size()));
        return buf;
    }
};

class App {
public:
    explicit App(Options o) : o_(std::move(o)) {}
    int run();

private:
    enum Kind : uint64_t { k_sip = 1, k_stdin, k_rtp_timer, k_tick, k_rtp, k_turn };
    static uint64_t key(Kind k, uint32_t i) { return uint64_t(k) << 32 | i; }

    bool setup();
    void loop();
    void on_stdin();
    void command(const std::string &line);
    void on_tick();
    void on_sip();
    void on_request(const SipMsg &m, const sockaddr_in &src);
    void on_response(const SipMsg &m);
    void on_rtp_timer();
    void on_rtp(Call &c);
    void on_rtp_payload(Call &c, const uint8_t *buf, size_t len, int64_t kern_t, int64_t user_t, bool right_source);
    void on_turn(Call &c, uint32_t events);
    void on_turn_events(Call &c, unsigned ev);
    void turn_watch(Call &c);
    static void on_turn_media(void *ctx, const uint8_t *data, size_t len, int64_t read_ns);

    void place_call(Call &c);
    void send_bye(Call &c);
    void start_media(Call &c);
    void stop_media(Call &c) { c.media = false; }
    void arm_rtp_timer();
    void send_rtp(Call &c, int64_t due);
    void send_register(int i, const std::string &auth = "");
    // Who registration i registers: uas its callee users, uac its caller.
    std::string reg_user(int i) const { return uac_ ? "caller" + std::to_string(i) : o_.prefix + std::to_string(i); }
    const std::string &reg_domain() const { return uac_ ? o_.from_domain : o_.domain; }
    int reg_count() const { return uac_ ? (o_.uac_register ? 1 : 0) : o_.calls; }
    void send_invite(Call &c);
    // The credentials line answering a 401/407 for user, "" if none fits.
    std::string answer_challenge(const SipMsg &m, const std::string &user, const std::string &method,
                                 const std::string &uri);
    void txn_start(Txn &t, std::string msg, const sockaddr_in &dst, Txn::Kind kind);
    void txn_timeout_check(Txn &t, int64_t now, const std::function<void()> &on_timeout);
    void send_sip(const std::string &msg, const sockaddr_in &dst);
    std::optional<sockaddr_in> next_hop(const Call &c);
    std::string via(const std::string &branch) const;
    std::string branch() { return "z9hG4bK-" + run_id_ + "-" + std::to_string(++branch_seq_); }
    std::string reply(const SipMsg &req, int code, const char *reason, const std::string &to_tag,
                      const std::string &extra = "", const std::string &body = "");
    std::string sdp(const Call &c) const;
    void check_progress();
    bool in_window(int64_t t) const { return t >= win0_ && t < win1_; }
    void write_report(const std::string &path);
    void say(const std::string &line)
    {
        printf("%s\n", line.c_str());
        fflush(stdout);
    }

    Options o_;
    bool uac_ = false;
    int ep_ = -1, sip_fd_ = -1, rtp_tfd_ = -1, tick_fd_ = -1;
    sockaddr_in sip_local_{}, proxy_{};
    std::string local_ip_;
    uint16_t local_port_ = 0;
    std::string run_id_;
    uint64_t branch_seq_ = 0;
    std::mt19937_64 rng_{std::random_device{}()};
    std::vector<Call> calls_;
    std::vector<Reg> regs_;
    std::unordered_map<std::string, int> by_call_id_;
    bool quit_ = false;
    std::string stdin_buf_;

    // uac pacing
    bool calling_ = false;
    int64_t call_start_ = 0;
    int placed_ = 0;
    bool calls_reported_ = false;
    bool byeing_ = false, byes_reported_ = false;
    // uas
    int reg_sent_ = 0;
    int64_t reg_start_ = 0;
    bool regs_reported_ = false, acked_reported_ = false;

    // RTP schedule: (due monotonic ns, call index)
    using Due = std::pair<int64_t, int>;
    std::priority_queue<Due, std::vector<Due>, std::greater<Due>> heap_;
    int64_t armed_ = -1;
    std::vector<uint8_t> pkt_;

    // measurement
    int64_t win0_ = INT64_MAX, win1_ = INT64_MAX;
    uint64_t tx_total_ = 0, tx_window_ = 0, tx_errors_ = 0;
    uint64_t rx_total_ = 0, rx_window_ = 0, rx_dup_ = 0, rx_reordered_ = 0, rx_foreign_ = 0, rx_wrong_src_ = 0;
    uint64_t rx_kernel_ts_ = 0, rx_negative_ = 0, rx_late_a_ = 0, rx_late_b_ = 0;
    uint64_t tx_queue_drops_ = 0;  // TURN: media the full TCP send queue did not take (counted as sent)
    // TURN (uac with --turn): one link per call
    bool turn_ = false;
    sockaddr_in turn_server_{};
    std::unique_ptr<turn::Link[]> links_;
    turn::Stats turn_stats_;
    Dist lat_kernel_, lat_user_, send_lag_;
    // packets slower than 1 ms (send time, latency, call): when, not just how many
    std::vector<std::array<int64_t, 3>> slow_;
    uint64_t sip_tx_ = 0, sip_rx_ = 0, sip_rtx_ = 0, sip_bad_ = 0, sip_unknown_ = 0;
    uint64_t rtx_kind_[Txn::kinds] = {};
    std::map<int, int> fail_codes_;
    int bye_ok_ = 0, bye_failed_ = 0, bye_sent_ = 0;
};

int App::run()
{
    if (!setup())
        return 1;
    say("READY");
    reg_start_ = mono_ns();
    regs_.resize(size_t(reg_count()));
    loop();
    return 0;
}

bool App::setup()
{
    uac_ = o_.role == "uac";
    auto local = parse_hostport(o_.sip_local);
    auto proxy = parse_hostport(o_.proxy);
    if (!local || !proxy) {
        fprintf(stderr, "bad --sip or --proxy address\n");
        return false;
    }
    sip_local_ = *local;
    proxy_ = *proxy;
    local_ip_ = o_.sip_local.substr(0, o_.sip_local.rfind(':'));
    local_port_ = ntohs(sip_local_.sin_port);
    if (o_.rtp_ip.empty())
        o_.rtp_ip = local_ip_;
    turn_ = uac_ && !o_.turn.empty();
    if (turn_) {
        auto t = parse_hostport(o_.turn);
        if (!t) {
            fprintf(stderr, "bad --turn address\n");
            return false;
        }
        turn_server_ = *t;
        links_ = std::make_unique<turn::Link[]>(size_t(o_.calls));
    }
    char id[16];
    snprintf(id, sizeof id, "%08x", unsigned(rng_()));
    run_id_ = id;

    ep_ = epoll_create1(EPOLL_CLOEXEC);
    auto add = [&](int fd, uint64_t k) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = k;
        return epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) == 0;
    };
    sip_fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int big = 4 << 20;
    if (setsockopt(sip_fd_, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0)
        setsockopt(sip_fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (bind(sip_fd_, reinterpret_cast<sockaddr *>(&sip_local_), sizeof sip_local_) != 0) {
        fprintf(stderr, "bind SIP %s: %s\n", o_.sip_local.c_str(), strerror(errno));
        return false;
    }
    add(sip_fd_, key(k_sip, 0));
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    add(0, key(k_stdin, 0));
    rtp_tfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    add(rtp_tfd_, key(k_rtp_timer, 0));
    tick_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    itimerspec its{};
    its.it_interval.tv_nsec = 10 * ms;
    its.it_value.tv_nsec = 10 * ms;
    timerfd_settime(tick_fd_, 0, &its, nullptr);
    add(tick_fd_, key(k_tick, 0));

    calls_.resize(size_t(o_.calls));
    for (int i = 0; i < o_.calls; i++) {
        Call &c = calls_[size_t(i)];
        c.idx = i;
        c.rtp_port = uint16_t(o_.rtp_base + 2 * i);
        c.ssrc = uint32_t(rng_());
        auto a = make_addr(o_.rtp_ip, c.rtp_port);
        if (turn_) {  // media over the call's TURN connection, opened with the call
            links_[size_t(i)].set_stats(&turn_stats_);
            continue;
        }
        if (a)
            c.media_addr = *a;
        c.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(c.fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
        if (!a || bind(c.fd, reinterpret_cast<const sockaddr *>(&*a), sizeof *a) != 0) {
            fprintf(stderr, "bind RTP %s:%u: %s\n", o_.rtp_ip.c_str(), c.rtp_port, strerror(errno));
            return false;
        }
        add(c.fd, key(k_rtp, uint32_t(i)));
    }
    pkt_.assign(size_t(std::max<int>(o_.packet, int(payload_min))), 0xff);  // PCMU silence
    return true;
}

void App::loop()
{
    epoll_event evs[256];
    while (!quit_) {
        int n = epoll_wait(ep_, evs, 256, 1000);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n && !quit_; i++) {
            uint64_t k = evs[i].data.u64;
            switch (Kind(k >> 32)) {
            case k_sip: on_sip(); break;
            case k_stdin: on_stdin(); break;
            case k_rtp_timer: on_rtp_timer(); break;
            case k_tick: on_tick(); break;
            case k_rtp: on_rtp(calls_[k & 0xffffffff]); break;
            case k_turn: on_turn(calls_[k & 0xffffffff], evs[i].events); break;
            }
        }
    }
}

void App::on_stdin()
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n == 0) {  // our driver is gone
            quit_ = true;
            return;
        }
        if (n < 0)
            break;
        stdin_buf_.append(buf, size_t(n));
    }
    size_t nl;
    while ((nl = stdin_buf_.find('\n')) != std::string::npos) {
        std::string line = stdin_buf_.substr(0, nl);
        stdin_buf_.erase(0, nl + 1);
        if (!line.empty())
            command(line);
    }
}

void App::command(const std::string &line)
{
    char path[4096];
    long long a = 0, b = 0;
    if (line == "call" && uac_) {
        calling_ = true;
        call_start_ = mono_ns();
    } else if (sscanf(line.c_str(), "window %lld %lld", &a, &b) == 2) {
        win0_ = a;
        win1_ = b;
    } else if (line == "stop") {
        for (auto &c : calls_)
            stop_media(c);
    } else if (line == "bye" && uac_) {
        byeing_ = true;
        for (auto &c : calls_)
            if (c.st == Call::St::up)
                send_bye(c);
        check_progress();
    } else if (sscanf(line.c_str(), "report %4095s", path) == 1) {
        write_report(path);
        say("REPORTED");
    } else if (line == "quit") {
        quit_ = true;
    } else {
        fprintf(stderr, "unknown command: %s\n", line.c_str());
    }
}

void App::on_tick()
{
    uint64_t exp;
    if (read(tick_fd_, &exp, sizeof exp) < 0)
        return;
    int64_t now = mono_ns();
    if (uac_ && calling_) {
        int64_t due = int64_t(double(now - call_start_) * o_.cps / 1e9) + 1;
        while (placed_ < o_.calls && placed_ < due)
            place_call(calls_[size_t(placed_++)]);
    }
    if (reg_sent_ < reg_count()) {
        // registrations paced like calls, so the registrar's socket never overflows
        int64_t due = int64_t(double(now - reg_start_) * std::max(o_.cps, 200.0) / 1e9) + 1;
        while (reg_sent_ < reg_count() && reg_sent_ < due)
            send_register(reg_sent_++);
    }
    for (auto &c : calls_) {
        if (!c.txn.on)
            continue;
        txn_timeout_check(c.txn, now, [&] {
            if (c.st == Call::St::inviting) {
                c.st = Call::St::failed;
                fail_codes_[408]++;
            } else if (c.st == Call::St::byeing) {
                c.st = Call::St::done;
                bye_failed_++;
            }
        });
    }
    for (auto &r : regs_)
        if (r.txn.on)
            txn_timeout_check(r.txn, now, [&] { r.status = 408; });
    if (turn_)
        for (auto &c : calls_) {
            turn::Link &l = links_[size_t(c.idx)];
            if (l.fd() >= 0) {
                on_turn_events(c, l.on_tick(now / ms));
                turn_watch(c);
            }
        }
    check_progress();
}

void App::check_progress()
{
    if (!regs_reported_ && reg_count() > 0 && reg_sent_ == reg_count()) {
        int ok = 0, failed = 0;
        for (auto &r : regs_) {
            if (r.status == 0)
                return;
            (r.status < 300 ? ok : failed)++;
        }
        regs_reported_ = true;
        say("REGISTERED ok=" + std::to_string(ok) + " failed=" + std::to_string(failed));
    }
    if (uac_) {
        if (calling_ && !calls_reported_ && placed_ == o_.calls) {
            int up = 0, failed = 0, pending = 0;
            for (auto &c : calls_) {
                if (c.st == Call::St::inviting || c.st == Call::St::idle || c.st == Call::St::allocating)
                    pending++;
                else if (c.st == Call::St::failed)
                    failed++;
                else
                    up++;
            }
            if (!pending) {
                calls_reported_ = true;
                say("CALLS up=" + std::to_string(up) + " failed=" + std::to_string(failed));
            }
        }
        if (byeing_ && !byes_reported_) {
            for (auto &c : calls_)
                if (c.st == Call::St::byeing)
                    return;
            byes_reported_ = true;
            say("BYES ok=" + std::to_string(bye_ok_) + " failed=" + std::to_string(bye_failed_));
        }
        return;
    }
    if (!regs_reported_)
        return;
    if (!acked_reported_) {
        int acked = 0;
        for (auto &c : calls_)
            acked += c.acked;
        if (acked == o_.calls) {
            acked_reported_ = true;
            say("ACKED " + std::to_string(acked));
        }
    }
}

// ---------------------------------------------------------------- SIP out

std::string App::via(const std::string &br) const
{
    return "Via: SIP/2.0/UDP " + local_ip_ + ":" + std::to_string(local_port_) + ";branch=" + br + ";rport\r\n";
}

std::string App::sdp(const Call &c) const
{
    std::string id = std::to_string(1000 + c.idx);
    char ip[INET_ADDRSTRLEN] = "0.0.0.0";
    inet_ntop(AF_INET, &c.media_addr.sin_addr, ip, sizeof ip);
    return "v=0\r\no=- " + id + " " + id + " IN IP4 " + ip + "\r\ns=sofw-loadgen\r\nc=IN IP4 " + ip +
           "\r\nt=0 0\r\nm=audio " + std::to_string(ntohs(c.media_addr.sin_port)) +
           " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:" + std::to_string(o_.ptime_ms) + "\r\na=sendrecv\r\n";
}

void App::send_sip(const std::string &msg, const sockaddr_in &dst)
{
    sendto(sip_fd_, msg.data(), msg.size(), 0, reinterpret_cast<const sockaddr *>(&dst), sizeof dst);
    sip_tx_++;
}

void App::txn_start(Txn &t, std::string msg, const sockaddr_in &dst, Txn::Kind kind)
{
    t.on = true;
    t.resend = true;
    t.kind = kind;
    t.doubling = kind == Txn::invite;
    t.msg = std::move(msg);
    t.dst = dst;
    int64_t now = mono_ns();
    t.interval = 500 * ms;
    t.next = now + t.interval;
    t.deadline = now + 32000 * ms;
    send_sip(t.msg, t.dst);
}

void App::txn_timeout_check(Txn &t, int64_t now, const std::function<void()> &on_timeout)
{
    if (now >= t.deadline) {
        t.on = false;
        on_timeout();
        return;
    }
    if (t.resend && now >= t.next) {
        send_sip(t.msg, t.dst);
        sip_rtx_++;
        rtx_kind_[t.kind]++;
        t.interval = t.doubling ? t.interval * 2 : std::min<int64_t>(t.interval * 2, 4000 * ms);
        t.next = now + t.interval;
    }
}

std::string App::answer_challenge(const SipMsg &m, const std::string &user, const std::string &method,
                                  const std::string &uri)
{
    if (o_.password.empty() || (m.status != 401 && m.status != 407))
        return "";
    auto ch = parse_challenge(m.get(m.status == 401 ? "www-authenticate" : "proxy-authenticate"));
    if (!ch)
        return "";
    char cnonce[17];
    snprintf(cnonce, sizeof cnonce, "%016llx", static_cast<unsigned long long>(rng_()));
    return std::string(m.status == 401 ? "Authorization: " : "Proxy-Authorization: ") +
           digest_answer(*ch, user, o_.password, method, uri, 1, cnonce) + "\r\n";
}

void App::send_register(int i, const std::string &auth)
{
    Reg &r = regs_[size_t(i)];
    std::string user = reg_user(i);
    const std::string &domain = reg_domain();
    r.call_id = "reg-" + run_id_ + "-" + std::to_string(i) + "@" + local_ip_;
    std::string msg = "REGISTER sip:" + domain + " SIP/2.0\r\n" + via(branch()) +
                      "Max-Forwards: 70\r\n"
                      "From: <sip:" +
                      user + "@" + domain + ">;tag=" + run_id_ + "r" + std::to_string(i) +
                      "\r\n"
                      "To: <sip:" +
                      user + "@" + domain +
                      ">\r\n"
                      "Call-ID: " +
                      r.call_id +
                      "\r\n"
                      "CSeq: " +
                      std::to_string(r.cseq) + " REGISTER\r\n" + auth + "Contact: <sip:" + user + "@" + local_ip_ +
                      ":" + std::to_string(local_port_) +
                      ">\r\n"
                      "Expires: " +
                      std::to_string(o_.expires) +
                      "\r\n"
                      "User-Agent: sofw-loadgen\r\n"
                      "Content-Length: 0\r\n\r\n";
    by_call_id_[r.call_id] = i;
    txn_start(r.txn, msg, proxy_, Txn::reg);
}

void App::place_call(Call &c)
{
    std::string user = o_.prefix + std::to_string(c.idx);
    c.call_id = "lg-" + run_id_ + "-" + std::to_string(c.idx) + "@" + local_ip_;
    c.local_tag = run_id_ + "t" + std::to_string(c.idx);
    c.from_hdr = "<sip:caller" + std::to_string(c.idx) + "@" + o_.from_domain + ">;tag=" + c.local_tag;
    c.to_hdr = "<sip:" + user + "@" + o_.domain + ">";
    c.invite_ruri = "sip:" + user + "@" + o_.domain;
    c.invite_route = "Route: <sip:" + addr_text(proxy_) + ";lr>\r\n";
    c.cseq = 1;
    by_call_id_[c.call_id] = c.idx;
    if (turn_) {  // the INVITE follows once the relay has given us an address
        turn::Link &l = links_[size_t(c.idx)];
        c.st = Call::St::allocating;
        if (!l.open(turn_server_, rng_(), mono_ns() / ms)) {
            fprintf(stderr, "call %d: no TCP socket for TURN: %s\n", c.idx, strerror(errno));
            c.st = Call::St::failed;
            fail_codes_[0]++;
            return;
        }
        if (l.state() == turn::Link::State::failed) {
            c.st = Call::St::failed;
            fail_codes_[0]++;
            return;
        }
        turn_watch(c);
        return;
    }
    c.st = Call::St::inviting;
    send_invite(c);
}

void App::send_invite(Call &c)
{
    c.invite_branch = branch();
    std::string body = sdp(c);
    std::string msg = "INVITE " + c.invite_ruri + " SIP/2.0\r\n" + via(c.invite_branch) + "Max-Forwards: 70\r\n" +
                      c.invite_route + "From: " + c.from_hdr + "\r\nTo: " + c.to_hdr + "\r\nCall-ID: " + c.call_id +
                      "\r\nCSeq: " + std::to_string(c.cseq) + " INVITE\r\n" + c.invite_auth + "Contact: <sip:caller" +
                      std::to_string(c.idx) + "@" + local_ip_ + ":" + std::to_string(local_port_) +
                      ">\r\n"
                      "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n"
                      "User-Agent: sofw-loadgen\r\n"
                      "Content-Type: application/sdp\r\n"
                      "Content-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body;
    txn_start(c.txn, msg, proxy_, Txn::invite);
}

std::optional<sockaddr_in> App::next_hop(const Call &c)
{
    if (!c.route_set.empty())
        return uri_addr(header_uri(c.route_set.front()));
    return uri_addr(c.remote_target);
}

void App::send_bye(Call &c)
{
    auto dst = next_hop(c);
    if (!dst) {
        c.st = Call::St::done;
        bye_failed_++;
        return;
    }
    std::string routes;
    for (auto &r : c.route_set)
        routes += "Route: " + r + "\r\n";
    std::string msg = "BYE " + c.remote_target + " SIP/2.0\r\n" + via(branch()) + "Max-Forwards: 70\r\n" + routes +
                      "From: " + c.from_hdr + "\r\nTo: " + c.to_hdr + "\r\nCall-ID: " + c.call_id +
                      "\r\nCSeq: " + std::to_string(++c.cseq) +
                      " BYE\r\nUser-Agent: sofw-loadgen\r\nContent-Length: 0\r\n\r\n";
    stop_media(c);
    c.st = Call::St::byeing;
    bye_sent_++;
    txn_start(c.txn, msg, *dst, Txn::bye);
}

std::string App::reply(const SipMsg &req, int code, const char *reason, const std::string &to_tag,
                       const std::string &extra, const std::string &body)
{
    std::string r = "SIP/2.0 " + std::to_string(code) + " " + reason + "\r\n";
    for (auto &v : req.lines("via"))
        r += "Via: " + v + "\r\n";
    if (code > 100 && code < 300)
        for (auto &v : req.lines("record-route"))
            r += "Record-Route: " + v + "\r\n";
    r += "From: " + req.get("from") + "\r\n";
    std::string to = req.get("to");
    if (!to_tag.empty() && header_tag(to).empty())
        to += ";tag=" + to_tag;
    r += "To: " + to + "\r\nCall-ID: " + req.call_id() + "\r\nCSeq: " + req.get("cseq") + "\r\n" + extra +
         "User-Agent: sofw-loadgen\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return r;
}

// ---------------------------------------------------------------- SIP in

void App::on_sip()
{
    char buf[65536];
    for (int n = 0; n < 64; n++) {
        sockaddr_in src{};
        socklen_t sl = sizeof src;
        ssize_t len = recvfrom(sip_fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr *>(&src), &sl);
        if (len < 0)
            break;
        sip_rx_++;
        SipMsg m;
        if (!parse_sip(buf, size_t(len), m)) {
            sip_bad_++;
            continue;
        }
        if (m.is_request)
            on_request(m, src);
        else
            on_response(m);
    }
    check_progress();
}

void App::on_request(const SipMsg &m, const sockaddr_in &src)
{
    auto it = by_call_id_.find(m.call_id());
    Call *c = it != by_call_id_.end() && it->second < int(calls_.size()) &&
                      !calls_[size_t(it->second)].call_id.empty() && calls_[size_t(it->second)].call_id == m.call_id()
                  ? &calls_[size_t(it->second)]
                  : nullptr;
    if (m.method == "INVITE" && !uac_) {
        if (c) {  // a retransmission: our 200 again
            if (c->txn.on)
                send_sip(c->txn.msg, src);
            return;
        }
        std::string user = uri_user(m.ruri);
        int idx = -1;
        if (user.compare(0, o_.prefix.size(), o_.prefix) == 0)
            idx = atoi(user.c_str() + o_.prefix.size());
        if (idx < 0 || idx >= o_.calls || !calls_[size_t(idx)].call_id.empty()) {
            send_sip(reply(m, 486, "Busy Here", run_id_ + "b"), src);
            return;
        }
        auto peer = sdp_audio(m.body);
        if (!peer) {
            send_sip(reply(m, 488, "Not Acceptable Here", run_id_ + "b"), src);
            return;
        }
        Call &n = calls_[size_t(idx)];
        n.call_id = m.call_id();
        n.local_tag = run_id_ + "a" + std::to_string(idx);
        n.peer = *peer;
        n.st = Call::St::up;
        by_call_id_[n.call_id] = idx;
        std::string contact = "Contact: <sip:" + o_.prefix + std::to_string(idx) + "@" + local_ip_ + ":" +
                              std::to_string(local_port_) + ">\r\nContent-Type: application/sdp\r\n";
        txn_start(n.txn, reply(m, 200, "OK", n.local_tag, contact, sdp(n)), src, Txn::ok2xx);
        return;
    }
    if (m.method == "ACK") {
        if (c && !uac_ && c->txn.on) {
            c->txn.on = false;
            c->acked = true;
            start_media(*c);
        }
        return;
    }
    if (m.method == "BYE") {
        send_sip(reply(m, c ? 200 : 481, c ? "OK" : "Call/Transaction Does Not Exist", ""), src);
        if (c) {
            stop_media(*c);
            c->txn.on = false;
            c->st = Call::St::done;
        }
        return;
    }
    // OPTIONS, CANCEL, anything else: a plain 200
    send_sip(reply(m, 200, "OK", run_id_ + "o"), src);
}

void App::on_response(const SipMsg &m)
{
    auto it = by_call_id_.find(m.call_id());
    if (it == by_call_id_.end()) {
        sip_unknown_++;
        return;
    }
    auto [num, method] = m.cseq();
    if (method == "REGISTER" && it->second < int(regs_.size()) && regs_[size_t(it->second)].call_id == m.call_id()) {
        Reg &r = regs_[size_t(it->second)];
        if (num != r.cseq)
            return;  // for the REGISTER before the challenge
        if (!r.auth_sent && r.txn.on && (m.status == 401 || m.status == 407)) {
            int i = it->second;
            std::string auth = answer_challenge(m, reg_user(i), "REGISTER", "sip:" + reg_domain());
            if (!auth.empty()) {
                r.txn.on = false;
                r.auth_sent = true;
                r.cseq++;
                send_register(i, auth);
                return;
            }
        }
        if (m.status >= 200 && r.txn.on) {
            r.txn.on = false;
            r.status = m.status;
        }
        return;
    }
    Call &c = calls_[size_t(it->second)];
    if (method == "INVITE") {
        if (num != c.cseq)
            return;  // for the INVITE before the challenge (ACKed then)
        if (m.status < 200) {
            if (c.st == Call::St::inviting)
                c.txn.resend = false;
            return;
        }
        if (m.status < 300) {
            if (c.st != Call::St::inviting) {  // a retransmitted 2xx: ACK again
                if (!c.ack_msg.empty())
                    send_sip(c.ack_msg, c.ack_dst);
                return;
            }
            c.txn.on = false;
            c.remote_tag = header_tag(m.get("to"));
            c.to_hdr = m.get("to");
            c.route_set = m.all("record-route");
            std::reverse(c.route_set.begin(), c.route_set.end());
            c.remote_target = header_uri(m.get("contact"));
            auto dst = next_hop(c);
            auto peer = sdp_audio(m.body);
            if (!dst || c.remote_target.empty() || !peer) {
                fprintf(stderr, "call %d: 200 without usable Contact/route/SDP\n", c.idx);
                c.st = Call::St::failed;
                fail_codes_[m.status]++;
                return;
            }
            std::string routes;
            for (auto &r : c.route_set)
                routes += "Route: " + r + "\r\n";
            c.ack_msg = "ACK " + c.remote_target + " SIP/2.0\r\n" + via(branch()) + "Max-Forwards: 70\r\n" + routes +
                        "From: " + c.from_hdr + "\r\nTo: " + c.to_hdr + "\r\nCall-ID: " + c.call_id +
                        "\r\nCSeq: " + std::to_string(c.cseq) +
                        " ACK\r\nUser-Agent: sofw-loadgen\r\nContent-Length: 0\r\n\r\n";
            c.ack_dst = *dst;
            send_sip(c.ack_msg, c.ack_dst);
            c.final_status = m.status;
            c.peer = *peer;
            c.st = Call::St::up;
            if (turn_) {  // media once the relay has the permission and the channel
                turn::Link &l = links_[size_t(c.idx)];
                if (!l.bind(c.peer, mono_ns() / ms))
                    fprintf(stderr, "call %d: TURN permission/channel could not be requested\n", c.idx);
                turn_watch(c);
                return;
            }
            start_media(c);
            return;
        }
        // a failure: ACK it on the INVITE's own transaction
        std::string ack = "ACK " + c.invite_ruri + " SIP/2.0\r\n" + via(c.invite_branch) + "Max-Forwards: 70\r\n" +
                          c.invite_route + "From: " + c.from_hdr + "\r\nTo: " + m.get("to") +
                          "\r\nCall-ID: " + c.call_id + "\r\nCSeq: " + std::to_string(c.cseq) +
                          " ACK\r\nContent-Length: 0\r\n\r\n";
        send_sip(ack, proxy_);
        if (c.st == Call::St::inviting && !c.auth_sent) {
            std::string auth = answer_challenge(m, "caller" + std::to_string(c.idx), "INVITE", c.invite_ruri);
            if (!auth.empty()) {  // the same call again, with credentials
                c.txn.on = false;
                c.auth_sent = true;
                c.invite_auth = auth;
                c.cseq++;
                send_invite(c);
                return;
            }
        }
        if (c.st == Call::St::inviting) {
            c.txn.on = false;
            c.st = Call::St::failed;
            c.final_status = m.status;
            fail_codes_[m.status]++;
        }
        return;
    }
    if (method == "BYE" && c.st == Call::St::byeing && m.status >= 200) {
        c.txn.on = false;
        c.st = Call::St::done;
        (m.status < 300 ? bye_ok_ : bye_failed_)++;
        if (m.status >= 300)
            fail_codes_[m.status]++;
    }
}

// ---------------------------------------------------------------- RTP

void App::start_media(Call &c)
{
    if (c.media_started)
        return;
    c.media_started = c.media = true;
    // Spread the calls evenly over the packet interval (the other side half
    // an interval later), as independent phones would be.
    int64_t period = int64_t(o_.ptime_ms) * ms;
    int64_t offset = (period * c.idx / std::max(1, o_.calls) + (uac_ ? 0 : period / 2)) % period;
    int64_t now = mono_ns();
    int64_t r = ((now - offset) % period + period) % period;
    heap_.push({now + (period - r) % period, c.idx});
    arm_rtp_timer();
}

void App::arm_rtp_timer()
{
    if (heap_.empty())
        return;
    int64_t due = heap_.top().first;
    if (due == armed_)
        return;
    armed_ = due;
    itimerspec its{};
    its.it_value.tv_sec = due / 1000000000;
    its.it_value.tv_nsec = due % 1000000000;
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1;
    timerfd_settime(rtp_tfd_, TFD_TIMER_ABSTIME, &its, nullptr);
}

void App::on_rtp_timer()
{
    uint64_t exp;
    if (read(rtp_tfd_, &exp, sizeof exp) < 0 && errno != EAGAIN)
        return;
    armed_ = -1;
    int64_t period = int64_t(o_.ptime_ms) * ms;
    int64_t now = mono_ns();
    // When late, catch up without dropping the schedule, but let receiving
    // run in between.
    for (int sent = 0; !heap_.empty() && heap_.top().first <= now && sent < 2000; sent++) {
        auto [due, idx] = heap_.top();
        heap_.pop();
        Call &c = calls_[size_t(idx)];
        if (!c.media)
            continue;
        send_rtp(c, due);
        heap_.push({due + period, idx});
    }
    if (!heap_.empty() && heap_.top().first <= mono_ns()) {
        armed_ = -1;
        itimerspec its{};
        its.it_value.tv_nsec = 1;  // relative: at once
        timerfd_settime(rtp_tfd_, 0, &its, nullptr);
        armed_ = 0;
        return;
    }
    arm_rtp_timer();
}

void App::send_rtp(Call &c, int64_t due)
{
    uint8_t *p = pkt_.data();
    p[0] = 0x80;
    p[1] = 0;  // PCMU
    p[2] = uint8_t(c.seq >> 8);
    p[3] = uint8_t(c.seq);
    put32(p + 4, c.seq * 160);
    put32(p + 8, c.ssrc);
    put32(p + 12, magic);
    put32(p + 16, uint32_t(c.idx));
    put32(p + 20, c.seq);
    int64_t t = real_ns();
    put64(p + 24, uint64_t(t));
    if (turn_) {
        turn::Link &l = links_[size_t(c.idx)];
        auto r = l.send_media(p, pkt_.size());
        turn_watch(c);
        if (r == turn::Link::Send::closed) {
            tx_errors_++;
            return;
        }
        // A full queue is a loss TCP caused: the packet counts as sent.
        if (r == turn::Link::Send::dropped)
            tx_queue_drops_++;
    } else if (sendto(c.fd, p, pkt_.size(), 0, reinterpret_cast<const sockaddr *>(&c.peer), sizeof c.peer) < 0) {
        tx_errors_++;
        return;  // the sequence number stays: a failed send is not a lost packet
    }
    c.seq++;
    tx_total_++;
    if (in_window(t)) {
        tx_window_++;
        send_lag_.add(mono_ns() - due);
    }
}

void App::on_rtp(Call &c)
{
    // One datagram per readiness event: with level-triggered epoll a second
    // one is reported again, and we save the recvmsg that would say EAGAIN.
    uint8_t buf[2048];
    char ctrl[CMSG_SPACE(sizeof(timespec))];
    sockaddr_in src{};
    iovec iov{buf, sizeof buf};
    msghdr mh{};
    mh.msg_name = &src;
    mh.msg_namelen = sizeof src;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctrl;
    mh.msg_controllen = sizeof ctrl;
    ssize_t len = recvmsg(c.fd, &mh, 0);
    if (len < 0)
        return;
    int64_t user_t = real_ns();
    int64_t kern_t = 0;
    for (cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
            timespec ts;
            memcpy(&ts, CMSG_DATA(cm), sizeof ts);
            kern_t = int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
        }
    bool right_source = src.sin_addr.s_addr == c.peer.sin_addr.s_addr && src.sin_port == c.peer.sin_port;
    on_rtp_payload(c, buf, size_t(len), kern_t, user_t, right_source);
}

void App::on_rtp_payload(Call &c, const uint8_t *buf, size_t len, int64_t kern_t, int64_t user_t, bool right_source)
{
    if (len < payload_min || get32(buf + 12) != magic) {
        rx_foreign_++;
        return;
    }
    if (!right_source)
        rx_wrong_src_++;
    uint32_t seq = get32(buf + 20);
    int64_t sent = int64_t(get64(buf + 24));
    if (seq > (1u << 24)) {
        rx_foreign_++;
        return;
    }
    if (c.seen.size() <= seq)
        c.seen.resize(std::max<size_t>(size_t(seq) + 1, c.seen.size() * 2), 0);
    if (c.seen[seq]) {
        rx_dup_++;
        return;
    }
    c.seen[seq] = 1;
    if (int64_t(seq) < c.max_seq)
        rx_reordered_++;
    else
        c.max_seq = seq;
    rx_total_++;
    if (in_window(sent)) {
        rx_window_++;
        int64_t k = kern_t ? kern_t - sent : user_t - sent;
        if (kern_t)
            rx_kernel_ts_++;
        if (k < 0)
            rx_negative_++;
        lat_kernel_.add(k);
        lat_user_.add(user_t - sent);
        rx_late_a_ += k > late_a_ns;
        rx_late_b_ += k > late_b_ns;
        if (k > ms && slow_.size() < 20000)
            slow_.push_back({sent, k, c.idx});
    }
}

// ---------------------------------------------------------------- TURN

void App::turn_watch(Call &c)
{
    turn::Link &l = links_[size_t(c.idx)];
    if (l.fd() < 0) {  // closing the socket took it out of epoll
        c.turn_watched_fd = -1;
        return;
    }
    uint32_t want = EPOLLIN | (l.want_write() ? uint32_t(EPOLLOUT) : 0);
    if (c.turn_watched_fd == l.fd() && c.turn_events == want)
        return;
    epoll_event ev{};
    ev.events = want;
    ev.data.u64 = key(k_turn, uint32_t(c.idx));
    if (epoll_ctl(ep_, c.turn_watched_fd == l.fd() ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, l.fd(), &ev) == 0) {
        c.turn_watched_fd = l.fd();
        c.turn_events = want;
    }
}

struct TurnMediaCtx {
    App *app;
    Call *call;
};

void App::on_turn_media(void *ctx, const uint8_t *data, size_t len, int64_t read_ns)
{
    auto *m = static_cast<TurnMediaCtx *>(ctx);
    // The relay sends only what comes from the bound peer on our channel.
    m->app->on_rtp_payload(*m->call, data, len, 0, read_ns, true);
}

void App::on_turn(Call &c, uint32_t events)
{
    turn::Link &l = links_[size_t(c.idx)];
    int64_t now = mono_ns() / ms;
    unsigned ev = 0;
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        ev |= l.on_writable(now);
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        TurnMediaCtx ctx{this, &c};
        ev |= l.on_readable(now, &App::on_turn_media, &ctx);
    }
    on_turn_events(c, ev);
    turn_watch(c);
    check_progress();
}

void App::on_turn_events(Call &c, unsigned ev)
{
    turn::Link &l = links_[size_t(c.idx)];
    if ((ev & turn::Link::ev_allocated) && c.st == Call::St::allocating) {
        c.media_addr = l.relayed();
        c.st = Call::St::inviting;
        send_invite(c);
    }
    if (ev & turn::Link::ev_bound)
        start_media(c);
    if ((ev & turn::Link::ev_failed) && c.st == Call::St::allocating) {
        c.st = Call::St::failed;
        fail_codes_[0]++;  // no SIP status: the relay gave no address
    }
}

// ---------------------------------------------------------------- report

void App::write_report(const std::string &path)
{
    uint64_t lost_by_seq = 0;
    int established = 0, failed = 0, acked = 0;
    for (auto &c : calls_) {
        uint64_t unique = 0;
        for (uint8_t s : c.seen)
            unique += s;
        if (c.max_seq >= 0)
            lost_by_seq += uint64_t(c.max_seq + 1) - unique;
        if (c.media_started)
            established++;
        if (c.st == Call::St::failed)
            failed++;
        acked += c.acked;
    }
    int reg_ok = 0, reg_failed = 0;
    for (auto &r : regs_)
        (r.status >= 200 && r.status < 300 ? reg_ok : reg_failed) += r.status ? 1 : 0;
    std::string codes = "{";
    for (auto &kv : fail_codes_)
        codes += (codes.size() > 1 ? ", \"" : "\"") + std::to_string(kv.first) + "\": " + std::to_string(kv.second);
    codes += "}";
    FILE *f = fopen(path.c_str(), "w");
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", path.c_str(), strerror(errno));
        return;
    }
    fprintf(f,
            "{\n  \"role\": \"%s\", \"calls\": %d, \"media_started\": %d, \"failed\": %d, \"fail_codes\": %s,\n"
            "  \"acked\": %d, \"registered\": %d, \"register_failed\": %d, \"bye_sent\": %d, \"bye_ok\": %d, "
            "\"bye_failed\": %d,\n"
            "  \"window_ns\": [%" PRId64 ", %" PRId64 "], \"packet_bytes\": %zu, \"ptime_ms\": %d,\n"
            "  \"tx\": {\"total\": %" PRIu64 ", \"window\": %" PRIu64 ", \"errors\": %" PRIu64
            ", \"queue_drops\": %" PRIu64 ", \"send_lag_ns\": %s},\n"
            "  \"rx\": {\"total\": %" PRIu64 ", \"window\": %" PRIu64 ", \"dup\": %" PRIu64 ", \"reordered\": %" PRIu64
            ", \"lost_by_seq\": %" PRIu64 ", \"foreign\": %" PRIu64 ", \"wrong_source\": %" PRIu64
            ", \"kernel_timestamps\": %" PRIu64 ", \"negative_latency\": %" PRIu64 ",\n"
            "         \"late_over_60ms\": %" PRIu64 ", \"late_over_150ms\": %" PRIu64 ", \"receive_time\": \"%s\",\n"
            "         \"latency_ns\": %s,\n         \"latency_user_ns\": %s},\n"
            "  \"sip\": {\"tx\": %" PRIu64 ", \"rx\": %" PRIu64 ", \"retransmissions\": %" PRIu64
            ", \"unparsed\": %" PRIu64 ", \"unknown_call\": %" PRIu64 ",\n           \"retransmitted\": "
            "{\"REGISTER\": %" PRIu64 ", \"INVITE\": %" PRIu64 ", \"BYE\": %" PRIu64 ", \"200\": %" PRIu64 "}},\n",
            o_.role.c_str(), o_.calls, established, failed, codes.c_str(), acked, reg_ok, reg_failed, bye_sent_,
            bye_ok_, bye_failed_, win0_ == INT64_MAX ? 0 : win0_, win1_ == INT64_MAX ? 0 : win1_, pkt_.size(),
            o_.ptime_ms, tx_total_, tx_window_, tx_errors_, tx_queue_drops_, send_lag_.json().c_str(), rx_total_,
            rx_window_, rx_dup_, rx_reordered_, lost_by_seq, rx_foreign_, rx_wrong_src_, rx_kernel_ts_, rx_negative_,
            rx_late_a_, rx_late_b_, turn_ ? "read from TCP" : "kernel", lat_kernel_.json().c_str(),
            lat_user_.json().c_str(), sip_tx_, sip_rx_, sip_rtx_, sip_bad_, sip_unknown_, rtx_kind_[Txn::reg],
            rtx_kind_[Txn::invite], rtx_kind_[Txn::bye], rtx_kind_[Txn::ok2xx]);
    if (turn_) {
        const turn::Stats &t = turn_stats_;
        fprintf(f,
                "  \"turn\": {\"connects\": %" PRIu64 ", \"allocated\": %" PRIu64 ", \"bound\": %" PRIu64
                ", \"connect_failed\": %" PRIu64 ", \"allocate_failed\": %" PRIu64 ", \"bind_failed\": %" PRIu64
                ", \"closed_by_server\": %" PRIu64 ", \"bad_frames\": %" PRIu64 ", \"foreign_channel\": %" PRIu64
                ", \"stray_answers\": %" PRIu64 ", \"txn_timeouts\": %" PRIu64 ", \"refreshes\": %" PRIu64
                ", \"refresh_failed\": %" PRIu64 ", \"queue_full\": %" PRIu64 ", \"requests_dropped\": %" PRIu64 "},\n",
                t.connects, t.allocated, t.bound, t.connect_failed, t.allocate_failed, t.bind_failed,
                t.closed_by_server, t.bad_frames, t.foreign_channel, t.stray_answers, t.txn_timeouts, t.refreshes,
                t.refresh_failed, t.queue_full, t.requests_dropped);
    }
    // [send time ns, one-way latency ns, call] of every packet slower than 1 ms
    fprintf(f, "  \"slow\": [");
    for (size_t i = 0; i < slow_.size(); i++)
        fprintf(f, "%s[%" PRId64 ", %" PRId64 ", %" PRId64 "]", i ? ", " : "", slow_[i][0], slow_[i][1], slow_[i][2]);
    fprintf(f, "]\n}\n");
    fclose(f);
}

void usage()
{
    fprintf(stderr, "usage: sofw-loadgen --role uac|uas --sip IP:PORT --proxy IP:PORT --domain D\n"
                    "       [--from-domain D] [--calls N] [--cps R] [--prefix bench] [--rtp-ip IP]\n"
                    "       [--rtp-base PORT] [--ptime MS] [--packet BYTES] [--password P] [--register]\n"
                    "       [--turn IP:PORT]\n"
                    "Commands on stdin: call | window T0 T1 | stop | bye | report PATH | quit\n");
}

}  // namespace
}  // namespace loadgen

int main(int argc, char **argv)
{
    using loadgen::Options;
    Options o;
    static option longopts[] = {{"role", required_argument, nullptr, 'r'},
                                {"sip", required_argument, nullptr, 's'},
                                {"proxy", required_argument, nullptr, 'p'},
                                {"domain", required_argument, nullptr, 'd'},
                                {"from-domain", required_argument, nullptr, 'f'},
                                {"calls", required_argument, nullptr, 'n'},
                                {"cps", required_argument, nullptr, 'c'},
                                {"prefix", required_argument, nullptr, 'u'},
                                {"rtp-ip", required_argument, nullptr, 'i'},
                                {"rtp-base", required_argument, nullptr, 'b'},
                                {"ptime", required_argument, nullptr, 't'},
                                {"packet", required_argument, nullptr, 'l'},
                                {"password", required_argument, nullptr, 'w'},
                                {"register", no_argument, nullptr, 'g'},
                                {"turn", required_argument, nullptr, 'T'},
                                {"help", no_argument, nullptr, 'h'},
                                {nullptr, 0, nullptr, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
        switch (ch) {
        case 'r': o.role = optarg; break;
        case 's': o.sip_local = optarg; break;
        case 'p': o.proxy = optarg; break;
        case 'd': o.domain = optarg; break;
        case 'f': o.from_domain = optarg; break;
        case 'n': o.calls = atoi(optarg); break;
        case 'c': o.cps = atof(optarg); break;
        case 'u': o.prefix = optarg; break;
        case 'i': o.rtp_ip = optarg; break;
        case 'b': o.rtp_base = atoi(optarg); break;
        case 't': o.ptime_ms = atoi(optarg); break;
        case 'l': o.packet = atoi(optarg); break;
        case 'w': o.password = optarg; break;
        case 'g': o.uac_register = true; break;
        case 'T': o.turn = optarg; break;
        default: loadgen::usage(); return 2;
        }
    }
    if ((o.role != "uac" && o.role != "uas") || o.sip_local.empty() || o.proxy.empty() || o.domain.empty() ||
        o.calls < 1 || o.calls > 20000 || o.ptime_ms < 1 || o.cps <= 0 || o.rtp_base < 1024 ||
        o.rtp_base + 2 * o.calls > 65535) {
        loadgen::usage();
        return 2;
    }
    if (o.from_domain.empty())
        o.from_domain = o.domain;
    return loadgen::App(o).run();
}
