#!/usr/bin/python3
"""The playout rebuild of test_loss.py (playout.py) on made-up packet
lists, so that a rebuild that cannot fail is caught. No network, no root.

  1. G.711 decodes to the standard values (PCMU and PCMA);
  2. a stream arriving on time plays whole: nothing dropped, the audio is
     the sent tone sample for sample, the share check passes;
  3. a 600 ms stall followed by a burst (what a TCP retransmission timeout
     does): the 150 ms buffer drops exactly the packets more than 150 ms
     behind, their frames play as silence, and the share check fails;
  4. missing packets count against the share: 2 of 500 pass, 5 fail;
  5. a payload type other than PCMU or PCMA is refused, not skipped.

Sequence numbers and timestamps start just below their wrap, so the
unwrapping is exercised too. Prints PASS/FAIL per check and
"N passed, N failed"; exits 1 on failure.
"""

import bisect
import math
import os
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio  # noqa: E402
import playout  # noqa: E402
from checks import check, finish  # noqa: E402

FRAME = 160                 # samples per packet: 20 ms at 8 kHz
PACKETS = 500               # 10 s
TONE_HZ = 697
SEQ0, TS0 = 65400, (1 << 32) - 30 * FRAME
T0 = 1_700_000_000.0


def _ulaw_encoder():
    table = sorted((v, c) for c, v in enumerate(playout.DECODE[playout.PCMU]))
    values = [v for v, _ in table]

    def encode(x):
        i = bisect.bisect_left(values, x)
        near = [j for j in (i - 1, i) if 0 <= j < len(values)]
        return table[min(near, key=lambda j: abs(values[j] - x))][1]
    return encode


def tone_payloads():
    enc = _ulaw_encoder()
    samples = [int(12000 * math.sin(2 * math.pi * TONE_HZ * n / playout.CLOCK)) for n in range(PACKETS * FRAME)]
    return [bytes(enc(x) for x in samples[i * FRAME:(i + 1) * FRAME]) for i in range(PACKETS)]


def stream(payloads, arrival, pt=playout.PCMU, skip=()):
    """Packets i = 0.. with arrival(i), wrapping seq and timestamp."""
    return [playout.Packet((SEQ0 + i) & 0xFFFF, (TS0 + i * FRAME) & 0xFFFFFFFF, arrival(i), pt, p)
            for i, p in enumerate(payloads) if i not in skip]


def on_time(i):
    return T0 + i * 0.020 + (i * 7 % 5) / 1000      # up to 4 ms of jitter


def decoded(payloads):
    table = playout.DECODE[playout.PCMU]
    return [table[c] for p in payloads for c in p]


def must_fail(fn):
    try:
        fn()
    except AssertionError as e:
        print(f"    fails as it must: {e}", flush=True)
        return
    raise AssertionError("the check passed where it must fail")


def main():
    payloads = tone_payloads()
    tmp = tempfile.mkdtemp(prefix="sofw-playout-")

    def g711():
        u, a = playout.DECODE[playout.PCMU], playout.DECODE[playout.PCMA]
        assert (u[0xFF], u[0x7F], u[0x80], u[0x00]) == (0, 0, 32124, -32124), "PCMU table"
        assert (a[0xD5], a[0x55], a[0x80], a[0x2A]) == (8, -8, 5504, -32256), "PCMA table"

    def whole():
        played = playout.playout(stream(payloads, on_time))
        print(f"    {playout.summary('on time', played)}", flush=True)
        assert played["late"] == 0 and played["missing"] == 0, played["late"]
        assert played["samples"] == decoded(payloads), "the audio is not the decoded stream"
        playout.assert_share("on time", played)
        sent = playout.write_wav(os.path.join(tmp, "sent.wav"), decoded(payloads))
        got = playout.write_wav(os.path.join(tmp, "played.wav"), played["samples"])
        r = audio.compare(sent, got, "tone")
        print(f"    {r['summary']}", flush=True)
        assert r["ok"], r["summary"]

    def stall():
        # Packets 200..229 are held 600 ms and arrive in one burst with 230.
        def arrival(i):
            return on_time(230) if 200 <= i < 230 else on_time(i)
        played = playout.playout(stream(payloads, arrival))
        print(f"    {playout.summary('600 ms stall', played)}", flush=True)
        behind = [i for i in range(PACKETS) if (arrival(i) - T0 - i * 0.020) * 1000 > playout.BUFFER_MS]
        assert behind == list(range(200, 223)), behind    # 600 - 20 k ms > 150 ms for k = 0..22
        assert played["late"] == len(behind), f"{played['late']} dropped, not {len(behind)}"
        want = decoded(payloads)
        for i in range(PACKETS):
            frame = played["samples"][i * FRAME:(i + 1) * FRAME]
            if i in behind:
                assert not any(frame), f"packet {i} arrived too late and was played"
            else:
                assert frame == want[i * FRAME:(i + 1) * FRAME], f"packet {i} was not played as sent"
        must_fail(lambda: playout.assert_share("600 ms stall", played))

    def missing():
        ok = playout.playout(stream(payloads, on_time, skip={10, 300}))
        assert (ok["missing"], ok["late"]) == (2, 0), (ok["missing"], ok["late"])
        playout.assert_share("2 missing", ok)
        bad = playout.playout(stream(payloads, on_time, skip={10, 100, 200, 300, 400}))
        print(f"    {playout.summary('5 missing', bad)}", flush=True)
        must_fail(lambda: playout.assert_share("5 missing", bad))

    def other_codec():
        try:
            playout.playout(stream(payloads, on_time, pt=9))
        except ValueError as e:
            print(f"    refused: {e}", flush=True)
            return
        raise AssertionError("payload type 9 (G.722) was played as G.711")

    check("playout: G.711 decodes to the standard values", g711)
    check("playout: a stream on time plays whole and passes the share check", whole)
    check(f"playout: a 600 ms stall, the {playout.BUFFER_MS} ms buffer drops the late packets, "
          f"the share check fails", stall)
    check("playout: missing packets count against the share", missing)
    check("playout: other payload types are refused", other_codec)
    for f in ("sent.wav", "played.wav"):
        if os.path.exists(os.path.join(tmp, f)):
            os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
