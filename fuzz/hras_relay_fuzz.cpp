// HRAS's relay process (HrasProcess: tunnel boundary, media planner, RAT,
// media relay, phone endpoints) fed a sequence of events
// (fuzz_events.hpp), in its real wiring on real sockets. The process runs in
// a network namespace of its own (made at start-up: only loopback, so no
// packet the fuzzer makes up leaves the machine, and no port is shared with
// anything else). Site acme's HRAC opens a streaming session over HTTP
// first (the unit tests' tunnel client), so what goes down its tunnel is
// queued; beta's session comes up on an event, until then its traffic is
// refused and counted as for a site that is offline. Frames from HRAC are
// handed to the process as the tunnel server does.
// Kinds, by the first byte modulo 7, with parameter bytes p0 p1 p2:
//   0 SIP frame from site p0 (phone p1 of the table): the payload
//   1 SIP from Kamailio to the endpoint p1 of site p0 (the payload)
//   2 media frame from site p0, phone p1, for the HRAC port of RAT stream
//     p2 (or port 20000 + 2 * p2): the payload
//   3 control frame from site p0 (RA header of phone p1 if p2 is odd): the
//     payload as the control bytes
//   4 public packet from far side p0 to RAT stream p1's HRAS port (p2 odd:
//     RTCP): the payload
//   5 site p0 opens its session if it has none; else it announces HRAC
//     media ports 20000 + 256 * p1 .. + 2 * p2 + 1
//   6 a pass of the event loop
// After every event the RAT must agree with itself: every stream's HRAS
// port is taken in the pool and maps back to that stream; its quality
// figures (what media frames and public packets fed) stay figures, and
// the published rows carry them as plain percentages and milliseconds.
#include "core/hras_process.hpp"
#include "fuzz_check.hpp"
#include "fuzz_events.hpp"
#include "tunnel_client.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

using namespace sofw;
using namespace sofw::hras;

namespace {

const char *const phones[] = {"192.168.1.10:5060", "192.168.1.11:5060", "192.168.1.10:5062", "10.0.1.5:5060",
                              "[fd00::10]:5060"};
constexpr size_t n_phones = sizeof phones / sizeof phones[0];
const char *const media_ip = "127.0.0.9";

void write_file(const char *path, const std::string &s)
{
    std::ofstream f(path);
    f << s;
}

// Only loopback, nothing shared: a network namespace of this process's own.
void own_network()
{
    if (unshare(CLONE_NEWNET) != 0) {
        const uid_t uid = getuid();
        const gid_t gid = getgid();
        if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
            std::fprintf(stderr, "hras_relay_fuzz: cannot make a network namespace of its own: %s\n",
                         std::strerror(errno));
            std::exit(1);
        }
        write_file("/proc/self/setgroups", "deny");
        write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1");
        write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
    }
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) != 0 || (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr)) != 0) {
        std::fprintf(stderr, "hras_relay_fuzz: cannot bring up loopback: %s\n", std::strerror(errno));
        std::exit(1);
    }
    close(fd);
}

// A UDP socket on ip, port chosen by the system.
int udp_socket(const char *ip, uint16_t &port)
{
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, ip, &sa.sin_addr);
    socklen_t len = sizeof sa;
    FUZZ_CHECK(fd >= 0 && bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) == 0);
    FUZZ_CHECK(getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &len) == 0);
    port = ntohs(sa.sin_port);
    return fd;
}

void send_to(int fd, const std::string &ip, uint16_t port, std::string_view payload)
{
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
    (void)sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr *>(&sa), sizeof sa);
}

struct Fd {
    int fd = -1;
    ~Fd()
    {
        if (fd >= 0)
            close(fd);
    }
};

Frame frame(FrameType t, std::optional<RaHeader> ra, std::string_view payload)
{
    Frame f;
    f.type = t;
    f.ra = ra;
    f.payload.assign(payload.begin(), payload.end());
    return f;
}

RaHeader phone(uint8_t i) { return *RaHeader::parse(phones[i % n_phones]); }

// Every stream with an HRAS port, in RAT order.
std::vector<std::pair<RatEntry *, size_t>> streams(const Rat &rat)
{
    std::vector<std::pair<RatEntry *, size_t>> out;
    for (const auto &[key, e] : rat.entries())
        for (size_t i = 0; i < e->streams.size(); ++i)
            out.emplace_back(e.get(), i);
    return out;
}

void check_rat(Rat &rat)
{
    for (auto [e, i] : streams(rat)) {
        const uint16_t p = e->streams[i].hras_port;
        if (!p)
            continue;
        FUZZ_CHECK(rat.hras_pool().in_use(p));
        auto [back, j] = rat.by_hras_port(p);
        FUZZ_CHECK(back == e && j == i);
    }
    for (auto [e, i] : streams(rat))
        for (const RtpQuality *q : {&e->streams[i].quality_up, &e->streams[i].quality_down}) {
            const RtpQualityFigures f = q->figures();
            FUZZ_CHECK(f.lost <= f.expected && f.late[1] <= f.late[0] && f.late[0] <= f.packets);
            FUZZ_CHECK(std::isfinite(f.jitter_ms) && f.jitter_ms >= 0);
        }
}

bool percent(double v) { return std::isfinite(v) && v >= 0 && v <= 100; }

