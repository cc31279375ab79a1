#!/usr/bin/python3
"""The SoFW demo. A company LAN with two phones and HRAC behind a firewall
that forwards nothing at all: the only way out is the company's squid
proxy. On the WAN: Kamailio with sofw.so (HRAS) and an outside phone.
Phones have accounts (kamctl add, digest authentication), register, call
out, get called and call each other with real audio
(speech one way, a tone the other); a short report says what happened.
Everything runs in network namespaces of its own and is removed at the end;
logs and captures stay in the directory the report names."""

import os
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import audio  # noqa: E402
import proxies  # noqa: E402
from calls import added_latency, rat, talk  # noqa: E402
from percentiles import percentile  # noqa: E402
from sofwnet import Baresip, Capture, Topology, EXT_IP, HRAC_IP, HRAS_IP, PHONE_IP  # noqa: E402
from sofwparts import Hras, Hrac, WAN_DOMAIN, site_domain  # noqa: E402

SPEECH_S = 6


def verdict(sent, phone, kind):
    r = audio.compare(sent, phone.recordings("dec")[-1], kind)
    return r["ok"], r["summary"]


def main():
    report, ok_all = [], True
    with Topology(keep_rundir=True) as topo:
        topo.build_standard(sites=1, policy="proxy")
        speech = audio.make_speech_wav(topo.path("speech.wav"),
                                       "Hello from the office. SoFW carries this call through the company proxy.",
                                       SPEECH_S)
        tone_carol = audio.make_tone_wav(topo.path("tone-697.wav"), 697, 30)
        tone_bob = audio.make_tone_wav(topo.path("tone-1209.wav"), 1209, 30)
        fwcap = Capture(topo, "a-fw", "wan0", name="firewall-wan").start()
        lancap = Capture(topo, "a-lan", "br0", name="lan", bpf="udp").start()
        wancap = Capture(topo, "wan", "br0", name="wan", bpf="udp").start()
        squid = proxies.Squid(topo, "a-fw", allow_connect=False).start()
        hras = Hras(topo, sites=("a",)).start()
        Hrac(topo, "a", extra={"proxy": squid.url}).start()
        alice = Baresip(topo, "a-ph1", "alice", PHONE_IP["ph1"], f"sip:alice@{site_domain('a')}",
                        password=hras.add_user(f"sip:alice@{site_domain('a')}"), outbound=f"sip:{HRAC_IP}:5060", audio_wav=speech)
        bob = Baresip(topo, "a-ph2", "bob", PHONE_IP["ph2"], f"sip:bob@{site_domain('a')}",
                      password=hras.add_user(f"sip:bob@{site_domain('a')}"), outbound=f"sip:{HRAC_IP}:5060", audio_wav=tone_bob)
        carol = Baresip(topo, "ext", "carol", EXT_IP, f"sip:carol@{WAN_DOMAIN}",
                        password=hras.add_user(f"sip:carol@{WAN_DOMAIN}"), outbound=f"sip:{HRAS_IP}:5060", audio_wav=tone_carol)
        phones = (alice, bob, carol)
        for p in phones:
            p.start()
        for p in phones:
            p.wait_registered(15)
        report.append(("accounts (kamctl add; digest auth)", ", ".join(sorted(hras.passwords))))
        report.append(("registrations", ", ".join(sorted(hras.kam.ul_dump()))))
        site = hras.site_states()["site-a"]
        report.append(("tunnel of site-a", f"{site['state']} ({site.get('mode', 'stream')}) via squid, "
                                           f"HRAC {site['hrac']}"))

        # alice speaks in every call; the other phone plays its tone
        calls = [("out  alice (LAN) -> carol (WAN)", alice, carol, f"sip:carol@{WAN_DOMAIN}", carol, tone_carol),
                 ("in   carol (WAN) -> alice (LAN)", carol, alice, f"sip:alice@{site_domain('a')}", carol, tone_carol),
                 ("LAN  alice -> bob (same LAN)", alice, bob, f"sip:bob@{site_domain('a')}", bob, tone_bob)]
        relayed_rows = []
        for title, caller, callee, uri, other, tone in calls:
            rows = []
            t0 = time.monotonic()
            talk(topo, caller, callee, uri, hras, on_established=lambda: rows.extend(rat(hras)))
            ok1, _ = verdict(speech, other, "speech")
            ok2, _ = verdict(tone, alice, "tone")
            ok_all &= ok1 and ok2
            report.append((f"call {title}", f"audio {'PASS' if ok1 and ok2 else 'FAIL'} (speech "
                                            f"{'ok' if ok1 else 'BAD'}, tone {'ok' if ok2 else 'BAD'}), "
                                            f"{time.monotonic() - t0:.1f} s"))
            relayed = [r for r in rows if r.get("bypass") == "0"]
            relayed_rows += relayed
            report.append(("     media path", "relayed through the tunnel" if relayed else
                           "direct inside the LAN (no media in the tunnel)"))
        for c in (fwcap, lancap, wancap):
            c.stop()
        lat = []
        rtp_packets = 0
        for row in relayed_rows:
            d = added_latency(lancap, wancap, row)
            lat += d
            rtp_packets += len(d)
        if lat:
            report.append(("RTP packets relayed (both ways, matched)", str(rtp_packets)))
            report.append(("added latency through the relay", f"p50 {percentile(lat, 50):.2f} ms, "
                                                             f"p99 {percentile(lat, 99):.2f} ms"))
        conns = len({p["tcp.stream"] for p in fwcap.fields("tcp.flags.syn==1 && tcp.flags.ack==0", ["tcp.stream"])})
        total = sum(int(p["frame.len"]) for p in fwcap.fields("frame", ["frame.len"]))
        report.append(("firewall WAN side", f"{total} bytes, {conns} TCP connections (from squid)"))
        non_tcp = fwcap.non_tcp_packets()
        report.append(("only TCP crossed the firewall", "yes" if not non_tcp else f"no ({len(non_tcp)} packets)"))
        ok_all &= not non_tcp
        print("\nSoFW demo report")
        print("================")
        for k, v in report:
            print(f"{k:<42} {v}")
        print(f"\nlogs and captures: {topo.rundir}")
        return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
