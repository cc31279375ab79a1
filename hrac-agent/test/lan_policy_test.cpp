// Who in the LAN HRAS may reach through HRAC (lan_policy.hpp) and the SIP
// it reads to know (sip_peek.hpp).
#include "lan_policy.hpp"
#include "sdp_scan.hpp"
#include "sip_peek.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace hrac;

namespace {

constexpr uint64_t second = 1000;
constexpr uint64_t minute = 60 * second;

sofw::RaHeader at(const std::string &hostport) { return *sofw::RaHeader::parse(hostport); }

std::optional<SipPeek> peek(const std::string &msg)
{
    return peek_sip(reinterpret_cast<const uint8_t *>(msg.data()), msg.size());
}

std::string reg(const std::string &extra = "Contact: <sip:alice@192.168.1.10:5060>;expires=600\r\n")
{
    return "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK1\r\n"
           "From: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\nCall-ID: r1\r\n"
           "CSeq: 2 REGISTER\r\n" +
           extra + "Content-Length: 0\r\n\r\n";
}

std::string response(int code, const std::string &cseq, const std::string &extra = "")
{
    return "SIP/2.0 " + std::to_string(code) +
           " Whatever\r\nVia: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK1\r\n"
           "From: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>;tag=2\r\nCall-ID: r1\r\n"
           "CSeq: " +
           cseq + "\r\n" + extra + "Content-Length: 0\r\n\r\n";
}

const std::string invite = "INVITE sip:alice@192.168.1.10 SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.2:5060\r\n"
                           "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";

class LanPolicyTest : public ::testing::Test {
protected:
    void up(const std::string &from, const std::string &msg, uint64_t now)
    {
        policy_.sip_from_lan(at(from), reinterpret_cast<const uint8_t *>(msg.data()), msg.size(), now);
    }
    bool down(const std::string &to, const std::string &msg, uint64_t now)
    {
        why_.clear();
        return policy_.sip_to_lan(at(to), reinterpret_cast<const uint8_t *>(msg.data()), msg.size(), now, why_);
    }
    bool media(const std::optional<sofw::RaHeader> &phone, const std::string &to, uint64_t now)
    {
        why_.clear();
        return policy_.media_to_lan(phone, at(to), now, why_);
    }
    // alice registers at t0 (REGISTER up, 200 down).
    void register_alice(uint64_t t0,
                        const std::string &ok_extra = "Contact: <sip:alice@192.168.1.10:5060>;expires=600\r\n")
    {
        up(alice, reg(), t0);
        ASSERT_TRUE(down(alice, response(200, "2 REGISTER", ok_extra), t0 + 50));
    }

    const std::string alice = "192.168.1.10:5060";
    LanPolicy policy_;
    std::string why_;
};

}  // namespace

TEST(SipPeek, RequestsAndResponses)
{
    const auto r = peek(reg());
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->request);
    EXPECT_EQ(r->method, "REGISTER");
    EXPECT_EQ(r->cseq_method, "REGISTER");
    EXPECT_EQ(r->max_expires, 600u);

    const auto ok = peek(
        response(200, "2 REGISTER", "Expires: 3600\r\nm: <sip:a@b>;Expires = 120;q=1, <sip:c@d>;expires=7200\r\n"));
    ASSERT_TRUE(ok);
    EXPECT_FALSE(ok->request);
    EXPECT_EQ(ok->status, 200);
    EXPECT_EQ(ok->max_expires, 7200u);

    EXPECT_EQ(peek(response(180, "1 INVITE"))->cseq_method, "INVITE");
    EXPECT_FALSE(peek(response(180, "1 INVITE"))->max_expires);
    EXPECT_EQ(peek(reg("Contact: *\r\nExpires: 0\r\n"))->max_expires, 0u);
    // ";expires" inside another parameter's name is not it.
    EXPECT_FALSE(peek(reg("Contact: <sip:a@b>;xexpires=5\r\n"))->max_expires);
}

