#include "core/site_table.hpp"

#include <gtest/gtest.h>

using namespace sofw::hras;

TEST(SiteTable, ParsesSitesAndAssignsLoopbackAddresses)
{
    SiteTable t;
    EXPECT_EQ("", t.add("name=acme;secret=0123456789abcdef;domain=acme.example"));
    EXPECT_EQ("", t.add("name=beta;secret=0123456789abcdefXY;addr=127.1.0.1"));
    EXPECT_EQ("", t.add("name=gamma;secret=0123456789abcdef"));
    EXPECT_EQ("", t.assign_addresses("127.1.0.0"));
    EXPECT_EQ("127.1.0.2", t.at(0).loop_addr);  // .1 is taken by beta
    EXPECT_EQ("127.1.0.1", t.at(1).loop_addr);
    EXPECT_EQ("127.1.0.3", t.at(2).loop_addr);
    EXPECT_EQ("acme.example", t.at(0).domain);
    EXPECT_EQ(1u, t.find("beta").value());
    EXPECT_EQ(2u, t.find_by_addr("127.1.0.3").value());
    EXPECT_FALSE(t.find("nope"));
}

TEST(SiteTable, RefusesBadSpecs)
{
    SiteTable t;
    EXPECT_NE("", t.add("secret=0123456789abcdef"));                       // no name
    EXPECT_NE("", t.add("name=a b;secret=0123456789abcdef"));              // bad name
    EXPECT_NE("", t.add("name=a;secret=short"));                           // weak secret
    EXPECT_NE("", t.add("name=a;secret=0123456789abcdef;colour=blue"));    // unknown key
    EXPECT_NE("", t.add("name=a;secret=0123456789abcdef;addr=10.0.0.1"));  // not loopback
    EXPECT_EQ("", t.add("name=a;secret=0123456789abcdef"));
    EXPECT_NE("", t.add("name=a;secret=0123456789abcdef"));  // twice
    EXPECT_EQ(1u, t.size());
}

TEST(SiteTable, SkipsNetworkAndBroadcastLikeAddresses)
{
    SiteTable t;
    for (int i = 0; i < 300; i++)
        ASSERT_EQ("", t.add("name=s" + std::to_string(i) + ";secret=0123456789abcdef"));
    ASSERT_EQ("", t.assign_addresses("127.1.0.0"));
    for (size_t i = 0; i < t.size(); i++) {
        auto a = t.at(i).loop_addr;
        EXPECT_NE(".0", a.substr(a.size() - 2));
        EXPECT_NE(".255", a.substr(a.size() - 4));
    }
    EXPECT_EQ("127.1.1.1", t.at(254).loop_addr);
}

TEST(SiteTable, KnowsEachSitesDomains)
{
    SiteTable t;
    ASSERT_EQ("", t.add("name=a;secret=0123456789abcdef;domain=A.example,a2.example"));
    ASSERT_EQ("", t.add("name=b;secret=0123456789abcdef;domain=b.example;domain=b2.example"));
    ASSERT_EQ("", t.add("name=c;secret=0123456789abcdef"));
    EXPECT_EQ("a.example,a2.example", t.at(0).domain);
    EXPECT_EQ("b.example,b2.example", t.at(1).domain);
    EXPECT_TRUE(t.has_domain(0, "a.example"));
    EXPECT_TRUE(t.has_domain(0, "A2.EXAMPLE"));  // host names ignore case
    EXPECT_FALSE(t.has_domain(0, "b.example"));  // another site's
    EXPECT_FALSE(t.has_domain(1, "a.example"));
    EXPECT_TRUE(t.has_domain(1, "b2.example"));
    EXPECT_FALSE(t.has_domain(2, ""));           // a site without domains has none
    EXPECT_FALSE(t.has_domain(7, "a.example"));  // no such site
    EXPECT_FALSE(t.has_domain(0, "a.example.evil"));
    EXPECT_FALSE(t.has_domain(0, "x.a.example"));
    EXPECT_EQ(1u, t.find_by_domain("B.example").value());
    EXPECT_FALSE(t.find_by_domain("wan.example"));
    EXPECT_FALSE(t.find_by_domain(""));
}

TEST(SiteTable, RefusesBadOrSharedDomains)
{
    SiteTable t;
    ASSERT_EQ("", t.add("name=a;secret=0123456789abcdef;domain=a.example"));
    EXPECT_NE("", t.add("name=b;secret=0123456789abcdef;domain=A.EXAMPLE"));   // a's
    EXPECT_NE("", t.add("name=b;secret=0123456789abcdef;domain=b.example,"));  // empty item
    EXPECT_NE("", t.add("name=b;secret=0123456789abcdef;domain="));
    EXPECT_NE("", t.add("name=b;secret=0123456789abcdef;domain=b..example"));
    EXPECT_NE("", t.add("name=b;secret=0123456789abcdef;domain=b.example:5060"));
    EXPECT_NE("", t.add("name=b;secret=0123456789abcdef;domain=b ex"));
    EXPECT_EQ(1u, t.size());
}
