#include "multipart.hpp"

#include "sofw/text.hpp"

#include <string>

namespace sofw::hras {

namespace {

std::string_view media_type_of(std::string_view content_type)
{
    return trim(content_type.substr(0, content_type.find(';')), whitespace);
}

// The boundary parameter (RFC 2046 5.1.1: 1 to 70 characters, maybe quoted).
std::optional<std::string_view> boundary_of(std::string_view content_type)
{
    size_t pos = content_type.find(';');
    while (pos != std::string_view::npos) {
        std::string_view rest = content_type.substr(pos + 1);
        size_t next = rest.find(';');
        std::string_view param = trim(rest.substr(0, next), whitespace);
        size_t eq = param.find('=');
        if (eq != std::string_view::npos && iequals(trim(param.substr(0, eq), whitespace), "boundary")) {
            std::string_view v = trim(param.substr(eq + 1), whitespace);
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
                v = v.substr(1, v.size() - 2);
            if (v.empty() || v.size() > 70)
                return std::nullopt;
            return v;
        }
        pos = next == std::string_view::npos ? next : pos + 1 + next;
    }
    return std::nullopt;
}

// The next delimiter line "--boundary" at a line start at or after from:
// the position of its "--" and of the line after it; the delimiter's line
// end before it belongs to the delimiter (RFC 2046 5.1.1).
struct Delimiter {
    size_t start = 0;       // where the CRLF (or LF) before "--" starts, or "--" at the body start
    size_t line_after = 0;  // first byte after the delimiter line
    bool closing = false;
};

std::optional<Delimiter> next_delimiter(std::string_view body, std::string_view boundary, size_t from)
{
    const std::string dash = "--" + std::string(boundary);
    size_t at = from;
    while ((at = body.find(dash, at)) != std::string_view::npos) {
        bool line_start = at == 0 || body[at - 1] == '\n';
        if (!line_start) {
            at += dash.size();
            continue;
        }
        Delimiter d;
        d.start = at;
        if (at >= 1 && body[at - 1] == '\n')
            d.start = at >= 2 && body[at - 2] == '\r' ? at - 2 : at - 1;
        size_t end = at + dash.size();
        d.closing = body.substr(end, 2) == "--";
        size_t nl = body.find('\n', end);
        d.line_after = nl == std::string_view::npos ? body.size() : nl + 1;
        return d;
    }
    return std::nullopt;
}

// A part's headers end at its first empty line; the part is SDP if its
// Content-Type says so (no Content-Type means text/plain, RFC 2046 5.1).
std::optional<size_t> sdp_body_start(std::string_view part)
{
    size_t pos = 0;
    bool is_sdp = false;
    while (pos < part.size()) {
        size_t nl = part.find('\n', pos);
        std::string_view line = part.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        line = rtrim(line, "\r");
        size_t next = nl == std::string_view::npos ? part.size() : nl + 1;
        if (line.empty())
            return is_sdp ? std::optional<size_t>(next) : std::nullopt;
        size_t colon = line.find(':');
        if (colon != std::string_view::npos && iequals(trim(line.substr(0, colon), blanks), "content-type"))
            is_sdp = iequals(media_type_of(line.substr(colon + 1)), "application/sdp");
        pos = next;
    }
    // A part with headers and no body (or no blank line) carries no SDP.
    return std::nullopt;
}

}  // namespace

bool body_may_carry_sdp(std::string_view media_type)
{
    return media_type == "application/sdp" || media_type == "multipart/mixed" ||
           media_type == "multipart/alternative";
}

std::optional<SdpPart> find_sdp(std::string_view content_type, std::string_view body)
{
    std::string_view type = media_type_of(content_type);
    if (iequals(type, "application/sdp"))
        return SdpPart{body.substr(0, 0), body, body.substr(body.size())};
    if (!iequals(type, "multipart/mixed") && !iequals(type, "multipart/alternative"))
        return std::nullopt;
    auto boundary = boundary_of(content_type);
    if (!boundary)
        return std::nullopt;
    auto d = next_delimiter(body, *boundary, 0);
    std::optional<SdpPart> found;
    size_t parts = 0;
    while (d && !d->closing) {
        auto next = next_delimiter(body, *boundary, d->line_after);
        if (!next)
            return std::nullopt;  // no closing delimiter: cut off
        if (++parts > multipart_max_parts)
            return std::nullopt;
        size_t begin = d->line_after;
        size_t end = next->start < begin ? begin : next->start;
        std::string_view part = body.substr(begin, end - begin);
        if (auto off = sdp_body_start(part)) {
            if (found)
                return std::nullopt;  // two SDPs: not ours to choose
            size_t sdp_at = begin + *off;
            found = SdpPart{body.substr(0, sdp_at), body.substr(sdp_at, end - sdp_at), body.substr(end)};
        }
        d = next;
    }
    if (!d)
        return std::nullopt;
    return found;
}

}  // namespace sofw::hras
