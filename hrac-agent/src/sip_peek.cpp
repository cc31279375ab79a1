#include "sip_peek.hpp"

#include <sofw/text.hpp>

#include <algorithm>
#include <cctype>

namespace hrac {

namespace {

std::optional<unsigned> leading_number(const std::string &s, size_t pos = 0)
{
    size_t end = pos;
    while (end < s.size() && end - pos < 10 && isdigit(static_cast<unsigned char>(s[end])))
        ++end;
    if (end == pos)
        return std::nullopt;
    const unsigned long n = std::stoul(s.substr(pos, end - pos));
    return static_cast<unsigned>(std::min<unsigned long>(n, 0xffffffffu));
}

void take_max(std::optional<unsigned> &max, std::optional<unsigned> value)
{
    if (value && (!max || *value > *max))
        max = value;
}

// Every ";expires=N" in a Contact value, in any case.
void contact_expires(const std::string &value, std::optional<unsigned> &max)
{
    const std::string lower = sofw::lower(value);
    for (size_t at = lower.find("expires"); at != std::string::npos; at = lower.find("expires", at + 1)) {
        size_t p = at + 7;
        while (p < lower.size() && (lower[p] == ' ' || lower[p] == '\t'))
            ++p;
        if (at == 0 || lower[at - 1] != ';' || p >= lower.size() || lower[p] != '=')
            continue;
        ++p;
        while (p < lower.size() && (lower[p] == ' ' || lower[p] == '\t'))
            ++p;
        take_max(max, leading_number(lower, p));
    }
}

bool is_token(const std::string &s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return isalnum(static_cast<unsigned char>(c)) || std::string("-.!%*_+`'~").find(c) != std::string::npos;
    });
}

}  // namespace

std::optional<SipPeek> peek_sip(const uint8_t *data, size_t len)
{
    const std::string msg(reinterpret_cast<const char *>(data), len);
    const auto head_end = msg.find("\r\n\r\n");
    const std::string head = msg.substr(0, head_end);
    const auto line_end = head.find("\r\n");
    const std::string start = head.substr(0, line_end);

    SipPeek peek;
    if (head_end != std::string::npos && head_end + 4 < len)
        peek.body_offset = head_end + 4;
    if (sofw::starts_with(start, "SIP/2.0 ")) {
        const auto status = leading_number(start, 8);
        if (!status || *status < 100 || *status > 699)
            return std::nullopt;
        peek.status = static_cast<int>(*status);
    } else {
        const auto space = start.find(' ');
        if (space == std::string::npos || start.size() < 8 || start.compare(start.size() - 8, 8, " SIP/2.0") != 0)
            return std::nullopt;
        peek.request = true;
        peek.method = start.substr(0, space);
        if (!is_token(peek.method))
            return std::nullopt;
    }

    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
        auto next = head.find("\r\n", pos);
        if (next == std::string::npos)
            next = head.size();
        const std::string line = head.substr(pos, next - pos);
        pos = next + 2;
        const auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        const std::string_view name = sofw::trim(std::string_view(line).substr(0, colon), sofw::blanks);
        const std::string value(sofw::trim(std::string_view(line).substr(colon + 1), sofw::blanks));
        if (sofw::iequals(name, "CSeq")) {
            const auto space = value.find_first_of(" \t");
            if (space != std::string::npos)
                peek.cseq_method = sofw::trim(std::string_view(value).substr(space + 1), sofw::blanks);
        } else if (sofw::iequals(name, "Expires")) {
            take_max(peek.max_expires, leading_number(value));
        } else if (sofw::iequals(name, "Contact") || sofw::iequals(name, "m")) {
            if (value == "*")
                take_max(peek.max_expires, 0u);
            contact_expires(value, peek.max_expires);
        }
    }
    return peek;
}

}  // namespace hrac
