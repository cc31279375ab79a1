// What HRAC makes of the lanes HRAS grants, and the records of each lane:
// their own keys, from the session's opening nonces.
#include "session_records.hpp"
#include "stream_lane.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace hrac;

TEST(GrantedLanes, AnHrasWithoutLanesGrantsOne)
{
    EXPECT_EQ(granted_lanes(false, "", 3), 1u);
    EXPECT_EQ(granted_lanes(false, "7", 3), 1u) << "no header: the value means nothing";
}

TEST(GrantedLanes, AtMostWhatWasAskedFor)
{
    EXPECT_EQ(granted_lanes(true, "1", 3), 1u);
    EXPECT_EQ(granted_lanes(true, "3", 3), 3u);
    EXPECT_EQ(granted_lanes(true, "2", 8), 2u);
    EXPECT_EQ(granted_lanes(true, "8", 8), 8u);
    EXPECT_FALSE(granted_lanes(true, "4", 3));
    EXPECT_FALSE(granted_lanes(true, "2", 1));
}

TEST(GrantedLanes, AnythingButALaneCountIsRefused)
{
    for (const char *bad : {"", "0", "9", "03", "-1", "x", "2x", "1.5", "12"})
        EXPECT_FALSE(granted_lanes(true, bad, 8)) << "'" << bad << "'";
}

namespace {

const std::string secret = "acme-0123456789abcdef";
const std::string session = "00112233445566778899aabbccddeeff";
const std::string client_nonce = "0123456789abcdef0123456789abcdef";
const std::string server_nonce = "fedcba9876543210fedcba9876543210";

// Seals one keep-alive with sealer; true if decoder opens it.
bool opens(sofw::RecordSealer &sealer, sofw::RecordFrameDecoder decoder)
{
    const std::vector<uint8_t> frame = sofw::encode_frame(sofw::keepalive_frame());
    std::vector<uint8_t> record;
    if (sofw::seal_frames(sealer, frame.data(), frame.size(), record) != sofw::RecordError::none)
        return false;
    decoder.feed(record.data(), record.size());
    sofw::Frame f;
    return decoder.next(f) == sofw::RecordFrameDecoder::Result::frame && f.type == sofw::FrameType::keepalive;
}

sofw::SessionKeys keys_of(unsigned lane)
{
    sofw::SessionKeys k;
    EXPECT_TRUE(sofw::derive_session_keys(secret, session, client_nonce, server_nonce, k, lane));
    return k;
}

}  // namespace

TEST(SessionRecordsLanes, EachLaneSealsAndOpensWithItsOwnKeys)
{
    SessionRecords records;
    std::string why;
    ASSERT_TRUE(records.accept(secret, session, client_nonce, server_nonce, why)) << why;
    EXPECT_EQ(records.lanes(), 1u);
    ASSERT_TRUE(records.add_lanes(secret, session, 3, why)) << why;
    EXPECT_EQ(records.lanes(), 3u);
    for (unsigned lane = 0; lane < 3; ++lane) {
        const sofw::SessionKeys k = keys_of(lane);
        EXPECT_TRUE(opens(records.sealer(lane), sofw::RecordFrameDecoder(k.up))) << "up, lane " << lane;
        const unsigned other = (lane + 1) % 3;
        EXPECT_FALSE(opens(records.sealer(lane), sofw::RecordFrameDecoder(keys_of(other).up)))
            << "lane " << lane << " sealed with lane " << other << "'s key";
        // What HRAS seals down on the lane, the lane's decoder opens.
        sofw::RecordSealer hras(k.down);
        EXPECT_TRUE(opens(hras, records.decoder(lane))) << "down, lane " << lane;
    }
}

TEST(SessionRecordsLanes, LaterAnswersMustRepeatTheServerNonce)
{
    SessionRecords records;
    std::string why;
    ASSERT_TRUE(records.accept(secret, session, client_nonce, server_nonce, why));
    // A lane's 200: its own request nonce, the session's server nonce.
    EXPECT_TRUE(records.accept(secret, session, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", server_nonce, why));
    EXPECT_FALSE(records.accept(secret, session, client_nonce, "00000000000000000000000000000000", why));
    EXPECT_EQ(why, "HRAS changed the server nonce within the session");
}

TEST(SessionRecordsLanes, NoLanesWithoutKeysOrBeyondTheLimit)
{
    SessionRecords records;
    std::string why;
    EXPECT_FALSE(records.add_lanes(secret, session, 2, why)) << "not keyed yet";
    ASSERT_TRUE(records.accept(secret, session, client_nonce, server_nonce, why));
    EXPECT_FALSE(records.add_lanes(secret, session, sofw::lanes_max + 1, why));
    EXPECT_FALSE(records.add_lanes(secret, session, 0, why));
    EXPECT_EQ(records.lanes(), 1u);
}
