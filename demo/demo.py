#!/usr/bin/python3
"""The SoFW demo: a company LAN behind a strict firewall (only new TCP to
80/443 may leave), an HRAC in the LAN, HRAS (Kamailio + sofw.so) and an
outside phone on the WAN. Phones register, call out and get called, and a
short report says what happened. Everything runs in network namespaces of
its own and is removed at the end; logs stay in the printed directory."""

import os
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from sofwnet import Baresip, Capture, Topology, EXT_IP, HRAC_IP, HRAS_IP, PHONE_IP  # noqa: E402
from sofwparts import Hras, Hrac, WAN_DOMAIN, site_domain  # noqa: E402


def call(caller, callee, uri, seconds=2.0):
    mc, me = caller.mark(), callee.mark()
    t0 = time.monotonic()
    caller.dial(uri)
    callee.wait_incoming(10, since=me)
    callee.answer()
    caller.wait_established(10, since=mc)
    setup = time.monotonic() - t0
    callee.wait_established(10, since=me)
    time.sleep(seconds)  # a short conversation, as a person would have
    caller.hangup()
    caller.wait_closed(10, since=mc)
    callee.wait_closed(10, since=me)
    return setup


def main():
    report = []
    with Topology(keep_rundir=True) as topo:
        topo.build_standard(sites=1, policy="strict")
        cap = Capture(topo, "a-fw", "wan0", name="firewall-wan").start()
        hras = Hras(topo, sites=("a",)).start()
        hrac = Hrac(topo, "a").start()
        alice = Baresip(topo, "a-ph1", "alice", PHONE_IP["ph1"], f"sip:alice@{site_domain('a')}",
                        outbound=f"sip:{HRAC_IP}:5060")
        carol = Baresip(topo, "ext", "carol", EXT_IP, f"sip:carol@{WAN_DOMAIN}",
                        outbound=f"sip:{HRAS_IP}:5060")
        for p in (alice, carol):
            p.start()
            p.wait_registered(15)
        report.append(("registrations (kamcmd ul.dump)", ", ".join(sorted(hras.kam.ul_dump()))))
        site = hras.site_states()["site-a"]
        report.append(("tunnel of site-a", f"{site['state']}, HRAC {site['hrac']} seen from {site['peer']}"))
        out = call(alice, carol, f"sip:carol@{WAN_DOMAIN}")
        report.append(("call out  alice (LAN) -> carol (WAN)", f"answered in {out * 1000:.0f} ms, hung up"))
        inc = call(carol, alice, f"sip:alice@{site_domain('a')}")
        report.append(("call in   carol (WAN) -> alice (LAN)", f"answered in {inc * 1000:.0f} ms, hung up"))
        cap.stop()
        non_tcp = cap.non_tcp_packets()
        conns = len({p["tcp.stream"] for p in cap.fields("tcp.flags.syn==1 && tcp.flags.ack==0", ["tcp.stream"])})
        stats = hras.stats()
        report.append(("tunnel frames up/down", f"{stats['tunnel_frames_up']}/{stats['tunnel_frames_down']}"
                       f" ({stats['tunnel_bytes_up']}/{stats['tunnel_bytes_down']} bytes)"))
        report.append(("TCP connections opened through the firewall", str(conns)))
        report.append(("only TCP crossed the firewall", "yes" if not non_tcp else f"no ({len(non_tcp)} packets)"))
        print("\nSoFW demo report")
        print("================")
        for k, v in report:
            print(f"{k:<46} {v}")
        print(f"\nlogs and captures: {topo.rundir}")
        return 0 if not non_tcp else 1


if __name__ == "__main__":
    sys.exit(main())
