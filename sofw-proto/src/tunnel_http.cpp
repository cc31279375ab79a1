#include "sofw/tunnel_http.hpp"

#include "sofw/lanes.hpp"

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

std::string lane_path(Channel c, unsigned lane)
{
    if (lane == 0)
        return c == Channel::down ? tunnel_path::down : tunnel_path::up;
    return (c == Channel::down ? tunnel_path::down_lane_prefix : tunnel_path::up_lane_prefix) + std::to_string(lane);
}

std::optional<LanePath> parse_lane_path(std::string_view path)
{
    for (const Channel c : {Channel::down, Channel::up}) {
        const std::string_view lane0 = c == Channel::down ? tunnel_path::down : tunnel_path::up;
        const std::string_view prefix = c == Channel::down ? tunnel_path::down_lane_prefix : tunnel_path::up_lane_prefix;
        if (path == lane0)
            return LanePath{c, 0};
        // One digit: lanes 1..lanes_max-1 never need two, so "01" and "10" are out.
        static_assert(lanes_max <= 10, "lane numbers are one digit");
        if (path.size() == prefix.size() + 1 && path.substr(0, prefix.size()) == prefix) {
            const char d = path.back();
            if (d >= '1' && unsigned(d - '0') < lanes_max)
                return LanePath{c, unsigned(d - '0')};
        }
    }
    return std::nullopt;
}

std::string lanes_value(unsigned n) { return std::to_string(n); }

std::optional<unsigned> parse_lanes_value(std::string_view value)
{
    const auto first = value.find_first_not_of(" \t");
    if (first == std::string_view::npos)
        return std::nullopt;
    const auto last = value.find_last_not_of(" \t");
    if (last != first)
        return std::nullopt;
    const char d = value[first];
    if (d < '1' || unsigned(d - '0') > lanes_max)
        return std::nullopt;
    return unsigned(d - '0');
}

}  // namespace sofw
