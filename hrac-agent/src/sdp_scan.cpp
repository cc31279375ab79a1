#include "sdp_scan.hpp"

#include <sofw/host_port.hpp>

#include <arpa/inet.h>

#include <cstring>
#include <string_view>

namespace hrac {

namespace {

std::string_view word(std::string_view &rest)
{
    while (!rest.empty() && rest.front() == ' ')
        rest.remove_prefix(1);
    size_t end = rest.find(' ');
    if (end == std::string_view::npos)
        end = rest.size();
    const std::string_view w = rest.substr(0, end);
    rest.remove_prefix(end);
    return w;
}

// "IN IP4 10.0.0.7" -> the address; nullopt if malformed. An address of
// all zeroes (hold) parses, and is filtered later.
std::optional<sofw::RaHeader> connection(std::string_view value)
{
    const std::string_view net = word(value), type = word(value), addr = word(value);
    if (net != "IN" || addr.empty() || addr.size() > INET6_ADDRSTRLEN)
        return std::nullopt;
    // "224.2.1.1/127" (multicast TTL) is not a phone's endpoint: refused.
    char text[INET6_ADDRSTRLEN + 1] = {};
    memcpy(text, addr.data(), addr.size());
    sofw::RaHeader ra;
    ra.transport = sofw::Transport::udp;
    if (type == "IP4" && inet_pton(AF_INET, text, ra.addr) == 1)
        ra.family = 4;
    else if (type == "IP6" && inet_pton(AF_INET6, text, ra.addr) == 1)
        ra.family = 6;
    else
        return std::nullopt;
    return ra;
}

bool unspecified(const sofw::RaHeader &ra)
{
    static const uint8_t zero[16] = {};
    return memcmp(ra.addr, zero, ra.family == 6 ? 16 : 4) == 0;
}

}  // namespace

std::optional<SdpScan> scan_sdp(const uint8_t *data, size_t len)
{
    if (len == 0 || len > SdpScan::max_body)
        return std::nullopt;
    std::string_view rest(reinterpret_cast<const char *>(data), len);
    if (rest.substr(0, 2) != "v=")
        return std::nullopt;

    struct Pending {
        uint16_t port = 0;
        std::optional<sofw::RaHeader> c;
    };
    std::optional<sofw::RaHeader> session_c;
    std::vector<Pending> media;
    while (!rest.empty()) {
        size_t eol = rest.find('\n');
        std::string_view line = rest.substr(0, eol);
        rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.size() < 2 || line[1] != '=')
            continue;
        const std::string_view value = line.substr(2);
        if (line[0] == 'm') {
            if (media.size() == SdpScan::max_media)
                return std::nullopt;
            std::string_view v = value;
            word(v);  // the media type
            std::string_view port_text = word(v);
            port_text = port_text.substr(0, port_text.find('/'));  // "49170/2"
            const auto port = sofw::parse_port(port_text);
            if (!port)
                return std::nullopt;
            media.push_back({*port, std::nullopt});
        } else if (line[0] == 'c') {
            const auto c = connection(value);
            if (!c)
                return std::nullopt;
            (media.empty() ? session_c : media.back().c) = c;
        }
    }

    SdpScan scan;
    for (const Pending &m : media) {
        const std::optional<sofw::RaHeader> &c = m.c ? m.c : session_c;
        if (!c)
            return std::nullopt;  // an m-line without any connection address
        if (m.port == 0 || unspecified(*c))
            continue;
        SdpMedia out{*c};
        out.endpoint.port = m.port;
        scan.media.push_back(out);
    }
    return scan;
}

}  // namespace hrac
