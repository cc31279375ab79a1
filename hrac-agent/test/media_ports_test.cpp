// The media port rules and table, without sockets.
#include "media_ports.hpp"

#include <gtest/gtest.h>

using namespace hrac;

TEST(MediaPortProblem, AcceptsEvenPortsWhosePairFitsTheRange)
{
    EXPECT_EQ(media_port_problem(20000, 20000, 29999), nullptr);
    EXPECT_EQ(media_port_problem(29998, 20000, 29999), nullptr);
    EXPECT_EQ(media_port_problem(20000, 20000, 20001), nullptr);
}

TEST(MediaPortProblem, RefusesOddPortsAndPortsOutsideTheRange)
{
    EXPECT_STREQ(media_port_problem(20001, 20000, 29999), "odd port (RTP ports are even)");
    EXPECT_STREQ(media_port_problem(19998, 20000, 29999), "outside media_ports");
    EXPECT_STREQ(media_port_problem(30000, 20000, 29999), "outside media_ports");
    // P inside, P+1 outside.
    EXPECT_STREQ(media_port_problem(29998, 20000, 29998), "outside media_ports");
    EXPECT_STREQ(media_port_problem(0, 20000, 29999), "outside media_ports");
    EXPECT_STREQ(media_port_problem(65534, 1024, 65534), "outside media_ports");
    EXPECT_EQ(media_port_problem(65534, 1024, 65535), nullptr);
}

TEST(MediaPortTable, FindsAPairByEitherPort)
{
    MediaPortTable table;
    MediaPair &pair = table.add(20000, 0);
    EXPECT_EQ(pair.port, 20000);
    EXPECT_EQ(pair.rtp.port, 20000);
    EXPECT_EQ(pair.rtcp.port, 20001);
    EXPECT_EQ(pair.rtp.pair, &pair);
    EXPECT_EQ(pair.rtcp.pair, &pair);
    EXPECT_EQ(&pair.socket(20000), &pair.rtp);
    EXPECT_EQ(&pair.socket(20001), &pair.rtcp);

    EXPECT_EQ(table.find(20000), &pair);
    EXPECT_EQ(table.find(20001), &pair);
    EXPECT_EQ(table.find(20002), nullptr);
    EXPECT_EQ(table.find(19999), nullptr);
    EXPECT_EQ(table.find(0), nullptr);  // relay port 0 is the SIP socket
    EXPECT_EQ(table.size(), 1u);
}

TEST(MediaPortTable, PairsStayPutWhileOthersComeAndGo)
{
    MediaPortTable table;
    MediaPair *first = &table.add(20000, 0);
    for (uint16_t p = 20002; p < 20202; p += 2)
        table.add(p, 0);
    EXPECT_EQ(table.find(20001), first);
    for (uint16_t p = 20002; p < 20202; p += 2)
        EXPECT_TRUE(table.remove(p));
    EXPECT_EQ(table.find(20000), first);
    EXPECT_EQ(table.ports(), std::vector<uint16_t>{20000});
    EXPECT_TRUE(table.remove(20000));
    EXPECT_FALSE(table.remove(20000));
    EXPECT_TRUE(table.empty());
}

TEST(MediaPortTable, IdleMeansNoTrafficForTheTimeout)
{
    MediaPortTable table;
    table.add(20000, 1000);  // silent from the start
    table.add(20002, 1000);  // talks
    const uint64_t timeout = 10000;

    EXPECT_TRUE(table.idle(5000, timeout).empty());
    table.find(20003)->active = true;  // an RTCP packet
    EXPECT_TRUE(table.idle(9000, timeout).empty());
    // 20000 has been quiet since it opened at 1000; 20002 since the check at 9000.
    EXPECT_EQ(table.idle(11000, timeout), std::vector<uint16_t>{20000});
    table.remove(20000);
    EXPECT_TRUE(table.idle(18999, timeout).empty());
    EXPECT_EQ(table.idle(19000, timeout), std::vector<uint16_t>{20002});

    // Traffic seen by a check starts the quiet time again.
    table.find(20002)->active = true;
    EXPECT_TRUE(table.idle(20000, timeout).empty());
    EXPECT_TRUE(table.idle(29999, timeout).empty());
    EXPECT_EQ(table.idle(30000, timeout), std::vector<uint16_t>{20002});
}