TEST(SipPeek, RefusesWhatIsNotSip)
{
    EXPECT_FALSE(peek(""));
    EXPECT_FALSE(peek("\r\n\r\n"));
    EXPECT_FALSE(peek("GET / HTTP/1.1\r\n\r\n"));
    EXPECT_FALSE(peek("SIP/2.0 99 Low\r\n\r\n"));
    EXPECT_FALSE(peek("SIP/2.0 abc\r\n\r\n"));
    EXPECT_FALSE(peek("REG\x01STER sip:x SIP/2.0\r\n\r\n"));
    EXPECT_TRUE(peek("OPTIONS sip:x SIP/2.0\r\n\r\n"));
}

TEST_F(LanPolicyTest, AStrangerGetsNothing)
{
    EXPECT_FALSE(down("192.168.1.11:5060", invite, 0));
    EXPECT_EQ(why_, "a request for an endpoint that did not register through HRAC");
    EXPECT_FALSE(down("192.168.1.11:5060", response(200, "1 OPTIONS"), 0));
    EXPECT_EQ(why_, "a response for an endpoint that sent nothing through HRAC lately");
    EXPECT_FALSE(down("192.168.1.11:5060", "\r\n\r\n", 0));
    EXPECT_EQ(why_, "not SIP, for an endpoint that did not register through HRAC");
}

TEST_F(LanPolicyTest, ARegisteringPhoneGetsItsChallengeAndBecomesReachable)
{
    up(alice, reg(), 0);
    EXPECT_FALSE(policy_.registered(at(alice), 10));
    EXPECT_FALSE(down(alice, invite, 10)) << "a REGISTER alone opens nothing but answers";
    EXPECT_TRUE(down(alice, response(401, "2 REGISTER"), 20));
    EXPECT_FALSE(policy_.registered(at(alice), 30));
    up(alice, reg(), 40);  // with credentials
    EXPECT_TRUE(down(alice, response(200, "2 REGISTER", "Contact: <sip:alice@192.168.1.10:5060>;expires=600\r\n"), 50));
    EXPECT_TRUE(policy_.registered(at(alice), 60));
    EXPECT_TRUE(down(alice, invite, 60));
    // Another port of the same host is another endpoint.
    EXPECT_FALSE(down("192.168.1.10:5062", invite, 60));
}

TEST_F(LanPolicyTest, RegistrationLastsItsExpiryPlusGrace)
{
    register_alice(0);
    const uint64_t end = 50 + 600 * second + LanPolicy::registration_grace_ms;
    EXPECT_TRUE(down(alice, invite, end - 1));
    EXPECT_FALSE(down(alice, invite, end));
    EXPECT_FALSE(policy_.registered(at(alice), end));
}

TEST_F(LanPolicyTest, ExpiryFromTheRegisterOrTheDefault)
{
    up(alice, reg("Contact: <sip:alice@192.168.1.10:5060>\r\nExpires: 120\r\n"), 0);
    ASSERT_TRUE(down(alice, response(200, "2 REGISTER"), 10));  // the 2xx names none: the REGISTER's
    EXPECT_TRUE(policy_.registered(at(alice), 10 + 120 * second + LanPolicy::registration_grace_ms - 1));
    EXPECT_FALSE(policy_.registered(at(alice), 10 + 120 * second + LanPolicy::registration_grace_ms));

    const std::string bob = "192.168.1.11:5060";
    up(bob, reg(""), 0);
    ASSERT_TRUE(down(bob, response(200, "2 REGISTER"), 10));
    EXPECT_TRUE(policy_.registered(at(bob), 10 + LanPolicy::default_expires_s * second));
}

TEST_F(LanPolicyTest, UnregisteringEndsIt)
{
    register_alice(0);
    up(alice, reg("Contact: *\r\nExpires: 0\r\n"), minute);
    EXPECT_TRUE(
        down(alice, response(200, "2 REGISTER", "Contact: <sip:bob@192.168.1.11>;expires=300\r\n"), minute + 10));
    EXPECT_FALSE(policy_.registered(at(alice), minute + 20));
    EXPECT_FALSE(down(alice, invite, minute + 20));
}

