// The few text helpers both halves need for SIP, HTTP headers and
// settings. ASCII only, whatever the locale: everything they read is ASCII
// where it matters (names, keywords), and other bytes pass unchanged.
#pragma once
#include <string>
#include <string_view>

namespace sofw {

// What trim() removes: blanks are the spaces and tabs inside a line (SIP's
// and HTTP's whitespace); whitespace adds line ends, for raw lines.
constexpr std::string_view blanks = " \t";
constexpr std::string_view whitespace = " \t\r\n";

char ascii_lower(char c);
std::string lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool starts_with(std::string_view s, std::string_view prefix);
bool istarts_with(std::string_view s, std::string_view prefix);  // case-insensitive

// s without the given characters at both ends (trim) or at its end (rtrim).
// A view into s: keep what s refers to alive while using it.
std::string_view trim(std::string_view s, std::string_view chars = whitespace);
std::string_view rtrim(std::string_view s, std::string_view chars = whitespace);

}  // namespace sofw
