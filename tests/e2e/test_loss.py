#!/usr/bin/python3
"""A call through the SoFW tunnel over a lossy WAN link.

The site firewall drops 2 % of the packets on its WAN link, picked at
random, in both directions (nftables `numgen random`, wan_loss.py; the
kernel has no netem), from before HRAC connects until the end. Two cases,
each its own topology:

  A. direct: strict firewall, HRAC's tunnel goes straight to HRAS;
  B. through the company squid, forward-only (CONNECT refused), on a
     firewall that forwards nothing (the demo's set-up).

In each, alice (LAN, speech) calls carol (WAN, tone) and:

  1. each side heard the other: the phones' recordings compared by content
     (audio.py);
  2. the drops really happened: each direction's drop counter is above
     zero and, within binomial chance, 2 % of what was offered to the link;
  3. only TCP crossed the firewall's WAN side;
  4. how late RTP reached each phone against its even 20 ms schedule, and
     how much of that the path added, is measured from captures on the
     phones' own interfaces and printed (rtp_lateness.py), not judged;
  5. each side would have heard the other as a phone plays: from the RTP
     each phone received, the audio a fixed 150 ms playout buffer plays is
     rebuilt (playout.py: a packet later than its play time is dropped
     and its 20 ms are silence, as is a packet that never came), decoded
     (G.711, the payload type the call used) and compared by content with
     the same functions and thresholds as check 1;
  6. per direction, at most 0.5 % of the packets are later than 150 ms
     or missing, the product's target at 2 % random loss (the share later
     than 60 ms is printed too). Lateness is against the stream's own RTP
     timestamps and its earliest packet, not the test's clock.

Why check 5 beside check 1: baresip 1.0.0 takes one frame out of its
jitter buffer per packet that arrives, decodes it and records it
(sndfile), so its recording is the stream's frames back to back however
late they came. Lost frames or a wrong stream fail check 1; packets that
are merely late (a TCP stall followed by a burst) do not change the
recording at all. A phone playing on a clock loses them, and checks 5 and
6 judge that. test_playout.py shows on made-up packets that the rebuild
drops a 600 ms stall and that check 6 then fails.

The links here add no delay (the kernel has neither netem nor fq), so a
round trip takes well under a millisecond: TCP repairs a lost segment
(SACK, RACK) by the next packet, 20 ms later, and only losses that end in a
retransmission timeout (200 ms and more, e.g. a lost ACK while in recovery)
show as lateness. On a real WAN each repair takes a round trip or more.

Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on failure.
"""

import math
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio  # noqa: E402
import playout  # noqa: E402
import proxies  # noqa: E402
import rtp_lateness  # noqa: E402
from checks import check, finish, require_parts  # noqa: E402
from calls import assert_conversation, rat, talk  # noqa: E402
from sofwnet import Baresip, Capture, Topology, EXT_IP, HRAC_IP, HRAS_IP, PHONE_IP  # noqa: E402
from sofwparts import Hras, Hrac, WAN_DOMAIN, site_domain  # noqa: E402
from wan_loss import WanLoss  # noqa: E402

LOSS_PERCENT = 2
SPEECH_S = 20           # ~1000 RTP packets each way: enough for the shares
# The drop count is binomial; a window of 4.5 standard deviations around
# the expected count fails a working set-up about once in 150 000 runs,
# while a rule that does not drop, or drops far more or less, stays out.
DROP_SIGMAS = 4.5
MIN_OFFERED = 1000      # fewer packets than this say too little about 2 %


def check_drops(counters, percent):
    p = percent / 100
    for direction, (seen, dropped) in counters.items():
        expect = seen * p
        tol = DROP_SIGMAS * math.sqrt(seen * p * (1 - p))
        print(f"    WAN link {direction}: {dropped} of {seen} packets dropped "
              f"({100 * dropped / max(seen, 1):.2f} %, expected {expect:.0f} +- {tol:.0f})", flush=True)
        assert seen >= MIN_OFFERED, f"{direction}: only {seen} packets offered to the WAN link"
        assert dropped > 0, f"{direction}: nothing was dropped"
        assert abs(dropped - expect) <= tol, \
            f"{direction}: {dropped} of {seen} dropped, not about {percent} %"


