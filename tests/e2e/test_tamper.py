#!/usr/bin/python3
"""A company proxy that tampers with the tunnel gets nothing in.

Site a's only way out is a plain-http forward proxy on its firewall
(tests/e2e/tamper_proxy.py) that, when told, changes one record HRAC sends
up: flips a bit in it, injects a frame-shaped blob (a clear SIP REGISTER
dressed as a record) before it, or replays it. Site b goes out directly.
Each time, with a marked SIP OPTIONS from the LAN sent right after the
proxy is armed:

  - HRAS counts a record error (sofw.stats record_errors) and drops the
    session; HRAC reconnects and the tunnel is up again;
  - nothing of the tampered record reaches Kamailio (a capture on HRAS's
    loopback, where the relay process hands SIP to Kamailio): not the
    injected REGISTER, not the OPTIONS of a flipped record, a replayed one
    only once; usrloc knows no injected contact;
  - site b's session is the same one throughout.

An untampered OPTIONS does reach Kamailio (the capture can see it). Then a
real call with audio checked by content goes through the proxy, and a
capture on the firewall's WAN side shows no SIP text in the HTTP bodies.

Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on failure.
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio  # noqa: E402
from calls import assert_conversation, talk  # noqa: E402
from checks import check, finish, require_parts  # noqa: E402
from sofwnet import Baresip, Capture, Topology, EXT_IP, HRAC_IP, HRAS_IP, LAN_GW, PHONE_IP  # noqa: E402
from sofwparts import Hras, Hrac, WAN_DOMAIN, site_domain  # noqa: E402

PROXY_PORT = 8080
SPEECH_S = 5


def options(call_id):
    ip = PHONE_IP["ph2"]
    return (f"OPTIONS sip:{site_domain('a')} SIP/2.0\r\nVia: SIP/2.0/UDP {ip}:5060;branch=z9hG4bK{call_id}\r\n"
            f"From: <sip:probe@{site_domain('a')}>;tag=p\r\nTo: <sip:{site_domain('a')}>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")


def send_from_lan(topo, call_id):
    """A SIP OPTIONS from a LAN host to HRAC: it goes up the tunnel."""
    code = ("import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            f"s.bind(('{PHONE_IP['ph2']}', 5060)); s.sendto(sys.stdin.buffer.read(), ('{HRAC_IP}', 5060))")
    topo.run("a-ph2", [sys.executable, "-c", code], input=options(call_id))


def in_capture(cap, text):
    return cap.count(f'frame contains "{text}"')


def tampering_proxy():
    with Topology(deadline=300) as topo:
        topo.build_standard(sites=2, policy="proxy")
        topo.set_firewall("b", "strict")  # site b goes out directly, past no proxy
        control = topo.path("tamper-control")
        proxy = topo.spawn("a-fw", [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                 "tamper_proxy.py"),
                                    LAN_GW, str(PROXY_PORT), control], name="tamper-proxy")
        topo.wait_log(proxy, r"listening", 10, "the tampering proxy to listen")
        hras = Hras(topo, sites=("a", "b")).start()
        kamailio_side = Capture(topo, "wan", "lo", name="hras-loopback", bpf="udp").start()
        hrac_a = Hrac(topo, "a", extra={"proxy": f"http://{LAN_GW}:{PROXY_PORT}", "tunnel_mode": "stream"}).start()
        hrac_b = Hrac(topo, "b").start()
        topo.wait_for(lambda: hras.site_up("a") and hras.site_up("b"), 10, "both sites up")
        session_b = hras.site_states()["site-b"]["session"]

        # Untampered, the marked OPTIONS reaches Kamailio: the capture below could fail.
        send_from_lan(topo, "UNTAMPERED-1")

        for gen, action in enumerate(("flip", "inject", "replay"), 1):
            errors, ups = hras.stats()["record_errors"], hrac_a.ups()
            with open(control, "w") as f:
                f.write(f"{gen} up {action}\n")
            # The next up record: this OPTIONS (or, if a keep-alive or a
            # phone got in first, one before it; then the OPTIONS travels
            # later in the same dying session and arrives nowhere).
            send_from_lan(topo, f"TAMPERED-{action}")
            topo.wait_log(proxy, rf"tampered {gen} up {action}", 10, f"the proxy to {action} a record")
            topo.wait_for(lambda: hras.stats()["record_errors"] == errors + 1, 10,
                          f"HRAS to count the record ({action})", logs=[hras.proc])
            hrac_a.wait_up(ups + 1, timeout=20)
            topo.wait_for(lambda: hras.site_up("a"), 10, "site a up again")
            print(f"    {action}: record error counted, session dropped, tunnel back", flush=True)

        kamailio_side.stop()
        assert in_capture(kamailio_side, "UNTAMPERED-1") >= 1, "the untampered OPTIONS never reached Kamailio"
        assert in_capture(kamailio_side, "INJECTED-BY-PROXY") == 0, "the injected REGISTER reached Kamailio"
        assert in_capture(kamailio_side, "TAMPERED-flip") == 0, "a flipped record's SIP reached Kamailio"
        assert in_capture(kamailio_side, "TAMPERED-inject") == 0, "SIP behind an injected blob reached Kamailio"
        # A replayed record's first copy is authentic; the replay must not arrive again.
        replayed = len(kamailio_side.packets('frame contains "TAMPERED-replay" && udp.dstport==5060'))
        assert replayed <= 1, f"a replayed record's SIP reached Kamailio {replayed} times"
        assert "mallory" not in (hras.kamcmd("ul.dump") or ""), "usrloc holds the injected contact"
        assert "INJECTED-BY-PROXY" not in hras.proc.log_text()
        log = hras.proc.log_text()
        assert "record error from HRAC: bad_tag" in log, "HRAS did not log the record error's reason"

        # Site b never noticed.
        assert hras.site_states()["site-b"]["session"] == session_b, "site b's session changed"
        assert hrac_b.ups() == 1, "site b reconnected"

        # A real call through the (now quiet) proxy; the WAN side of site
        # a's firewall carries no SIP in clear.
        wan = Capture(topo, "a-fw", "wan0", name="fw-wan", bpf="tcp port 80").start()
        speech = audio.make_speech_wav(topo.path("speech.wav"), "Records keep the proxy out. One two three.",
                                       SPEECH_S)
        tone = audio.make_tone_wav(topo.path("tone.wav"), 697, 30)
        alice = Baresip(topo, "a-ph1", "alice", PHONE_IP["ph1"], f"sip:alice@{site_domain('a')}",
                        password=hras.add_user(f"sip:alice@{site_domain('a')}"), outbound=f"sip:{HRAC_IP}:5060", audio_wav=speech)
        carol = Baresip(topo, "ext", "carol", EXT_IP, f"sip:carol@{WAN_DOMAIN}",
                        password=hras.add_user(f"sip:carol@{WAN_DOMAIN}"), outbound=f"sip:{HRAS_IP}:5060", audio_wav=tone)
        for p in (alice, carol):
            p.start()
        for p in (alice, carol):
            p.wait_registered(15)
        talk(topo, alice, carol, f"sip:carol@{WAN_DOMAIN}", hras)
        assert_conversation(alice, speech, "speech", carol, tone, "tone")
        wan.stop()
        # The call's SIP and media crossed here, inside the tunnel's records.
        carried = wan.count("tcp.port==80 && tcp.len>0")
        assert carried >= 100, f"only {carried} tunnel segments on the firewall's WAN side"
        clear = wan.packets('frame contains "SIP/2.0" || frame contains "REGISTER sip:" || frame contains "INVITE sip:"')
        assert not clear, f"SIP in clear on the WAN side: {clear[:3]}"
        assert hras.site_states()["site-b"]["session"] == session_b, "site b's session changed"


def main():
    if require_parts():
        return 1
    check("a proxy flipping, injecting and replaying records gets nothing in; the tunnel recovers; "
          "a call with audio; no SIP in clear on the WAN", tampering_proxy)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
