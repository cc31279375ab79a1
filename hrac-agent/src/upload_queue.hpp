// Encoded frames waiting to be sealed into records: by the upstream POST's
// read callback (streaming) or into the next send (polling). Bounded: if
// HRAS stops reading, frames beyond the limit are refused rather than
// growing memory without end (SIP retransmits; a stuck session is dropped by
// the keep-alive deadline anyway).
#pragma once
#include <sofw/frame.hpp>
#include <sofw/record.hpp>

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
    bool push(const std::vector<uint8_t> &frame) { return push(frame.data(), frame.size()); }
    // The same for a frame encoded elsewhere (a lane's sequenced media,
    // sofw::LaneOutput): no allocation once the queue has grown.
    bool push(const uint8_t *frame, size_t len)
    {
        if (size() + len > limit_)
            return false;
        buf_.insert(buf_.end(), frame, frame + len);
        return true;
    }

    enum class Push { queued, full, invalid };

    // Encodes a frame straight into the queue: no intermediate buffer, and
    // no allocation once the queue has grown to its working size. On
    // queued, encoded_size says how many bytes it took.
    Push push(const sofw::Frame &frame, size_t &encoded_size)
    {
        const size_t ra_len = frame.ra ? frame.ra->encoded_size() : 0;
        const size_t need = sofw::frame_header_size + ra_len + frame.payload.size();
        if (size() + need > limit_)
            return Push::full;
        const size_t before = buf_.size();
        if (!sofw::encode_frame(frame, buf_))
            return Push::invalid;
        encoded_size = buf_.size() - before;
        return Push::queued;
    }

    // Moves up to room bytes into out; returns how many.
    size_t take(char *out, size_t room)
    {
        const size_t n = std::min(room, size());
        if (n)
            memcpy(out, buf_.data() + pos_, n);
        consume(n);
        return n;
    }

    // Seals whole frames, at most max_bytes of them (but always at least
    // one), into records appended to out, and takes them from the queue:
    // what is queued together travels in one record (19 bytes whatever
    // the number of frames). No allocation once out has grown. On an
    // error (the sequence is used up) the queue is unchanged.
    sofw::RecordError seal_frames(sofw::RecordSealer &sealer, size_t max_bytes, std::vector<uint8_t> &out)
    {
        size_t end = pos_;
        while (auto frame = sofw::peek_frame_size(buf_.data() + end, buf_.size() - end)) {
            if (end > pos_ && end - pos_ + *frame > max_bytes)
                break;
            end += *frame;
        }
        if (end == pos_)
            return sofw::RecordError::none;
        const sofw::RecordError e = sofw::seal_frames(sealer, buf_.data() + pos_, end - pos_, out);
        if (e == sofw::RecordError::none)
            consume(end - pos_);
        return e;
    }

    size_t size() const { return buf_.size() - pos_; }
    bool empty() const { return size() == 0; }

private:
    void consume(size_t n)
    {
        pos_ += n;
        if (pos_ == buf_.size()) {
            buf_.clear();
            pos_ = 0;
        } else if (pos_ >= compact_after) {
            buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
            pos_ = 0;
        }
    }

    static constexpr size_t compact_after = 64 * 1024;
    size_t limit_;
    std::vector<uint8_t> buf_;
    size_t pos_ = 0;
};

}  // namespace hrac
