// The media relay's look at SIP: what dialog a message belongs to and where
// its body is, body replacement with Content-Length kept right, and the
// stateless reply sent back when no media port is left.
#include "core/sip_message.hpp"

#include <gtest/gtest.h>
#include "text_util.hpp"

using namespace sofw::hras;

using sofw::test::crlf;

namespace {

const std::string sdp_body = "v=0\r\n"
                             "o=- 1 1 IN IP4 198.51.100.20\r\n"
                             "s=-\r\n"
                             "c=IN IP4 198.51.100.20\r\n"
                             "t=0 0\r\n"
                             "m=audio 40000 RTP/AVP 0\r\n";

const std::string invite_head = "INVITE sip:alice@192.168.1.10:5060 SIP/2.0\n"
                                "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKk1\n"
                                "Via: SIP/2.0/UDP 198.51.100.20:5060;received=198.51.100.20;branch=z9hG4bKx\n"
                                "Max-Forwards: 69\n"
                                "From: \"Bob\" <sip:bob@wan.example>;tag=b1\n"
                                "To: <sip:alice@acme.example>\n"
                                "Call-ID: call-1@198.51.100.20\n"
                                "CSeq: 101 INVITE\n"
                                "Contact: <sip:bob@198.51.100.20:5060>\n"
                                "Content-Type: Application/SDP; charset=utf-8\n";

std::string invite_with(const std::string &body)
{
    return crlf(invite_head + "Content-Length: " + std::to_string(body.size()) + "\n\n") + body;
}

std::string body_of(const std::string &msg, const SipInfo &info) { return msg.substr(info.body_offset, info.body_len); }

}  // namespace

TEST(SipMessage, InspectsARequest)
{
    std::string msg = invite_with(sdp_body);
    auto info = sip_inspect(msg);
    ASSERT_TRUE(info);
    EXPECT_TRUE(info->is_request);
    EXPECT_EQ("INVITE", info->method);
    EXPECT_EQ(0, info->status);
    EXPECT_EQ("call-1@198.51.100.20", info->call_id);
    EXPECT_EQ("INVITE", info->cseq_method);
    EXPECT_EQ("\"Bob\" <sip:bob@wan.example>;tag=b1", info->from);
    EXPECT_EQ("<sip:alice@acme.example>", info->to);
    EXPECT_EQ("application/sdp", info->content_type) << "lower case, without parameters";
    EXPECT_EQ(msg.size() - sdp_body.size(), info->body_offset);
    EXPECT_EQ(sdp_body, body_of(msg, *info));
    EXPECT_TRUE(info->has_sdp());
}

TEST(SipMessage, InspectsAReply)
{
    std::string msg = crlf("SIP/2.0 486 Busy Here\n"
                           "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKk1\n"
                           "From: <sip:bob@wan.example>;tag=b1\n"
                           "To: <sip:alice@acme.example>;tag=a9\n"
                           "Call-ID: call-1\n"
                           "CSeq: 101 INVITE\n"
                           "Content-Length: 0\n\n");
    auto info = sip_inspect(msg);
    ASSERT_TRUE(info);
    EXPECT_FALSE(info->is_request);
    EXPECT_EQ(486, info->status);
    EXPECT_EQ("", info->method);
    EXPECT_EQ("call-1", info->call_id);
    EXPECT_EQ("INVITE", info->cseq_method);
    EXPECT_EQ("<sip:alice@acme.example>;tag=a9", info->to);
    EXPECT_EQ(msg.size(), info->body_offset);
    EXPECT_EQ(0u, info->body_len);
    EXPECT_FALSE(info->has_sdp());

    auto bye_ok = sip_inspect(crlf("SIP/2.0 200 OK\nCall-ID: x\nCSeq: 7 BYE\n\n"));
    ASSERT_TRUE(bye_ok);
    EXPECT_EQ(200, bye_ok->status);
    EXPECT_EQ("BYE", bye_ok->cseq_method);
}

TEST(SipMessage, UnderstandsCompactHeadersFoldedLinesAndBareLineFeeds)
{
    std::string msg = "SIP/2.0 200 OK\n"
                      "v: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKk1\n"
                      "f: <sip:bob@wan.example>\n"
                      "  ;tag=b1\n"
                      "t: <sip:alice@acme.example>;tag=a9\n"
                      "i: \t call-2@host\n"
                      "CSeq: 101\n"
                      "\tINVITE\n"
                      "c: application/sdp\n"
                      "l: " +
                      std::to_string(sdp_body.size()) +
                      "\n"
                      "\n" +
                      sdp_body;
    auto info = sip_inspect(msg);
    ASSERT_TRUE(info);
    EXPECT_EQ(200, info->status);
    EXPECT_EQ("call-2@host", info->call_id);
    EXPECT_EQ("<sip:bob@wan.example> ;tag=b1", info->from) << "a folded line continues its header";
    EXPECT_EQ("<sip:alice@acme.example>;tag=a9", info->to);
    EXPECT_EQ("INVITE", info->cseq_method);
    EXPECT_EQ("application/sdp", info->content_type);
    EXPECT_EQ(sdp_body, body_of(msg, *info));
    EXPECT_TRUE(info->has_sdp());

    // Header names are case-insensitive.
    auto lower = sip_inspect(crlf("BYE sip:a@b SIP/2.0\ncall-id: low\ncseq: 2 bye\n\n"));
    ASSERT_TRUE(lower);
    EXPECT_EQ("low", lower->call_id);
    EXPECT_EQ("bye", lower->cseq_method);
}

