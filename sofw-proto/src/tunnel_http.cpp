#include "sofw/tunnel_http.hpp"

#include <cstdio>

namespace sofw {

std::string media_ports_value(uint16_t first, uint16_t last)
{
    return std::to_string(first) + "-" + std::to_string(last);
}

std::optional<std::pair<uint16_t, uint16_t>> parse_media_ports_value(const std::string &value)
{
    unsigned first = 0, last = 0;
    if (sscanf(value.c_str(), "%u-%u", &first, &last) != 2 || first < 1024 || first >= last || last > 65535)
        return std::nullopt;
    return std::make_pair(static_cast<uint16_t>(first), static_cast<uint16_t>(last));
}

}  // namespace sofw