void check_rows(const MediaPlanner &planner)
{
    std::vector<RtpQualityHistory> history;
    const auto rows = planner.rows(&history);
    FUZZ_CHECK(history.size() == rows.size());
    for (const auto &r : rows) {
        FUZZ_CHECK(percent(r.loss_up) && percent(r.loss_down));
        FUZZ_CHECK(percent(r.late60_up) && percent(r.late60_down));
        FUZZ_CHECK(percent(r.late150_up) && percent(r.late150_down));
        FUZZ_CHECK(std::isfinite(r.jitter_up) && r.jitter_up >= 0);
        FUZZ_CHECK(std::isfinite(r.jitter_down) && r.jitter_down >= 0);
    }
}

const char *const site_names[] = {"acme", "beta"};
const char *const site_secrets[] = {"acme-0123456789abcdef", "beta-0123456789abcdef"};
const char *const site_lans[] = {"10.0.0.2:5060", "10.0.1.2:5070"};

// The site's HRAC opens a streaming session (both requests announcing
// media ports 20000-20009, as hrac-agent does); true once it is up.
bool open_session(TunnelServer &server, sofw::test::Driver &drive,
                  std::vector<std::unique_ptr<sofw::test::TunnelClient>> &clients, size_t site)
{
    using namespace sofw::test;
    auto c = std::make_unique<TunnelClient>(server.port(), site_names[site], site_secrets[site], site_lans[site]);
    c->extra_headers = std::string(hdr::media_ports) + ": 20000-20009\r\n";
    c->open();  // the POST follows the GET's 200 (the keys)
    drive.watch(c.get());
    TunnelClient &ref = *c;
    clients.push_back(std::move(c));
    return drive.until([&] { return server.is_up(site) && ref.down_ok(); }, 1000);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    own_network();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SiteTable sites;
    for (size_t i = 0; i < 2; ++i)
        FUZZ_CHECK(sites
                       .add(std::string("name=") + site_names[i] + ";secret=" + site_secrets[i] + ";addr=127.1.0." +
                            std::to_string(i + 1))
                       .empty());
    FUZZ_CHECK(sites.assign_addresses().empty());

    uint16_t kamailio_port = 0;
    Fd kamailio{udp_socket("127.0.0.1", kamailio_port)};
    uint16_t far_port[2];
    Fd far[2] = {{udp_socket("127.0.0.2", far_port[0])}, {udp_socket("127.0.0.3", far_port[1])}};

    EventLoop loop;
    Stats stats;
    TunnelConfig tcfg;
    tcfg.listen = "127.0.0.1:0";
    MediaConfig mcfg;
    mcfg.address = media_ip;
    mcfg.port_min = 30000;
    mcfg.port_max = 30011;  // six pairs: the pool runs out
    auto process =
        std::make_unique<HrasProcess>(loop, sites, tcfg, HostPort{"127.0.0.1", kamailio_port}, 3600, mcfg, stats);
    MediaPlanner *planner = process->media();
    FUZZ_CHECK(planner);
    FUZZ_CHECK(process->tunnel().start().empty());
    sofw::test::Driver drive(loop);
    std::vector<std::unique_ptr<sofw::test::TunnelClient>> clients;
    FUZZ_CHECK(open_session(process->tunnel(), drive, clients, 0));
    Rat &rat = const_cast<Rat &>(planner->rat());

    for (const auto &e : sofw_fuzz::split_events(data, size, 3, 48)) {
        const size_t site = e.param(0) % 2;
        switch (e.kind % 7) {
        case 0: process->on_frame(site, frame(FrameType::sip, phone(e.param(1)), e.payload)); break;
        case 1: {
            auto eps = process->endpoints().endpoints(site);
            if (eps.empty())
                break;
            const auto *ep = eps[e.param(1) % eps.size()];
            send_to(kamailio.fd, ep->loop.host, ep->loop.port, e.payload);
            loop.run_once(0);
            break;
        }
        case 2: {
            auto all = streams(rat);
            uint16_t port = static_cast<uint16_t>(20000 + 2 * e.param(2));
            if (!all.empty() && e.param(2) < 128) {
                auto [entry, i] = all[e.param(2) % all.size()];
                port = entry->streams[i].hrac_port;
            }
            RaHeader ra = phone(e.param(1));
            ra.relay_port = port;
            process->on_frame(site, frame(FrameType::media, ra, e.payload));
            break;
        }
        case 3: {
            std::optional<RaHeader> ra;
            if (e.param(2) & 1)
                ra = phone(e.param(1));
            process->on_frame(site, frame(FrameType::control, ra, e.payload));
            break;
        }
        case 4: {
            auto all = streams(rat);
            if (all.empty())
                break;
            auto [entry, i] = all[e.param(1) % all.size()];
            if (!entry->streams[i].hras_port)
                break;
            send_to(far[e.param(0) % 2].fd, media_ip,
                    static_cast<uint16_t>(entry->streams[i].hras_port + (e.param(2) & 1)), e.payload);
            loop.run_once(0);
            break;
        }
        case 5: {
            if (!process->tunnel().is_up(site)) {
                FUZZ_CHECK(open_session(process->tunnel(), drive, clients, site));
                break;
            }
            const auto lo = static_cast<uint16_t>(20000 + 256 * e.param(1));
            planner->on_session_up(site, lo, static_cast<uint16_t>(lo + 2 * e.param(2) + 1));
            break;
        }
        case 6: loop.run_once(0); break;
        }
        check_rat(rat);
    }
    check_rows(*planner);
    clients.clear();
    process.reset();
    return 0;
}
