#include "session_records.hpp"

namespace hrac {

SessionRecords::~SessionRecords()
{
    // Keys live only as long as the session.
    sealer_.reset(sofw::DirectionKey{});
    decoder_.reset(sofw::DirectionKey{});
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
    sealer_.reset(keys.up);
    decoder_.reset(keys.down);
    sofw::wipe_keys(keys);
    server_nonce_ = server_nonce;
    keyed_ = true;
    return true;
}

}  // namespace hrac
