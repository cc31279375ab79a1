"""The audio a phone with a fixed playout buffer would play, rebuilt from the
RTP it received (a capture on the phone's own interface).

baresip records one decoded frame per packet that arrives, however late, so
its recording cannot show a stall. A phone playing on a clock can: each
packet has a scheduled play time

    play time = baseline + RTP timestamp / clock rate + buffer

where the baseline is the stream's smallest (arrival time - RTP timestamp /
clock rate), the packet that came earliest against its slot (the same
schedule as rtp_lateness.py). A packet arriving after its play time is
discarded and its frame plays as silence, as does a packet that never came:
a jitter buffer that drops late packets and conceals nothing. The decoded
audio is judged like a recording (audio.compare); the share of packets late
or missing is judged against the product's target.

G.711 only (PCMU and PCMA, what the test phones offer): the payload type of
the stream says which; any other payload type is an error, not skipped.
"""

import struct
from collections import namedtuple

import rtp_lateness

CLOCK = 8000
BUFFER_MS = 150
# The product's target at 2 % random loss on the WAN link: at most this
# share of a direction's packets later than the 150 ms buffer or missing.
MAX_LATE_OR_MISSING = 0.005

PCMU, PCMA = 0, 8

Packet = namedtuple("Packet", "seq timestamp arrival payload_type payload")


def _ulaw(code):
    code = ~code & 0xFF
    t = (((code & 0x0F) << 3) + 0x84) << ((code & 0x70) >> 4)
    return 0x84 - t if code & 0x80 else t - 0x84


def _alaw(code):
    code ^= 0x55
    t = (code & 0x0F) << 4
    seg = (code & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if code & 0x80 else -t


DECODE = {PCMU: [_ulaw(c) for c in range(256)], PCMA: [_alaw(c) for c in range(256)]}


def stream_packets(cap, flt, port):
    """[Packet] of the RTP packets matching flt in capture order, one stream
    (the SSRC of the first packet)."""
    rows = cap.fields(flt, ["rtp.ssrc", "rtp.seq", "rtp.timestamp", "frame.time_epoch",
                            "rtp.p_type", "rtp.payload"],
                      decode_as=f"udp.port=={port},rtp")
    rows = [r for r in rows if r["rtp.seq"] and r["rtp.timestamp"] and r["rtp.ssrc"] and r["rtp.p_type"]]
    if not rows:
        return []
    ssrc = rows[0]["rtp.ssrc"]
    return [Packet(int(r["rtp.seq"]), int(r["rtp.timestamp"]), float(r["frame.time_epoch"]),
                   int(r["rtp.p_type"]), bytes.fromhex(r["rtp.payload"].replace(":", "")))
            for r in rows if r["rtp.ssrc"] == ssrc]


def playout(packets, buffer_ms=BUFFER_MS, clock=CLOCK):
    """Plays `packets` (arrival order) through a fixed buffer of buffer_ms.

    Returns a dict: "samples" (s16 ints, from the first timestamp to the end
    of the last frame, silence where nothing was played), "payload_type",
    "expected" (the sequence number range), "missing", "late" (arrived
    after their play time) and "lateness" (ms behind the schedule, per
    packet that arrived)."""
    if not packets:
        raise ValueError("no RTP packets to play")
    types = {p.payload_type for p in packets}
    if len(types) != 1 or not types <= DECODE.keys():
        raise ValueError(f"payload types {sorted(types)}: only one of PCMU (0) or PCMA (8) is played")
    pt = types.pop()
    seqs = rtp_lateness.unwrap([p.seq for p in packets], 1 << 16)
    stamps = rtp_lateness.unwrap([p.timestamp for p in packets], 1 << 32)
    first = {}                      # a duplicate plays (or not) as its first copy did
    for p, s, t in zip(packets, seqs, stamps):
        first.setdefault(s, (t, p))
    base = min(p.arrival - t / clock for t, p in first.values())
    start = min(t for t, _ in first.values())
    end = max(t + len(p.payload) for t, p in first.values())
    samples = [0] * (end - start)
    table = DECODE[pt]
    late, lateness = 0, []
    for t, p in first.values():
        behind = (p.arrival - t / clock - base) * 1000
        lateness.append(behind)
        if behind > buffer_ms:
            late += 1
            continue
        samples[t - start:t - start + len(p.payload)] = [table[c] for c in p.payload]
    expected = max(first) - min(first) + 1
    missing = expected - len(first)
    return {"samples": samples, "payload_type": pt, "expected": expected, "missing": missing,
            "late": late, "lateness": lateness}


def late_or_missing_share(played, threshold_ms):
    """Share of the expected packets later than threshold_ms or missing."""
    over = sum(1 for x in played["lateness"] if x > threshold_ms)
    return (over + played["missing"]) / played["expected"]


def assert_share(direction, played, limit=MAX_LATE_OR_MISSING, buffer_ms=BUFFER_MS):
    share = late_or_missing_share(played, buffer_ms)
    assert share <= limit, (f"{direction}: {100 * share:.2f} % of {played['expected']} packets later than "
                            f"{buffer_ms} ms or missing (at most {100 * limit:.1f} %)")


def summary(direction, played):
    """One line: what the buffer played and the late-or-missing shares."""
    name = {PCMU: "PCMU", PCMA: "PCMA"}[played["payload_type"]]
    return (f"{direction}: {played['expected']} {name} packets expected, {played['missing']} missing, "
            f"{played['late']} dropped by the {BUFFER_MS} ms buffer; late or missing: "
            f">60 ms {100 * late_or_missing_share(played, 60):.2f} %, "
            f">{BUFFER_MS} ms {100 * late_or_missing_share(played, BUFFER_MS):.2f} %")


def write_wav(path, samples, rate=CLOCK):
    """samples as an 8 kHz mono s16 WAV file; returns path."""
    data = struct.pack(f"<{len(samples)}h", *samples)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, 2 * rate, 2, 16))
        f.write(b"data" + struct.pack("<I", len(data)) + data)
    return path
