#!/usr/bin/python3
"""Media through the SoFW tunnel, end to end (papers §2.3-2.4, fig. 3.5-3.8).

Real processes: Kamailio + sofw.so (HRAS) in `wan`, hrac-agent behind a
strict firewall in site a, baresip phones whose microphones are audio files
(speech one way, a tone the other). What each phone received is compared by
content with what the other side sent.

  1. LAN -> WAN call (alice speech, carol tone): both recordings match,
     RTP packets counted on both sides of the relay: none lost;
  2. WAN -> LAN call (carol calls alice): the same;
  3. hold and resume (re-INVITE) mid-call: both re-INVITEs and their
     answers are rewritten, and media flows both ways again after resume
     (the relay's packet counters grow in both directions);
  4. LAN -> LAN call (alice and bob, same site): audio both ways, and not one
     media frame crossed the tunnel;
  5. a call survives its tunnel being cut (sofw.kick): HRAC reconnects
     and media flows both ways again in the same call;
  6. a call CANCELled while ringing and a call rejected with 486: the RAT is
     empty afterwards and every media port is back in its pool;
  7. the capture on the firewall's WAN side shows nothing but TCP.

Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on failure.
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio  # noqa: E402
from checks import check, finish, require_parts  # noqa: E402
from sofwnet import Baresip, Capture, Topology, EXT_IP, HRAC_IP, HRAS_IP, PHONE_IP  # noqa: E402
from sofwparts import Hras, Hrac, WAN_DOMAIN, site_domain  # noqa: E402
from calls import assert_audio, rat  # noqa: E402

SPEECH_S = 7




def wait_call_closed(topo, phones, marks, timeout, hras=None):
    for p in phones:
        p.wait_closed(timeout, since=marks[p.name])
        p.wait_no_calls()
    if hras:  # the call's RAT entry goes with its BYE
        topo.wait_for(lambda: not rat(hras), 5, "RAT empty after the call")


class RtpCount:
    """RTP packets of one relayed call leg, counted on both sides of the
    relay from the captures: phone <-> HRAC port P in the LAN, HRAS port Q
    <-> far side on the WAN.

    Packets a phone sends after the call's BYE has been sent may rightly be
    dropped (the RAT entry goes with the BYE), so what was *sent* is counted
    up to the first sight of the BYE on either capture; every one of those
    must have been delivered."""

    def __init__(self, lan_cap, wan_cap, row, phone_ip, far_ip):
        self.lan, self.wan = lan_cap, wan_cap
        self.p, self.q = int(row["hrac_port"]), int(row["hras_port"])
        self.call_id = row["call_id"]
        self.phone_ip, self.far_ip = phone_ip, far_ip

    def _bye_time(self):
        times = []
        for cap in (self.lan, self.wan):
            times += [float(p["frame.time_epoch"]) for p in
                      cap.fields(f'sip.Method=="BYE" && sip.Call-ID=="{self.call_id}"', ["frame.time_epoch"])]
        assert times, f"no BYE of {self.call_id} captured"
        return min(times)

    def figures(self):
        cut = f"frame.time_epoch < {self._bye_time():.6f}"
        return {
            "phone->HRAC": self.lan.count(f"udp.dstport=={self.p} && ip.src=={self.phone_ip} && {cut}"),
            "HRAS->far": self.wan.count(f"udp.srcport=={self.q} && ip.dst=={self.far_ip}"),
            "far->HRAS": self.wan.count(f"udp.dstport=={self.q} && ip.src=={self.far_ip} && {cut}"),
            "HRAC->phone": self.lan.count(f"udp.srcport=={self.p} && ip.dst=={self.phone_ip}"),
        }


def main():
    if require_parts():
        return 1
    with Topology(deadline=400) as topo:
        topo.build_standard(sites=1, policy="strict")
        speech = audio.make_speech_wav(topo.path("speech.wav"),
                                       "SoFW carries voice through company firewalls. One two three four five.",
                                       SPEECH_S)
        tone_c = audio.make_tone_wav(topo.path("tone697.wav"), 697, 40)
        tone_b = audio.make_tone_wav(topo.path("tone1209.wav"), 1209, 40)
        fwcap = Capture(topo, "a-fw", "wan0", name="fw-wan").start()
        lancap = Capture(topo, "a-lan", "br0", name="lan", bpf="udp").start()
        wancap = Capture(topo, "wan", "br0", name="wan", bpf="udp").start()

        hras = Hras(topo, sites=("a",)).start()
        hrac = Hrac(topo, "a").start()
        alice = Baresip(topo, "a-ph1", "alice", PHONE_IP["ph1"], f"sip:alice@{site_domain('a')}",
                        password=hras.add_user(f"sip:alice@{site_domain('a')}"), outbound=f"sip:{HRAC_IP}:5060", audio_wav=speech)
        bob = Baresip(topo, "a-ph2", "bob", PHONE_IP["ph2"], f"sip:bob@{site_domain('a')}",
                      password=hras.add_user(f"sip:bob@{site_domain('a')}"), outbound=f"sip:{HRAC_IP}:5060", audio_wav=tone_b)
        carol = Baresip(topo, "ext", "carol", EXT_IP, f"sip:carol@{WAN_DOMAIN}",
                        password=hras.add_user(f"sip:carol@{WAN_DOMAIN}"), outbound=f"sip:{HRAS_IP}:5060", audio_wav=tone_c)
        phones = [alice, bob, carol]
        for p in phones:
            p.start()
        for p in phones:
            p.wait_registered(15)
        legs = []   # (name, RtpCount) checked once the captures are closed

        def relayed_call(caller, callee, uri, name):
            m = {p.name: p.mark() for p in phones}
            caller.dial(uri)
            callee.wait_incoming(10, since=m[callee.name])
            callee.answer()
            caller.wait_established(10, since=m[caller.name])
            callee.wait_established(10, since=m[callee.name])
            rows = []
            topo.wait_for(lambda: rows.extend(r for r in rat(hras) if int(r["packets_up"]) > 0
                                              and int(r["packets_down"]) > 0) or rows,
                          5, "media relayed both ways (sofw.rat packets)")
            row = rows[0]
            assert row["bypass"] == "0" and int(row["hras_port"]) and int(row["hrac_port"]), row
            legs.append((name, RtpCount(lancap, wancap, row, PHONE_IP["ph1"], EXT_IP)))
            # alice's speech file ends first and her phone hangs up
            wait_call_closed(topo, [caller, callee], m, SPEECH_S + 10, hras)
            assert_audio(speech, carol, "speech")
            assert_audio(tone_c, alice, "tone")

        check("LAN -> WAN call: carol hears alice's speech, alice hears carol's tone",
              lambda: relayed_call(alice, carol, f"sip:carol@{WAN_DOMAIN}", "LAN->WAN"))
        check("WAN -> LAN call: alice hears carol's tone, carol hears alice's speech",
              lambda: relayed_call(carol, alice, f"sip:alice@{site_domain('a')}", "WAN->LAN"))

        def hold_resume():
            m = {p.name: p.mark() for p in phones}
            rewritten0 = hras.stats()["sdp_rewritten"]
            carol.dial(f"sip:alice@{site_domain('a')}")
            alice.wait_incoming(10, since=m["alice"])
            alice.answer()
            carol.wait_established(10, since=m["carol"])
            r = carol.command("hold")
            assert r.get("ok"), r
            topo.wait_for(lambda: hras.stats()["sdp_rewritten"] >= rewritten0 + 4, 5,
                          "hold re-INVITE and its answer rewritten")
            r = carol.command("resume")
            assert r.get("ok"), r
            topo.wait_for(lambda: hras.stats()["sdp_rewritten"] >= rewritten0 + 6, 5,
                          "resume re-INVITE and its answer rewritten")
            down0 = int(rat(hras)[0]["packets_down"])
            up0 = int(rat(hras)[0]["packets_up"])
            topo.wait_for(lambda: int(rat(hras)[0]["packets_down"]) > down0 + 25 and
                          int(rat(hras)[0]["packets_up"]) > up0 + 25, 5,
                          "media flows both ways again after resume")
            wait_call_closed(topo, [carol, alice], m, SPEECH_S + 10, hras)
        check("hold and resume (re-INVITE): media flows again after resume", hold_resume)

        def lan_to_lan():
            st0 = hras.stats()
            m = {p.name: p.mark() for p in phones}
            alice.dial(f"sip:bob@{site_domain('a')}")
            bob.wait_incoming(10, since=m["bob"])
            bob.answer()
            alice.wait_established(10, since=m["alice"])
            rows = rat(hras)
            assert rows and all(r["bypass"] == "1" for r in rows), rows
            wait_call_closed(topo, [alice, bob], m, SPEECH_S + 10, hras)
            assert_audio(speech, bob, "speech")
            assert_audio(tone_b, alice, "tone")
            st1 = hras.stats()
            for k in ("media_packets_up", "media_packets_down"):
                assert st1[k] == st0[k], f"{k} moved during a LAN call: {st0[k]} -> {st1[k]}"
        check("LAN -> LAN call: audio both ways, no media frame in the tunnel", lan_to_lan)

        def call_survives_reconnect():
            # carol and bob both play long tones: the call lasts until hung up
            m = {p.name: p.mark() for p in phones}
            carol.dial(f"sip:bob@{site_domain('a')}")
            bob.wait_incoming(10, since=m["bob"])
            bob.answer()
            carol.wait_established(10, since=m["carol"])

            def flowing(since):
                rows = rat(hras)
                return rows and int(rows[0]["packets_up"]) > since[0] + 50 and \
                    int(rows[0]["packets_down"]) > since[1] + 50
            topo.wait_for(lambda: flowing((0, 0)), 5, "media flowing before the tunnel is cut")
            ups = hrac.ups()
            assert "kicked" in hras.kamcmd("sofw.kick", "site-a")
            hrac.wait_up(count=ups + 1, timeout=15)
            row = rat(hras)[0]
            before = (int(row["packets_up"]), int(row["packets_down"]))
            topo.wait_for(lambda: flowing(before), 5, "media flowing again on the new tunnel session")
            assert carol.active_calls() == 1 and bob.active_calls() == 1, "the call did not survive"
            carol.hangup()
            wait_call_closed(topo, [carol, bob], m, 10, hras)
        check("a call survives the tunnel being cut: media flows again after HRAC reconnects",
              call_survives_reconnect)

        def cancel_and_reject():
            # carol gives up while alice's phone rings
            m = {p.name: p.mark() for p in phones}
            carol.dial(f"sip:alice@{site_domain('a')}")
            alice.wait_incoming(10, since=m["alice"])
            assert rat(hras), "no RAT entry while ringing"
            carol.hangup()
            wait_call_closed(topo, [carol, alice], m, 10)
            # alice refuses the next call: 486 Busy Here
            m = {p.name: p.mark() for p in phones}
            carol.dial(f"sip:alice@{site_domain('a')}")
            alice.wait_incoming(10, since=m["alice"])
            alice.hangup()
            ev = carol.wait_closed(10, since=m["carol"])
            assert "486" in str(ev.get("param", "")), ev
            topo.wait_for(lambda: not rat(hras), 5, "RAT empty")
            topo.wait_for(lambda: hras.stats()["media_ports_hras"] == 0 and hras.stats()["media_ports_hrac"] == 0,
                          5, "all media ports back in their pools")
        check("CANCEL while ringing and 486 reject: RAT empty, ports back in the pools", cancel_and_reject)

        def no_loss_and_only_tcp():
            for c in (fwcap, lancap, wancap):
                c.stop()
            for name, leg in legs:
                f = leg.figures()
                print(f"    {name} RTP: {f}", flush=True)
                assert f["phone->HRAC"] > 100 and f["far->HRAS"] > 100, f
                assert f["HRAS->far"] >= f["phone->HRAC"], f"{name}: lost on the way out: {f}"
                assert f["HRAC->phone"] >= f["far->HRAS"], f"{name}: lost on the way in: {f}"
            bad = fwcap.non_tcp_packets()
            assert not bad, f"non-TCP packets on the firewall's WAN side: {bad[:5]}"
        check("RTP loss 0 on every relayed call; only TCP crossed the firewall", no_loss_and_only_tcp)

        return finish(topo)


if __name__ == "__main__":
    sys.exit(main())
