#!/usr/bin/python3
"""Phones and SIP against an Internet host and a hostile site phone
(docs/security.md "Phones and SIP"), with cfg/kamailio.cfg as shipped.

HRAS serves site a (HRAC up, alice behind it) and site b (configured, its
domain known); carol is a WAN phone. mallory (198.51.100.30) is a host on
the Internet with an account of its own (mallory@wan.example); a LAN host
of site a (192.168.1.11, the a-ph2 namespace) has one in its site's domain
(dan@site-a.example). Both use a hand-made SIP agent (sip_probe.py) that
sends what a real phone would refuse to.

  1. alice and carol register with digest authentication;
  2. mallory cannot register, hijack or de-register alice (an internal AoR):
     no credentials, wrong ones, `Contact: *` -- all 403 before any
     challenge; nor register or de-register carol without her password
     (401); nor register a brand-new user (401); alice's and carol's
     contacts are unchanged;
  3. dan (site a) cannot register in site b's domain or the WAN's (403);
  4. Contacts and R-URIs that lead to no public address are refused:
     mallory registering Contacts at loopback, link-local, multicast or a
     host name; dan calling loopback, link-local, CGNAT, RFC 1918 or a
     host name (403 once authenticated);
  5. a host guessing carol's password is banned after 10 failures, slowly
     enough for pike not to notice;
  6. a flood from another Internet host gets it banned (pike, htable
     ipban) and then ignored; the legitimate phones are not banned, and a
     call carol -> alice works, with each side's audio checked by content.

Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on failure.
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio  # noqa: E402
from calls import assert_conversation, talk  # noqa: E402
from checks import check, finish, require_parts  # noqa: E402
from sip_probe import SipProbe  # noqa: E402
from sofwnet import Baresip, Topology, EXT_IP, HRAC_IP, HRAS_IP, PHONE_IP  # noqa: E402
from sofwparts import Hras, Hrac, WAN_DOMAIN, site_domain  # noqa: E402

MALLORY_IP = "198.51.100.30"
FLOODER_IP = "198.51.100.31"
GUESSER_IP = "198.51.100.32"
ALICE = f"alice@{site_domain('a')}"
CAROL = f"carol@{WAN_DOMAIN}"
MALLORY = f"mallory@{WAN_DOMAIN}"
DAN = f"dan@{site_domain('a')}"
SPEECH_S = 6


def main():
    if require_parts():
        return 1
    with Topology(deadline=200) as topo:
        topo.build_standard(sites=1, policy="strict")
        topo.add_wan_host("mallory", MALLORY_IP)
        topo.add_wan_host("flooder", FLOODER_IP)
        topo.add_wan_host("guesser", GUESSER_IP)
        speech = audio.make_speech_wav(topo.path("speech.wav"),
                                       "Nobody took my number. One two three four.", SPEECH_S)
        tone = audio.make_tone_wav(topo.path("tone697.wav"), 697, 30)

        hras = Hras(topo, sites=("a", "b"))
        pw = {aor: hras.add_user(f"sip:{aor}") for aor in (ALICE, CAROL, MALLORY, DAN)}
        hras.start()
        Hrac(topo, "a").start()
        topo.wait_for(lambda: hras.site_up("a"), 10, "HRAS sees site a up")
        alice = Baresip(topo, "a-ph1", "alice", PHONE_IP["ph1"], f"sip:{ALICE}", password=pw[ALICE],
                        outbound=f"sip:{HRAC_IP}:5060", audio_wav=speech)
        carol = Baresip(topo, "ext", "carol", EXT_IP, f"sip:{CAROL}", password=pw[CAROL],
                        outbound=f"sip:{HRAS_IP}:5060", audio_wav=tone)
        mallory = SipProbe(topo.ns("mallory"), MALLORY_IP, (HRAS_IP, 5060))
        dan = SipProbe(topo.ns("a-ph2"), PHONE_IP["ph2"], (HRAC_IP, 5060))
        contacts = {}

        def register():
            for p in (alice, carol):
                p.start()
            for p in (alice, carol):
                p.wait_registered(15)
            ul = hras.kam.ul_contacts()
            contacts.update({aor: ul.get(aor) for aor in (ALICE, CAROL)})
            assert all(contacts.values()), f"not registered: {ul}"
            # kamctl stored the HA1 hashes only, never a password
            rows = topo.run("wan", ["sqlite3", hras.db, "SELECT username, password FROM subscriber"]).stdout
            assert rows.count("|\n") == 4 and not any(p in rows for p in pw.values()), rows
        if not check("alice (site) and carol (WAN) register with digest credentials", register):
            return finish(topo)

        def expect(what, got, *codes):
            assert got[0] in codes, f"{what}: {got} (expected {codes})"

        def no_hijack():
            expect("REGISTER alice, no credentials", mallory.register(ALICE), 403)
            expect("REGISTER alice, wrong password",
                   mallory.register(ALICE, user="alice", password="guess"), 403)
            expect("REGISTER alice, her own password, from the Internet",
                   mallory.register(ALICE, user="alice", password=pw[ALICE]), 403)
            expect("Contact: * for alice", mallory.register(ALICE, contact="*", user="alice", password="guess"), 403)
            expect("REGISTER carol, no credentials", mallory.register(CAROL), 401)
            expect("REGISTER carol, wrong password", mallory.register(CAROL, user="carol", password="guess"), 401)
            expect("Contact: * for carol, wrong password",
                   mallory.register(CAROL, contact="*", user="carol", password="guess"), 401)
            expect("REGISTER carol as mallory (auth user is not the AoR's)",
                   mallory.register(CAROL, user="mallory", password=pw[MALLORY]), 401, 403)
            expect("a brand-new user", mallory.register(f"newbie@{WAN_DOMAIN}", user="newbie", password="new"), 401)
            ul = hras.kam.ul_contacts()
            for aor in (ALICE, CAROL):
                assert ul.get(aor) == contacts[aor], f"{aor}'s contacts changed: {ul.get(aor)} != {contacts[aor]}"
            assert f"newbie@{WAN_DOMAIN}" not in ul, ul
        check("an Internet host cannot register, hijack or de-register alice or carol, nor add a user", no_hijack)

        def own_domain_only():
            expect("dan registers as himself", dan.register(DAN, user="dan", password=pw[DAN]), 200)
            expect("dan in site b's domain", dan.register(f"dan@{site_domain('b')}", user="dan",
                                                          password=pw[DAN]), 403)
            expect("dan in the WAN's domain", dan.register(f"dan@{WAN_DOMAIN}", user="dan", password=pw[DAN]), 403)
            expect("dan calls as a user of site b",
                   dan.invite(f"sip:{CAROL}", f"dan@{site_domain('b')}", user="dan", password=pw[DAN]), 403)
            ul = hras.kam.ul_contacts()
            assert f"dan@{site_domain('b')}" not in ul and f"dan@{WAN_DOMAIN}" not in ul, ul
        check("a site's phone registers and calls only in its own site's domain", own_domain_only)

        def public_destinations_only():
            for host in ("127.0.0.1", "169.254.1.1", "224.0.0.1", "evil.example"):
                expect(f"mallory's Contact at {host}",
                       mallory.register(MALLORY, contact=f"<sip:mallory@{host}:5060>", user="mallory",
                                        password=pw[MALLORY]), 403)
            assert MALLORY not in hras.kam.ul_contacts()
            for host in ("127.0.0.1", "169.254.1.1", "100.64.0.1", "10.1.2.3", "evil.example"):
                expect(f"dan calls sip:x@{host}",
                       dan.invite(f"sip:x@{host}", DAN, user="dan", password=pw[DAN]), 403)
            # HRAS's own tunnel socket names HRAS itself: a user there is not found
            expect("dan calls sip:x@127.0.0.1:5062",
                   dan.invite("sip:x@127.0.0.1:5062", DAN, user="dan", password=pw[DAN]), 403, 404)
        check("Contacts and R-URIs without a public address are refused", public_destinations_only)

        def guessing():
            guesser = SipProbe(topo.ns("guesser"), GUESSER_IP, (HRAS_IP, 5060))
            for i in range(10):
                expect(f"guess {i + 1}", guesser.register(CAROL, user="carol", password=f"guess{i}"), 401)
            assert hras.kam.kamcmd("htable.get", "ipban", GUESSER_IP, check=False), "the guesser is not banned"
            got = guesser.register(CAROL, user="carol", password=pw[CAROL], timeout=1.5)
            assert got[0] is None, f"a banned host was answered, with the right password: {got}"
            assert CAROL in hras.kam.ul_contacts() and hras.kam.ul_contacts()[CAROL] == contacts[CAROL]
        check("a host guessing a password is banned after 10 failures", guessing)

        def flood():
            flooder = SipProbe(topo.ns("flooder"), FLOODER_IP, (HRAS_IP, 5060))
            flooder.flood(f"sip:{CAROL}", f"flood@{WAN_DOMAIN}", 300)
            topo.wait_for(lambda: hras.kam.kamcmd("htable.get", "ipban", FLOODER_IP, check=False), 5,
                          "the flooder banned (htable ipban)")
            got = flooder.register(f"flood@{WAN_DOMAIN}", timeout=1.5)
            assert got[0] is None, f"a banned host was answered: {got}"
            for ip in (EXT_IP, MALLORY_IP, "127.1.0.1", "127.1.0.2"):
                assert not hras.kam.kamcmd("htable.get", "ipban", ip, check=False), f"{ip} banned"
            talk(topo, carol, alice, f"sip:{ALICE}", hras=hras, timeout=SPEECH_S + 15)
            assert_conversation(carol, tone, "tone", alice, speech, "speech")
        check("a flooder is banned; carol -> alice still connects, both hear each other", flood)

        return finish(topo)


if __name__ == "__main__":
    sys.exit(main())
