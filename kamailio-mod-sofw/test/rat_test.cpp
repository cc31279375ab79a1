// The Relay Agent Table and its port pools, without sockets: even RTP ports
// only, no port given to two legs, release and reuse order, per-site HRAC
// pools, removal and the inactivity scan (explicit clock values).
#include "core/rat.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

using namespace sofw::hras;

TEST(RatPortPool, HandsOutEvenPortsWithTheirRtcpPortInsideTheRange)
{
    PortPool pool(30001, 30010);  // odd bounds: 30002..30008; 30010 has no 30011
    EXPECT_EQ(4u, pool.available());
    std::vector<uint16_t> got;
    while (auto p = pool.take())
        got.push_back(*p);
    EXPECT_EQ((std::vector<uint16_t>{30002, 30004, 30006, 30008}), got);
    for (uint16_t p : got) {
        EXPECT_EQ(0, p % 2);
        EXPECT_GE(p, 30001);
        EXPECT_LE(p + 1, 30010);
        EXPECT_TRUE(pool.in_use(p));
    }
    EXPECT_EQ(0u, pool.available());
    EXPECT_EQ(4u, pool.used());

    PortPool one(40000, 40001);
    EXPECT_EQ(1u, one.available());
    EXPECT_EQ(40000, one.take());
    EXPECT_FALSE(one.take()) << "exhausted";
    PortPool none(40001, 40002);  // no whole even/odd pair inside
    EXPECT_EQ(0u, none.available());
    EXPECT_FALSE(none.take());
}

TEST(RatPortPool, ReleasedPortsComeBackAndAreReusedAfterThePortsFreeBeforeThem)
{
    PortPool pool(30000, 30007);  // 30000 30002 30004 30006
    auto a = pool.take(), b = pool.take();
    ASSERT_TRUE(a && b);
    EXPECT_NE(*a, *b);
    pool.give(*a);
    EXPECT_FALSE(pool.in_use(*a));
    EXPECT_EQ(3u, pool.available());
    // The port just released waits behind the ones that were free already,
    // so late packets of the ended call do not reach the next one at once.
    EXPECT_EQ(30004, pool.take());
    EXPECT_EQ(30006, pool.take());
    EXPECT_EQ(*a, pool.take());
    EXPECT_FALSE(pool.take());

    pool.give(*b);
    pool.give(*b);     // twice: still one free port
    pool.give(31000);  // never handed out: ignored
    pool.give(30001);
    EXPECT_EQ(1u, pool.available());
    EXPECT_EQ(*b, pool.take());
    EXPECT_FALSE(pool.take());
}

TEST(RatPortPool, NeverGivesOnePortTwiceWhileInUse)
{
    PortPool pool(30000, 30099);
    std::set<uint16_t> held;
    // Take and give in an interleaved pattern; a held port never comes out.
    for (int round = 0; round < 200; round++) {
        if (round % 3 == 2 && !held.empty()) {
            uint16_t p = *held.begin();
            held.erase(held.begin());
            pool.give(p);
            continue;
        }
        auto p = pool.take();
        if (!p) {
            EXPECT_EQ(50u, held.size());
            continue;
        }
        EXPECT_TRUE(held.insert(*p).second) << "port " << *p << " handed out twice";
    }
    EXPECT_EQ(held.size(), pool.used());
}

namespace {

// A RAT entry per leg: phone endpoint id and Call-ID.
RatEntry &leg(Rat &rat, uint64_t phone, const std::string &call_id, size_t site = 0, int64_t now = 1000)
{
    return rat.get_or_create(site, phone, call_id, now);
}

}  // namespace

TEST(Rat, GetOrCreateKeysOnPhoneAndCallId)
{
    Rat rat(30000, 30099);
    RatEntry &a = rat.get_or_create(0, 1, "c1", 500);
    EXPECT_EQ(0u, a.site);
    EXPECT_EQ(1u, a.phone);
    EXPECT_EQ("c1", a.call_id);
    EXPECT_EQ(500, a.created_ms);
    EXPECT_EQ(500, a.last_activity_ms);
    RatEntry &again = rat.get_or_create(0, 1, "c1", 900);
    EXPECT_EQ(&a, &again);
    EXPECT_EQ(500, again.created_ms) << "an existing entry is not reset";
    RatEntry &other_call = rat.get_or_create(0, 1, "c2", 900);
    RatEntry &other_phone = rat.get_or_create(0, 2, "c1", 900);  // the other leg of a LAN call
    EXPECT_NE(&a, &other_call);
    EXPECT_NE(&a, &other_phone);
    EXPECT_EQ(3u, rat.size());
    EXPECT_EQ(&a, rat.find(1, "c1"));
    EXPECT_EQ(nullptr, rat.find(3, "c1"));
    EXPECT_EQ(nullptr, rat.find(1, "c3"));
}

