#!/usr/bin/python3
"""An Internet host against HRAS's media, end to end (docs/security.md
"Media on the public side").

Real processes as in test_media.py: Kamailio + sofw.so (HRAS) in `wan`,
hrac-agent behind strict firewalls in sites a and b, baresip phones whose
microphones are audio files. The attacker is a namespace of its own on the
WAN bridge (`atk`, 198.51.100.66), running tests/e2e/attacker.py.

  1. RTP bleed: while carol (ext) calls alice (site a) and alice's phone
     rings, and on through the answered call, the attacker sprays RTP at
     every port of HRAS's public media range. Both recordings match what
     the other side sent, the attacker receives nothing, and
     media_foreign_source counted its packets on the call's ports (already
     while ringing);
  2. flood: the attacker sends INVITEs (40 m-lines each, a new Call-ID
     each), MESSAGEs and OPTIONS with SDP to bob (site a), whose phone then
     answers nothing. The limits hold: no more than source_max_legs legs
     and max_media_lines port pairs each, the rest refused (503) and
     counted, the MESSAGE and OPTIONS SDP declined without ports;
     afterwards carol calls alice and both hear each other (by content),
     HRAS still runs, site b's tunnel is the same session as before, and
     after offer_timeout every port of the flood is back in the pool.

The flood's requests come from an outside caller (a foreign From domain)
to a phone of a site, the way any call from the Internet reaches
sofw_relay(); they need no account of ours, and they come at 12 a second,
under the per-host SIP flood limit a configuration may add in front (pike),
so that the media limits behind it are what is tested.

Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on failure.
"""

import json
import os
import signal
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio  # noqa: E402
from checks import check, finish, require_parts  # noqa: E402
from sofwnet import Baresip, Topology, EXT_IP, HRAC_IP, HRAS_IP, PHONE_IP  # noqa: E402
from sofwparts import Hras, Hrac, WAN_DOMAIN, site_domain  # noqa: E402
from calls import assert_audio, rat  # noqa: E402

SPEECH_S = 7
ATK_IP = "198.51.100.66"
RTP_MIN, RTP_MAX = 30000, 39999      # cfg/kamailio.cfg's rtp_port_min/max
SOURCE_MAX_LEGS, MAX_MEDIA_LINES = 50, 8  # the module's defaults
FLOOD_INVITES, FLOOD_M_LINES, FLOOD_OTHERS = 100, 40, 20
ATTACKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "attacker.py")