// Mixed line endings: the head ends at the first empty line, as a line
// reader sees it, and rewriting a header keeps the body where it was (the
// sip_translate fuzz target found a message whose body moved).
TEST(SipMessage, TheHeadEndsAtTheFirstEmptyLineWhateverTheLineEndings)
{
    auto m = SipMessage::parse("OPTIONS sip:a@b SIP/2.0\nv: SIP/2.0/UDP 1.2.3.4\n \r\t\n\r\nbody\r\n\r\n");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->body(), "body\r\n\r\n");
    m = SipMessage::parse("OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\nbody\r\n\r\n");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->body(), "body\r\n\r\n");
    const std::string found = "T  SIP/2.0\nv://U \r\t;\n \r\t\n\r\n\n";
    m = SipMessage::parse(found);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->body(), "\n");
    auto again = SipMessage::parse(m->str());
    ASSERT_TRUE(again);
    EXPECT_EQ(again->body(), "\n");
    EXPECT_FALSE(SipMessage::parse("OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n"));
    EXPECT_FALSE(SipMessage::parse("OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x"));
    EXPECT_FALSE(SipMessage::parse(""));
}

TEST(SipMessage, BodyLengthFollowsContentLength)
{
    // Bytes after the declared body (UDP padding) are not body.
    std::string msg = invite_with(sdp_body) + "trailing";
    auto info = sip_inspect(msg);
    ASSERT_TRUE(info);
    EXPECT_EQ(sdp_body, body_of(msg, *info));
    // A Content-Length larger than what arrived: the body is what is there.
    std::string cut = invite_with(sdp_body).substr(0, msg.size() - 8 - 10);
    info = sip_inspect(cut);
    ASSERT_TRUE(info);
    EXPECT_EQ(sdp_body.substr(0, sdp_body.size() - 10), body_of(cut, *info));
    // No Content-Length: everything after the empty line.
    std::string no_cl =
        crlf("MESSAGE sip:a@b SIP/2.0\nCall-ID: m\nCSeq: 1 MESSAGE\nContent-Type: text/plain\n\n") + "hello";
    info = sip_inspect(no_cl);
    ASSERT_TRUE(info);
    EXPECT_EQ("hello", body_of(no_cl, *info));
    EXPECT_FALSE(info->has_sdp()) << "not SDP";
}

TEST(SipMessage, HasSdpNeedsTheSdpTypeAndABody)
{
    auto no_body = sip_inspect(crlf(invite_head + "Content-Length: 0\n\n"));
    ASSERT_TRUE(no_body);
    EXPECT_EQ("application/sdp", no_body->content_type);
    EXPECT_FALSE(no_body->has_sdp());
    auto no_type = sip_inspect(crlf("INVITE sip:a@b SIP/2.0\nCall-ID: n\nCSeq: 1 INVITE\n\n") + sdp_body);
    ASSERT_TRUE(no_type);
    EXPECT_FALSE(no_type->has_sdp());
    auto multipart =
        sip_inspect(crlf("INVITE sip:a@b SIP/2.0\nCall-ID: n\nCSeq: 1 INVITE\nContent-Type: multipart/mixed;"
                         "boundary=x\n\n") +
                    sdp_body);
    ASSERT_TRUE(multipart);
    EXPECT_EQ("multipart/mixed", multipart->content_type);
    EXPECT_EQ("multipart/mixed;boundary=x", multipart->content_type_value);
    EXPECT_TRUE(multipart->has_sdp()) << "an SDP part may be inside (the rewriter looks)";
    auto text = sip_inspect(crlf("MESSAGE sip:a@b SIP/2.0\nCall-ID: n\nCSeq: 1 MESSAGE\nContent-Type: text/plain\n\n") +
                            sdp_body);
    ASSERT_TRUE(text);
    EXPECT_FALSE(text->has_sdp());
}

