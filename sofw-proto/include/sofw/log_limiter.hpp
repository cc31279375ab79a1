// Rate limit for log lines a peer can provoke at will (refused frames,
// packets from wrong sources, failed binds): at most one line per interval,
// the next one saying how many were left out. Counters still count every
// event; only the log is limited.
#pragma once
#include <cstdint>
#include <string>

namespace sofw {

class LogLimiter {
public:
    explicit LogLimiter(uint64_t interval_ms) : interval_ms_(interval_ms) {}

    // True if a line may be logged now; suppressed then holds how many
    // events were not logged since the last line.
    bool allow(uint64_t now_ms, uint64_t &suppressed)
    {
        if (logged_ && now_ms - last_ms_ < interval_ms_) {
            ++suppressed_;
            return false;
        }
        logged_ = true;
        last_ms_ = now_ms;
        suppressed = suppressed_;
        suppressed_ = 0;
        return true;
    }

private:
    uint64_t interval_ms_;
    bool logged_ = false;
    uint64_t last_ms_ = 0;
    uint64_t suppressed_ = 0;
};

// The tail of a line logged after others were left out: " (N more not
// logged)", or nothing when none were.
inline std::string not_logged_text(uint64_t suppressed)
{
    return suppressed ? " (" + std::to_string(suppressed) + " more not logged)" : std::string();
}

}  // namespace sofw
