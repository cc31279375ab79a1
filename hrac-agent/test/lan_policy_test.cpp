// Who in the LAN HRAS may reach through HRAC (lan_policy.hpp) and the SIP
// it reads to know (sip_peek.hpp).
#include "lan_policy.hpp"
#include "log_limiter.hpp"
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

TEST_F(LanPolicyTest, MediaGoesToTheNamedPhoneOnAnyPort)
{
    const auto phone = at("192.168.1.10:4000");
    EXPECT_TRUE(media(phone, "192.168.1.10:4000", 0));
    EXPECT_TRUE(media(phone, "192.168.1.10:4001", 0));  // RTCP
    EXPECT_FALSE(media(phone, "192.168.1.11:4000", 0));
    EXPECT_EQ(why_, "the pair serves 192.168.1.10:4000");
    EXPECT_FALSE(media(at("[2001:db8::10]:4000"), "192.168.1.10:4000", 0));
}

TEST_F(LanPolicyTest, MediaOfAnUnnamedPairOnlyToRegisteredPhones)
{
    EXPECT_FALSE(media(std::nullopt, "192.168.1.10:4000", 0));
    EXPECT_EQ(why_, "its OPEN_MEDIA named no phone and no registered phone has that address");
    EXPECT_FALSE(media(at("0.0.0.0:0"), "192.168.1.10:4000", 0));  // HRAS's "no endpoint"
    EXPECT_FALSE(LanPolicy::names_phone(at("0.0.0.0:0")));
    EXPECT_FALSE(LanPolicy::names_phone(std::nullopt));
    EXPECT_TRUE(LanPolicy::names_phone(at("192.168.1.10:4000")));

    register_alice(0);
    EXPECT_TRUE(media(std::nullopt, "192.168.1.10:4000", second));  // any port of alice's IP
    EXPECT_FALSE(media(std::nullopt, "192.168.1.11:4000", second));
    EXPECT_FALSE(media(std::nullopt, "192.168.1.10:4000", 50 + 600 * second + LanPolicy::registration_grace_ms));
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

TEST(LogLimiter, OneLinePerIntervalCountingTheRest)
{
    LogLimiter limit(1000);
    uint64_t suppressed = 99;
    EXPECT_TRUE(limit.allow(0, suppressed));
    EXPECT_EQ(suppressed, 0u);
    EXPECT_FALSE(limit.allow(10, suppressed));
    EXPECT_FALSE(limit.allow(999, suppressed));
    EXPECT_TRUE(limit.allow(1000, suppressed));
    EXPECT_EQ(suppressed, 2u);
    EXPECT_TRUE(limit.allow(5000, suppressed));
    EXPECT_EQ(suppressed, 0u);
}