TEST(SipMessage, RejectsWhatItCannotPlaceInADialog)
{
    EXPECT_FALSE(sip_inspect(crlf("INVITE sip:a@b SIP/2.0\nCSeq: 1 INVITE\nContent-Length: 0\n\n"))) << "no Call-ID";
    EXPECT_FALSE(sip_inspect(crlf("INVITE sip:a@b SIP/2.0\nCall-ID:  \nCSeq: 1 INVITE\n\n"))) << "empty Call-ID";
    EXPECT_FALSE(sip_inspect(crlf("INVITE sip:a@b SIP/2.0\nCall-ID: x\nCSeq: 1 INVITE\n"))) << "no end of headers";
    EXPECT_FALSE(sip_inspect(crlf("hello world\nCall-ID: x\n\n"))) << "no SIP start line";
    EXPECT_FALSE(sip_inspect(crlf("SIP/2.0 99 Too Low\nCall-ID: x\n\n")));
    EXPECT_FALSE(sip_inspect(crlf("SIP/2.0 700 Too High\nCall-ID: x\n\n")));
    EXPECT_FALSE(sip_inspect(crlf("SIP/2.0 2\nCall-ID: x\n\n")));
    EXPECT_FALSE(sip_inspect(""));
}

TEST(SipMessage, BodyOfAMessageWithoutDialogStartsAfterTheHeaders)
{
    // A status outside 100..699 names no dialog; its body is still the
    // bytes after the empty line, not the start of the message.
    for (const char *text : {"SIP/2.0 700 Too High\nCall-ID: x\n\nv=0\n", "SIP/2.0 2\nCall-ID: x\n\nv=0\n"}) {
        auto m = SipMessage::parse(crlf(text));
        ASSERT_TRUE(m) << text;
        EXPECT_FALSE(m->info()) << text;
        EXPECT_EQ(crlf("v=0\n"), m->body()) << text;
        m->replace_body("x");
        auto again = SipMessage::parse(m->str());
        ASSERT_TRUE(again) << text;
        EXPECT_EQ("x", again->body()) << text;
    }
}

TEST(SipMessage, ReplaceBodyKeepsEveryHeaderAndFixesContentLength)
{
    std::string msg = invite_with(sdp_body);
    auto info = sip_inspect(msg);
    ASSERT_TRUE(info);
    std::string new_body = "v=0\r\nm=audio 20000 RTP/AVP 0\r\n";
    std::string out = sip_replace_body(msg, *info, new_body);
    EXPECT_EQ(invite_with(new_body), out);
    auto again = sip_inspect(out);
    ASSERT_TRUE(again);
    EXPECT_EQ(new_body, body_of(out, *again));
    EXPECT_EQ("application/sdp", again->content_type);

    // A longer body, and an empty one.
    std::string longer(500, 'x');
    EXPECT_EQ(invite_with(longer), sip_replace_body(msg, *info, longer));
    EXPECT_EQ(invite_with(""), sip_replace_body(msg, *info, ""));
}

TEST(SipMessage, ReplaceBodyWithCompactOrMissingContentLength)
{
    std::string head = "SIP/2.0 200 OK\r\n"
                       "v: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKk1\r\n"
                       "i: call-3\r\n"
                       "CSeq: 1 INVITE\r\n"
                       "c: application/sdp\r\n";
    std::string compact = head + "l:" + std::to_string(sdp_body.size()) +
                          "\r\n"
                          "Contact: <sip:alice@192.168.1.10>\r\n\r\n" +
                          sdp_body;
    auto info = sip_inspect(compact);
    ASSERT_TRUE(info);
    EXPECT_EQ(head + "l: 4\r\nContact: <sip:alice@192.168.1.10>\r\n\r\nbody", sip_replace_body(compact, *info, "body"))
        << "the compact header keeps its name and place";

    std::string absent = head + "\r\n" + sdp_body;
    info = sip_inspect(absent);
    ASSERT_TRUE(info);
    EXPECT_EQ(head + "Content-Length: 4\r\n\r\nbody", sip_replace_body(absent, *info, "body"));

    std::string lf_absent = "SIP/2.0 200 OK\ni: call-4\nCSeq: 1 INVITE\nc: application/sdp\n\n" + sdp_body;
    info = sip_inspect(lf_absent);
    ASSERT_TRUE(info);
    std::string out = sip_replace_body(lf_absent, *info, "body");
    EXPECT_EQ("SIP/2.0 200 OK\ni: call-4\nCSeq: 1 INVITE\nc: application/sdp\nContent-Length: 4\n\nbody", out)
        << "a message with bare line feeds gets a bare line feed";
    auto again = sip_inspect(out);
    ASSERT_TRUE(again);
    EXPECT_EQ("body", body_of(out, *again));

    std::string lf = "SIP/2.0 200 OK\ni: call-5\nContent-Length: 999\nc: application/sdp\n\n" + sdp_body;
    info = sip_inspect(lf);
    ASSERT_TRUE(info);
    EXPECT_EQ("SIP/2.0 200 OK\ni: call-5\nContent-Length: 4\nc: application/sdp\n\nbody",
              sip_replace_body(lf, *info, "body"));
}