TEST(Rat, HrasPortsAreEvenUniqueAndFoundByPort)
{
    Rat rat(30000, 30099);
    RatEntry &a = leg(rat, 1, "a");
    RatEntry &b = leg(rat, 2, "b");
    ASSERT_TRUE(rat.allocate_hras(a, 0));
    ASSERT_TRUE(rat.allocate_hras(a, 1));  // a second stream (video)
    ASSERT_TRUE(rat.allocate_hras(b, 0));
    ASSERT_EQ(2u, a.streams.size());
    ASSERT_EQ(1u, b.streams.size());
    std::set<uint16_t> ports{a.streams[0].hras_port, a.streams[1].hras_port, b.streams[0].hras_port};
    EXPECT_EQ(3u, ports.size()) << "a port given to two streams";
    for (uint16_t p : ports) {
        EXPECT_EQ(0, p % 2);
        EXPECT_GE(p, 30000);
        EXPECT_LE(p, 30098);
    }
    uint16_t pa = a.streams[0].hras_port;
    EXPECT_TRUE(rat.allocate_hras(a, 0));
    EXPECT_EQ(pa, a.streams[0].hras_port) << "allocating again keeps the stream's port";
    EXPECT_EQ(3u, rat.hras_pool().used());

    auto [e, i] = rat.by_hras_port(a.streams[1].hras_port);
    EXPECT_EQ(&a, e);
    EXPECT_EQ(1u, i);
    auto [eb, ib] = rat.by_hras_port(b.streams[0].hras_port);
    EXPECT_EQ(&b, eb);
    EXPECT_EQ(0u, ib);
    EXPECT_EQ(nullptr, rat.by_hras_port(uint16_t(pa + 1)).first) << "lookups are by the RTP port";
    EXPECT_EQ(nullptr, rat.by_hras_port(31000).first);

    rat.release_hras(a, 0);
    EXPECT_EQ(0, a.streams[0].hras_port);
    EXPECT_EQ(nullptr, rat.by_hras_port(pa).first);
    EXPECT_FALSE(rat.hras_pool().in_use(pa));
    EXPECT_EQ(2u, rat.hras_pool().used());
    rat.release_hras(a, 0);  // nothing held: no-op
    EXPECT_EQ(2u, rat.hras_pool().used());
}

TEST(Rat, ExhaustedPoolsReturnFalse)
{
    Rat rat(30000, 30003);                // two HRAS pairs
    rat.set_site_ports(0, 20000, 20001);  // one HRAC pair
    RatEntry &a = leg(rat, 1, "a");
    RatEntry &b = leg(rat, 2, "b");
    RatEntry &c = leg(rat, 3, "c");
    EXPECT_TRUE(rat.allocate_hras(a, 0));
    EXPECT_TRUE(rat.allocate_hras(b, 0));
    EXPECT_FALSE(rat.allocate_hras(c, 0));
    EXPECT_EQ(0, c.streams[0].hras_port);
    EXPECT_TRUE(rat.allocate_hrac(a, 0));
    EXPECT_FALSE(rat.allocate_hrac(b, 0));
    EXPECT_EQ(0, b.streams[0].hrac_port);

    uint16_t pa = a.streams[0].hras_port;
    rat.release_hras(a, 0);  // a port comes back: the next leg gets it
    EXPECT_TRUE(rat.allocate_hras(c, 0));
    EXPECT_EQ(pa, c.streams[0].hras_port);
    rat.release_hrac(a, 0);
    EXPECT_TRUE(rat.allocate_hrac(b, 0));
    EXPECT_EQ(20000, b.streams[0].hrac_port);
}

