// The load generator's TURN client codec (bench/loadgen/turn.hpp): what a
// TURN server sends down a TCP connection, decoded frame by frame as the
// client does.
// - every frame decoded lies inside the input, and ChannelData's data
//   inside its frame;
// - a strict prefix of a frame is never a frame nor bad: only "need more"
//   (so a frame cut by TCP anywhere decodes the same once complete);
// - an ERROR-CODE is 300-699;
// - requests the client encodes from the input's bytes (ids, addresses,
//   channel, lifetime) decode again as themselves.
#include "fuzz_check.hpp"

#include <turn.hpp>

#include <arpa/inet.h>

#include <cstring>
#include <vector>

using namespace loadgen::turn;

namespace {

void check_stream(const uint8_t *data, size_t size)
{
    size_t at = 0;
    while (at < size) {
        Frame f;
        size_t used = 0;
        Decode d = decode_frame(data + at, size - at, f, used);
        if (d != Decode::frame)
            break;
        FUZZ_CHECK(used > 0 && used <= size - at && used <= max_frame);
        if (f.kind == Frame::Kind::channel_data) {
            FUZZ_CHECK(f.channel >= first_channel && f.channel < 0x8000);
            FUZZ_CHECK(f.data == data + at + channel_header && f.len + channel_header <= used);
        } else {
            FUZZ_CHECK(f.stun.error_code == 0 || (f.stun.error_code >= 300 && f.stun.error_code <= 699));
            FUZZ_CHECK(f.stun.cls <= c_error);
        }
        for (size_t cut = 0; cut < used; cut += 1 + used / 16) {
            Frame g;
            size_t u = 0;
            FUZZ_CHECK(decode_frame(data + at, cut, g, u) == Decode::need_more);
        }
        at += used;
    }
}

void check_round_trip(FuzzedDataProvider &p)
{
    TxnId id{};
    for (auto &b : id)
        b = p.ConsumeIntegral<uint8_t>();
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_addr.s_addr = p.ConsumeIntegral<uint32_t>();
    peer.sin_port = p.ConsumeIntegral<uint16_t>();
    uint16_t channel = uint16_t(first_channel + p.ConsumeIntegralInRange<uint16_t>(0, 0x3FFF));
    uint32_t lifetime = p.ConsumeIntegral<uint32_t>();

    std::vector<uint8_t> out;
    encode_allocate(out, id, lifetime);
    encode_refresh(out, id, lifetime);
    encode_create_permission(out, id, peer);
    encode_channel_bind(out, id, channel, peer);
    const uint16_t methods[] = {m_allocate, m_refresh, m_create_permission, m_channel_bind};
    size_t at = 0;
    for (uint16_t m : methods) {
        Frame f;
        size_t used = 0;
        FUZZ_CHECK(decode_frame(out.data() + at, out.size() - at, f, used) == Decode::frame);
        FUZZ_CHECK(f.kind == Frame::Kind::stun && f.stun.method == m && f.stun.cls == c_request);
        FUZZ_CHECK(f.stun.id == id);
        if (m == m_allocate || m == m_refresh)
            FUZZ_CHECK(f.stun.lifetime && *f.stun.lifetime == lifetime);
        at += used;
    }
    FUZZ_CHECK(at == out.size());

    size_t len = p.ConsumeIntegralInRange<size_t>(0, max_frame - channel_header);
    std::vector<uint8_t> cd(channel_header + len + 3, 0);
    size_t pad = encode_channel_header(cd.data(), channel, len);
    FUZZ_CHECK(pad < 4 && (len + pad) % 4 == 0);
    cd.resize(channel_header + len + pad);
    Frame f;
    size_t used = 0;
    FUZZ_CHECK(decode_frame(cd.data(), cd.size(), f, used) == Decode::frame);
    FUZZ_CHECK(f.kind == Frame::Kind::channel_data && f.channel == channel && f.len == len && used == cd.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_stream(data, size);
    FuzzedDataProvider p(data, size);
    check_round_trip(p);
    return 0;
}
