#!/usr/bin/python3
"""Attacks on HRAS's tunnel side, end to end, and what must still hold.

Real processes: Kamailio + sofw.so (HRAS) in `wan`, two sites a and b
behind strict firewalls, baresip phones (alice in site a, carol on the
WAN). HRAS runs with site_max_phones 300 and tunnel_header_timeout 3.

  a. A rogue HRAC holding site a's real secret (a compromised LAN box, on
     a WAN host) opens a real streaming session and sends RA headers naming
     port 0, 0.0.0.0, 255.255.255.255 and 127.0.0.1, frames of the largest
     payload, a flood of keep-alives and SIP, and REGISTERs from 350 LAN
     addresses (beyond site_max_phones); then frames with a truncated RA
     header and a bad version, each on a session of its own. HRAS keeps
     running (the same Kamailio PIDs), the counters moved (ra_invalid,
     site_phones_refused, frame_errors), site b's tunnel is untouched (the
     same session), and sofw.phones lists the 300 phones in pages (more
     than one ctl reply could carry; a page asked for all of them still
     ends in time and says where to go on). Then the real HRAC of site a comes
     back and a call carries audio both ways, checked by content.
  b. An Internet host opens 2,000 connections to the tunnel port and
     trickles header bytes on them, reopening any that HRAS closes, while
     site a's HRAC is restarted: it is back in streaming mode (not
     polling) within 15 s, the refusals are counted per address and the
     slow connections cut (tunnel_header_timeout); a call carries audio
     both ways, checked by content; site b's session is still the same.

Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on failure.
"""

import errno
import os
import re
import resource
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio  # noqa: E402
from checks import check, finish, require_parts  # noqa: E402
from calls import assert_conversation, talk  # noqa: E402
from sofwnet import Baresip, Topology, EXT_IP, HRAC_IP, HRAS_IP, PHONE_IP, socket_in_netns  # noqa: E402
from sofwparts import Hras, Hrac, WAN_DOMAIN, kamcmd_pages, parse_kamcmd, site_domain, site_secret  # noqa: E402
from rogue_hrac import CONTROL, KEEPALIVE, MEDIA, SIP, RogueHrac, frame, ra_header  # noqa: E402

ROGUE_IP = "198.51.100.40"
ATTACKER_IP = "198.51.100.66"
MAX_PHONES = 300
FLOOD_PHONES = 350
SLOW_CONNECTIONS = 2000
HEADER_TIMEOUT_S = 3
SPEECH_S = 5


def register(user, phone):
    """A REGISTER from a LAN phone through HRAC (as HRAC would hand it up)."""
    host = site_domain("a")
    return (f"REGISTER sip:{host} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {phone};rport;branch=z9hG4bK-{user}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:{user}@{host}>;tag={user}\r\nTo: <sip:{user}@{host}>\r\n"
            f"Call-ID: reg-{user}\r\nCSeq: 1 REGISTER\r\nContact: <sip:{user}@{phone}>\r\n"
            f"Expires: 60\r\nContent-Length: 0\r\n\r\n").encode()