TEST(Rat, HracPortsComeFromThePoolOfTheLegsSite)
{
    Rat rat(30000, 30099);
    rat.set_site_ports(0, 20000, 20003);
    rat.set_site_ports(1, 24000, 24001);
    RatEntry &a = leg(rat, 1, "call", 0);
    RatEntry &b = leg(rat, 2, "call", 1);
    RatEntry &c = leg(rat, 3, "call", 1);
    RatEntry &d = leg(rat, 4, "call", 2);  // site 2 announced nothing
    ASSERT_TRUE(rat.allocate_hrac(a, 0));
    ASSERT_TRUE(rat.allocate_hrac(b, 0));
    EXPECT_EQ(20000, a.streams[0].hrac_port);
    EXPECT_EQ(24000, b.streams[0].hrac_port);
    EXPECT_FALSE(rat.allocate_hrac(c, 0)) << "site 1's range is used up, whatever site 0 has left";
    ASSERT_TRUE(rat.allocate_hrac(d, 0));
    EXPECT_GE(d.streams[0].hrac_port, 20000) << "default range 20000-29999";
    EXPECT_LE(d.streams[0].hrac_port, 29998);
    EXPECT_EQ(0, d.streams[0].hrac_port % 2);

    // Sites are separate LANs: the same HRAC port number in two sites is
    // two different legs.
    rat.set_site_ports(3, 24000, 24001);
    RatEntry &e = leg(rat, 5, "call", 3);
    ASSERT_TRUE(rat.allocate_hrac(e, 0));
    EXPECT_EQ(24000, e.streams[0].hrac_port);
    EXPECT_EQ(&b, rat.by_hrac_port(1, 24000).first);
    EXPECT_EQ(&e, rat.by_hrac_port(3, 24000).first);
    EXPECT_EQ(&a, rat.by_hrac_port(0, 20000).first);
    EXPECT_EQ(nullptr, rat.by_hrac_port(0, 24000).first);
    EXPECT_EQ(nullptr, rat.by_hrac_port(0, 20001).first);

    ASSERT_NE(nullptr, rat.hrac_pool(0));
    EXPECT_EQ(1u, rat.hrac_pool(0)->used());
    EXPECT_EQ(1u, rat.hrac_pool(1)->used());
    EXPECT_EQ(nullptr, rat.hrac_pool(7));
    EXPECT_EQ(4u, rat.hrac_ports_used());
}

TEST(Rat, ANewRangeReplacesAnIdlePoolButALivePoolIsKept)
{
    Rat rat(30000, 30099);
    rat.set_site_ports(0, 20000, 20009);
    RatEntry &a = leg(rat, 1, "a");
    ASSERT_TRUE(rat.allocate_hrac(a, 0));
    EXPECT_EQ(20000, a.streams[0].hrac_port);

    // HRAC reconnects announcing another range while a call holds a port:
    // that port stays valid (and is not handed out again) until the call ends.
    rat.set_site_ports(0, 22000, 22009);
    ASSERT_NE(nullptr, rat.hrac_pool(0));
    EXPECT_EQ(20000, rat.hrac_pool(0)->min());
    EXPECT_EQ(20009, rat.hrac_pool(0)->max());
    EXPECT_TRUE(rat.hrac_pool(0)->in_use(20000));
    EXPECT_EQ(&a, rat.by_hrac_port(0, 20000).first);
    RatEntry &b = leg(rat, 2, "b");
    ASSERT_TRUE(rat.allocate_hrac(b, 0));
    EXPECT_EQ(20002, b.streams[0].hrac_port);

    // The same range again keeps the pool (and what it holds) as it is.
    rat.set_site_ports(0, 20000, 20009);
    EXPECT_EQ(2u, rat.hrac_pool(0)->used());

    rat.remove(1, "a");
    rat.remove(2, "b");
    EXPECT_EQ(0u, rat.hrac_pool(0)->used());
    rat.set_site_ports(0, 22000, 22009);  // next session: nothing in use any more
    EXPECT_EQ(22000, rat.hrac_pool(0)->min());
    EXPECT_EQ(22009, rat.hrac_pool(0)->max());
    RatEntry &c = leg(rat, 3, "c");
    ASSERT_TRUE(rat.allocate_hrac(c, 0));
    EXPECT_EQ(22000, c.streams[0].hrac_port);
}

