// Counting and logging for the HRAS core, forwarded to Kamailio's counters
// and log through the hooks the glue installs (no-ops in unit tests, which
// read the local totals instead).
#pragma once
#include "../hras.h"
#include "sofw/log_limiter.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace sofw::hras {

class Stats {
public:
    void set_hooks(const hras_hooks *h) { hooks_ = h; }
    void add(hras_counter c, uint64_t n = 1);
    uint64_t get(hras_counter c) const { return totals_[c]; }
    void site_state(int site, const hras_site_state &st) const;
    void rat_publish(const hras_rat_row *rows, int n, int hras_ports, int hrac_ports) const;

    void log(hras_log_level lvl, const std::string &msg) const;
    void err(const std::string &m) const { log(HRAS_LOG_ERR, m); }
    void warn(const std::string &m) const { log(HRAS_LOG_WARN, m); }
    void info(const std::string &m) const { log(HRAS_LOG_INFO, m); }
    void dbg(const std::string &m) const { log(HRAS_LOG_DBG, m); }
    // For what a peer can provoke at will: at most one line per the
    // limiter's interval, the next saying how many were left out. The line
    // is made (make_line() -> std::string) only when it is logged, so a
    // flood of refused frames builds no strings.
    template <typename MakeLine>
    void log_limited(LogLimiter &limit, hras_log_level lvl, MakeLine &&make_line) const
    {
        uint64_t suppressed = 0;
        if (limit.allow(limited_log_clock(), suppressed))
            log_with_suppressed(lvl, make_line(), suppressed);
    }

private:
    static uint64_t limited_log_clock();
    void log_with_suppressed(hras_log_level lvl, const std::string &m, uint64_t suppressed) const;

    const hras_hooks *hooks_ = nullptr;
    std::array<uint64_t, HRAS_CNT_COUNT> totals_{};
};

}  // namespace sofw::hras
