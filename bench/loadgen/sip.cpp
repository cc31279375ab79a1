#include "sip.hpp"

#include <sofw/text.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace loadgen {

namespace {

using sofw::lower;
using sofw::starts_with;
using sofw::trim;

std::string canonical(const std::string &name)
{
    std::string n = lower(trim(name));
    if (n.size() == 1) {
        switch (n[0]) {
        case 'i': return "call-id";
        case 'f': return "from";
        case 't': return "to";
        case 'v': return "via";
        case 'm': return "contact";
        case 'l': return "content-length";
        case 'c': return "content-type";
        case 'k': return "supported";
        case 's': return "subject";
        default: break;
        }
    }
    return n;
}

// Splits a header value at commas that are outside <> and quotes.
std::vector<std::string> split_top(const std::string &v)
{
    std::vector<std::string> out;
    int angle = 0;
    bool quote = false;
    size_t start = 0;
    for (size_t i = 0; i < v.size(); i++) {
        char c = v[i];
        if (c == '"')
            quote = !quote;
        else if (!quote && c == '<')
            angle++;
        else if (!quote && c == '>' && angle > 0)
            angle--;
        else if (!quote && angle == 0 && c == ',') {
            std::string part(trim(std::string_view(v).substr(start, i - start)));
            if (!part.empty())
                out.push_back(part);
            start = i + 1;
        }
    }
    std::string part(trim(std::string_view(v).substr(start)));
    if (!part.empty())
        out.push_back(part);
    return out;
}

}  // namespace

std::string SipMsg::get(const std::string &name) const
{
    for (auto &h : headers)
        if (h.first == name)
            return h.second;
    return "";
}

std::vector<std::string> SipMsg::all(const std::string &name) const
{
    std::vector<std::string> out;
    for (auto &h : headers)
        if (h.first == name)
            for (auto &p : split_top(h.second))
                out.push_back(p);
    return out;
}

std::vector<std::string> SipMsg::lines(const std::string &name) const
{
    std::vector<std::string> out;
    for (auto &h : headers)
        if (h.first == name)
            out.push_back(h.second);
    return out;
}

std::pair<uint32_t, std::string> SipMsg::cseq() const
{
    std::string v = get("cseq");
    char *end = nullptr;
    unsigned long n = strtoul(v.c_str(), &end, 10);
    return {uint32_t(n), std::string(trim(end ? end : ""))};
}

bool parse_sip(const char *data, size_t len, SipMsg &out)
{
    out = SipMsg{};
    std::string text(data, len);
    size_t hdr_end = text.find("\r\n\r\n");
    size_t body_start;
    if (hdr_end == std::string::npos) {
        hdr_end = text.size();
        body_start = text.size();
    } else {
        body_start = hdr_end + 4;
    }
    size_t pos = 0;
    size_t eol = text.find("\r\n", pos);
    if (eol == std::string::npos || eol > hdr_end)
        eol = hdr_end;
    std::string first = text.substr(0, eol);
    if (starts_with(first, "SIP/2.0 ")) {
        out.is_request = false;
        out.status = atoi(first.c_str() + 8);
        if (out.status < 100 || out.status > 699)
            return false;
    } else {
        size_t sp1 = first.find(' ');
        size_t sp2 = first.rfind(' ');
        if (sp1 == std::string::npos || sp2 == sp1 || first.compare(sp2 + 1, 7, "SIP/2.0") != 0)
            return false;
        out.is_request = true;
        out.method = first.substr(0, sp1);
        out.ruri = first.substr(sp1 + 1, sp2 - sp1 - 1);
    }
    pos = eol + 2;
    while (pos < hdr_end) {
        eol = text.find("\r\n", pos);
        if (eol == std::string::npos || eol > hdr_end)
            eol = hdr_end;
        std::string line = text.substr(pos, eol - pos);
        pos = eol + 2;
        if (line.empty())
            continue;
        if ((line[0] == ' ' || line[0] == '\t') && !out.headers.empty()) {  // folded
            out.headers.back().second += ' ';
            out.headers.back().second += trim(line);
            continue;
        }
        size_t colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        out.headers.emplace_back(canonical(line.substr(0, colon)), trim(std::string_view(line).substr(colon + 1)));
    }
    if (body_start < text.size()) {
        size_t blen = text.size() - body_start;
        std::string cl = out.get("content-length");
        if (!cl.empty())
            blen = std::min(blen, size_t(strtoul(cl.c_str(), nullptr, 10)));
        out.body = text.substr(body_start, blen);
    }
    return !out.call_id().empty() && !out.get("cseq").empty();
}

