#include "session_records.hpp"

#include <algorithm>

namespace hrac {

SessionRecords::~SessionRecords()
{
    // Keys live only as long as the session.
    for (unsigned lane = 0; lane < sofw::lanes_max; ++lane) {
        sealer_[lane].reset(sofw::DirectionKey{});
        decoder_[lane].reset(sofw::DirectionKey{});
    }
}

bool SessionRecords::accept(const std::string &secret, const std::string &session, const std::string &client_nonce,
                            const std::string &server_nonce, std::string &why)
{
    if (keyed_) {
        if (server_nonce == server_nonce_)
            return true;
        // HRAS lost the session (restart, timeout) and opened another one.
        why = "HRAS changed the server nonce within the session";
        return false;
    }
    sofw::SessionKeys keys;
    if (!sofw::derive_session_keys(secret, session, client_nonce, server_nonce, keys)) {
        why = "HRAS sent a malformed server nonce";
        return false;
    }
    sealer_[0].reset(keys.up);
    decoder_[0].reset(keys.down);
    sofw::wipe_keys(keys);
    client_nonce_ = client_nonce;
    server_nonce_ = server_nonce;
    keyed_ = true;
    return true;
}

bool SessionRecords::add_lanes(const std::string &secret, const std::string &session, unsigned lanes, std::string &why)
{
    if (!keyed_ || lanes < 1 || lanes > sofw::lanes_max) {
        why = "no keys for " + std::to_string(lanes) + " lanes";
        return false;
    }
    for (unsigned lane = lanes_; lane < lanes; ++lane) {
        sofw::SessionKeys keys;
        if (!sofw::derive_session_keys(secret, session, client_nonce_, server_nonce_, keys, lane)) {
            why = "cannot derive the keys of lane " + std::to_string(lane);
            return false;
        }
        sealer_[lane].reset(keys.up);
        decoder_[lane].reset(keys.down);
        sofw::wipe_keys(keys);
    }
    lanes_ = std::max(lanes_, lanes);
    return true;
}

}  // namespace hrac
