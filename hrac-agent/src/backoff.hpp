// Reconnect delays (docs/protocol.md "Channels"): 1 s doubling to 30 s, back
// to 1 s after a session that lived 30 s. A session that worked for a while
// and then broke is probably a passing network fault worth retrying soon;
// repeated quick failures mean HRAS or the path is down, so slow down.
#pragma once

namespace hrac {

class Backoff {
public:
    static constexpr unsigned first_delay_s = 1;
    static constexpr unsigned max_delay_s = 30;
    static constexpr unsigned healthy_session_s = 30;

    // Call when a session (or a connection attempt) ends; lived_s is how
    // long it was up (0 if it never came up). Returns the delay before the
    // next attempt.
    unsigned next_delay(unsigned lived_s)
    {
        if (lived_s >= healthy_session_s)
            next_ = first_delay_s;
        const unsigned delay = next_;
        next_ = next_ * 2 > max_delay_s ? max_delay_s : next_ * 2;
        return delay;
    }

private:
    unsigned next_ = first_delay_s;
};

}  // namespace hrac
