#include "stats.hpp"

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

void Stats::log(hras_log_level lvl, const std::string &msg) const
{
    if (hooks_ && hooks_->log)
        hooks_->log(lvl, msg.c_str());
    else if (getenv("SOFW_TEST_LOG"))
        fprintf(stderr, "hras[%d]: %s\n", lvl, msg.c_str());
}

} // namespace sofw::hras
