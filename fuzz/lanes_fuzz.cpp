// Lanes (sofw/lanes.hpp): a LaneSender and a LaneReceiver joined by fake
// lanes on fake time, driven by operations read from the input, with
// hostile frames and acks mixed in:
// - the receiver's verdicts match a plain model of the duplicate window
//   (a delivered mseq never comes out again while it is within the
//   4096 below the highest, and an unseen one inside the window does);
// - the sender's store stays within its capacity and the history limit,
//   its unacknowledged bytes fit in the store, and pending() says whether
//   any copy waits;
// - a delivered frame is a plain media frame carrying the packet sent.
//
// Input: byte 0 the lane count (1..8), byte 1 the history (0: the
// smallest store), then operations, each a byte (its kind, below) and its
// parameters:
//   0 send: length byte, the packet is that many bytes of a counter
//   1 advance the clock: one byte of milliseconds, times two
//   2 check the sender
//   3 deliver lane (byte): its queued frames reach the receiver
//   4 lose lane (byte): its queued frames are gone
//   5 ack: the receiver's counts go back to the sender
//   6 open/close: lane byte, then 0 closes
//   7 full: lane byte, then 0 means the lane's queue takes frames again
//   8 forged frame on lane (byte): length byte, then that many bytes, as
//     frames to the receiver
//   9 forged ack: length byte, then that many bytes, a LANE_ACK payload
#include "fuzz_check.hpp"

#include <sofw/control.hpp>
#include <sofw/lanes.hpp>

#include <algorithm>
#include <set>
#include <vector>

using namespace sofw;

namespace {

constexpr size_t queue_limit = 512;  // frames a fake lane holds

struct Input {
    const uint8_t *p;
    size_t n;
    bool more() const { return n > 0; }
    uint8_t byte()
    {
        if (!n)
            return 0;
        --n;
        return *p++;
    }
    std::vector<uint8_t> bytes(size_t k)
    {
        k = std::min(k, n);
        std::vector<uint8_t> v(p, p + k);
        p += k;
        n -= k;
        return v;
    }
};

struct FakeLanes : LaneOutput {
    explicit FakeLanes(unsigned n) : lanes(n) {}
    unsigned lanes;
    std::vector<std::vector<uint8_t>> queued[lanes_max];
    bool full[lanes_max] = {};

    bool queue(unsigned lane, const uint8_t *frame, size_t len) override
    {
        FUZZ_CHECK(lane < lanes);
        FUZZ_CHECK(len >= frame_header_size);
        if (full[lane] || queued[lane].size() >= queue_limit)
            return false;
        queued[lane].emplace_back(frame, frame + len);
        return true;
    }
};

// The duplicate window as the specification words it.
struct WindowModel {
    bool any = false;
    uint32_t highest = 0;
    std::set<uint32_t> seen;  // delivered, within the window

