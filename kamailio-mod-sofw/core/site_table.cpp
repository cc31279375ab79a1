#include "site_table.hpp"

#include "sofw/text.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <set>

namespace sofw::hras {
namespace {

bool valid_name(const std::string &n)
{
    if (n.empty() || n.size() > 63)
        return false;
    for (char c : n)
        if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
            return false;
    return true;
}

// A SIP domain as the `domain` key may name it: a host name (letters,
// digits, '-', '.'), no empty label, at most 253 characters.
bool valid_domain(const std::string &d)
{
    if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.' || d.find("..") != std::string::npos)
        return false;
    for (char c : d)
        if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'))
            return false;
    return true;
}

bool is_loopback_v4(const std::string &ip)
{
    in_addr a;
    return inet_pton(AF_INET, ip.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

}  // namespace

std::string SiteTable::add(const std::string &spec)
{
    Site s;
    size_t p = 0;
    while (p <= spec.size()) {
        size_t e = spec.find(';', p);
        std::string item = spec.substr(p, e == std::string::npos ? std::string::npos : e - p);
        p = e == std::string::npos ? spec.size() + 1 : e + 1;
        if (item.empty())
            continue;
        auto eq = item.find('=');
        if (eq == std::string::npos)
            return "site: '" + item + "' is not key=value";
        std::string k = item.substr(0, eq), v = item.substr(eq + 1);
        if (k == "name")
            s.name = v;
        else if (k == "secret")
            s.secret = v;
        else if (k == "domain") {
            // comma-separated, and the key may be repeated
            size_t q = 0;
            while (q <= v.size()) {
                size_t c = v.find(',', q);
                std::string d = lower(v.substr(q, c == std::string::npos ? std::string::npos : c - q));
                q = c == std::string::npos ? v.size() + 1 : c + 1;
                if (!valid_domain(d))
                    return "site: domain '" + d + "' is not a host name";
                if (std::find(s.domains.begin(), s.domains.end(), d) == s.domains.end())
                    s.domains.push_back(d);
            }
        }
        else if (k == "addr")
            s.loop_addr = v;
        else
            return "site: unknown key '" + k + "'";
    }
    if (!valid_name(s.name))
        return "site: missing or invalid name (letters, digits, - _ .)";
    if (s.secret.size() < 16)
        return "site '" + s.name + "': secret must have at least 16 characters";
    if (!s.loop_addr.empty() && !is_loopback_v4(s.loop_addr))
        return "site '" + s.name + "': addr must be an IPv4 address in 127.0.0.0/8";
    if (find(s.name))
        return "site '" + s.name + "' configured twice";
    for (const auto &d : s.domains) {
        if (auto other = find_by_domain(d))
            return "site '" + s.name + "': domain " + d + " already belongs to site '" + sites_[*other].name + "'";
        s.domain += (s.domain.empty() ? "" : ",") + d;
    }
    if (!s.loop_addr.empty() && find_by_addr(s.loop_addr))
        return "site '" + s.name + "': addr " + s.loop_addr + " already used";
    sites_.push_back(s);
    return "";
}

std::string SiteTable::assign_addresses(const std::string &base)
{
    in_addr a;
    if (!is_loopback_v4(base) || inet_pton(AF_INET, base.c_str(), &a) != 1)
        return "loopback_base must be an IPv4 address in 127.0.0.0/8";
    std::set<std::string> used;
    for (auto &s : sites_)
        if (!s.loop_addr.empty())
            used.insert(s.loop_addr);
    uint32_t next = ntohl(a.s_addr);
    for (auto &s : sites_) {
        if (!s.loop_addr.empty())
            continue;
        char buf[INET_ADDRSTRLEN];
        do {
            next++;
            if ((next >> 24) != 127)
                return "loopback_base: no addresses left for the sites";
            in_addr n{htonl(next)};
            inet_ntop(AF_INET, &n, buf, sizeof buf);
        } while ((next & 0xff) == 0 || (next & 0xff) == 255 || used.count(buf));
        s.loop_addr = buf;
        used.insert(buf);
    }
    return "";
}

std::optional<size_t> SiteTable::find(const std::string &name) const
{
    for (size_t i = 0; i < sites_.size(); i++)
        if (sites_[i].name == name)
            return i;
    return std::nullopt;
}

std::optional<size_t> SiteTable::find_by_addr(const std::string &ip) const
{
    for (size_t i = 0; i < sites_.size(); i++)
        if (sites_[i].loop_addr == ip)
            return i;
    return std::nullopt;
}

std::optional<size_t> SiteTable::find_by_domain(std::string_view domain) const
{
    for (size_t i = 0; i < sites_.size(); i++)
        if (has_domain(i, domain))
            return i;
    return std::nullopt;
}

bool SiteTable::has_domain(size_t site, std::string_view domain) const
{
    if (site >= sites_.size() || domain.empty())
        return false;
    std::string d = lower(domain);
    for (const auto &own : sites_[site].domains)
        if (own == d)
            return true;
    return false;
}

}  // namespace sofw::hras