TEST(Rat, RemoveReturnsTheHracPortsToCloseAndFreesEverything)
{
    Rat rat(30000, 30099);
    rat.set_site_ports(0, 20000, 20099);
    RatEntry &a = leg(rat, 1, "a");
    RatEntry &b = leg(rat, 2, "b");
    for (size_t i = 0; i < 2; i++) {
        ASSERT_TRUE(rat.allocate_hras(a, i));
        ASSERT_TRUE(rat.allocate_hrac(a, i));
    }
    ASSERT_TRUE(rat.allocate_hras(b, 0));
    ASSERT_TRUE(rat.allocate_hrac(b, 0));
    // a stream with an HRAS port only (e.g. a bypassed LAN leg never has one;
    // a stream that gave its HRAC port back has none)
    ASSERT_TRUE(rat.allocate_hras(a, 2));
    uint16_t a_hras[3] = {a.streams[0].hras_port, a.streams[1].hras_port, a.streams[2].hras_port};
    std::vector<uint16_t> a_hrac{a.streams[0].hrac_port, a.streams[1].hrac_port};
    uint16_t b_hras = b.streams[0].hras_port, b_hrac = b.streams[0].hrac_port;
    EXPECT_EQ(4u, rat.hras_pool().used());
    EXPECT_EQ(3u, rat.hrac_ports_used());

    auto closed = rat.remove(1, "a");
    std::sort(closed.begin(), closed.end());
    std::sort(a_hrac.begin(), a_hrac.end());
    EXPECT_EQ(a_hrac, closed);
    EXPECT_EQ(nullptr, rat.find(1, "a"));
    EXPECT_EQ(1u, rat.size());
    for (uint16_t p : a_hras) {
        EXPECT_EQ(nullptr, rat.by_hras_port(p).first);
        EXPECT_FALSE(rat.hras_pool().in_use(p));
    }
    for (uint16_t p : a_hrac) {
        EXPECT_EQ(nullptr, rat.by_hrac_port(0, p).first);
        EXPECT_FALSE(rat.hrac_pool(0)->in_use(p));
    }
    EXPECT_EQ(1u, rat.hras_pool().used());
    EXPECT_EQ(1u, rat.hrac_ports_used());
    // The other leg is untouched.
    EXPECT_EQ(&b, rat.by_hras_port(b_hras).first);
    EXPECT_EQ(&b, rat.by_hrac_port(0, b_hrac).first);

    EXPECT_TRUE(rat.remove(1, "a").empty()) << "already gone";
    EXPECT_TRUE(rat.remove(9, "nothing").empty());
    EXPECT_EQ((std::vector<uint16_t>{b_hrac}), rat.remove(2, "b"));
    EXPECT_EQ(0u, rat.size());
    EXPECT_EQ(0u, rat.hras_pool().used());
    EXPECT_EQ(0u, rat.hrac_ports_used());
    EXPECT_EQ(50u, rat.hras_pool().available());
    EXPECT_EQ(50u, rat.hrac_pool(0)->available());
}

TEST(Rat, IdleFindsEntriesWithoutActivityForLongerThanTheTimeout)
{
    Rat rat(30000, 30099);
    leg(rat, 1, "old", 0, 1000);
    leg(rat, 2, "recent", 0, 5000);
    RatEntry &refreshed = leg(rat, 3, "refreshed", 0, 1000);
    refreshed.last_activity_ms = 6500;  // media or SIP of the dialog since
    leg(rat, 4, "boundary", 0, 4000);

    auto idle = rat.idle(7000, 3000);
    EXPECT_EQ((std::vector<Rat::Key>{{1, "old"}}), idle) << "exactly `timeout` old (boundary) is not idle yet";
    idle = rat.idle(7001, 3000);
    EXPECT_EQ((std::vector<Rat::Key>{{1, "old"}, {4, "boundary"}}), idle);
    idle = rat.idle(20000, 3000);
    EXPECT_EQ(4u, idle.size());
    EXPECT_TRUE(rat.idle(1000, 3000).empty());
    EXPECT_EQ(4u, rat.size()) << "idle() only looks";
}

