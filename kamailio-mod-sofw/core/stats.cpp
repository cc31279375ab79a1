#include "stats.hpp"

#include "event_loop.hpp"

#include <cstdio>

namespace sofw::hras {

void Stats::add(hras_counter c, uint64_t n)
{
    totals_[c] += n;
    if (hooks_ && hooks_->counter_add)
        hooks_->counter_add(c, n);
}

void Stats::site_state(int site, const hras_site_state &st) const
{
    if (hooks_ && hooks_->site_state)
        hooks_->site_state(site, &st);
}

void Stats::rat_publish(const hras_rat_row *rows, int n, int hras_ports, int hrac_ports) const
{
    if (hooks_ && hooks_->rat_publish)
        hooks_->rat_publish(rows, n, hras_ports, hrac_ports);
}

void Stats::log(hras_log_level lvl, const std::string &msg) const
{
    if (hooks_ && hooks_->log)
        hooks_->log(lvl, msg.c_str());
    else if (getenv("SOFW_TEST_LOG"))
        fprintf(stderr, "hras[%d]: %s\n", lvl, msg.c_str());
}

uint64_t Stats::limited_log_clock() { return uint64_t(now_ms()); }

void Stats::log_with_suppressed(hras_log_level lvl, const std::string &m, uint64_t suppressed) const
{
    log(lvl, m + sofw::not_logged_text(suppressed));
}

}  // namespace sofw::hras
