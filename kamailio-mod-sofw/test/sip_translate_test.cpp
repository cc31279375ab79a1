// The tunnel boundary's address translation: input message, expected
// message, side by side.
#include "core/sip_translate.hpp"

#include <gtest/gtest.h>
#include "text_util.hpp"

using namespace sofw::hras;

using sofw::test::crlf;

namespace {

const DownTranslation down{{"127.0.0.1", 5062}, {"192.168.1.2", 5060}, {"127.1.0.1", 40001}, {"192.168.1.10", 5060}};
const UpTranslation up{{"192.168.1.2", 5060}, {"127.0.0.1", 5062}};

}  // namespace

TEST(SipTranslateDown, InviteToPhoneShowsHracInViaAndRecordRoute)
{
    std::string in = crlf("INVITE sip:alice@192.168.1.10:5060 SIP/2.0\n"
                          "Record-Route: <sip:127.0.0.1:5062;r2=on;lr>, <sip:198.51.100.1;r2=on;lr>\n"
                          "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKabc.1\n"
                          "Via: SIP/2.0/UDP 198.51.100.20:5060;received=198.51.100.20;rport=5060;branch=z9hG4bKx\n"
                          "From: <sip:bob@wan.example>;tag=1\n"
                          "To: <sip:alice@site-a.example>\n"
                          "Call-ID: c1\n"
                          "CSeq: 1 INVITE\n"
                          "Contact: <sip:bob@198.51.100.20:5060>\n"
                          "Content-Length: 4\n"
                          "\n"
                          "v=0\n");
    std::string want = crlf("INVITE sip:alice@192.168.1.10:5060 SIP/2.0\n"
                            "Record-Route: <sip:192.168.1.2:5060;r2=on;lr>, <sip:198.51.100.1;r2=on;lr>\n"
                            "Via: SIP/2.0/UDP 192.168.1.2:5060;branch=z9hG4bKabc.1\n"
                            "Via: SIP/2.0/UDP 198.51.100.20:5060;received=198.51.100.20;rport=5060;branch=z9hG4bKx\n"
                            "From: <sip:bob@wan.example>;tag=1\n"
                            "To: <sip:alice@site-a.example>\n"
                            "Call-ID: c1\n"
                            "CSeq: 1 INVITE\n"
                            "Contact: <sip:bob@198.51.100.20:5060>\n"
                            "Content-Length: 4\n"
                            "\n"
                            "v=0\n");
    auto out = translate_down(in, down);
    ASSERT_TRUE(out);
    EXPECT_EQ(want, *out);
}

TEST(SipTranslateDown, ReplyRestoresPhonesOwnReceivedAndRport)
{
    std::string in = crlf("SIP/2.0 200 OK\n"
                          "Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bKr;received=127.1.0.1;rport=40001\n"
                          "From: <sip:alice@site-a.example>;tag=a\n"
                          "To: <sip:alice@site-a.example>;tag=k\n"
                          "Call-ID: r1\n"
                          "CSeq: 2 REGISTER\n"
                          "Contact: <sip:alice@192.168.1.10:5060>;expires=60\n"
                          "Content-Length: 0\n\n");
    std::string want = crlf("SIP/2.0 200 OK\n"
                            "Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bKr;received=192.168.1.10;rport=5060\n"
                            "From: <sip:alice@site-a.example>;tag=a\n"
                            "To: <sip:alice@site-a.example>;tag=k\n"
                            "Call-ID: r1\n"
                            "CSeq: 2 REGISTER\n"
                            "Contact: <sip:alice@192.168.1.10:5060>;expires=60\n"
                            "Content-Length: 0\n\n");
    EXPECT_EQ(want, translate_down(in, down).value());
}