def lossy_call(name, policy, via_squid):
    with Topology(deadline=150) as topo:
        topo.build_standard(sites=1, policy=policy)
        loss = WanLoss(topo, "a", LOSS_PERCENT).start()
        speech = audio.make_speech_wav(topo.path("speech.wav"),
                                       "SoFW carries voice through a lossy company link. One two three four five.",
                                       SPEECH_S)
        tone = audio.make_tone_wav(topo.path("tone697.wav"), 697, SPEECH_S + 30)
        fwcap = Capture(topo, "a-fw", "wan0", name="fw-wan").start()
        alice_cap = Capture(topo, "a-ph1", "eth0", name="alice", bpf="udp").start()
        carol_cap = Capture(topo, "ext", "eth0", name="carol", bpf="udp").start()

        hras = Hras(topo, sites=("a",)).start()
        extra = {}
        if via_squid:
            extra["proxy"] = proxies.Squid(topo, "a-fw", allow_connect=False).start().url
        Hrac(topo, "a", extra=extra).start()
        alice = Baresip(topo, "a-ph1", "alice", PHONE_IP["ph1"], f"sip:alice@{site_domain('a')}",
                        password=hras.add_user(f"sip:alice@{site_domain('a')}"),
                        outbound=f"sip:{HRAC_IP}:5060", audio_wav=speech)
        carol = Baresip(topo, "ext", "carol", EXT_IP, f"sip:carol@{WAN_DOMAIN}",
                        password=hras.add_user(f"sip:carol@{WAN_DOMAIN}"),
                        outbound=f"sip:{HRAS_IP}:5060", audio_wav=tone)
        for p in (alice, carol):
            p.start()
        for p in (alice, carol):
            p.wait_registered(15)
        rows = []

        def call():
            talk(topo, alice, carol, f"sip:carol@{WAN_DOMAIN}", hras, timeout=SPEECH_S + 15,
                 on_established=lambda: rows.extend(r for r in rat(hras) if r.get("bypass") == "0"))
            assert rows, "the call's media was not relayed through the tunnel"
            assert_conversation(alice, speech, "speech", carol, tone, "tone")
        results = []
        results.append(check(f"{name}: {LOSS_PERCENT} % loss on the WAN link, carol hears alice's speech, "
              f"alice hears carol's tone", call))

        for c in (fwcap, alice_cap, carol_cap):
            c.stop()
        results.append(check(f"{name}: the firewall dropped about {LOSS_PERCENT} % of the WAN link's packets each way",
              lambda: check_drops(loss.counters(), LOSS_PERCENT)))

        def only_tcp():
            resent = fwcap.count("tcp.analysis.retransmission || tcp.analysis.fast_retransmission")
            print(f"    TCP retransmissions seen on the firewall's WAN side: {resent}", flush=True)
            bad = fwcap.non_tcp_packets()
            assert not bad, f"non-TCP packets on the firewall's WAN side: {bad[:5]}"
        results.append(check(f"{name}: only TCP crossed the firewall", only_tcp))

        def lateness():
            assert rows, "no relayed call to measure"
            p, q = int(rows[0]["hrac_port"]), int(rows[0]["hras_port"])
            a, c = PHONE_IP["ph1"], EXT_IP
            out_line, out = rtp_lateness.report(
                "LAN->WAN (alice -> carol)",
                alice_cap, f"ip.src=={a} && udp.dstport=={p}", p,
                carol_cap, f"ip.dst=={c} && udp.srcport=={q}", q)
            in_line, inb = rtp_lateness.report(
                "WAN->LAN (carol -> alice)",
                carol_cap, f"ip.src=={c} && udp.dstport=={q}", q,
                alice_cap, f"ip.dst=={a} && udp.srcport=={p}", p)
            print(f"    {out_line}\n    {in_line}", flush=True)
            for d, f in (("LAN->WAN", out), ("WAN->LAN", inb)):
                assert f["received"] > 100, f"{d}: only {f['received']} RTP packets captured at the phone"
        results.append(check(f"{name}: RTP lateness at the phones measured (printed, not judged)", lateness))

        played = {}

        def heard_through_playout():
            assert rows, "no relayed call to rebuild"
            p, q = int(rows[0]["hrac_port"]), int(rows[0]["hras_port"])
            a, c = PHONE_IP["ph1"], EXT_IP
            failures = []
            for d, cap, flt, port, sent, kind, who in (
                    ("LAN->WAN (alice -> carol)", carol_cap, f"ip.dst=={c} && udp.srcport=={q}", q,
                     speech, "speech", "carol"),
                    ("WAN->LAN (carol -> alice)", alice_cap, f"ip.dst=={a} && udp.srcport=={p}", p,
                     tone, "tone", "alice")):
                played[d] = playout.playout(playout.stream_packets(cap, flt, port))
                wav = playout.write_wav(topo.path(f"playout-{who}.wav"), played[d]["samples"])
                r = audio.compare(sent, wav, kind)
                print(f"    {who} would play ({playout.BUFFER_MS} ms buffer): {r['summary']}", flush=True)
                if not r["ok"]:
                    failures.append(f"{who}: {r['summary']}")
            assert not failures, "; ".join(failures)
        results.append(check(f"{name}: played through a {playout.BUFFER_MS} ms playout buffer, carol hears "
                             f"alice's speech and alice hears carol's tone", heard_through_playout))

        def few_late():
            assert len(played) == 2, "no rebuilt playout to judge"
            for d, pl in played.items():
                print(f"    {playout.summary(d, pl)}", flush=True)
            failures = []
            for d, pl in played.items():
                try:
                    playout.assert_share(d, pl)
                except AssertionError as e:
                    failures.append(str(e))
            assert not failures, "; ".join(failures)
        results.append(check(f"{name}: at most {100 * playout.MAX_LATE_OR_MISSING:.1f} % of RTP per direction "
                             f"later than {playout.BUFFER_MS} ms or missing", few_late))
        if not all(results):
            topo.failed = True      # keep the run directory


def main():
    if require_parts():
        return 1
    lossy_call("direct", "strict", via_squid=False)
    lossy_call("squid forward-only", "proxy", via_squid=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
