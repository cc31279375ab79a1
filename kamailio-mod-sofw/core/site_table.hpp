// The sites an HRAS serves, from the `site` modparam. Fixed after start-up,
// so every Kamailio process holds the same copy and needs no locking.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sofw::hras {

struct Site {
    std::string name;
    std::string secret;
    std::string domain;     // its SIP domains as configured, comma-separated (optional)
    std::vector<std::string> domains;  // the same, one each, lower case
    std::string loop_addr;  // loopback IPv4 standing for the site towards Kamailio
};

class SiteTable {
public:
    // "name=acme;secret=...;domain=acme.example[,acme2.example][;addr=127.1.0.9]".
    // domain= may also be repeated; a domain belongs to one site only.
    // Returns an error text, empty on success.
    std::string add(const std::string &spec);
    // Gives every site without addr= the next free address after `base`.
    std::string assign_addresses(const std::string &base = "127.1.0.0");

    size_t size() const { return sites_.size(); }
    const Site &at(size_t i) const { return sites_[i]; }
    std::optional<size_t> find(const std::string &name) const;
    std::optional<size_t> find_by_addr(const std::string &ip) const;
    // The site whose phones use SIP domain `domain` (case-insensitive).
    std::optional<size_t> find_by_domain(std::string_view domain) const;
    // Whether `domain` is one of site `site`'s SIP domains.
    bool has_domain(size_t site, std::string_view domain) const;

private:
    std::vector<Site> sites_;
};

}  // namespace sofw::hras
