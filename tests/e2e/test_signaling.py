#!/usr/bin/python3
"""SIP signaling through the SoFW tunnel, end to end (papers §3 (2)-(3)).

Real processes only: Debian's Kamailio with sofw.so and cfg/kamailio.cfg in
`wan`, one hrac-agent per site behind a strict nftables firewall (only new
TCP to 80/443 leaves the LAN), baresip phones. Sites a and b use the SAME
private plan: both have HRAC at 192.168.1.2 and a phone at 192.168.1.10:5060.

  1. the tunnels come up; sofw.sites shows both sites up;
  2. alice (site a) and bob (site b) register through their HRACs, carol
     and dave register directly on the WAN; ul.dump shows all four;
  3. alice calls carol (LAN -> WAN), answered, alice hangs up;
  4. carol calls alice (WAN -> LAN), answered, alice hangs up this time;
  5. carol calls alice and dave calls bob at the same time: both sites'
     phones (same IP and port) are established together, then hang up;
  6. the captures on both firewalls' WAN side show nothing but TCP, and
     the one on the WAN bridge no SIP sent to a private address; the one in
     site a's LAN shows alice only HRAC's address in Via, Record-Route and
     Route, never Kamailio's own;
  7. an HRAC with a wrong secret is refused (401, auth_failures counted)
     and a phone behind it cannot register;
  8. HRAC's connections are killed (ss -K): HRAC reconnects, HRAS counts a
     new session, and alice's next registration refresh succeeds.

Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on failure.
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from calls import connect  # noqa: E402
from checks import check, finish, require_parts  # noqa: E402
from sofwnet import (Baresip, Capture, Topology, EXT_IP, HRAC_IP, HRAS_IP,  # noqa: E402
                     PHONE_IP)
from sofwparts import (Hras, Hrac, WAN_DOMAIN, site_domain)  # noqa: E402

DAVE_IP = "198.51.100.21"
HRAC_PROXY = f"sip:{HRAC_IP}:5060"
HRAS_PROXY = f"sip:{HRAS_IP}:5060"





def call(topo, caller, callee, uri, hangup_by):
    """caller dials uri, callee answers, both established, hangup_by hangs
    up, both sides see the call closed and no call is left."""
    mc, me = connect(caller, callee, uri)
    hangup_by.hangup()
    caller.wait_closed(10, since=mc)
    callee.wait_closed(10, since=me)
    caller.wait_no_calls()
    callee.wait_no_calls()


def main():
    if require_parts():
        return 1
    with Topology(deadline=280) as topo:
        topo.build_standard(sites=2, policy="strict")
        topo.add_wan_host("ext2", DAVE_IP)
        caps = {s: Capture(topo, f"{s}-fw", "wan0", name=f"fw-{s}-wan").start() for s in "ab"}
        wancap = Capture(topo, "wan", "br0", name="wan-bridge").start()
        lancap = Capture(topo, "a-lan", "br0", name="lan-a").start()

        hras = Hras(topo, sites=("a", "b")).start()
        hrac = {s: Hrac(topo, s) for s in "ab"}

        def tunnels_up():
            for h in hrac.values():
                h.start()
            topo.wait_for(lambda: hras.site_up("a") and hras.site_up("b"), 10,
                          "sofw.sites shows site-a and site-b up", logs=[hras.proc])
            st = hras.site_states()
            assert st["site-a"]["hrac"] == f"{HRAC_IP}:5060", st
            assert st["site-b"]["hrac"] == f"{HRAC_IP}:5060", st
        if not check("tunnels of both sites come up (same HRAC address 192.168.1.2)", tunnels_up):
            return finish(topo)

        alice = Baresip(topo, "a-ph1", "alice", PHONE_IP["ph1"], f"sip:alice@{site_domain('a')}",
                        password=hras.add_user(f"sip:alice@{site_domain('a')}"), outbound=HRAC_PROXY, regint=15)
        bob = Baresip(topo, "b-ph1", "bob", PHONE_IP["ph1"], f"sip:bob@{site_domain('b')}",
                      password=hras.add_user(f"sip:bob@{site_domain('b')}"), outbound=HRAC_PROXY)
        carol = Baresip(topo, "ext", "carol", EXT_IP, f"sip:carol@{WAN_DOMAIN}", password=hras.add_user(f"sip:carol@{WAN_DOMAIN}"), outbound=HRAS_PROXY)
        dave = Baresip(topo, "ext2", "dave", DAVE_IP, f"sip:dave@{WAN_DOMAIN}", password=hras.add_user(f"sip:dave@{WAN_DOMAIN}"), outbound=HRAS_PROXY)
        phones = [alice, bob, carol, dave]

        def register():
            for p in phones:
                p.start()
            for p in phones:
                p.wait_registered(15)
            aors = hras.kam.ul_dump()
            for aor in (f"alice@{site_domain('a')}", f"bob@{site_domain('b')}",
                        f"carol@{WAN_DOMAIN}", f"dave@{WAN_DOMAIN}"):
                assert aor in aors, f"{aor} not in ul.dump: {sorted(aors)}"
            a, b = hras.contact(f"alice@{site_domain('a')}"), hras.contact(f"bob@{site_domain('b')}")
            # Both phones have the same LAN address; Kamailio reaches each
            # through its own site's loopback endpoint.
            assert "192.168.1.10:5060" in a["Address"] and "192.168.1.10:5060" in b["Address"], (a, b)
            assert a["Received"] != b["Received"], (a, b)
            assert a["Received"].startswith("sip:127.1.0.") and b["Received"].startswith("sip:127.1.0."), (a, b)
        if not check("phones register through HRAC (site a, site b) and directly (WAN)", register):
            return finish(topo)

        check("call LAN -> WAN (alice -> carol), caller hangs up",
              lambda: call(topo, alice, carol, f"sip:carol@{WAN_DOMAIN}", hangup_by=alice))
        check("call WAN -> LAN (carol -> alice), callee hangs up",
              lambda: call(topo, carol, alice, f"sip:alice@{site_domain('a')}", hangup_by=alice))

        def concurrent():
            m = {p.name: p.mark() for p in phones}
            carol.dial(f"sip:alice@{site_domain('a')}")
            dave.dial(f"sip:bob@{site_domain('b')}")
            alice.wait_incoming(10, since=m["alice"])
            bob.wait_incoming(10, since=m["bob"])
            alice.answer()
            bob.answer()
            for p in phones:
                p.wait_established(10, since=m[p.name])
            assert alice.active_calls() == 1 and bob.active_calls() == 1
            carol.hangup()
            dave.hangup()
            for p in phones:
                p.wait_closed(10, since=m[p.name])
                p.wait_no_calls()
        check("both sites' phones (same IP:port) called at the same time", concurrent)

        def only_tcp():
            for s in "ab":
                caps[s].stop()
                bad = caps[s].non_tcp_packets()
                assert not bad, f"non-TCP packets on {s}-fw WAN side: {bad[:5]}"
                assert caps[s].count("tcp.port == 80") > 0, f"no tunnel traffic seen on {s}-fw"
            wancap.stop()
            leaks = wancap.sip_to_private()
            assert not leaks, f"SIP to private addresses on the WAN: {leaks[:5]}"
        check("firewall WAN captures: only TCP left the LANs, no SIP to private addresses", only_tcp)

        def phones_see_only_hrac():
            lancap.stop()
            phone = PHONE_IP["ph1"]
            to_phone = lancap.fields(f"sip && ip.dst=={phone}",
                                     ["ip.src", "sip.Method", "sip.Status-Code", "sip.Via", "sip.Record-Route"])
            from_phone = lancap.fields(f"sip.Method && ip.src=={phone}", ["ip.dst", "sip.Method", "sip.Route"])
            assert any(p["sip.Method"] == "INVITE" for p in to_phone), "no INVITE reached alice"
            assert any(p["sip.Method"] == "BYE" for p in from_phone), "alice sent no BYE"
            for p in to_phone:
                assert p["ip.src"] == HRAC_IP, p
                text = p["sip.Via"] + p["sip.Record-Route"]
                assert "127.0.0.1" not in text and ":5062" not in text, f"Kamailio's own socket shown to alice: {p}"
                if p["sip.Method"]:  # a request: alice answers the top Via
                    assert p["sip.Via"].split("|")[0].split(";")[0].endswith(f"{HRAC_IP}:5060"), p
                if p["sip.Record-Route"]:  # HRAC is the hop next to alice
                    assert f"{HRAC_IP}:5060" in p["sip.Record-Route"], p
            for p in from_phone:
                assert p["ip.dst"] == HRAC_IP, p
                if p["sip.Method"] == "BYE":  # in-dialog: routed via HRAC first
                    assert p["sip.Route"].split("|")[0].find(f"{HRAC_IP}:5060") >= 0, p
        check("alice only ever sees HRAC as her SIP peer (Via, Record-Route, Route)", phones_see_only_hrac)

        def wrong_secret():
            failures = hras.stats()["auth_failures"]
            hrac["b"].stop()
            topo.wait_for(lambda: not hras.site_up("b"), 10, "site-b down after its HRAC stopped")
            bad = Hrac(topo, "b", secret="not-the-secret-of-site-b-000", name="hrac-b-wrong").start(wait_up=False)
            topo.wait_log(bad.proc, r"refused site 'site-b': 401 bad_signature", 10)
            assert hras.stats()["auth_failures"] > failures
            assert not hras.site_up("b")
            erin = Baresip(topo, "b-ph2", "erin", PHONE_IP["ph2"], f"sip:erin@{site_domain('b')}",
                           password=hras.add_user(f"sip:erin@{site_domain('b')}"), outbound=HRAC_PROXY)
            erin.start()
            assert not erin.registers_within(6), "erin registered through a refused HRAC"
            assert f"erin@{site_domain('b')}" not in hras.kam.ul_dump()
        check("HRAC with a wrong secret is refused; its phone cannot register", wrong_secret)

        def reconnect():
            aor = f"alice@{site_domain('a')}"
            cseq0 = int(hras.contact(aor)["CSeq"])
            opened0 = hras.stats()["sessions_opened"]
            ups0 = hrac["a"].ups()
            topo.run("a-lan", ["ss", "-K", "dst", HRAS_IP, "dport", "=", ":80"])
            hrac["a"].wait_up(count=ups0 + 1, timeout=15)
            topo.wait_for(lambda: hras.site_up("a") and hras.stats()["sessions_opened"] > opened0, 10,
                          "HRAS sees site-a's new session")
            topo.wait_for(lambda: int(hras.contact(aor)["CSeq"]) > cseq0, 30,
                          "alice's next registration refresh reaches the registrar", logs=[alice.proc])
            assert alice.is_registered()
        check("HRAC's connections killed: it reconnects, the next REGISTER refresh succeeds", reconnect)

        return finish(topo)



if __name__ == "__main__":
    sys.exit(main())