    bool deliver(uint32_t m)
    {
        if (!any) {
            any = true;
            highest = m;
            seen = {m};
            return true;
        }
        const uint32_t ahead = m - highest;
        if (ahead == 0)
            return false;
        if (ahead < 0x80000000u) {
            highest = m;
            // What left the window is found by the distance test below;
            // forgetting it now and then only bounds the set (an input has
            // too few operations for mseqs to come round again).
            if (ahead >= lane_dedup_window) {
                seen.clear();
            } else if (seen.size() > 2 * lane_dedup_window) {
                for (auto it = seen.begin(); it != seen.end();)
                    it = highest - *it >= lane_dedup_window ? seen.erase(it) : std::next(it);
            }
            seen.insert(m);
            return true;
        }
        if (highest - m >= lane_dedup_window || seen.count(m))
            return false;
        seen.insert(m);
        return true;
    }
};

void check_sender(const LaneSender &tx, size_t history)
{
    FUZZ_CHECK(tx.stored_bytes() <= tx.store_capacity());
    FUZZ_CHECK(tx.store_capacity() <= std::max<size_t>(history, 256 * 1024));
    size_t unacked = 0;
    for (unsigned i = 0; i < tx.lanes(); ++i)
        unacked += tx.unacked_bytes(i);
    FUZZ_CHECK(unacked <= tx.stored_bytes());
    FUZZ_CHECK(tx.pending() == (unacked > 0));
    FUZZ_CHECK(tx.hedge_ms() >= default_hedge_min_ms);
    FUZZ_CHECK(tx.best_lane(0) < tx.lanes());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Input in{data, size};
    const unsigned lanes = 1 + in.byte() % lanes_max;
    LaneSender::Settings s;
    const uint8_t h = in.byte();
    s.history_bytes = h == 0 ? 0 : size_t(h) * 16 * 1024;
    const size_t history = s.history_bytes;
    LaneSender tx(lanes, s);
    LaneReceiver rx(lanes);
    FakeLanes wire(lanes);
    WindowModel model;
    int64_t now = 0;
    uint32_t counter = 0;
    uint64_t delivered = 0, duplicates = 0;

    for (unsigned ops = 0; in.more() && ops < 4000; ++ops) {
        const uint8_t kind = in.byte() % 10;
        switch (kind) {
        case 0: {
            const size_t len = in.byte();
            std::vector<uint8_t> packet(len);
            for (size_t i = 0; i < len; ++i)
                packet[i] = static_cast<uint8_t>(counter + i);
            ++counter;
            RaHeader ra;
            ra.family = 4;
            ra.addr[0] = 192, ra.addr[1] = 168, ra.addr[3] = 10;
            ra.port = 4000;
            ra.relay_port = 20000;
            tx.send(ra, packet.data(), packet.size(), now, wire);
            break;
        }
        case 1: now += 2 * in.byte(); break;
        case 2: tx.check(now, wire); break;
        case 3: {
            const unsigned lane = in.byte() % lanes_max;
            for (auto &bytes : wire.queued[lane]) {
                FrameDecoder d;
                d.feed(bytes.data(), bytes.size());
                Frame f;
                FUZZ_CHECK(d.next(f) == FrameDecoder::Result::frame);
                FUZZ_CHECK(f.type == FrameType::lane_media);
                FUZZ_CHECK(bytes.size() >= frame_header_size + RaHeader::v4_size + media_seq_size);
                const uint8_t *m = bytes.data() + frame_header_size + RaHeader::v4_size;
                const uint32_t mseq = uint32_t(m[0]) << 24 | uint32_t(m[1]) << 16 | uint32_t(m[2]) << 8 | m[3];
                const auto packet_len = f.payload.size() - media_seq_size;
                const auto v = rx.on_frame(lane, f);
                if (lane >= lanes) {
                    FUZZ_CHECK(v == LaneReceiver::Verdict::invalid);
                    continue;
                }
                FUZZ_CHECK(v != LaneReceiver::Verdict::invalid);
                FUZZ_CHECK((v == LaneReceiver::Verdict::deliver) == model.deliver(mseq));
                if (v == LaneReceiver::Verdict::deliver) {
                    ++delivered;
                    FUZZ_CHECK(f.type == FrameType::media);
                    FUZZ_CHECK(f.payload.size() == packet_len);
                } else {
                    ++duplicates;
                    FUZZ_CHECK(f.type == FrameType::lane_media);
                }
            }
            wire.queued[lane].clear();
            break;
        }
        case 4: wire.queued[in.byte() % lanes_max].clear(); break;
        case 5:
            if (rx.ack_due(now, true)) {
                const LaneAck a = rx.take_ack(now);
                const Frame f = make_lane_ack_frame(a);
                std::vector<uint8_t> bytes;
                encode_lane_ack(a, bytes);
                FUZZ_CHECK(bytes == encode_frame(f));
                const auto back = decode_lane_ack(f);
                FUZZ_CHECK(back && back->lanes == lanes);
                tx.on_ack(*back, now);
            }
            break;
        case 6: {
            const unsigned lane = in.byte() % (lanes_max + 1);
            tx.set_open(lane, in.byte() != 0);
            break;
        }
        case 7: {
            const unsigned lane = in.byte() % lanes_max;
            wire.full[lane] = in.byte() != 0;
            break;
        }
        case 8: {
            const unsigned lane = in.byte() % (lanes_max + 1);
            const auto bytes = in.bytes(in.byte());
            FrameDecoder d;
            d.feed(bytes.data(), bytes.size());
            Frame f;
            while (d.next(f) == FrameDecoder::Result::frame) {
                const FrameType type = f.type;
                uint32_t mseq = 0;
                Frame copy = f;
                const bool whole = unwrap_lane_media(copy, mseq);
                const auto v = rx.on_frame(lane, f);
                if (lane >= lanes || type != FrameType::lane_media || !whole) {
                    FUZZ_CHECK(v == LaneReceiver::Verdict::invalid);
                    continue;
                }
                FUZZ_CHECK((v == LaneReceiver::Verdict::deliver) == model.deliver(mseq));
                if (v == LaneReceiver::Verdict::deliver) {
                    ++delivered;
                    FUZZ_CHECK(f.type == FrameType::media && f.payload == copy.payload);
                } else {
                    ++duplicates;
                }
            }
            break;
        }
        case 9: {
            Frame f;
            f.type = FrameType::control;
            f.payload = in.bytes(in.byte());
            if (const auto a = decode_lane_ack(f)) {
                FUZZ_CHECK(a->lanes >= 1 && a->lanes <= lanes_max);
                FUZZ_CHECK(f.payload.size() == control_size + 4 * a->lanes);
                const auto again = decode_lane_ack(make_lane_ack_frame(*a));
                FUZZ_CHECK(again && again->lanes == a->lanes &&
                           std::equal(a->received, a->received + a->lanes, again->received));
                tx.on_ack(*a, now);
            }
            break;
        }
        }
        check_sender(tx, history);
        FUZZ_CHECK(rx.stats().delivered == delivered);
        FUZZ_CHECK(rx.stats().duplicates == duplicates);
    }
    return 0;
}