TEST(SipMessage, MakeReplyCopiesTheTransactionHeadersAndAddsAToTag)
{
    std::string req = invite_with(sdp_body);
    auto reply = sip_make_reply(req, 503, "Service Unavailable");
    ASSERT_TRUE(reply);
    EXPECT_EQ(crlf("SIP/2.0 503 Service Unavailable\n"
                   "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKk1\n"
                   "Via: SIP/2.0/UDP 198.51.100.20:5060;received=198.51.100.20;branch=z9hG4bKx\n"
                   "From: \"Bob\" <sip:bob@wan.example>;tag=b1\n"
                   "To: <sip:alice@acme.example>;tag=sofw-503\n"
                   "Call-ID: call-1@198.51.100.20\n"
                   "CSeq: 101 INVITE\n"
                   "Content-Length: 0\n\n"),
              *reply);
    auto info = sip_inspect(*reply);
    ASSERT_TRUE(info);
    EXPECT_EQ(503, info->status);
    EXPECT_EQ("INVITE", info->cseq_method);

    // A To tag already there (in-dialog request) is kept as the only one;
    // compact and folded headers are copied as written.
    std::string reinvite = crlf("INVITE sip:alice@192.168.1.10 SIP/2.0\n"
                                "v: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bKp\n"
                                "f: <sip:alice@acme.example>;tag=a9\n"
                                "t: <sip:bob@wan.example>\n"
                                "  ;tag=b1\n"
                                "i: call-1\n"
                                "CSeq: 2 INVITE\n"
                                "Contact: <sip:alice@192.168.1.10>\n"
                                "\n");
    reply = sip_make_reply(reinvite, 491, "Request Pending");
    ASSERT_TRUE(reply);
    EXPECT_EQ("SIP/2.0 491 Request Pending\r\n"
              "v: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bKp\r\n"
              "f: <sip:alice@acme.example>;tag=a9\r\n"
              "t: <sip:bob@wan.example>\r\n"
              "  ;tag=b1\r\n"
              "i: call-1\r\n"
              "CSeq: 2 INVITE\r\n"
              "Content-Length: 0\r\n\r\n",
              *reply);

    EXPECT_FALSE(sip_make_reply(crlf("SIP/2.0 180 Ringing\nCall-ID: x\nCSeq: 1 INVITE\n\n"), 503, "x"))
        << "no reply to a reply";
    EXPECT_FALSE(sip_make_reply("garbage", 503, "x"));
}

TEST(SipMessage, EditsHeadersInPlaceAndCopiesEverythingElseAsItCame)
{
    std::string msg = crlf("INVITE sip:alice@acme.example SIP/2.0\n"
                           "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKk1\n"
                           "X-Odd:   keep  me \n"
                           "Route: <sip:10.0.0.2;lr>,\n"
                           "  <sip:10.0.0.3;lr>\n"
                           "Call-ID: c1\n"
                           "CSeq: 1 INVITE\n"
                           "Content-Length: 4\n\n") +
                      "body";
    auto m = SipMessage::parse(msg);
    ASSERT_TRUE(m);
    EXPECT_EQ(msg, m->str()) << "without edits the message is written back byte for byte";
    ASSERT_EQ(6u, m->headers().size());
    EXPECT_EQ("via", m->headers()[0].name);
    EXPECT_EQ("route", m->headers()[2].name);
    EXPECT_EQ(" <sip:10.0.0.2;lr>, <sip:10.0.0.3;lr>", m->value(2)) << "folded lines are one value";

    m->set_value(0, " SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKk1");
    m->set_value(2, " <sip:203.0.113.1;lr>");
    m->replace_body("longer body");
    EXPECT_EQ(crlf("INVITE sip:alice@acme.example SIP/2.0\n"
                   "Via: SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKk1\n"
                   "X-Odd:   keep  me \n"
                   "Route: <sip:203.0.113.1;lr>\n"
                   "Call-ID: c1\n"
                   "CSeq: 1 INVITE\n"
                   "Content-Length: 11\n\n") +
                  "longer body",
              m->str());
    EXPECT_EQ("longer body", m->body());
    ASSERT_TRUE(m->info());
    EXPECT_EQ("c1", m->info()->call_id);

    auto keepalive_dialogless = SipMessage::parse(crlf("OPTIONS sip:x SIP/2.0\nCSeq: 1 OPTIONS\n\n"));
    ASSERT_TRUE(keepalive_dialogless) << "a message without Call-ID is still a message";
    EXPECT_EQ(nullptr, keepalive_dialogless->info()) << "but it names no dialog";
}
