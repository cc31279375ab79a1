// The record layer of one tunnel session (docs/protocol.md "Records"):
// the keys, taken from the 200 of the request that opened the session
// (its nonce and HRAS's X-SoFW-Server-Nonce), the sealer of up records and
// the decoder of down records. Every later 200 of the session must carry
// the same server nonce.
#pragma once
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

    // A proven 200 of the session: the first derives the keys from the
    // nonce of its request (client_nonce), later ones must repeat Ns.
    // False (why says what) ends the session.
    bool accept(const std::string &secret, const std::string &session, const std::string &client_nonce,
                const std::string &server_nonce, std::string &why);
    bool keyed() const { return keyed_; }

    sofw::RecordSealer &sealer() { return sealer_; }
    sofw::RecordFrameDecoder &decoder() { return decoder_; }

private:
    bool keyed_ = false;
    std::string server_nonce_;
    sofw::RecordSealer sealer_;
    sofw::RecordFrameDecoder decoder_;
};

}  // namespace hrac
