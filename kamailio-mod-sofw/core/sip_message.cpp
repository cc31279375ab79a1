#include "sip_message.hpp"

#include "sofw/text.hpp"

#include <vector>

namespace sofw::hras {
namespace {

// Full header name for a compact form.
std::string canonical_name(std::string_view raw)
{
    std::string n = lower(trim(raw, blanks));
    if (n.size() == 1) {
        switch (n[0]) {
        case 'i': return "call-id";
        case 'f': return "from";
        case 't': return "to";
        case 'v': return "via";
        case 'c': return "content-type";
        case 'l': return "content-length";
        case 'm': return "contact";
        }
    }
    return n;
}

struct Header {
    size_t start, end;  // [start, end) of the physical lines, without the final line break
    std::string name;   // canonical
    std::string value;  // unfolded
};

struct Parsed {
    std::string_view start_line;
    std::vector<Header> headers;
    size_t body_offset;
    std::string eol;
};

std::optional<Parsed> parse(std::string_view msg)
{
    Parsed p;
    size_t hdr_end = msg.find("\r\n\r\n");
    if (hdr_end != std::string_view::npos) {
        p.body_offset = hdr_end + 4;
        p.eol = "\r\n";
    } else if ((hdr_end = msg.find("\n\n")) != std::string_view::npos) {
        p.body_offset = hdr_end + 2;
        p.eol = "\n";
    } else {
        return std::nullopt;
    }
    size_t first_eol = msg.find('\n');
    size_t sl_end = (first_eol > 0 && msg[first_eol - 1] == '\r') ? first_eol - 1 : first_eol;
    p.start_line = msg.substr(0, sl_end);
    size_t pos = first_eol + 1;
    while (pos <= hdr_end) {
        size_t nl = msg.find('\n', pos);
        size_t line_end = (nl > pos && msg[nl - 1] == '\r') ? nl - 1 : nl;
        std::string_view line = msg.substr(pos, line_end - pos);
        if (line.empty())
            break;
        if ((line[0] == ' ' || line[0] == '\t') && !p.headers.empty()) {
            p.headers.back().value += ' ';
            p.headers.back().value += trim(line, blanks);
            p.headers.back().end = line_end;
        } else {
            auto colon = line.find(':');
            if (colon != std::string_view::npos)
                p.headers.push_back({pos, line_end, canonical_name(line.substr(0, colon)),
                                     std::string(trim(line.substr(colon + 1), blanks))});
        }
        pos = nl + 1;
    }
    return p;
}

const Header *find(const Parsed &p, const char *name)
{
    for (auto &h : p.headers)
        if (h.name == name)
            return &h;
    return nullptr;
}

}  // namespace

std::optional<SipInfo> sip_inspect(std::string_view msg)
{
    auto p = parse(msg);
    if (!p)
        return std::nullopt;
    SipInfo info;
    std::string_view sl = p->start_line;
    if (starts_with(sl, "SIP/2.0 ")) {
        if (sl.size() < 11)
            return std::nullopt;
        info.status = std::atoi(std::string(sl.substr(8, 3)).c_str());
        if (info.status < 100 || info.status > 699)
            return std::nullopt;
    } else {
        auto sp = sl.find(' ');
        if (sp == std::string_view::npos || sp == 0 || sl.find("SIP/2.0") == std::string_view::npos)
            return std::nullopt;
        info.is_request = true;
        info.method = std::string(sl.substr(0, sp));
    }
    if (auto h = find(*p, "call-id"))
        info.call_id = h->value;
    if (auto h = find(*p, "from"))
        info.from = h->value;
    if (auto h = find(*p, "to"))
        info.to = h->value;
    if (auto h = find(*p, "cseq")) {
        auto sp = h->value.find_last_of(" \t");
        if (sp != std::string::npos)
            info.cseq_method = trim(std::string_view(h->value).substr(sp + 1), blanks);
    }
    if (auto h = find(*p, "content-type"))
        info.content_type = lower(trim(std::string_view(h->value).substr(0, h->value.find(';')), blanks));
    if (info.call_id.empty())
        return std::nullopt;
    info.body_offset = p->body_offset;
    info.body_len = msg.size() - p->body_offset;
    if (auto h = find(*p, "content-length")) {
        size_t cl = std::strtoul(h->value.c_str(), nullptr, 10);
        if (cl < info.body_len)
            info.body_len = cl;
    }
    return info;
}

std::string sip_replace_body(std::string_view msg, const SipInfo &info, std::string_view body)
{
    auto p = parse(msg);
    std::string head(msg.substr(0, info.body_offset));
    std::string cl = std::to_string(body.size());
    const Header *h = p ? find(*p, "content-length") : nullptr;
    if (h) {
        std::string_view line = msg.substr(h->start, h->end - h->start);
        auto colon = line.find(':');
        std::string repl = std::string(line.substr(0, colon + 1)) + " " + cl;
        head.replace(h->start, h->end - h->start, repl);
    } else {
        std::string eol = p ? p->eol : "\r\n";
        // insert before the empty line that ends the headers
        head.insert(head.size() - eol.size(), "Content-Length: " + cl + eol);
    }
    return head + std::string(body);
}

std::optional<std::string> sip_make_reply(std::string_view request, int code, std::string_view reason)
{
    auto p = parse(request);
    auto info = sip_inspect(request);
    if (!p || !info || !info->is_request)
        return std::nullopt;
    std::string out = "SIP/2.0 " + std::to_string(code) + " " + std::string(reason) + "\r\n";
    for (auto &h : p->headers) {
        std::string_view raw = request.substr(h.start, h.end - h.start);
        if (h.name == "via" || h.name == "from" || h.name == "call-id" || h.name == "cseq") {
            out.append(raw).append("\r\n");
        } else if (h.name == "to") {
            out.append(raw);
            if (lower(h.value).find(";tag=") == std::string::npos)
                out.append(";tag=sofw-" + std::to_string(code));
            out.append("\r\n");
        }
    }
    out += "Content-Length: 0\r\n\r\n";
    return out;
}

}  // namespace sofw::hras
