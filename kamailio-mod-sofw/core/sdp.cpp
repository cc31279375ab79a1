#include "sdp.hpp"

#include "multipart.hpp"

#include "sofw/host_port.hpp"
#include "sofw/text.hpp"

namespace sofw::hras {
namespace {

struct Line {
    std::string_view text;  // without its line ending
    std::string_view eol;   // "\r\n", "\n", or "" for a last line without ending
};

struct Token {
    size_t pos;
    std::string_view text;
};

struct Conn {
    std::string addr;  // without /ttl or /count
    bool ipv6 = false;
};

struct Media {
    size_t m_line = 0;   // index of the m= line
    size_t c_after = 0;  // index of the line an inserted c= follows (m= or its last i=)
    bool has_c = false;  // media-level c= present
    int first_pt = -1;   // the m= line's first format as an RTP payload type; -1: none
    SdpStream s;
};

struct Parsed {
    std::vector<Line> lines;
    std::string_view eol;             // for inserted lines
    std::optional<size_t> session_c;  // first session-level c= line
    Conn session_conn;
    std::vector<Media> media;
};

constexpr std::string_view kHold = "0.0.0.0";

std::vector<Line> split_lines(std::string_view body)
{
    std::vector<Line> lines;
    size_t start = 0;
    while (start < body.size()) {
        size_t nl = body.find('\n', start);
        if (nl == std::string_view::npos) {
            lines.push_back({body.substr(start), {}});
            break;
        }
        size_t end = nl;
        if (end > start && body[end - 1] == '\r')
            end--;
        lines.push_back({body.substr(start, end - start), body.substr(end, nl + 1 - end)});
        start = nl + 1;
    }
    return lines;
}

// Space-separated fields of a line value, with their positions in it.
std::vector<Token> tokenize(std::string_view v)
{
    std::vector<Token> out;
    size_t i = 0;
    while (i < v.size()) {
        while (i < v.size() && (v[i] == ' ' || v[i] == '\t'))
            i++;
        size_t start = i;
        while (i < v.size() && v[i] != ' ' && v[i] != '\t')
            i++;
        if (i > start)
            out.push_back({start, v.substr(start, i - start)});
    }
    return out;
}

// "IN IP4 addr" / "IN IP6 addr" (addr may carry /ttl or /count).
std::optional<Conn> parse_conn(const std::vector<Token> &t, size_t first)
{
    if (t.size() != first + 3 || t[first].text != "IN")
        return std::nullopt;
    Conn c;
    if (t[first + 1].text == "IP6")
        c.ipv6 = true;
    else if (t[first + 1].text != "IP4")
        return std::nullopt;
    std::string_view a = t[first + 2].text;
    a = a.substr(0, a.find('/'));
    if (a.empty())
        return std::nullopt;
    c.addr = std::string(a);
    return c;
}

std::string_view value_of(const Line &l) { return l.text.substr(2); }

bool is_ice_candidate_line(std::string_view text)
{
    text = rtrim(text, blanks);
    return starts_with(text, "a=candidate:") || starts_with(text, "a=remote-candidates:") ||
           text == "a=remote-candidates" || text == "a=end-of-candidates";
}

bool is_rtcp_line(std::string_view text) { return starts_with(text, "a=rtcp:"); }

// A number of up to 7 digits (payload types, clock rates), or -1.
long small_number(std::string_view t)
{
    if (t.empty() || t.size() > 7)
        return -1;
    long n = 0;
    for (char c : t) {
        if (c < '0' || c > '9')
            return -1;
        n = n * 10 + (c - '0');
    }
    return n;
}

// The clock rate "a=rtpmap:<pt> <name>/<rate>[/<channels>]" gives payload
// type pt, or 0 (another payload type, or a line that does not read so:
// it only informs the quality figures, so it is never an error).
uint32_t rtpmap_clock(std::string_view text, int pt)
{
    auto t = tokenize(text.substr(9));
    if (t.size() < 2 || small_number(t[0].text) != pt)
        return 0;
    std::string_view enc = t[1].text;
    size_t slash = enc.find('/');
    if (slash == std::string_view::npos)
        return 0;
    enc = enc.substr(slash + 1);
    long rate = small_number(enc.substr(0, enc.find('/')));
    return rate > 0 ? uint32_t(rate) : 0;
}

// RFC 3551 tables 4 and 5: the clock rates of the static payload types.
uint32_t static_clock(int pt)
{
    switch (pt) {
    case 6: return 16000;
    case 10:
    case 11: return 44100;
    case 16: return 11025;
    case 17: return 22050;
    case 14:
    case 25:
    case 26:
    case 28:
    case 31:
    case 32:
    case 33:
    case 34: return 90000;
    default: return pt >= 0 && pt <= 18 && pt != 1 && pt != 2 ? 8000 : 0;
    }
}

std::optional<Parsed> parse(std::string_view body)
{
    Parsed p;
    p.lines = split_lines(body);
    if (p.lines.empty() || rtrim(p.lines[0].text, blanks) != "v=0")
        return std::nullopt;
    p.eol = p.lines[0].eol.empty() ? std::string_view("\r\n") : p.lines[0].eol;

    for (size_t i = 1; i < p.lines.size(); i++) {
        std::string_view t = p.lines[i].text;
        if (t.empty())
            continue;  // stray empty line (often a trailing one): kept as it is
        if (t.size() < 2 || t[0] < 'a' || t[0] > 'z' || t[1] != '=')
            return std::nullopt;
        Media *m = p.media.empty() ? nullptr : &p.media.back();
        auto tok = tokenize(value_of(p.lines[i]));
        switch (t[0]) {
        case 'm': {
            if (tok.size() < 4)
                return std::nullopt;
            std::string_view port = tok[1].text;
            auto n = parse_port(port.substr(0, port.find('/')));
            if (!n)
                return std::nullopt;
            if (port.find('/') != std::string_view::npos && !parse_port(port.substr(port.find('/') + 1)))
                return std::nullopt;
            Media nm;
            nm.m_line = nm.c_after = i;
            nm.s.media = std::string(tok[0].text);
            nm.s.port = *n;
            if (long pt = small_number(tok[3].text); pt >= 0 && pt <= 127)
                nm.first_pt = int(pt);
            p.media.push_back(nm);
            break;
        }
        case 'i':
            if (m && m->c_after + 1 == i)
                m->c_after = i;
            break;
        case 'c': {
            auto c = parse_conn(tok, 0);
            if (!c)
                return std::nullopt;
            if (!m) {
                if (!p.session_c) {
                    p.session_c = i;
                    p.session_conn = *c;
                }
            } else if (!m->has_c) {
                m->has_c = true;
                m->s.addr = c->addr;
                m->s.ipv6 = c->ipv6;
            }
            break;
        }
        case 'o':
            if (tok.size() != 6 || !parse_conn(tok, 3))
                return std::nullopt;
            break;
        case 'a':
            if (!m)
                break;
            if (is_rtcp_line(t)) {
                auto rt = tokenize(t.substr(7));
                if (rt.empty() || (rt.size() != 1 && !parse_conn(rt, 1)))
                    return std::nullopt;
                auto n = parse_port(rt[0].text);
                if (!n)
                    return std::nullopt;
                m->s.rtcp_explicit = true;
                m->s.rtcp_port = *n;
            } else if (rtrim(t, blanks) == "a=rtcp-mux") {
                m->s.rtcp_mux = true;
            } else if (starts_with(t, "a=rtpmap:") && !m->s.clock_rate && m->first_pt >= 0) {
                m->s.clock_rate = rtpmap_clock(t, m->first_pt);
            }
            break;
        default: break;
        }
    }
    if (p.media.empty())
        return std::nullopt;

    for (auto &m : p.media) {
        if (!m.has_c && p.session_c) {
            m.s.addr = p.session_conn.addr;
            m.s.ipv6 = p.session_conn.ipv6;
        }
        if (m.s.port != 0 && m.s.addr.empty())
            return std::nullopt;
        m.s.hold_zero = m.s.addr == kHold;
        if (!m.s.rtcp_explicit)
            m.s.rtcp_port = m.s.port == 0 ? 0 : uint16_t(m.s.port + 1);
        if (!m.s.clock_rate)
            m.s.clock_rate = static_clock(m.first_pt);
    }
    return p;
}

std::string conn_line(std::string_view addr) { return "c=IN IP4 " + std::string(addr); }

bool conn_is_hold(const Line &l)
{
    auto c = parse_conn(tokenize(value_of(l)), 0);
    return c && c->addr == kHold;
}

// o=<username> <sess-id> <sess-version> <nettype> IP4 <addr>
std::string rewrite_origin(const Line &l, std::string_view addr)
{
    std::string_view v = value_of(l);
    auto tok = tokenize(v);
    return "o=" + std::string(v.substr(0, tok[4].pos)) + "IP4 " + std::string(addr);
}

std::string rewrite_media_port(const Line &l, uint16_t port)
{
    std::string_view v = value_of(l);
    auto tok = tokenize(v);
    size_t digits = tok[1].text.find('/');
    if (digits == std::string_view::npos)
        digits = tok[1].text.size();
    return "m=" + std::string(v.substr(0, tok[1].pos)) + std::to_string(port) +
           std::string(v.substr(tok[1].pos + digits));
}

std::string rewrite_rtcp(const Line &l, const SdpStream &s, const SdpTarget &t)
{
    uint16_t port = t.rtcp_port;
    if (port == 0)
        port = s.rtcp_mux ? t.port : uint16_t(t.port + 1);
    std::string r = "a=rtcp:" + std::to_string(port);
    auto rt = tokenize(l.text.substr(7));
    if (rt.size() > 1) {
        auto c = parse_conn(rt, 1);
        r += " IN IP4 ";
        r += s.hold_zero && c->addr == kHold ? kHold : std::string_view(t.addr);
    }
    return r;
}

std::string rewrite(const Parsed *p, std::string_view body, const std::vector<SdpTarget> &targets)
{

    std::vector<bool> rewritten(p->media.size(), false);
    std::optional<size_t> first;
    for (size_t k = 0; k < p->media.size(); k++) {
        rewritten[k] = p->media[k].s.port != 0 && k < targets.size() && (targets[k].port != 0 || targets[k].decline);
        if (rewritten[k] && !first)
            first = k;
    }
    if (!first)
        return std::string(body);
    const std::string &session_addr = targets[*first].addr;

    // What a stream without media-level c= inherits once the session c= is rewritten.
    std::string old_session_c, new_session_c;
    if (p->session_c) {
        const Line &l = p->lines[*p->session_c];
        old_session_c = std::string(l.text);
        new_session_c = conn_is_hold(l) ? old_session_c : conn_line(session_addr);
    }
    const bool session_c_moves = old_session_c != new_session_c;
    const bool session_hold = p->session_c && p->session_conn.addr == kHold;

    std::string out;
    out.reserve(body.size() + 64);
    auto emit = [&](std::string_view text, std::string_view eol) {
        out += text;
        out += eol;
    };

    size_t next_media = 0;
    std::optional<size_t> k;  // current media section
    for (size_t i = 0; i < p->lines.size(); i++) {
        const Line &l = p->lines[i];
        if (next_media < p->media.size() && p->media[next_media].m_line == i)
            k = next_media++;
        std::string_view t = l.text;
        char type = t.size() >= 2 && t[1] == '=' ? t[0] : '\0';

        if (!k) {  // session level
            if (type == 'o')
                emit(rewrite_origin(l, session_addr), l.eol);
            else if (type == 'c')
                emit(conn_is_hold(l) ? std::string(t) : conn_line(session_addr), l.eol);
            else if (!is_ice_candidate_line(t))
                emit(t, l.eol);
            continue;
        }

        const Media &m = p->media[*k];
        if (!rewritten[*k]) {
            emit(t, l.eol);
        } else {
            const SdpTarget &tg = targets[*k];
            if (type == 'm')
                emit(rewrite_media_port(l, tg.decline ? 0 : tg.port), l.eol);
            else if (type == 'c')
                emit(conn_is_hold(l) && !tg.decline ? std::string(t) : conn_line(tg.addr), l.eol);
            else if (is_rtcp_line(t)) {
                if (!tg.decline)
                    emit(rewrite_rtcp(l, m.s, tg), l.eol);
            }
            else if (!is_ice_candidate_line(t))
                emit(t, l.eol);
        }

        if (i != m.c_after || m.has_c)
            continue;
        std::string insert;
        if (rewritten[*k]) {
            const std::string &addr = targets[*k].addr;
            if (!(session_hold || m.s.hold_zero) && addr != session_addr)
                insert = conn_line(addr);
        } else if (m.s.port != 0 && session_c_moves) {
            insert = old_session_c;
        }
        if (insert.empty())
            continue;
        if (l.eol.empty()) {  // last line had no ending: neither will the inserted one
            out += p->eol;
            out += insert;
        } else {
            emit(insert, p->eol);
        }
    }
    return out;
}

}  // namespace

struct SdpBody::Parsed {
    hras::Parsed p;
};

std::optional<SdpBody> SdpBody::parse(std::string_view body)
{
    auto p = hras::parse(body);
    if (!p)
        return std::nullopt;
    SdpBody b;
    b.body_ = body;
    for (const auto &m : p->media)
        b.info_.streams.push_back(m.s);
    b.parsed_ = std::make_shared<const Parsed>(Parsed{std::move(*p)});
    return b;
}

std::optional<SdpBody> SdpBody::parse(std::string_view content_type, std::string_view body)
{
    auto part = find_sdp(content_type, body);
    if (!part)
        return std::nullopt;
    auto b = parse(part->sdp);
    if (!b)
        return std::nullopt;
    b->before_ = part->before;
    b->after_ = part->after;
    return b;
}

std::string SdpBody::rewrite(const std::vector<SdpTarget> &targets) const
{
    std::string sdp = hras::rewrite(&parsed_->p, body_, targets);
    if (before_.empty() && after_.empty())
        return sdp;
    std::string out;
    out.reserve(before_.size() + sdp.size() + after_.size());
    out.append(before_).append(sdp).append(after_);
    return out;
}

std::optional<SdpInfo> sdp_parse(std::string_view body)
{
    auto b = SdpBody::parse(body);
    if (!b)
        return std::nullopt;
    return b->info();
}

std::optional<std::string> sdp_rewrite(std::string_view body, const std::vector<SdpTarget> &targets)
{
    auto b = SdpBody::parse(body);
    if (!b)
        return std::nullopt;
    return b->rewrite(targets);
}

}  // namespace sofw::hras
