// Encoded frames waiting for the upstream POST's read callback. Bounded: if
// HRAS stops reading, frames beyond the limit are refused rather than
// growing memory without end (SIP retransmits; a stuck session is dropped by
// the keep-alive deadline anyway).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace hrac {

class UploadQueue {
public:
    explicit UploadQueue(size_t limit_bytes) : limit_(limit_bytes) {}

    // Appends one encoded frame whole, or refuses it (false) if the queue
    // would exceed its limit.
    bool push(const std::vector<uint8_t> &frame) {
        if (size() + frame.size() > limit_)
            return false;
        buf_.insert(buf_.end(), frame.begin(), frame.end());
        return true;
    }

    // Moves up to room bytes into out; returns how many.
    size_t take(char *out, size_t room) {
        const size_t n = std::min(room, size());
        if (n)
            memcpy(out, buf_.data() + pos_, n);
        pos_ += n;
        if (pos_ == buf_.size()) {
            buf_.clear();
            pos_ = 0;
        } else if (pos_ >= compact_after) {
            buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
            pos_ = 0;
        }
        return n;
    }

    size_t size() const { return buf_.size() - pos_; }
    bool empty() const { return size() == 0; }

private:
    static constexpr size_t compact_after = 64 * 1024;
    size_t limit_;
    std::vector<uint8_t> buf_;
    size_t pos_ = 0;
};

} // namespace hrac
