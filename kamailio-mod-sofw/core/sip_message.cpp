#include "sip_message.hpp"

#include "multipart.hpp"

#include <algorithm>
#include <cstdlib>

#include "sofw/text.hpp"

namespace sofw::hras {
namespace {

bool is_lws(char c) { return c == ' ' || c == '\t'; }

// Full header name for a compact form; whitespace before the colon dropped.
std::string canonical_name(std::string_view raw)
{
    std::string n = lower(raw);
    n.erase(std::remove_if(n.begin(), n.end(), is_lws), n.end());
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

// "SIP/2.0 ..." or "METHOD SP Request-URI SP SIP/2.0".
bool is_start_line(std::string_view line)
{
    if (line.rfind("SIP/2.0 ", 0) == 0)
        return true;
    auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0)
        return false;
    auto sp2 = line.find(' ', sp1 + 1);
    return sp2 != std::string_view::npos && line.substr(sp2 + 1).rfind("SIP/2.0", 0) == 0;
}

// Content of the line starting at pos (without "\r\n" or "\n") and where
// the next line starts.
std::string_view line_at(std::string_view text, size_t pos, size_t limit, size_t &next)
{
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos || nl >= limit) {
        next = limit;
        return text.substr(pos, limit - pos);
    }
    next = nl + 1;
    size_t e = nl > pos && text[nl - 1] == '\r' ? nl - 1 : nl;
    return text.substr(pos, e - pos);
}

}  // namespace

bool sip_is_keepalive(std::string_view msg) { return msg.find_first_not_of("\r\n \t") == std::string_view::npos; }

std::optional<SipMessage> SipMessage::parse(std::string text)
{
    SipMessage m;
    m.text_ = std::move(text);
    std::string_view t = m.text_;
    // The head ends at its first empty line, whatever mix of CRLF and LF
    // the lines before it use: searching for "\r\n\r\n" before "\n\n"
    // would find a later boundary than a line-by-line reader (and than this
    // parser after a header was rewritten), and the body would change.
    size_t head_limit = 0;  // where the empty line starts
    for (size_t pos = 0, next = 0;; pos = next) {
        std::string_view line = line_at(t, pos, t.size(), next);
        if (next == t.size() && (t.empty() || t.back() != '\n'))
            return std::nullopt;  // the last line is unterminated: no empty line
        if (line.empty() && pos > 0) {
            head_limit = pos;
            m.body_offset_ = next;
            m.eol_ = next - pos == 2 ? "\r\n" : "\n";
            break;
        }
        if (next >= t.size())
            return std::nullopt;
    }
    size_t pos = 0;
    std::string_view start = line_at(t, 0, head_limit, pos);
    if (!is_start_line(start))
        return std::nullopt;
    bool in_header = false;
    while (pos < head_limit) {
        size_t next;
        size_t line_start = pos;
        std::string_view line = line_at(t, pos, head_limit, next);
        if (!line.empty() && is_lws(line[0]) && in_header) {
            m.headers_.back().end = line_start + line.size();
            m.headers_.back().next = next;
        } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
            m.headers_.push_back({line_start, line_start + colon, line_start + line.size(), next,
                                  canonical_name(line.substr(0, colon))});
            in_header = true;
        } else {
            in_header = false;  // not a header: copied as it is
        }
        pos = next;
    }
    m.edits_.resize(m.headers_.size());
    m.removed_.resize(m.headers_.size());

    SipInfo &info = m.info_;
    if (start.rfind("SIP/2.0 ", 0) == 0) {
        if (start.size() < 11)
            return m;
        info.status = std::atoi(std::string(start.substr(8, 3)).c_str());
        if (info.status < 100 || info.status > 699)
            return m;
    } else {
        info.is_request = true;
        info.method = std::string(start.substr(0, start.find(' ')));
    }
    if (auto h = m.find("call-id"))
        info.call_id = trim(m.value(size_t(h - m.headers_.data())), blanks);
    if (auto h = m.find("from"))
        info.from = trim(m.value(size_t(h - m.headers_.data())), blanks);
    if (auto h = m.find("to"))
        info.to = trim(m.value(size_t(h - m.headers_.data())), blanks);
    if (auto h = m.find("cseq")) {
        std::string v(trim(m.value(size_t(h - m.headers_.data())), blanks));
        auto sp = v.find_last_of(" \t");
        if (sp != std::string::npos)
            info.cseq_method = trim(std::string_view(v).substr(sp + 1), blanks);
    }
    if (auto h = m.find("content-type")) {
        std::string v = m.value(size_t(h - m.headers_.data()));
        info.content_type = lower(trim(std::string_view(v).substr(0, v.find(';')), blanks));
        info.content_type_value = trim(v, blanks);
    }
    info.body_offset = m.body_offset_;
    info.body_len = t.size() - m.body_offset_;
    if (auto h = m.find("content-length")) {
        size_t cl = std::strtoul(m.value(size_t(h - m.headers_.data())).c_str(), nullptr, 10);
        if (cl < info.body_len)
            info.body_len = cl;
    }
    m.dialog_ = !info.call_id.empty();
    return m;
}

