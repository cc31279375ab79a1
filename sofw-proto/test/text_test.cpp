// The shared text helpers: ASCII case folding, prefixes and trimming.
#include "sofw/text.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace sofw;

TEST(Text, LowerFoldsAsciiOnly)
{
    EXPECT_EQ(lower("Call-ID: ABC xyz 09"), "call-id: abc xyz 09");
    EXPECT_EQ(lower(""), "");
    // Bytes outside ASCII (UTF-8 here) pass unchanged.
    EXPECT_EQ(lower("\xc3\x84@[`{"), "\xc3\x84@[`{");
    EXPECT_EQ(ascii_lower('Z'), 'z');
    EXPECT_EQ(ascii_lower('z'), 'z');
    EXPECT_EQ(ascii_lower('@'), '@');
}

TEST(Text, IequalsIgnoresCaseOnly)
{
    EXPECT_TRUE(iequals("X-SoFW-Server-Signature", "x-sofw-server-signature"));
    EXPECT_TRUE(iequals("", ""));
    EXPECT_FALSE(iequals("CSeq", "CSeq "));
    EXPECT_FALSE(iequals("m", "n"));
    EXPECT_FALSE(iequals("@", "`"));  // differ by 0x20, but are not letters
    EXPECT_FALSE(iequals(std::string("a\0b", 3), "a"));
}

TEST(Text, Prefixes)
{
    EXPECT_TRUE(starts_with("https://x", "https://"));
    EXPECT_TRUE(starts_with("abc", ""));
    EXPECT_FALSE(starts_with("HTTPS://x", "https://"));
    EXPECT_FALSE(starts_with("ht", "https://"));
    EXPECT_TRUE(istarts_with("HTTPS://x", "https://"));
    EXPECT_TRUE(istarts_with("x-squid-error: ERR", "X-Squid-Error:"));
    EXPECT_FALSE(istarts_with("X-Squid", "X-Squid-Error:"));
    EXPECT_TRUE(istarts_with("", ""));
}

TEST(Text, TrimWhitespaceByDefault)
{
    EXPECT_EQ(trim("  key = value \r\n"), "key = value");
    EXPECT_EQ(trim("\t\r\n "), "");
    EXPECT_EQ(trim(""), "");
    EXPECT_EQ(trim("x"), "x");
    EXPECT_EQ(rtrim("  a=rtcp-mux \t\r\n"), "  a=rtcp-mux");
    EXPECT_EQ(rtrim(" \t"), "");
}

TEST(Text, TrimBlanksKeepsLineEnds)
{
    EXPECT_EQ(trim(" \tvalue\r ", blanks), "value\r");
    EXPECT_EQ(trim("\r\n", blanks), "\r\n");
    EXPECT_EQ(rtrim("v=0 \t", blanks), "v=0");
    EXPECT_EQ(rtrim("v=0\r", blanks), "v=0\r");
}

TEST(Text, TrimIsAViewIntoItsArgument)
{
    const std::string s = "  abc  ";
    const std::string_view t = trim(s);
    EXPECT_EQ(t.data(), s.data() + 2);
    EXPECT_EQ(t.size(), 3u);
}