TEST_F(LanPolicyTest, ARegister2xxOnlyCountsForAPendingRegister)
{
    // HRAS (or someone in the middle) cannot register a host by itself.
    EXPECT_FALSE(down("192.168.1.11:5060", response(200, "2 REGISTER"), 0));
    EXPECT_FALSE(policy_.registered(at("192.168.1.11:5060"), 10));
    // Nor with an old REGISTER: the 2xx must follow within the answer window.
    up(alice, reg(), 0);
    up(alice, "OPTIONS sip:x SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n", 5 * minute);
    EXPECT_TRUE(down(alice, response(200, "2 REGISTER"), 6 * minute));  // a response to a recent sender
    EXPECT_FALSE(policy_.registered(at(alice), 6 * minute));
    // A 2xx to something else does not register.
    up(alice, "OPTIONS sip:x SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n", 10 * minute);
    EXPECT_TRUE(down(alice, response(200, "1 OPTIONS"), 10 * minute));
    EXPECT_FALSE(policy_.registered(at(alice), 10 * minute));
}

TEST_F(LanPolicyTest, AnUnregisteredPhoneGetsAnswersForFiveMinutes)
{
    const std::string phone = "192.168.1.12:5060";
    up(phone, "INVITE sip:carol@example.com SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n", 0);
    EXPECT_TRUE(down(phone, response(180, "1 INVITE"), second));
    EXPECT_TRUE(down(phone, response(200, "1 INVITE"), LanPolicy::answer_window_ms));
    EXPECT_FALSE(down(phone, response(200, "1 INVITE"), LanPolicy::answer_window_ms + 1));
    // Requests never: a BYE from the far end needs a registration.
    EXPECT_FALSE(down(phone, "BYE sip:x SIP/2.0\r\nCSeq: 2 BYE\r\n\r\n", second));
}

namespace {

std::string with_sdp(const std::string &start, const std::string &sdp)
{
    return start +
           "\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: " + std::to_string(sdp.size()) +
           "\r\n\r\n" + sdp;
}

std::string sdp(const std::string &c, const std::string &m = "m=audio 4000 RTP/AVP 0\r\n")
{
    return "v=0\r\no=- 1 1 IN IP4 " + c + "\r\ns=-\r\nc=IN IP4 " + c + "\r\nt=0 0\r\n" + m;
}

const std::string invite_line = "INVITE sip:bob@example.com SIP/2.0";

}  // namespace

TEST(SdpScan, SessionAndMediaLevelConnections)
{
    const std::string body = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 192.168.1.10\r\nt=0 0\r\n"
                             "m=audio 4000 RTP/AVP 0\r\n"
                             "m=video 4002/2 RTP/AVP 96\r\nc=IN IP4 192.168.1.11\r\n"
                             "m=audio 0 RTP/AVP 0\r\n"  // declined
                             "m=audio 4008 RTP/AVP 0\r\nc=IN IP6 2001:db8::10\r\n";
    const auto scan = scan_sdp(reinterpret_cast<const uint8_t *>(body.data()), body.size());
    ASSERT_TRUE(scan);
    ASSERT_EQ(scan->media.size(), 3u);
    EXPECT_EQ(scan->media[0].endpoint.to_string(), "192.168.1.10:4000");
    EXPECT_EQ(scan->media[1].endpoint.to_string(), "192.168.1.11:4002");
    EXPECT_EQ(scan->media[2].endpoint.to_string(), "[2001:db8::10]:4008");
}