def result_of(proc):
    """The JSON line attacker.py printed last."""
    for line in reversed(proc.log_text().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise AssertionError(f"{proc.name} printed no result:\n{proc.tail()}")


def main():
    if require_parts():
        return 1
    with Topology(deadline=420) as topo:
        topo.build_standard(sites=2, policy="strict")
        topo.add_wan_host("atk", ATK_IP)
        speech = audio.make_speech_wav(topo.path("speech.wav"),
                                       "SoFW carries voice through company firewalls. One two three four five.",
                                       SPEECH_S)
        tone_c = audio.make_tone_wav(topo.path("tone697.wav"), 697, 40)

        hras = Hras(topo, sites=("a", "b")).start()
        hrac_a = Hrac(topo, "a").start()
        hrac_b = Hrac(topo, "b").start()
        alice = Baresip(topo, "a-ph1", "alice", PHONE_IP["ph1"], f"sip:alice@{site_domain('a')}",
                        password=hras.add_user(f"sip:alice@{site_domain('a')}"), outbound=f"sip:{HRAC_IP}:5060", audio_wav=speech)
        bob = Baresip(topo, "a-ph2", "bob", PHONE_IP["ph2"], f"sip:bob@{site_domain('a')}",
                      password=hras.add_user(f"sip:bob@{site_domain('a')}"), outbound=f"sip:{HRAC_IP}:5060")
        dave = Baresip(topo, "b-ph1", "dave", PHONE_IP["ph1"], f"sip:dave@{site_domain('b')}",
                       password=hras.add_user(f"sip:dave@{site_domain('b')}"), outbound=f"sip:{HRAC_IP}:5060")
        carol = Baresip(topo, "ext", "carol", EXT_IP, f"sip:carol@{WAN_DOMAIN}",
                        password=hras.add_user(f"sip:carol@{WAN_DOMAIN}"), outbound=f"sip:{HRAS_IP}:5060", audio_wav=tone_c)
        phones = [alice, bob, dave, carol]
        for p in phones:
            p.start()
        for p in phones:
            p.wait_registered(15)
        b_ups = hrac_b.ups()

        def call_carol_to_alice(during_ringing=None):
            """carol calls alice, alice answers; alice's speech file ends
            and she hangs up. Each hears the other, checked by content."""
            m = {p.name: p.mark() for p in (alice, carol)}
            carol.dial(f"sip:alice@{site_domain('a')}")
            alice.wait_incoming(10, since=m["alice"])
            if during_ringing:
                during_ringing()
            alice.answer()
            carol.wait_established(10, since=m["carol"])
            alice.wait_established(10, since=m["alice"])
            for p in (alice, carol):
                p.wait_closed(SPEECH_S + 15, since=m[p.name])
                p.wait_no_calls()
            topo.wait_for(lambda: not [r for r in rat(hras) if "flood-" not in r["call_id"]], 5,
                          "the call's RAT entry gone after its BYE")
            assert_audio(speech, carol, "speech")
            assert_audio(tone_c, alice, "tone")

        def rtp_bleed():
            foreign0 = hras.stats()["media_foreign_source"]
            sprayer = {}

            def spray_while_ringing():
                sprayer["proc"] = topo.spawn("atk", ["/usr/bin/python3", ATTACKER, "spray", HRAS_IP,
                                                     str(RTP_MIN), str(RTP_MAX), str(SPEECH_S + 12)],
                                             name="sprayer")
                topo.wait_log(sprayer["proc"], r"round 2\b", 15, "two rounds of spraying while the phone rings")
                topo.wait_for(lambda: hras.stats()["media_foreign_source"] > foreign0, 5,
                              "the ringing call's ports refused the attacker (media_foreign_source)")

            call_carol_to_alice(spray_while_ringing)
            proc = sprayer["proc"]
            topo.wait_for(lambda: not proc.alive(), SPEECH_S + 20, "the sprayer done", logs=[proc])
            r = result_of(proc)
            print(f"    sprayer: {r['rounds']} rounds, {r['sent']} packets sent, {r['received']} received",
                  flush=True)
            assert r["rounds"] >= 4, r
            assert r["received"] == 0, f"the attacker received media: {r}"
            refused = hras.stats()["media_foreign_source"] - foreign0
            print(f"    media_foreign_source: +{refused}", flush=True)
            # every round hit the call's RTP and RTCP port while it lasted
            assert refused >= 4, refused
        check("RTP bleed: a host spraying the public port range during ringing and the call "
              "takes nothing; both sides hear each other", rtp_bleed)

        def flood():
            # bob's phone goes silent (killed, so it stays registered): the
            # flood's INVITEs get no answer at all, the worst case for HRAS.
            bob.proc.stop(sig=signal.SIGKILL)
            st0 = hras.stats()
            proc = topo.spawn("atk", ["/usr/bin/python3", ATTACKER, "flood", HRAS_IP, ATK_IP,
                                      f"bob@{site_domain('a')}", str(FLOOD_INVITES), str(FLOOD_M_LINES),
                                      str(FLOOD_OTHERS)], name="flooder")
            topo.wait_for(lambda: not proc.alive(), 90, "the flood sent", logs=[proc])
            r = result_of(proc)
            print(f"    flood: {r}", flush=True)
            st = hras.stats()
            delta = {k: st[k] - st0[k] for k in ("source_legs_limit", "sdp_media_lines_limit",
                                                  "sdp_outside_calls", "ports_exhausted", "rat_created")}
            print(f"    counters: {delta}, media_ports_hras={st['media_ports_hras']}, "
                  f"active_calls={st['active_calls']}", flush=True)
            assert delta["rat_created"] <= SOURCE_MAX_LEGS, delta
            assert delta["source_legs_limit"] >= FLOOD_INVITES - SOURCE_MAX_LEGS, delta
            assert delta["sdp_media_lines_limit"] >= 1, delta
            assert delta["sdp_outside_calls"] >= 1, delta  # MESSAGE and OPTIONS reached bob's leg of the path
            assert delta["ports_exhausted"] == 0, delta
            assert st["media_ports_hras"] <= SOURCE_MAX_LEGS * MAX_MEDIA_LINES, st["media_ports_hras"]
            # refused at the boundary with 503, which Kamailio, as a proxy,
            # passes on as 500 (RFC 3261 16.7)
            refused = r["responses"].get("503", 0) + r["responses"].get("500", 0)
            assert refused >= FLOOD_INVITES - SOURCE_MAX_LEGS, r

            # The flood's legs still hold their ports: a real call works.
            call_carol_to_alice()
            assert hras.proc.alive(), "HRAS died"
            assert hras.site_up("a") and hras.site_up("b"), hras.site_states()
            assert hrac_b.ups() == b_ups, "site b's tunnel was cut"

            # Nobody answered the flood: offer_timeout gives its ports back.
            topo.wait_for(lambda: hras.stats()["media_ports_hras"] == 0, 60,
                          "the flood's ports back after offer_timeout")
            assert hras.stats()["offers_unanswered"] - st0["offers_unanswered"] >= delta["rat_created"] - 1
        check("flood of SDP from the Internet: the limits hold, a real call works afterwards, "
              "site b untouched, the ports come back", flood)

        return finish(topo)


if __name__ == "__main__":
    sys.exit(main())
