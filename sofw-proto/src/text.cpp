#include "sofw/text.hpp"

namespace sofw {

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s)
{
    std::string r(s);
    for (char &c : r)
        c = ascii_lower(c);
    return r;
}

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    }
    return true;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool istarts_with(std::string_view s, std::string_view prefix)
{
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s, std::string_view chars)
{
    const size_t begin = s.find_first_not_of(chars);
    if (begin == std::string_view::npos)
        return {};
    return s.substr(begin, s.find_last_not_of(chars) - begin + 1);
}

std::string_view rtrim(std::string_view s, std::string_view chars)
{
    const size_t end = s.find_last_not_of(chars);
    return end == std::string_view::npos ? std::string_view() : s.substr(0, end + 1);
}

}  // namespace sofw