TEST(SdpScan, RefusesWhatItCannotReadWhole)
{
    auto scan = [](const std::string &b) { return scan_sdp(reinterpret_cast<const uint8_t *>(b.data()), b.size()); };
    EXPECT_FALSE(scan(""));
    EXPECT_FALSE(scan("hello"));
    EXPECT_FALSE(scan("v=0\r\nm=audio 4000 RTP/AVP 0\r\n"));                            // no c= at all
    EXPECT_FALSE(scan("v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 70000 RTP/AVP 0\r\n"));      // port
    EXPECT_FALSE(scan("v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio x RTP/AVP 0\r\n"));          // port
    EXPECT_FALSE(scan("v=0\r\nc=IN IP4 phone.lan\r\nm=audio 4000 RTP/AVP 0\r\n"));      // a name
    EXPECT_FALSE(scan("v=0\r\nc=IN IP4 224.2.1.1/127\r\nm=audio 4000 RTP/AVP 0\r\n"));  // multicast TTL
    EXPECT_FALSE(scan("v=0\r\nc=IN IP6 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n"));       // family
    std::string many = "v=0\r\nc=IN IP4 10.0.0.1\r\n";
    for (size_t i = 0; i <= SdpScan::max_media; ++i)
        many += "m=audio " + std::to_string(4000 + 2 * i) + " RTP/AVP 0\r\n";
    EXPECT_FALSE(scan(many));
    EXPECT_FALSE(scan("v=0\r\n" + std::string(SdpScan::max_body, 'x')));
    // Hold (c=0.0.0.0) names nobody.
    const auto hold = scan("v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\n");
    ASSERT_TRUE(hold);
    EXPECT_TRUE(hold->media.empty());
}

TEST_F(LanPolicyTest, MediaOnlyToTheEndpointARegisteredPhoneNamed)
{
    // Before alice named anything, nothing goes anywhere, whatever OPEN_MEDIA named.
    const auto named = at("192.168.1.10:4000");
    EXPECT_FALSE(media(named, "192.168.1.10:4000", 0));
    EXPECT_EQ(why_, "no registered phone named that endpoint in its SDP");
    EXPECT_FALSE(media(std::nullopt, "192.168.1.10:4000", 0));

    // SDP from a phone that did not register is not learnt from.
    EXPECT_EQ(policy_.sip_from_lan(at(alice),
                                   reinterpret_cast<const uint8_t *>(with_sdp(invite_line, sdp("192.168.1.10")).data()),
                                   with_sdp(invite_line, sdp("192.168.1.10")).size(), 0),
              LanPolicy::Sdp::unregistered);
    EXPECT_FALSE(media(named, "192.168.1.10:4000", 0));

    register_alice(0);
    const std::string offer = with_sdp(invite_line, sdp("192.168.1.10"));
    EXPECT_EQ(policy_.sip_from_lan(at(alice), reinterpret_cast<const uint8_t *>(offer.data()), offer.size(), second),
              LanPolicy::Sdp::recorded);
    EXPECT_TRUE(media(named, "192.168.1.10:4000", second));
    EXPECT_TRUE(media(named, "192.168.1.10:4001", second));  // RTCP
    EXPECT_TRUE(media(std::nullopt, "192.168.1.10:4000", second));
    EXPECT_FALSE(media(named, "192.168.1.10:4002", second));  // a port its SDP never named
    EXPECT_FALSE(media(named, "192.168.1.10:3999", second));
    EXPECT_FALSE(media(named, "192.168.1.10:53", second));
    EXPECT_FALSE(media(named, "192.168.1.53:53", second));  // another LAN host
    EXPECT_FALSE(media(at("192.168.1.53:53"), "192.168.1.53:53", second));
    EXPECT_EQ(why_, "no registered phone named that endpoint in its SDP");
    EXPECT_FALSE(media(at("192.168.1.11:4000"), "192.168.1.10:4000", second));  // the pair serves another
    EXPECT_EQ(why_, "the pair serves 192.168.1.11:4000");
    // The same rule for what the pair accepts from the LAN.
    EXPECT_TRUE(policy_.media_from_lan(named, at("192.168.1.10:4000"), second));
    EXPECT_TRUE(policy_.media_from_lan(named, at("192.168.1.10:4001"), second));
    EXPECT_FALSE(policy_.media_from_lan(named, at("192.168.1.10:4444"), second));
    EXPECT_FALSE(policy_.media_from_lan(named, at("192.168.1.66:4000"), second));

    // It ends with the registration.
    EXPECT_FALSE(media(named, "192.168.1.10:4000", 50 + 600 * second + LanPolicy::registration_grace_ms));
}