std::string header_tag(const std::string &value)
{
    size_t from = value.find('>');
    from = from == std::string::npos ? 0 : from;
    std::string l = lower(value);
    size_t t = l.find(";tag=", from);
    if (t == std::string::npos)
        return "";
    t += 5;
    size_t e = value.find_first_of(";, \t>", t);
    return value.substr(t, e == std::string::npos ? std::string::npos : e - t);
}

std::string header_uri(const std::string &value)
{
    size_t lt = value.find('<');
    if (lt != std::string::npos) {
        size_t gt = value.find('>', lt);
        return value.substr(lt + 1, gt == std::string::npos ? std::string::npos : gt - lt - 1);
    }
    size_t semi = value.find(';');
    return std::string(trim(std::string_view(value).substr(0, semi)));
}

std::string uri_user(const std::string &uri)
{
    size_t colon = uri.find(':');
    size_t at = uri.find('@');
    if (colon == std::string::npos || at == std::string::npos || at < colon)
        return "";
    std::string user = uri.substr(colon + 1, at - colon - 1);
    size_t semi = user.find(';');
    return user.substr(0, semi);
}

std::optional<sockaddr_in> uri_addr(const std::string &uri)
{
    std::string u = uri;
    size_t colon = u.find(':');
    if (colon == std::string::npos)
        return std::nullopt;
    u = u.substr(colon + 1);
    size_t at = u.find('@');
    if (at != std::string::npos)
        u = u.substr(at + 1);
    size_t e = u.find_first_of(";?>");
    if (e != std::string::npos)
        u = u.substr(0, e);
    std::string host = u;
    uint16_t port = 5060;
    size_t pc = u.find(':');
    if (pc != std::string::npos) {
        host = u.substr(0, pc);
        port = uint16_t(atoi(u.c_str() + pc + 1));
    }
    return make_addr(host, port);
}

bool uri_has_lr(const std::string &uri)
{
    std::string l = lower(uri);
    return l.find(";lr") != std::string::npos;
}

std::optional<sockaddr_in> sdp_audio(const std::string &sdp)
{
    std::string session_ip, media_ip;
    int port = -1;
    bool in_audio = false, seen_m = false;
    size_t pos = 0;
    while (pos < sdp.size()) {
        size_t eol = sdp.find('\n', pos);
        if (eol == std::string::npos)
            eol = sdp.size();
        std::string line(trim(std::string_view(sdp).substr(pos, eol - pos)));
        pos = eol + 1;
        if (starts_with(line, "m=")) {
            seen_m = true;
            in_audio = false;
            if (port < 0 && starts_with(line, "m=audio ")) {
                in_audio = true;
                port = atoi(line.c_str() + 8);
            }
        } else if (starts_with(line, "c=IN IP4 ")) {
            std::string ip(trim(std::string_view(line).substr(9)));
            size_t slash = ip.find('/');
            ip = ip.substr(0, slash);
            if (!seen_m)
                session_ip = ip;
            else if (in_audio)
                media_ip = ip;
        }
    }
    if (port <= 0)
        return std::nullopt;
    return make_addr(media_ip.empty() ? session_ip : media_ip, uint16_t(port));
}

std::optional<sockaddr_in> make_addr(const std::string &ip, uint16_t port)
{
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1)
        return std::nullopt;
    return a;
}

std::optional<sockaddr_in> parse_hostport(const std::string &s)
{
    size_t c = s.rfind(':');
    if (c == std::string::npos)
        return make_addr(s, 5060);
    return make_addr(s.substr(0, c), uint16_t(atoi(s.c_str() + c + 1)));
}

std::string addr_text(const sockaddr_in &a)
{
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(a.sin_port));
}

}  // namespace loadgen
