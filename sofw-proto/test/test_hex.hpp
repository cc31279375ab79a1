// Test vectors are written as hex (docs/protocol.md); spaces between
// groups are allowed. For the sofw-proto tests only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sofw::test {

inline std::vector<uint8_t> unhex(const std::string &s)
{
    std::vector<uint8_t> out;
    std::string digits;
    for (char c : s)
        if (c != ' ')
            digits += c;
    for (size_t i = 0; i + 1 < digits.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
    return out;
}

}  // namespace sofw::test
