// The input of the state-machine targets: a sequence of events, each one a
// chunk of the input between separators "|EV|". An event's first byte picks
// its kind, the next few bytes its parameters, the rest is its payload (a
// SIP message, a media packet, a control payload). Seeds are written by
// hand or by fuzz/make_seeds.py as readable text: a SIP message with a
// two-byte prefix is one event.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sofw_fuzz {

constexpr std::string_view event_separator = "|EV|";

struct Event {
    uint8_t kind = 0;
    std::string_view params;   // up to params_size bytes (fewer if the chunk is short)
    std::string_view payload;  // what follows them

    uint8_t param(size_t i) const { return i < params.size() ? static_cast<uint8_t>(params[i]) : 0; }
    const uint8_t *data() const { return reinterpret_cast<const uint8_t *>(payload.data()); }
};

inline std::vector<Event> split_events(const uint8_t *data, size_t size, size_t params_size, size_t max_events = 64)
{
    const std::string_view in(reinterpret_cast<const char *>(data), size);
    std::vector<Event> events;
    for (size_t at = 0; at <= in.size() && events.size() < max_events;) {
        size_t end = in.find(event_separator, at);
        if (end == std::string_view::npos)
            end = in.size();
        std::string_view chunk = in.substr(at, end - at);
        if (!chunk.empty()) {
            Event e;
            e.kind = static_cast<uint8_t>(chunk[0]);
            chunk.remove_prefix(1);
            e.params = chunk.substr(0, params_size);
            e.payload = chunk.substr(e.params.size());
            events.push_back(e);
        }
        at = end + event_separator.size();
    }
    return events;
}

}  // namespace sofw_fuzz
