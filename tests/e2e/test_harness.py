#!/usr/bin/python3
"""Validate the e2e harness itself with stock Debian Kamailio (no sofw).

Proves, before HRAS/HRAC exist, that the namespaces, the strict site
firewall, the captures, the Kamailio driver and the baresip phone driver do
what the product tests will rely on:

  (a) a WAN phone registers directly with Kamailio (ul.dump shows it);
  (b) a site-a LAN phone pointed straight at Kamailio's WAN address over UDP
      can NOT register: the strict firewall drops the UDP;
  (c) from a-lan, TCP to 198.51.100.1:80 works, TCP to :8080 does not
      (while :8080 is reachable from the WAN, so the firewall is the cause);
  (d) the capture on a-fw's WAN side shows no non-TCP packet (the UDP seen on
      the LAN side was not forwarded), and no SIP to private addresses;
  (e) two WAN phones registered with Kamailio call each other: both sides
      established; ext sends speech and ext2 a 697 Hz tone, each side
      received what the other sent (envelope correlation, dominant
      frequency; audio.py), and swapped comparisons fail; the call ends
      when ext's speech file ends; no calls left;
  (f) after the run, no namespace of this run and no process it started is
      left (checked after teardown).

Prints PASS/FAIL per check and "N passed, N failed"; exits non-zero on any
failure.  Self-checks of the harness:
  --inject-failure   adds a check that always fails, to show that a failing
                     run still cleans up;
  --policy=open      builds the site with the open firewall, under which (b),
                     (c) and (d) must FAIL: the negative checks can fail.
"""

import os
import subprocess
import sys
import time
import traceback

sys.dont_write_bytecode = True      # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio  # noqa: E402
import sofwnet  # noqa: E402
from sofwnet import (Baresip, Capture, Kamailio, Topology, EXT_IP, HRAS_IP,
                     FW_WAN_IP, PHONE_IP)  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CFG = os.path.join(HERE, "fixtures", "plain-registrar.cfg")
EXT2_IP = "198.51.100.21"
DOMAIN = "sofw.example"
KAM_UDP = f"sip:{HRAS_IP}:5060;transport=udp"

# (e): ext (the caller) speaks, ext2 answers with a DTMF row tone.  The
# caller's file is the shorter one: baresip ends the call when it ends.
SPEECH_TEXT = ("SoFW carries voice through company firewalls. "
               "One two three four five.")
SPEECH_SECONDS = 8
TONE_HZ = 697
TONE_SECONDS = SPEECH_SECONDS + 4

results = []


def check(name, fn):
    """Run one check; record and print PASS/FAIL.  Returns fn's value or
    None on failure."""
    t0 = time.monotonic()
    try:
        value = fn()
    except Exception as e:            # noqa: BLE001 -- report any failure
        dt = time.monotonic() - t0
        results.append((name, False))
        print(f"FAIL {name} ({dt:.1f}s): {e}", flush=True)
        if not isinstance(e, AssertionError):
            traceback.print_exc()
        return None
    dt = time.monotonic() - t0
    results.append((name, True))
    print(f"PASS {name} ({dt:.1f}s)", flush=True)
    return value


def _rec_size(phone):
    recs = phone.recordings("dec")
    return os.path.getsize(recs[-1]) if recs else 0


