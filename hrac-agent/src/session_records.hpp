// The record layer of one tunnel session (docs/protocol.md "Records"):
// the keys, taken from the 200 of the request that opened the session
// (its nonce and HRAS's X-SoFW-Server-Nonce), the sealer of up records and
// the decoder of down records. Every later 200 of the session must carry
// the same server nonce. A streaming session with lanes has a sealer and a
// decoder per lane, each with its own keys and sequence (docs/protocol.md
// "Lanes"), all from the same opening nonces.
#pragma once
#include <sofw/lanes.hpp>
#include <sofw/record.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace hrac {

class SessionRecords {
public:
    SessionRecords() = default;
    ~SessionRecords();
    SessionRecords(const SessionRecords &) = delete;
    SessionRecords &operator=(const SessionRecords &) = delete;

    // A proven 200 of the session: the first derives lane 0's keys from
    // the nonce of its request (client_nonce), later ones must repeat Ns.
    // False (why says what) ends the session.
    bool accept(const std::string &secret, const std::string &session, const std::string &client_nonce,
                const std::string &server_nonce, std::string &why);
    // After the first accept(): the keys of lanes 1..lanes-1.
    bool add_lanes(const std::string &secret, const std::string &session, unsigned lanes, std::string &why);
    bool keyed() const { return keyed_; }
    unsigned lanes() const { return lanes_; }

    // lane < lanes().
    sofw::RecordSealer &sealer(unsigned lane = 0) { return sealer_[lane]; }
    sofw::RecordFrameDecoder &decoder(unsigned lane = 0) { return decoder_[lane]; }

private:
    bool keyed_ = false;
    unsigned lanes_ = 1;
    std::string client_nonce_;  // of the opening request: every lane's keys come from it
    std::string server_nonce_;
    sofw::RecordSealer sealer_[sofw::lanes_max];
    sofw::RecordFrameDecoder decoder_[sofw::lanes_max];
};

}  // namespace hrac