const SipMessage::Header *SipMessage::find(const char *name) const
{
    for (auto &h : headers_)
        if (h.name == name)
            return &h;
    return nullptr;
}

std::string_view SipMessage::body() const
{
    if (new_body_)
        return *new_body_;
    return std::string_view(text_).substr(body_offset_, dialog_ ? info_.body_len : text_.size() - body_offset_);
}

std::string SipMessage::value(size_t i) const
{
    const Header &h = headers_.at(i);
    std::string_view t = text_;
    size_t next;
    std::string v(line_at(t, h.colon + 1, h.next, next));
    while (next < h.next) {
        size_t pos = next;
        // RFC 3261 7.3.1: a line end and the whitespace after it count as one space.
        v.append(" ").append(trim(line_at(t, pos, h.next, next), blanks));
    }
    return v;
}

void SipMessage::set_value(size_t i, std::string value) { edits_.at(i) = std::move(value); }

void SipMessage::remove_header(size_t i) { removed_.at(i) = true; }

bool SipInfo::has_sdp() const { return body_len > 0 && body_may_carry_sdp(content_type); }

void SipMessage::replace_body(std::string body)
{
    std::string cl = std::to_string(body.size());
    if (auto h = find("content-length"))
        set_value(size_t(h - headers_.data()), " " + cl);
    new_body_ = std::move(body);
}

std::string SipMessage::str() const
{
    std::string_view t = text_;
    std::string out;
    out.reserve(t.size() + 64);
    size_t cursor = 0;
    for (size_t i = 0; i < headers_.size(); i++) {
        const Header &h = headers_[i];
        if (removed_[i]) {
            out.append(t.substr(cursor, h.start - cursor));
            cursor = h.next;
            continue;
        }
        if (!edits_[i])
            continue;
        out.append(t.substr(cursor, h.colon + 1 - cursor)).append(*edits_[i]).append(t.substr(h.end, h.next - h.end));
        cursor = h.next;
    }
    if (!new_body_) {
        out.append(t.substr(cursor));
        return out;
    }
    if (!find("content-length")) {
        // before the empty line that ends the headers
        size_t blank = body_offset_ - eol_.size();
        out.append(t.substr(cursor, blank - cursor));
        out.append("Content-Length: " + std::to_string(new_body_->size()) + eol_);
        cursor = blank;
    }
    out.append(t.substr(cursor, body_offset_ - cursor)).append(*new_body_);
    return out;
}

std::optional<std::string> SipMessage::make_reply(int code, std::string_view reason) const
{
    if (!dialog_ || !info_.is_request)
        return std::nullopt;
    std::string_view t = text_;
    std::string out = "SIP/2.0 " + std::to_string(code) + " " + std::string(reason) + "\r\n";
    for (size_t i = 0; i < headers_.size(); i++) {
        const Header &h = headers_[i];
        std::string_view raw = t.substr(h.start, h.end - h.start);
        if (h.name == "via" || h.name == "from" || h.name == "call-id" || h.name == "cseq") {
            out.append(raw).append("\r\n");
        } else if (h.name == "to") {
            out.append(raw);
            if (lower(value(i)).find(";tag=") == std::string::npos)
                out.append(";tag=sofw-" + std::to_string(code));
            out.append("\r\n");
        }
    }
    out += "Content-Length: 0\r\n\r\n";
    return out;
}

std::optional<SipInfo> sip_inspect(std::string_view msg)
{
    auto m = SipMessage::parse(std::string(msg));
    if (!m || !m->info())
        return std::nullopt;
    return *m->info();
}

std::string sip_replace_body(std::string_view msg, const SipInfo &, std::string_view body)
{
    auto m = SipMessage::parse(std::string(msg));
    if (!m)
        return std::string(msg);
    m->replace_body(std::string(body));
    return m->str();
}

std::optional<std::string> sip_make_reply(std::string_view request, int code, std::string_view reason)
{
    auto m = SipMessage::parse(std::string(request));
    if (!m)
        return std::nullopt;
    return m->make_reply(code, reason);
}

}  // namespace sofw::hras
