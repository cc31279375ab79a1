// Helpers for writing SIP and SDP texts readably in tests.
#pragma once
#include <string>
#include <string_view>

namespace sofw::test {

// "\n" -> "\r\n": tests write messages with plain line ends.
inline std::string crlf(std::string_view s)
{
    std::string r;
    for (char c : s) {
        if (c == '\n')
            r += '\r';
        r += c;
    }
    return r;
}

}  // namespace sofw::test