def main():
    missing = sofwnet.missing_requirements()
    if missing:
        # A missing part is a failure, never a skip: scripts/setup.sh
        # installs every part, so CI must have them all.
        print(f"FAIL: cannot run, missing: {', '.join(missing)} "
              "(scripts/setup.sh installs them)")
        return 1
    inject_failure = "--inject-failure" in sys.argv
    policy = "open" if "--policy=open" in sys.argv else "strict"
    t_start = time.monotonic()
    prefix = None
    started = []

    # Deadline below the ctest TIMEOUT (180 s) so a hang still cleans up.
    with Topology(deadline=150) as topo:
        prefix = topo.prefix
        sofwnet.log(f"namespaces prefix {prefix}, run dir {topo.rundir}")
        topo.build_standard(sites=1, policy=policy)
        topo.add_wan_host("ext2", EXT2_IP)

        kam = Kamailio(topo, "wan", CFG).start()
        http80 = topo.start_http_server("wan", HRAS_IP, 80)
        http8080 = topo.start_http_server("wan", HRAS_IP, 8080)
        cap_wan = Capture(topo, "a-fw", "wan0", name="a-fw-wan0").start()
        cap_lan = Capture(topo, "a-fw", "lan0", name="a-fw-lan0").start()

        # (e) needs the caller's microphone file before ext starts.
        speech_wav = audio.make_speech_wav(topo.path("speech.wav"),
                                           SPEECH_TEXT, SPEECH_SECONDS)
        tone_wav = audio.make_tone_wav(topo.path(f"tone{TONE_HZ}.wav"),
                                       TONE_HZ, TONE_SECONDS)

        # (a) ------------------------------------------------------------
        ext = Baresip(topo, "ext", "ext", EXT_IP, f"sip:ext@{DOMAIN}",
                      outbound=KAM_UDP, audio_wav=speech_wav).start()

        def a_ext_registers():
            ext.wait_registered(10)
            topo.wait_for(lambda: "ext" in kam.ul_dump(), 5,
                          "ul.dump to list AoR ext", logs=[kam.proc])
            contacts = kam.ul_contacts().get("ext", [])
            assert any(EXT_IP in c for c in contacts), \
                f"contact of ext is not {EXT_IP}: {contacts}"
        check("a: WAN phone registers directly (ul.dump lists it)",
              a_ext_registers)

        # (b) ------------------------------------------------------------
        aph1 = Baresip(topo, "a-ph1", "a-ph1", PHONE_IP["ph1"],
                       f"sip:alice@{DOMAIN}", outbound=KAM_UDP).start()

        def b_lan_phone_blocked():
            # Timer F would take 32 s to report the failure; a bounded
            # negative wait plus the location table is enough, and (d)
            # proves the REGISTER really left the phone and was dropped.
            assert not aph1.registers_within(6), \
                f"site-a phone registered through the strict firewall:\n" \
                f"{aph1.reginfo()}"
            assert "alice" not in kam.ul_dump(), \
                "Kamailio has a binding for the site-a phone"
            assert not aph1.events("REGISTER_OK"), "REGISTER_OK event seen"
        check("b: LAN phone -> Kamailio UDP 5060 cannot register (strict fw)",
              b_lan_phone_blocked)

        # (c) ------------------------------------------------------------
        def c_tcp_80_ok_8080_blocked():
            reply = topo.http_get("a-lan", HRAS_IP, 80)
            assert reply.startswith(b"HTTP/1.0 200"), \
                f"unexpected reply on :80: {reply[:80]!r}"
            # Control: :8080 serves from the WAN side, so a failure from the
            # LAN is the firewall's doing.
            err = topo.tcp_connect("ext", HRAS_IP, 8080)
            assert err is None, f":8080 not reachable even from ext: {err}"
            err = topo.tcp_connect("a-lan", HRAS_IP, 8080, timeout=2)
            assert err is not None, "TCP to :8080 from a-lan went through"
            # A phone namespace is subject to the same policy.
            reply = topo.http_get("a-ph2", HRAS_IP, 80)
            assert reply.startswith(b"HTTP/1.0 200"), "a-ph2 -> :80 failed"
        check("c: a-lan TCP to :80 passes, :8080 is dropped",
              c_tcp_80_ok_8080_blocked)

        # (d) ------------------------------------------------------------
        cap_wan.stop()
        cap_lan.stop()

        def d_only_tcp_on_wan():
            lan_sip = cap_lan.packets(
                f"ip.src=={PHONE_IP['ph1']} && ip.dst=={HRAS_IP} && "
                f"udp.dstport==5060")
            assert lan_sip, "no REGISTER seen on the LAN side: the negative " \
                            "check (b) would prove nothing"
            non_tcp = cap_wan.non_tcp_packets()
            assert not non_tcp, "non-TCP packets left the firewall:\n" + \
                "\n".join(non_tcp[:20])
            http = cap_wan.packets(f"ip.src=={FW_WAN_IP['a']} && "
                                   f"tcp.dstport==80")
            assert http, "masqueraded TCP to :80 not seen on the WAN side"
            leaked = cap_wan.packets("tcp.dstport==8080")
            assert not leaked, "TCP to :8080 seen on the WAN side:\n" + \
                "\n".join(leaked[:10])
            priv = cap_wan.sip_to_private()
            assert not priv, "SIP to private addresses on the WAN:\n" + \
                "\n".join(priv[:10])
            sofwnet.log(f"LAN side: {len(lan_sip)} UDP REGISTER packets; "
                        f"WAN side: {cap_wan.count()} packets, all TCP")
        check("d: a-fw WAN capture has no non-TCP packet (UDP not forwarded)",
              d_only_tcp_on_wan)

        # (e) ------------------------------------------------------------
        ext2 = Baresip(topo, "ext2", "ext2", EXT2_IP, f"sip:ext2@{DOMAIN}",
                       outbound=KAM_UDP, audio_wav=tone_wav).start()

        def e_call_between_wan_phones():
            ext2.wait_registered(10)
            topo.wait_for(lambda: "ext2" in kam.ul_dump(), 5,
                          "ul.dump to list AoR ext2", logs=[kam.proc])
            m1, m2 = ext.mark(), ext2.mark()
            ext.dial(f"sip:ext2@{DOMAIN}")
            inc = ext2.wait_incoming(10, since=m2)
            assert "ext@" in inc.get("peeruri", ""), f"caller: {inc}"
            ext2.answer()
            ext.wait_established(10, since=m1)
            ext2.wait_established(10, since=m2)
            t_est = time.monotonic()
            assert ext.active_calls() == 1 and ext2.active_calls() == 1
            # Both sides must decode audio: sndfile writes what was decoded
            # as it goes; 8 kHz s16 mono, so 8000 bytes is 0.5 s.
            for phone in (ext, ext2):
                topo.wait_for(lambda: _rec_size(phone) > 8000, 10,
                              f"{phone.name}: 0.5 s of received audio",
                              logs=[phone.proc])
            # baresip ends the call when ext's speech file ends; hang up
            # ourselves if it has not after a bounded time.
            try:
                ext.wait_closed(SPEECH_SECONDS + 3, since=m1)
                how = "ended by ext when its speech file ended"
            except sofwnet.WaitTimeout:
                ext.hangup()
                ext.wait_closed(5, since=m1)
                how = "hung up by the test"
            sofwnet.log(f"call {how} after "
                        f"{time.monotonic() - t_est:.1f} s")
            ext2.wait_closed(10, since=m2)
            ext.wait_no_calls(5)
            ext2.wait_no_calls(5)
            for phone in (ext, ext2):
                assert len(phone.recordings("dec")) == 1, \
                    f"{phone.name}: expected one recording"
            ext2_got = ext2.recordings("dec")[0]     # ext's speech
            ext_got = ext.recordings("dec")[0]       # ext2's tone

            speech = audio.compare(speech_wav, ext2_got, "speech")
            tone = audio.compare(tone_wav, ext_got, "tone")
            sofwnet.log(f"ext -> ext2: {speech['summary']}")
            sofwnet.log(f"ext2 -> ext: {tone['summary']}")
            assert speech["ok"], f"ext2 did not receive ext's speech: " \
                                 f"{speech['summary']}"
            assert tone["ok"], f"ext did not receive ext2's tone: " \
                               f"{tone['summary']}"
            # Audio for the whole call, not just its start: the speech file
            # is non-silent for sent_voiced_seconds; the tone plays for as
            # long as the call lasts (the speech file's length).
            assert speech["received_voiced_seconds"] >= \
                0.8 * speech["sent_voiced_seconds"], \
                f"ext2 received too little speech: {speech['summary']}"
            assert tone["received_voiced_seconds"] >= \
                0.8 * SPEECH_SECONDS, \
                f"ext received too little tone: {tone['summary']}"

            # The checks can fail: each recording compared with the other
            # side's file must be rejected.
            cross = [audio.compare(tone_wav, ext2_got, "tone"),
                     audio.compare(speech_wav, ext_got, "speech")]
            for c in cross:
                sofwnet.log(f"cross-check (must fail): {c['summary']}")
                assert not c["ok"], \
                    f"swapped comparison passed: {c['summary']}"
        check("e: call between two WAN phones: speech and tone arrive "
              "intact, call ends with the speech file",
              e_call_between_wan_phones)

        if inject_failure:
            check("injected failure (cleanup test)",
                  lambda: topo.wait_for(lambda: False, 1,
                                        "something that never happens",
                                        logs=[kam.proc]))

        for phone in (ext, ext2, aph1):
            phone.quit()
        started = [p.pid for p in topo.procs]
        if not all(ok for _, ok in results):
            topo.failed = True
        for p in (http80, http8080):
            p.stop()

    # (f) after teardown ------------------------------------------------
    def f_cleanup():
        r = subprocess.run(["ip", "netns", "list"], capture_output=True,
                           text=True)
        left = [line for line in r.stdout.splitlines()
                if line.startswith(prefix)]
        assert not left, f"namespaces left: {left}"
        alive = []
        for pid in started:
            try:
                os.kill(pid, 0)
                alive.append(pid)
            except ProcessLookupError:
                pass
        assert not alive, f"processes left: {alive}"
    check("f: teardown removed all namespaces and processes", f_cleanup)

    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"runtime {time.monotonic() - t_start:.1f}s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
