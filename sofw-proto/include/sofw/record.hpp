// Tunnel record protection (docs/protocol.md "Records"): per-session,
// per-direction keys from HKDF-SHA256 over the site secret and randomness
// of both sides; frames travel inside ChaCha20-Poly1305 records with an
// implicit per-direction sequence number. Used by both HRAC and HRAS.
#pragma once
#include "sofw/frame.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sofw {

constexpr size_t record_key_size = 32;
constexpr size_t record_iv_size = 12;
constexpr size_t record_header_size = 3;  // plaintext length, 24-bit big-endian
constexpr size_t record_tag_size = 16;
constexpr size_t record_overhead = record_header_size + record_tag_size;  // 19 bytes
// A record holds one or more whole frames; the largest frame is
// 8 + 22 + 65535 bytes. Larger lengths on the wire are an error.
constexpr size_t record_max_plaintext = 131072;

struct DirectionKey {
    uint8_t key[record_key_size] = {};
    uint8_t iv[record_iv_size] = {};
};

// up = HRAC -> HRAS, down = HRAS -> HRAC.
struct SessionKeys {
    DirectionKey up;
    DirectionKey down;
};

// HKDF-SHA256 (RFC 5869):
//   PRK  = HKDF-Extract(salt = session || client_nonce || server_nonce, IKM = secret)
//   up   = HKDF-Expand(PRK, "sofw1 up", 44)   -> key (32) || iv (12)
//   down = HKDF-Expand(PRK, "sofw1 down", 44)
// and for lane i >= 1 (docs/protocol.md "Lanes") "sofw1 up lane <i>" and
// "sofw1 down lane <i>" (i in decimal): every lane has its own keys from
// the same PRK, the session's (the opening request's client nonce).
// session, client_nonce and server_nonce are the 32-hex-char header values,
// decoded to 16 bytes each. False (out untouched) if any is not 32 hex chars.
bool derive_session_keys(const std::string &secret, const std::string &session_hex, const std::string &client_nonce_hex,
                         const std::string &server_nonce_hex, SessionKeys &out, unsigned lane = 0);

// Wipes key material (not optimised away).
void wipe_keys(SessionKeys &k);

enum class RecordError {
    none,
    oversized,    // length field above record_max_plaintext
    bad_tag,      // modified, injected, reordered, replayed or wrong key
    exhausted,    // sequence numbers used up: the session must end
    truncated,    // stream ended inside a record
    split_frame,  // a record does not hold whole frames
    bad_frame,    // a frame inside an authentic record broke the frame rules
};
const char *record_error_name(RecordError e);

// Seals plaintexts into records of one direction, sequence 0, 1, 2, ...
class RecordSealer {
public:
    RecordSealer() = default;
    explicit RecordSealer(const DirectionKey &k, uint64_t first_seq = 0) { reset(k, first_seq); }
    void reset(const DirectionKey &k, uint64_t first_seq = 0);
    // Appends one record carrying plain[0..len) to out. Returns none, or
    // oversized (len > record_max_plaintext) / exhausted with out unchanged.
    // out is grown in place; a reused buffer means no allocation.
    RecordError seal(const uint8_t *plain, size_t len, std::vector<uint8_t> &out);
    uint64_t sequence() const { return seq_; }

private:
    DirectionKey k_;
    uint64_t seq_ = 0;
    bool exhausted_ = false;
};

// Reassembles and opens records of one direction from a byte stream cut
// anywhere. After an error the session is unusable: next() keeps returning
// the error. Nothing of a record that fails is ever returned.
class RecordDecoder {
public:
    RecordDecoder() = default;
    explicit RecordDecoder(const DirectionKey &k, uint64_t first_seq = 0) { reset(k, first_seq); }
    void reset(const DirectionKey &k, uint64_t first_seq = 0);
    void feed(const uint8_t *data, size_t len);
    enum class Result { record, need_more, error };
    // On record, out holds the plaintext (one or more whole frames); out's
    // capacity is reused.
    Result next(std::vector<uint8_t> &out);
    // The byte stream ended (HTTP body closed). A partial record left over
    // is truncation; returns the error state afterwards.
    RecordError finish();
    RecordError error() const { return err_; }
    size_t buffered() const { return buf_.size() - pos_; }
    uint64_t sequence() const { return seq_; }

private:
    DirectionKey k_;
    uint64_t seq_ = 0;
    std::vector<uint8_t> buf_;
    size_t pos_ = 0;
    RecordError err_ = RecordError::none;
};

// Seals data[0..len), a buffer of whole frames this process encoded, into
// as few records as record_max_plaintext allows, cut at frame boundaries;
// appends them to out. split_frame (out unchanged) if the buffer does not
// end on a frame boundary.
RecordError seal_frames(RecordSealer &s, const uint8_t *data, size_t len, std::vector<uint8_t> &out);

// Frames out of one direction's record stream: opens each record, then
// decodes the whole frames inside it. The one way both halves read a
// channel body. After an error the session must end.
class RecordFrameDecoder {
public:
    RecordFrameDecoder() = default;
    explicit RecordFrameDecoder(const DirectionKey &k, uint64_t first_seq = 0) { reset(k, first_seq); }
    void reset(const DirectionKey &k, uint64_t first_seq = 0);
    void feed(const uint8_t *data, size_t len) { records_.feed(data, len); }
    enum class Result { frame, need_more, error };
    Result next(Frame &out);
    // A body ended (poll answer, send, or the end of a stream): left-over
    // bytes of a record are truncation.
    RecordError end_of_body();
    RecordError error() const { return err_; }
    // For bad_frame: what was wrong with the frame.
    DecodeError frame_error() const { return frames_.error(); }

private:
    RecordDecoder records_;
    FrameDecoder frames_;
    std::vector<uint8_t> plain_;
    RecordError err_ = RecordError::none;
};

}  // namespace sofw
