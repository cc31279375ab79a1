#include "connection_limits.hpp"

#include <sys/resource.h>
#include <sys/stat.h>

#include <iterator>

namespace sofw::hras {

ConnectionLimits::Verdict ConnectionLimits::admit(const std::string &ip) const
{
    if (conns_.size() >= cfg_.max_total)
        return Verdict::total_full;
    if (open_from(ip) >= cfg_.max_per_ip)
        return Verdict::ip_full;
    return Verdict::accept;
}

ConnectionLimits::Conn *ConnectionLimits::opened(const std::string &ip, int fd, int64_t now_ms)
{
    struct stat st{};
    uint64_t inode = fd >= 0 && fstat(fd, &st) == 0 ? uint64_t(st.st_ino) : 0;
    conns_.push_back(Conn{ip, fd, inode, now_ms, false, false, {}});
    conns_.back().self = std::prev(conns_.end());
    per_ip_[ip]++;
    return &conns_.back();
}

void ConnectionLimits::closed(Conn *c)
{
    if (!c)
        return;
    auto it = per_ip_.find(c->ip);
    if (it != per_ip_.end() && --it->second == 0)
        per_ip_.erase(it);
    conns_.erase(c->self);
}

void ConnectionLimits::request_done(Conn *c, int64_t now_ms)
{
    c->in_channel = false;
    c->waiting_since = now_ms;
}

std::vector<ConnectionLimits::Conn *> ConnectionLimits::overdue(int64_t now_ms)
{
    std::vector<Conn *> out;
    for (auto &c : conns_)
        if (!c.in_channel && !c.cut && now_ms - c.waiting_since > cfg_.header_timeout_ms) {
            c.cut = true;
            out.push_back(&c);
        }
    return out;
}

bool ConnectionLimits::same_socket(const Conn *c)
{
    struct stat st{};
    return c->fd >= 0 && fstat(c->fd, &st) == 0 && uint64_t(st.st_ino) == c->inode;
}

size_t ConnectionLimits::open_from(const std::string &ip) const
{
    auto it = per_ip_.find(ip);
    return it == per_ip_.end() ? 0 : it->second;
}

const char *verdict_name(ConnectionLimits::Verdict v)
{
    switch (v) {
    case ConnectionLimits::Verdict::accept: return "accepted";
    case ConnectionLimits::Verdict::total_full: return "tunnel_max_connections reached";
    case ConnectionLimits::Verdict::ip_full: return "tunnel_max_connections_per_ip reached";
    }
    return "refused";
}

size_t raise_descriptor_limit(size_t wanted)
{
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < wanted) {
        rlimit up = rl;
        up.rlim_cur = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > wanted) ? wanted : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    return rl.rlim_cur == RLIM_INFINITY ? wanted : size_t(rl.rlim_cur);
}

}  // namespace sofw::hras
