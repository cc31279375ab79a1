#include "sofw/record.hpp"

#include <nettle/chacha-poly1305.h>
#include <nettle/hkdf.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>

#include <cstdio>
#include <cstring>

namespace sofw {

namespace {

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool decode_hex16(const std::string &s, uint8_t *out)
{
    if (s.size() != 32)
        return false;
    for (size_t i = 0; i < 16; ++i) {
        int hi = hex_value(s[2 * i]);
        int lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return true;
}

void expand(const uint8_t *prk, const char *label, DirectionKey &out)
{
    hmac_sha256_ctx ctx;
    hmac_sha256_set_key(&ctx, SHA256_DIGEST_SIZE, prk);
    uint8_t okm[record_key_size + record_iv_size];
    hkdf_expand(&ctx, reinterpret_cast<nettle_hash_update_func *>(hmac_sha256_update),
                reinterpret_cast<nettle_hash_digest_func *>(hmac_sha256_digest), SHA256_DIGEST_SIZE, std::strlen(label),
                reinterpret_cast<const uint8_t *>(label), sizeof okm, okm);
    std::memcpy(out.key, okm, record_key_size);
    std::memcpy(out.iv, okm + record_key_size, record_iv_size);
    std::memset(okm, 0, sizeof okm);
    std::memset(&ctx, 0, sizeof ctx);
}

// TLS 1.3 style nonce: iv xor the 64-bit sequence, right-aligned.
void make_nonce(const DirectionKey &k, uint64_t seq, uint8_t *nonce)
{
    std::memcpy(nonce, k.iv, record_iv_size);
    for (int i = 0; i < 8; ++i)
        nonce[record_iv_size - 1 - i] ^= static_cast<uint8_t>(seq >> (8 * i));
}

// Starts record seq of one direction, sealing or opening: the key, the
// record's nonce, and its length header as associated data. Setting the
// key per record costs a 32-byte copy (ChaCha has no key schedule).
void begin_record(chacha_poly1305_ctx &ctx, const DirectionKey &k, uint64_t seq, const uint8_t *hdr)
{
    uint8_t nonce[record_iv_size];
    make_nonce(k, seq, nonce);
    chacha_poly1305_set_key(&ctx, k.key);
    chacha_poly1305_set_nonce(&ctx, nonce);
    chacha_poly1305_update(&ctx, record_header_size, hdr);
}

}  // namespace

bool derive_session_keys(const std::string &secret, const std::string &session_hex, const std::string &client_nonce_hex,
                         const std::string &server_nonce_hex, SessionKeys &out, unsigned lane)
{
    uint8_t salt[48];
    if (!decode_hex16(session_hex, salt) || !decode_hex16(client_nonce_hex, salt + 16) ||
        !decode_hex16(server_nonce_hex, salt + 32))
        return false;
    hmac_sha256_ctx ctx;
    hmac_sha256_set_key(&ctx, sizeof salt, salt);
    uint8_t prk[SHA256_DIGEST_SIZE];
    hkdf_extract(&ctx, reinterpret_cast<nettle_hash_update_func *>(hmac_sha256_update),
                 reinterpret_cast<nettle_hash_digest_func *>(hmac_sha256_digest), SHA256_DIGEST_SIZE, secret.size(),
                 reinterpret_cast<const uint8_t *>(secret.data()), prk);
    if (lane == 0) {
        expand(prk, "sofw1 up", out.up);
        expand(prk, "sofw1 down", out.down);
    } else {
        char up[32], down[32];
        std::snprintf(up, sizeof up, "sofw1 up lane %u", lane);
        std::snprintf(down, sizeof down, "sofw1 down lane %u", lane);
        expand(prk, up, out.up);
        expand(prk, down, out.down);
    }
    std::memset(prk, 0, sizeof prk);
    std::memset(&ctx, 0, sizeof ctx);
    return true;
}

void wipe_keys(SessionKeys &k)
{
    volatile uint8_t *p = reinterpret_cast<volatile uint8_t *>(&k);
    for (size_t i = 0; i < sizeof k; ++i)
        p[i] = 0;
}

const char *record_error_name(RecordError e)
{
    switch (e) {
    case RecordError::none: return "none";
    case RecordError::oversized: return "oversized";
    case RecordError::bad_tag: return "bad_tag";
    case RecordError::exhausted: return "exhausted";
    case RecordError::truncated: return "truncated";
    case RecordError::split_frame: return "split_frame";
    case RecordError::bad_frame: return "bad_frame";
    }
    return "unknown";
}

void RecordSealer::reset(const DirectionKey &k, uint64_t first_seq)
{
    k_ = k;
    seq_ = first_seq;
    exhausted_ = false;
}

RecordError RecordSealer::seal(const uint8_t *plain, size_t len, std::vector<uint8_t> &out)
{
    if (len > record_max_plaintext)
        return RecordError::oversized;
    // The last sequence number is never used, so no nonce ever repeats.
    if (exhausted_ || seq_ == UINT64_MAX)
        return RecordError::exhausted;
    const size_t at = out.size();
    out.resize(at + record_overhead + len);
    uint8_t *hdr = out.data() + at;
    hdr[0] = static_cast<uint8_t>(len >> 16);
    hdr[1] = static_cast<uint8_t>(len >> 8);
    hdr[2] = static_cast<uint8_t>(len);
    chacha_poly1305_ctx ctx;
    begin_record(ctx, k_, seq_, hdr);
    chacha_poly1305_encrypt(&ctx, len, hdr + record_header_size, plain);
    chacha_poly1305_digest(&ctx, record_tag_size, hdr + record_header_size + len);
    ++seq_;
    return RecordError::none;
}

void RecordDecoder::reset(const DirectionKey &k, uint64_t first_seq)
{
    k_ = k;
    seq_ = first_seq;
    buf_.clear();
    pos_ = 0;
    err_ = RecordError::none;
}

void RecordDecoder::feed(const uint8_t *data, size_t len)
{
    if (err_ != RecordError::none || len == 0)
        return;
    if (pos_ > 0 && pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
    } else if (pos_ > 4096 && pos_ > buf_.size() / 2) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
        pos_ = 0;
    }
    buf_.insert(buf_.end(), data, data + len);
}

RecordDecoder::Result RecordDecoder::next(std::vector<uint8_t> &out)
{
    if (err_ != RecordError::none)
        return Result::error;
    const size_t avail = buf_.size() - pos_;
    if (avail < record_header_size)
        return Result::need_more;
    const uint8_t *hdr = buf_.data() + pos_;
    const size_t len = static_cast<size_t>(hdr[0]) << 16 | static_cast<size_t>(hdr[1]) << 8 | hdr[2];
    // Checked before waiting for the body, so the buffer stays bounded by
    // one largest record plus what one feed() brings.
    if (len > record_max_plaintext) {
        err_ = RecordError::oversized;
        return Result::error;
    }
    if (avail < record_overhead + len)
        return Result::need_more;
    if (seq_ == UINT64_MAX) {
        err_ = RecordError::exhausted;
        return Result::error;
    }
    chacha_poly1305_ctx ctx;
    begin_record(ctx, k_, seq_, hdr);
    out.resize(len);
    chacha_poly1305_decrypt(&ctx, len, out.data(), hdr + record_header_size);
    uint8_t tag[record_tag_size];
    chacha_poly1305_digest(&ctx, record_tag_size, tag);
    if (!memeql_sec(tag, hdr + record_header_size + len, record_tag_size)) {
        // Nothing of a forged record leaves the decoder (an empty record
        // has no buffer to wipe: memset must not see its null data()).
        if (!out.empty())
            std::memset(out.data(), 0, out.size());
        out.clear();
        err_ = RecordError::bad_tag;
        return Result::error;
    }
    pos_ += record_overhead + len;
    ++seq_;
    return Result::record;
}

RecordError RecordDecoder::finish()
{
    if (err_ == RecordError::none && buffered() > 0)
        err_ = RecordError::truncated;
    return err_;
}

RecordError seal_frames(RecordSealer &s, const uint8_t *data, size_t len, std::vector<uint8_t> &out)
{
    // Check the whole buffer first so a failure leaves out and the
    // sequence untouched.
    for (size_t at = 0; at < len;) {
        auto n = peek_frame_size(data + at, len - at);
        if (!n || *n > len - at || *n > record_max_plaintext)
            return RecordError::split_frame;
        at += *n;
    }
    const size_t mark = out.size();
    size_t begin = 0;
    while (begin < len) {
        size_t end = begin;
        for (;;) {
            auto n = peek_frame_size(data + end, len - end);
            if (!n || end - begin + *n > record_max_plaintext)
                break;
            end += *n;
            if (end == len)
                break;
        }
        RecordError e = s.seal(data + begin, end - begin, out);
        if (e != RecordError::none) {
            out.resize(mark);
            return e;
        }
        begin = end;
    }
    return RecordError::none;
}

void RecordFrameDecoder::reset(const DirectionKey &k, uint64_t first_seq)
{
    records_.reset(k, first_seq);
    frames_ = FrameDecoder();
    err_ = RecordError::none;
}

RecordFrameDecoder::Result RecordFrameDecoder::next(Frame &out)
{
    for (;;) {
        if (err_ != RecordError::none)
            return Result::error;
        auto r = frames_.next(out);
        if (r == FrameDecoder::Result::frame)
            return Result::frame;
        if (r == FrameDecoder::Result::error) {
            err_ = RecordError::bad_frame;
            return Result::error;
        }
        // Frames never span records: bytes left over are a split frame.
        if (frames_.buffered() > 0) {
            err_ = RecordError::split_frame;
            return Result::error;
        }
        auto rr = records_.next(plain_);
        if (rr == RecordDecoder::Result::need_more)
            return Result::need_more;
        if (rr == RecordDecoder::Result::error) {
            err_ = records_.error();
            return Result::error;
        }
        // frames_ holds no bytes here, so its buffer is reused.
        frames_.feed(plain_.data(), plain_.size());
    }
}

RecordError RecordFrameDecoder::end_of_body()
{
    if (err_ == RecordError::none)
        err_ = records_.finish();
    return err_;
}

}  // namespace sofw
