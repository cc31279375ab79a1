// What the HRAS core publishes through its hooks (log lines, site states),
// recorded for tests of the tunnel server. The tests run on one thread, so
// one global record is enough; a test resets it in SetUp().
#pragma once
#include "hras.h"

#include <map>
#include <string>
#include <vector>

namespace sofw::test {

struct Published {
    std::map<int, hras_site_state> states;
    std::vector<std::string> log;
};
inline Published g_published;
inline const hras_hooks test_hooks = {
    [](int, const char *msg) { g_published.log.push_back(msg); },
    nullptr,
    [](int site, const hras_site_state *st) { g_published.states[site] = *st; },
    nullptr,
    nullptr,
};

}  // namespace sofw::test