TEST_F(LanPolicyTest, APhoneCannotNameAnotherHostsEndpoint)
{
    register_alice(0);
    const std::string offer = with_sdp(invite_line, sdp("192.168.1.53", "m=audio 53 RTP/AVP 0\r\n"));
    EXPECT_EQ(policy_.sip_from_lan(at(alice), reinterpret_cast<const uint8_t *>(offer.data()), offer.size(), second),
              LanPolicy::Sdp::foreign_address);
    EXPECT_FALSE(media(std::nullopt, "192.168.1.53:53", second));
    EXPECT_EQ(policy_.media_endpoints(), 0u);

    const std::string bad = with_sdp(invite_line, "v=0\r\nc=IN IP4 phone.lan\r\nm=audio 4000 RTP/AVP 0\r\n");
    EXPECT_EQ(policy_.sip_from_lan(at(alice), reinterpret_cast<const uint8_t *>(bad.data()), bad.size(), second),
              LanPolicy::Sdp::unreadable);
    // A body that is not SDP is none of the policy's business.
    const std::string note = invite_line + "\r\nCSeq: 1 MESSAGE\r\n\r\nhello";
    EXPECT_EQ(policy_.sip_from_lan(at(alice), reinterpret_cast<const uint8_t *>(note.data()), note.size(), second),
              LanPolicy::Sdp::none);
}

TEST(LanPolicyLimits, TheMediaEndpointTableIsBounded)
{
    LanPolicy policy(2);
    const auto phone = at("192.168.1.10:5060");
    const std::string r = reg();
    std::string why;
    policy.sip_from_lan(phone, reinterpret_cast<const uint8_t *>(r.data()), r.size(), 0);
    const std::string ok = response(200, "2 REGISTER", "Expires: 600\r\n");
    ASSERT_TRUE(policy.sip_to_lan(phone, reinterpret_cast<const uint8_t *>(ok.data()), ok.size(), 0, why));
    const std::string two =
        with_sdp(invite_line, sdp("192.168.1.10", "m=audio 4000 RTP/AVP 0\r\nm=video 4002 RTP/AVP 96\r\n"));
    EXPECT_EQ(policy.sip_from_lan(phone, reinterpret_cast<const uint8_t *>(two.data()), two.size(), 1),
              LanPolicy::Sdp::recorded);
    const std::string third = with_sdp(invite_line, sdp("192.168.1.10", "m=audio 4004 RTP/AVP 0\r\n"));
    EXPECT_EQ(policy.sip_from_lan(phone, reinterpret_cast<const uint8_t *>(third.data()), third.size(), 2),
              LanPolicy::Sdp::table_full);
    EXPECT_EQ(policy.media_endpoints(), 2u);
    EXPECT_FALSE(policy.media_to_lan(std::nullopt, at("192.168.1.10:4004"), 3, why));
    // Naming a known endpoint again is fine when full.
    EXPECT_EQ(policy.sip_from_lan(phone, reinterpret_cast<const uint8_t *>(two.data()), two.size(), 4),
              LanPolicy::Sdp::recorded);
    // Entries go with the registration: after it expired (and a purge) the room is back.
    const uint64_t later = 600 * second + LanPolicy::registration_grace_ms + minute;
    policy.sip_from_lan(at("10.9.9.9:5060"), reinterpret_cast<const uint8_t *>(r.data()), r.size(), later);
    EXPECT_EQ(policy.media_endpoints(), 0u);
}

TEST_F(LanPolicyTest, ForgetsOldSendersAndRegistrations)
{
    for (int i = 1; i <= 100; ++i)
        up("10.0.0." + std::to_string(i) + ":5060", reg(), 0);
    register_alice(0);
    EXPECT_EQ(policy_.registrations(), 1u);
    // A later call purges what has expired.
    up("10.0.1.1:5060", reg(), 60 * minute);
    EXPECT_EQ(policy_.registrations(), 0u);
    EXPECT_FALSE(down("10.0.0.1:5060", response(401, "2 REGISTER"), 60 * minute));
}