TEST(Rat, AParkedHrasPortIsFoundByNoLookupAndComesBackWhenItsTimeIsUp)
{
    Rat rat(30000, 30003);
    RatEntry &a = leg(rat, 1, "a");
    ASSERT_TRUE(rat.allocate_hras(a, 0, 1000));
    uint16_t held = a.streams[0].hras_port;
    uint16_t other = held == 30000 ? 30002 : 30000;
    rat.park_hras(a, 0, 5000);  // another program holds it until about then
    EXPECT_EQ(0, a.streams[0].hras_port);
    EXPECT_EQ(nullptr, rat.by_hras_port(held).first);
    EXPECT_EQ(0u, rat.hras_pool().used()) << "a parked port is nobody's";
    EXPECT_EQ(1u, rat.hras_pool().parked());
    ASSERT_TRUE(rat.allocate_hras(a, 0, 2000));
    EXPECT_EQ(other, a.streams[0].hras_port);
    RatEntry &b = leg(rat, 2, "b");
    EXPECT_FALSE(rat.allocate_hras(b, 0, 4999)) << "still parked";
    ASSERT_TRUE(rat.allocate_hras(b, 0, 5000)) << "never retired for good";
    EXPECT_EQ(held, b.streams[0].hras_port);
    EXPECT_EQ(0u, rat.hras_pool().parked());
}

TEST(RatPortPool, ThePublicPoolHandsPortsOutInNoPredictableOrder)
{
    // Ports in turn would let an Internet host spray the next port before
    // the call's SDP names it.
    PortPool pool(30000, 39999, PortOrder::random);
    std::vector<uint16_t> got;
    std::set<uint16_t> distinct;
    for (int i = 0; i < 64; i++) {
        auto p = pool.take();
        ASSERT_TRUE(p);
        EXPECT_EQ(0, *p % 2);
        got.push_back(*p);
        distinct.insert(*p);
    }
    EXPECT_EQ(64u, distinct.size());
    size_t in_sequence = 0;
    for (size_t i = 1; i < got.size(); i++)
        in_sequence += got[i] == got[i - 1] + 2;
    EXPECT_LT(in_sequence, 8u) << "ports come out in order";
    // Two pools do not repeat each other.
    PortPool again(30000, 39999, PortOrder::random);
    size_t same = 0;
    for (uint16_t p : got)
        same += again.take() == p;
    EXPECT_LT(same, 8u);
    // Every port still comes out exactly once.
    PortPool small(40000, 40009, PortOrder::random);
    std::set<uint16_t> all;
    while (auto p = small.take())
        EXPECT_TRUE(all.insert(*p).second);
    EXPECT_EQ((std::set<uint16_t>{40000, 40002, 40004, 40006, 40008}), all);
}

TEST(Rat, LegsAreCountedPerSiteAndPerPublicSource)
{
    Rat rat(30000, 30099);
    const in_addr_t x = inet_addr("203.0.113.5"), y = inet_addr("203.0.113.6");
    rat.get_or_create(0, 1, "a", 1000, x);
    rat.get_or_create(0, 2, "b", 1000, x);
    rat.get_or_create(0, 1, "a", 1000, x);  // the same leg again
    rat.get_or_create(1, 3, "c", 1000, y);
    rat.get_or_create(1, 4, "d", 1000);  // a phone's own call: no public source
    EXPECT_EQ(2u, rat.legs_of_site(0));
    EXPECT_EQ(2u, rat.legs_of_site(1));
    EXPECT_EQ(2u, rat.legs_of_source(x));
    EXPECT_EQ(1u, rat.legs_of_source(y));
    rat.remove(1, "a");
    rat.remove(4, "d");
    EXPECT_EQ(1u, rat.legs_of_site(0));
    EXPECT_EQ(1u, rat.legs_of_site(1));
    EXPECT_EQ(1u, rat.legs_of_source(x));
    rat.remove(2, "b");
    rat.remove(3, "c");
    EXPECT_EQ(0u, rat.legs_of_site(0));
    EXPECT_EQ(0u, rat.legs_of_source(x));
    EXPECT_EQ(0u, rat.legs_of_source(y));
}

TEST(Rat, ARangeAnnouncedDuringCallsTakesOverWhenTheLastEnds)
{
    Rat rat(30000, 30099);
    rat.set_site_ports(0, 20000, 20009);
    RatEntry &a = leg(rat, 1, "a");
    ASSERT_TRUE(rat.allocate_hrac(a, 0));
    rat.set_site_ports(0, 22000, 22009);  // HRAC came back with a new range
    EXPECT_EQ(20000, rat.hrac_pool(0)->min());
    rat.remove(1, "a");  // the last call on the old range ends
    EXPECT_EQ(22000, rat.hrac_pool(0)->min());
    RatEntry &b = leg(rat, 2, "b");
    ASSERT_TRUE(rat.allocate_hrac(b, 0));
    EXPECT_EQ(22000, b.streams[0].hrac_port);
}