def options(n):
    return (f"OPTIONS sip:{HRAC_IP} SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.77:5060;branch=z9hG4bKo{n}\r\n"
            f"Call-ID: o{n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()


def kamailio_pids(hras):
    """The Kamailio main process and its children."""
    main = hras.proc.pid
    kids = open(f"/proc/{main}/task/{main}/children").read().split()
    return {main, *map(int, kids)}


class SlowClients:
    """Up to `count` connections from one WAN host to the tunnel port, each
    sending a request line and then one header line a second, never the
    end of the headers; whatever HRAS closes is reopened (at most `churn`
    a second)."""

    def __init__(self, topo, ns, target, count, churn=200):
        self.netns, self.target, self.count, self.churn = topo.ns(ns), target, count, churn
        self.opened = self.closed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _open(self):
        s = socket_in_netns(self.netns)
        s.setblocking(False)
        s.connect_ex(self.target)
        self.opened += 1
        return [s, 0]

    def _run(self):
        socks = [self._open() for _ in range(self.count)]
        while not self.stop.wait(0.2):
            budget = self.churn // 5
            for i, entry in enumerate(socks):
                if entry is None:
                    if budget > 0:
                        budget -= 1
                        socks[i] = self._open()
                    continue
                s, sent = entry
                alive = True
                try:
                    if s.recv(4096) == b"":
                        alive = False
                except BlockingIOError:
                    pass
                except OSError:
                    alive = False
                if alive:
                    try:
                        s.send(b"GET /sofw/v1/down HTTP/1.1\r\n" if sent == 0 else b"X-Slow: %d\r\n" % sent)
                        entry[1] += 1
                    except BlockingIOError:
                        pass
                    except OSError as e:
                        alive = e.errno in (errno.ENOTCONN, errno.EALREADY)
                if not alive:
                    s.close()
                    self.closed += 1
                    socks[i] = None
        for entry in socks:
            if entry:
                entry[0].close()

    def end(self):
        self.stop.set()
        self.thread.join(10)


def main():
    if require_parts():
        return 1
    # 2,000 client sockets in this process (and Kamailio inherits the limit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    assert hard >= SLOW_CONNECTIONS + 512, f"RLIMIT_NOFILE hard limit {hard} is below {SLOW_CONNECTIONS + 512}"
    with Topology(deadline=420) as topo:
        topo.build_standard(sites=2, policy="strict")
        topo.add_wan_host("rogue", ROGUE_IP)
        topo.add_wan_host("attacker", ATTACKER_IP)
        speech = audio.make_speech_wav(topo.path("speech.wav"), "Nobody else gets through. One two three.", SPEECH_S)
        tone = audio.make_tone_wav(topo.path("tone.wav"), 697, 30)
        hras = Hras(topo, sites=("a", "b"),
                    extra_cfg=(f'modparam("sofw", "site_max_phones", {MAX_PHONES})\n'
                               f'modparam("sofw", "tunnel_header_timeout", {HEADER_TIMEOUT_S})\n')).start()
        hrac_b = Hrac(topo, "b").start()
        topo.wait_for(lambda: hras.site_up("b"), 5, "sofw.sites: site-b up")
        # alice is registered (her loopback endpoint exists) before the
        # rogue comes: a phone that has its endpoint keeps it however full
        # the rogue makes her site.
        hrac_a = Hrac(topo, "a").start()
        # alice re-registers every 10 s: a restarted HRAC relays SIP to her
        # only once she registered through it (its LAN policy)
        alice = Baresip(topo, "a-ph1", "alice", PHONE_IP["ph1"], f"sip:alice@{site_domain('a')}",
                        password=hras.add_user(f"sip:alice@{site_domain('a')}"),
                        outbound=f"sip:{HRAC_IP}:5060", audio_wav=speech, regint=10)
        carol = Baresip(topo, "ext", "carol", EXT_IP, f"sip:carol@{WAN_DOMAIN}",
                        password=hras.add_user(f"sip:carol@{WAN_DOMAIN}"),
                        outbound=f"sip:{HRAS_IP}:5060", audio_wav=tone)
        for p in (alice, carol):
            p.start()
        for p in (alice, carol):
            p.wait_registered(15)
        hrac_a.stop()
        topo.wait_for(lambda: not hras.site_up("a"), 10, "site-a down while its HRAC is away")
        state = {"pids": kamailio_pids(hras), "b_session": hras.site_states()["site-b"]["session"],
                 "stats0": hras.stats()}
        assert state["b_session"], hras.site_states()

        def rogue(**kw):
            r = RogueHrac(lambda: socket_in_netns(topo.ns("rogue")), HRAS_IP, "site-a", site_secret("a"), **kw)
            status = r.open()
            assert status == "HTTP/1.1 200 OK", f"rogue HRAC's GET answered {status!r}"
            topo.wait_for(lambda: hras.site_states()["site-a"]["session"] == r.session, 5,
                          "site-a up with the rogue's session")
            return r

        def grew(before, key, at_least=1):
            return hras.stats()[key] >= before[key] + at_least

        def still_standing():
            assert hras.proc.alive(), "Kamailio died"
            assert kamailio_pids(hras) == state["pids"], "Kamailio's processes changed"
            b = hras.site_states()["site-b"]
            assert b["state"] == "up" and b["session"] == state["b_session"], f"site-b disturbed: {b}"
            assert hrac_b.ups() == 1, "site-b's HRAC reconnected"

        # -- a. a rogue HRAC with site a's secret ------------------------------

        def boundary_ra_values():
            r = state["rogue"] = rogue()
            s0 = hras.stats()
            bad = [("192.168.1.10", 0), ("0.0.0.0", 5060), ("255.255.255.255", 5060), ("127.0.0.1", 5060),
                   ("169.254.1.1", 5060), ("224.0.0.1", 5060)]
            for ip, port in bad:
                assert r.send(frame(SIP, options(port), ra_header(ip, port)),
                              frame(MEDIA, b"\x80" * 172, ra_header(ip, port)))
            # The largest payloads a frame can carry: garbage SIP, media of no call.
            assert r.send(frame(SIP, b"x" * 65535, ra_header("192.168.1.10", 5060)),
                          frame(MEDIA, b"\x80" * 65535, ra_header("192.168.1.10", 4000)),
                          frame(CONTROL, b"\xff" * 65535))
            topo.wait_for(lambda: grew(s0, "ra_invalid", 2 * len(bad)), 5, "ra_invalid counted every bad RA")
            topo.wait_for(lambda: grew(s0, "sip_malformed"), 5, "the oversized garbage SIP counted")
            assert hras.site_states()["site-a"]["session"] == r.session, "valid frames dropped the session"
            still_standing()
        check("a: RA headers naming port 0, 0.0.0.0, broadcast, loopback, link-local, multicast are dropped and "
              "counted; largest payloads handled", boundary_ra_values)

        def phone_flood():
            r = state["rogue"]
            s0 = hras.stats()
            for first in range(0, FLOOD_PHONES, 50):
                assert r.send(*[frame(SIP, register(f"flood{i}", f"192.168.2.{i % 250 + 1}:{5060 + i // 250}"),
                                      ra_header(f"192.168.2.{i % 250 + 1}", 5060 + i // 250))
                                for i in range(first, min(first + 50, FLOOD_PHONES))])
            # and a flood of frames: keep-alives and SIP from one phone
            for _ in range(20):
                assert r.send(*[frame(KEEPALIVE) for _ in range(150)],
                              *[frame(SIP, options(n), ra_header("192.168.2.1", 5060)) for n in range(100)])
            topo.wait_for(lambda: grew(s0, "site_phones_refused", FLOOD_PHONES - MAX_PHONES), 10,
                          "site_phones_refused counted the phones beyond site_max_phones")
            topo.wait_for(lambda: int(hras.site_states()["site-a"]["phones"]) == MAX_PHONES, 5,
                          f"site-a holds {MAX_PHONES} phones")
            topo.wait_for(lambda: grew(s0, "keepalives_received", 3000), 10, "the keep-alive flood arrived")
            still_standing()
        check(f"a: {FLOOD_PHONES} phones of the rogue site: {MAX_PHONES} get endpoints, the rest are refused "
              "and counted; a frame flood is absorbed", phone_flood)

        def phones_in_pages():
            first = [v for v in parse_kamcmd(hras.kamcmd("sofw.phones")) if isinstance(v, dict)]
            assert first and first[0]["total"] == str(MAX_PHONES), first[:1]
            assert first[0]["offset"] == "0" and first[0]["next"] == "100", {k: first[0][k] for k in ("offset", "next")}
            assert len(first[0]["rows"]) == 100, len(first[0]["rows"])
            rows, heads = kamcmd_pages(hras, "sofw.phones", "site-a")
            assert len(heads) == 3 and heads[-1]["next"] == "-1", heads
            assert len(rows) == MAX_PHONES and len({r["lan"] for r in rows}) == MAX_PHONES, len(rows)
            assert all(r["site"] == "site-a" for r in rows)
            b_rows, b_heads = kamcmd_pages(hras, "sofw.phones", "site-b")
            assert b_rows == [] and b_heads[0]["total"] == "0", b_heads
            page = [v for v in parse_kamcmd(hras.kamcmd("sofw.phones", "site-a", "150", "20"))
                    if isinstance(v, dict)][0]
            assert page["next"] == "170" and len(page["rows"]) == 20, {k: page[k] for k in ("next",)}
            # Asked for everything at once, a page still ends before ctl's
            # reply buffer would overflow, and says where to go on.
            big = [v for v in parse_kamcmd(hras.kamcmd("sofw.phones", "site-a", "0", "10000"))
                   if isinstance(v, dict)][0]
            shown = len(big["rows"])
            assert 100 < shown < MAX_PHONES and big["next"] == str(shown), (shown, big["next"])
            assert hras.kam.kamcmd("sofw.phones", "site-a", "-1", check=False) is None, "negative offset accepted"
            sites = [v for v in parse_kamcmd(hras.kamcmd("sofw.sites", "all", "1", "1")) if isinstance(v, dict)][0]
            assert (sites["total"], sites["next"]) == ("2", "-1"), sites
            assert [r["name"] for r in sites["rows"]] == ["site-b"], sites
        check(f"a: sofw.phones lists the {MAX_PHONES} phones in pages of rpc_page_rows (total, next); sofw.sites "
              "pages too", phones_in_pages)

        def bad_framing():
            s0 = hras.stats()
            for name, bad in (("truncated RA header", frame(SIP, options(1), ra_header("192.168.1.10", 5060)[:5])),
                              ("RA length beyond the header", frame(SIP, b"", b"\x04\x11", ra_len=200)),
                              ("bad version", frame(SIP, options(2), ra_header("192.168.1.10", 5060), version=9))):
                state["rogue"].close()
                r = state["rogue"] = rogue()
                r.send(bad, frame(KEEPALIVE))
                assert r.down_closed.wait(5), f"{name}: HRAS kept the session"
            topo.wait_for(lambda: grew(s0, "frame_errors", 3), 5, "frame_errors counted")
            state["rogue"].close()
            topo.wait_for(lambda: not hras.site_up("a"), 5, "site-a down after the rogue left")
            still_standing()
            s1 = hras.stats()
            print("    counters: " + ", ".join(f"{k} +{s1[k] - state['stats0'][k]}" for k in (
                "ra_invalid", "sip_malformed", "site_phones_refused", "frame_errors", "keepalives_received",
                "internal_errors")), flush=True)
            assert s1["internal_errors"] == state["stats0"]["internal_errors"], "something threw"
        check("a: truncated or inconsistent frame headers end only the rogue's own session (counted); HRAS and "
              "site b unaffected", bad_framing)

        def call_after_rogue():
            mark = alice.mark()
            state["hrac_a"] = Hrac(topo, "a", name="hrac-a-back").start()
            alice.wait_event("REGISTER_OK", 25, since=mark, what="alice registered through the HRAC that is back")
            talk(topo, alice, carol, f"sip:carol@{WAN_DOMAIN}", hras)
            assert_conversation(alice, speech, "speech", carol, tone, "tone")
            still_standing()
        check("a: afterwards the real HRAC of site a is back and a call carries audio both ways (by content)",
              call_after_rogue)

        # -- b. thousands of slow connections while HRAC restarts ------------

        def slow_connections_and_restart():
            assert "hrac_a" in state, "site a's HRAC never came up"
            s0 = hras.stats()
            slow = state["slow"] = SlowClients(topo, "attacker", (HRAS_IP, 80), SLOW_CONNECTIONS).start()

            def attack_in_place():
                held = topo.run("wan", ["ss", "-Htn", "state", "established", "src", f"{HRAS_IP}:80",
                                        "dst", ATTACKER_IP]).stdout
                return slow.opened >= SLOW_CONNECTIONS and len(held.splitlines()) >= 32
            topo.wait_for(attack_in_place, 30, f"{SLOW_CONNECTIONS} connections tried, HRAS holding some of them")
            state["hrac_a"].stop()
            topo.wait_for(lambda: not hras.site_up("a"), 10, "site-a down after its HRAC stopped")
            state["mark"] = alice.mark()
            again = state["hrac_a"] = Hrac(topo, "a", name="hrac-a-restarted").start(wait_up=False)
            again.wait_up(timeout=15)
            log = again.proc.log_text()
            assert re.search(r"tunnel up: site=site-a session=\w+ mode=stream", log), log[-2000:]
            assert "falling back to polling" not in log, "HRAC fell back to polling"
            assert hras.site_states()["site-a"]["mode"] == "stream", hras.site_states()["site-a"]
            assert grew(s0, "tunnel_connections_refused_per_ip", SLOW_CONNECTIONS - 100), \
                "the attacker's connections beyond its per-address share were not refused"
            topo.wait_for(lambda: grew(s0, "tunnel_header_timeouts"), 2 * HEADER_TIMEOUT_S + 5,
                          "the attacker's slow connections cut (tunnel_header_timeout)")
            still_standing()
        check(f"b: {SLOW_CONNECTIONS} slow connections from one host: site a's restarted HRAC is back in "
              "streaming mode, refusals and cuts counted", slow_connections_and_restart)

        def call_under_attack():
            assert "slow" in state, "no attack running"
            alice.wait_event("REGISTER_OK", 25, since=state["mark"], what="alice registered through the restarted HRAC")
            talk(topo, carol, alice, f"sip:alice@{site_domain('a')}", hras)
            assert_conversation(carol, tone, "tone", alice, speech, "speech")
            slow = state["slow"]
            slow.end()
            s1 = hras.stats()
            print(f"    attacker opened {slow.opened} connections, {slow.closed} closed by HRAS; "
                  f"refused per address +{s1['tunnel_connections_refused_per_ip'] - state['stats0']['tunnel_connections_refused_per_ip']}, "
                  f"header timeouts +{s1['tunnel_header_timeouts'] - state['stats0']['tunnel_header_timeouts']}, "
                  f"refused in total +{s1['tunnel_connections_refused'] - state['stats0']['tunnel_connections_refused']}",
                  flush=True)
            assert s1["tunnel_connections_refused"] == state["stats0"]["tunnel_connections_refused"], \
                "one host reached the total limit"
            still_standing()
        check("b: with the attack going on, a call carries audio both ways (by content); site b untouched",
              call_under_attack)

        if "slow" in state:
            state["slow"].end()
        return finish(topo)


if __name__ == "__main__":
    sys.exit(main())