TEST(SipTranslateUp, RouteAndViaOfHracBecomeKamailio)
{
    std::string in = crlf("BYE sip:bob@198.51.100.20:5060 SIP/2.0\n"
                          "Via: SIP/2.0/UDP 192.168.1.10:5060;rport;branch=z9hG4bKb\n"
                          "Route: <sip:192.168.1.2:5060;r2=on;lr>,<sip:198.51.100.1;r2=on;lr>\n"
                          "Max-Forwards: 70\n"
                          "Content-Length: 0\n\n");
    std::string want = crlf("BYE sip:bob@198.51.100.20:5060 SIP/2.0\n"
                            "Via: SIP/2.0/UDP 192.168.1.10:5060;rport;branch=z9hG4bKb\n"
                            "Route: <sip:127.0.0.1:5062;r2=on;lr>,<sip:198.51.100.1;r2=on;lr>\n"
                            "Max-Forwards: 70\n"
                            "Content-Length: 0\n\n");
    EXPECT_EQ(want, translate_up(in, up).value());
}

TEST(SipTranslateUp, OutboundProxyRouteWithoutPortMatchesDefaultPort)
{
    std::string in = crlf("INVITE sip:bob@wan.example SIP/2.0\n"
                          "Route: <sip:192.168.1.2;lr>\n"
                          "Content-Length: 0\n\n");
    std::string want = crlf("INVITE sip:bob@wan.example SIP/2.0\n"
                            "Route: <sip:127.0.0.1:5062;lr>\n"
                            "Content-Length: 0\n\n");
    EXPECT_EQ(want, translate_up(in, up).value());
}

TEST(SipTranslateUp, ReplyTopViaAndCopiedRecordRouteBecomeKamailio)
{
    std::string in = crlf("SIP/2.0 200 OK\n"
                          "v: SIP/2.0/UDP 192.168.1.2:5060;branch=z9hG4bKabc.1,\n"
                          "   SIP/2.0/UDP 198.51.100.20:5060;received=198.51.100.20;branch=z9hG4bKx\n"
                          "Record-Route: <sip:192.168.1.2:5060;r2=on;lr>\n"
                          "Record-Route: <sip:198.51.100.1;r2=on;lr>\n"
                          "Content-Length: 0\n\n");
    // An edited folded header is written on one line, the fold read as
    // one space (RFC 3261 7.3.1).
    std::string want = crlf("SIP/2.0 200 OK\n"
                            "v: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKabc.1,"
                            " SIP/2.0/UDP 198.51.100.20:5060;received=198.51.100.20;branch=z9hG4bKx\n"
                            "Record-Route: <sip:127.0.0.1:5062;r2=on;lr>\n"
                            "Record-Route: <sip:198.51.100.1;r2=on;lr>\n"
                            "Content-Length: 0\n\n");
    EXPECT_EQ(want, translate_up(in, up).value());
}

TEST(SipTranslate, OtherHeadersAndBodyAreUntouched)
{
    // The HRAC address in Contact, To or the body is not ours to change.
    std::string in = crlf("INVITE sip:bob@192.168.1.2 SIP/2.0\n"
                          "To: <sip:bob@192.168.1.2:5060>\n"
                          "Contact: <sip:alice@192.168.1.2:5060>\n"
                          "Content-Length: 27\n\n"
                          "c=IN IP4 192.168.1.2:5060\r\n");
    EXPECT_EQ(in, translate_up(in, up).value());
}

TEST(SipTranslate, KeepAliveAndGarbage)
{
    EXPECT_EQ("\r\n\r\n", translate_up("\r\n\r\n", up).value());
    EXPECT_FALSE(translate_up("hello world", up));
    EXPECT_FALSE(translate_up("hello world\r\n\r\n", up));
    EXPECT_FALSE(translate_down("INVITE sip:x SIP/2.0\r\nVia: x", down));  // no end of headers
}

TEST(SipTranslate, LfOnlyMessagesAndIpv6)
{
    UpTranslation up6{{"fd00::2", 5060}, {"127.0.0.1", 5062}};
    std::string in =
        "OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/UDP [fd00::2]:5060;branch=z9hG4bK1\nRoute: <sip:[FD00::2]:5060;lr>\n\n";
    std::string want =
        "OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\nRoute: <sip:127.0.0.1:5062;lr>\n\n";
    EXPECT_EQ(want, translate_up(in, up6).value());
}

TEST(SipTranslate, UnreadableViaIsLeftAsItWas)
{
    std::string in = crlf("SIP/2.0 100 Trying\nVia: garbage\nContent-Length: 0\n\n");
    EXPECT_EQ(in, translate_up(in, up).value());
}
