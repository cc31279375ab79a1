// The `sofw` counter group comes from one list in hras.h: every counter and
// gauge has a name, no name is used twice, and the gauges are derived the
// same way for the Kamailio counters and the status page.
#include "../hras.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

TEST(SofwCounters, EveryCounterAndGaugeHasItsOwnName)
{
    std::set<std::string> names;
    for (int c = 0; c < HRAS_CNT_COUNT; c++) {
        ASSERT_NE(nullptr, hras_counter_name(c)) << c;
        EXPECT_TRUE(names.insert(hras_counter_name(c)).second) << hras_counter_name(c);
    }
    for (int g = 0; g < HRAS_GAUGE_COUNT; g++) {
        ASSERT_NE(nullptr, hras_gauge_name(g)) << g;
        EXPECT_TRUE(names.insert(hras_gauge_name(g)).second) << hras_gauge_name(g);
    }
    EXPECT_STREQ("tunnel_frames_up", hras_counter_name(HRAS_CNT_FRAMES_UP));
    EXPECT_STREQ("sip_from_sites", hras_counter_name(HRAS_CNT_SIP_UP));
    EXPECT_STREQ("active_calls", hras_gauge_name(HRAS_GAUGE_ACTIVE_CALLS));
    EXPECT_EQ(nullptr, hras_counter_name(HRAS_CNT_COUNT));
    EXPECT_EQ(nullptr, hras_counter_name(-1));
    EXPECT_EQ(nullptr, hras_gauge_name(HRAS_GAUGE_COUNT));
}

TEST(SofwCounters, GaugesAreDerivedFromWhatWasPublished)
{
    hras_site_state sites[3] = {};
    sites[0].up = 1;
    sites[0].phones = 2;
    sites[1].phones = 1;  // down, but its phones still have endpoints
    sites[2].up = 1;
    hras_rat_row rows[3] = {};
    rows[0].stream = 0;
    rows[1].stream = 1;  // the second stream of the first leg
    rows[2].stream = 0;

    unsigned long g[HRAS_GAUGE_COUNT];
    for (auto &v : g)
        v = 99;
    hras_site_gauges(sites, 3, g);
    EXPECT_EQ(2u, g[HRAS_GAUGE_ACTIVE_SITES]);
    EXPECT_EQ(3u, g[HRAS_GAUGE_PHONES]);
    EXPECT_EQ(99u, g[HRAS_GAUGE_ACTIVE_CALLS]) << "each function sets only its own gauges";

    hras_rat_gauges(rows, 3, 4, 5, g);
    EXPECT_EQ(2u, g[HRAS_GAUGE_ACTIVE_CALLS]) << "legs, not streams";
    EXPECT_EQ(4u, g[HRAS_GAUGE_MEDIA_PORTS_HRAS]);
    EXPECT_EQ(5u, g[HRAS_GAUGE_MEDIA_PORTS_HRAC]);
    EXPECT_EQ(2u, g[HRAS_GAUGE_ACTIVE_SITES]);

    hras_rat_gauges(nullptr, 0, -1, 0, g);
    EXPECT_EQ(0u, g[HRAS_GAUGE_ACTIVE_CALLS]);
    EXPECT_EQ(0u, g[HRAS_GAUGE_MEDIA_PORTS_HRAS]);
}
