#!/usr/bin/python3
"""demo_report.report_problems, the check test_demo.py applies to the real
demo's report: a possible report passes; made-up impossible ones (p50 above
p99, negative figures, missing, repeated or unreadable lines, verdicts that
contradict themselves) are each rejected, for the reason they are wrong."""

import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from demo_report import report_problems  # noqa: E402

# What demo/demo.py printed in a run of test_demo.py.
GOOD = """
SoFW demo report
================
accounts (kamctl add; digest auth)         alice@site-a.example, bob@site-a.example, carol@wan.example
registrations                              alice@site-a.example, bob@site-a.example, carol@wan.example
tunnel of site-a                           up (stream) via squid, HRAC 192.168.1.2:5060
call out  alice (LAN) -> carol (WAN)       audio PASS (speech ok, tone ok), 6.4 s
     media path                            relayed through the tunnel
call in   carol (WAN) -> alice (LAN)       audio PASS (speech ok, tone ok), 6.3 s
     media path                            relayed through the tunnel
call LAN  alice -> bob (same LAN)          audio PASS (speech ok, tone ok), 6.3 s
     media path                            direct inside the LAN (no media in the tunnel)
RTP packets relayed (both ways, matched)   1204
added latency through the relay            p50 0.37 ms, p99 4.31 ms
firewall WAN side                          455489 bytes, 2 TCP connections (from squid)
only TCP crossed the firewall              yes

logs and captures: /tmp/sofw-e2e-s1792-13kf6tsz
[sofwnet 00:20:56] run directory kept: /tmp/sofw-e2e-s1792-13kf6tsz
"""

LATENCY = "added latency through the relay            p50 0.37 ms, p99 4.31 ms"
FIREWALL = "firewall WAN side                          455489 bytes, 2 TCP connections (from squid)"
RTP = "RTP packets relayed (both ways, matched)   1204"
CALL_OUT = "call out  alice (LAN) -> carol (WAN)       audio PASS (speech ok, tone ok), 6.4 s"
ONLY_TCP = "only TCP crossed the firewall              yes"


def changed(old, new):
    assert GOOD.count(old) == 1, old
    return GOOD.replace(old, new)


def without(line):
    return changed(line + "\n", "")


# (what is wrong, the report, words the rejection must contain)
BAD = [
    ("p50 above p99", changed("p50 0.37 ms, p99 4.31 ms", "p50 4.31 ms, p99 0.37 ms"), "above p99"),
    ("negative p50", changed("p50 0.37 ms", "p50 -0.12 ms"), "p50: -0.12 is negative"),
    ("negative p99", changed("p99 4.31 ms", "p99 -4.31 ms"), "p99: -4.31 is negative"),
    ("negative byte total", changed("455489 bytes", "-455489 bytes"), "bytes: -455489 is negative"),
    ("negative connection count", changed("2 TCP", "-2 TCP"), "connections: -2 is negative"),
    ("negative packet count", changed(RTP, RTP.replace("1204", "-1204")), "-1204 is negative"),
    ("negative call duration", changed("6.4 s", "-6.4 s"), "duration: -6.4 is negative"),
    ("negative non-TCP count", changed(ONLY_TCP, ONLY_TCP.replace("yes", "no (-3 packets)")), "-3 is negative"),
    ("no packets matched yet a latency", changed(RTP, RTP.replace("1204", "0")), "0 is below 1"),
    ("no connection through squid", changed("2 TCP", "0 TCP"), "0 is below 1"),
    ("no bytes on the firewall", changed("455489 bytes", "0 bytes"), "0 is below 1"),
    ("'no' with no packets", changed(ONLY_TCP, ONLY_TCP.replace("yes", "no (0 packets)")), "0 is below 1"),
    ("latency line missing", without(LATENCY), "missing report line 'added latency through the relay'"),
    ("packet count missing", without(RTP), "missing report line 'RTP packets relayed"),
    ("firewall line missing", without(FIREWALL), "missing report line 'firewall WAN side'"),
    ("only-TCP line missing", without(ONLY_TCP), "missing report line 'only TCP crossed the firewall'"),
    ("no calls", "\n".join(l for l in GOOD.splitlines() if not l.startswith(("call ", "     media path"))),
     "missing report line 'call <title>'"),
    ("a call without its media path", without("     media path                            "
                                               "direct inside the LAN (no media in the tunnel)"),
     "not every call has its media path"),
    ("p99 missing from the latency", changed(", p99 4.31 ms", ""), "is not 'p50 <ms> ms, p99 <ms> ms'"),
    ("latency not a number", changed("p50 0.37 ms", "p50 n/a ms"), "'n/a' is not a number"),
    ("latency nan", changed("p99 4.31 ms", "p99 nan ms"), "'nan' is not a number"),
    ("byte total with a separator", changed("455489 bytes", "455,489 bytes"), "'455,489' is not a number"),
    ("packet count a fraction", changed(RTP, RTP.replace("1204", "1204.5")), "'1204.5' is not a number"),
    ("packet count empty", changed(RTP, RTP.replace("   1204", "")), "is not a number"),
    ("duration not a number", changed("6.4 s", "? s"), "duration: '?' is not a number"),
    ("firewall line reworded", changed("2 TCP connections", "2 connections"), "is not '<n> bytes"),
    ("PASS with bad speech", changed(CALL_OUT, CALL_OUT.replace("speech ok", "speech BAD")), "contradicts"),
    ("FAIL with both ok", changed(CALL_OUT, CALL_OUT.replace("PASS", "FAIL")), "contradicts"),
    ("call without a verdict", changed(CALL_OUT, "call out  alice (LAN) -> carol (WAN)"), "is not 'audio"),
    ("no registrations", changed("registrations                              alice@site-a.example, bob@site-a.example, "
                                 "carol@wan.example", "registrations"), "is not a list of user@domain"),
    ("latency line twice", changed(LATENCY, LATENCY + "\n" + LATENCY), "appears 2 times"),
    ("a line nobody checks", changed(ONLY_TCP, ONLY_TCP + "\njitter through the relay                   -3 ms"),
     "unknown report line"),
    ("no report at all", "demo.py: Traceback (most recent call last)\n", "heading 'SoFW demo report' is missing"),
    ("empty output", "", "heading 'SoFW demo report' is missing"),
]

# Possible reports, though not all of them good news (test_demo.py checks
# the verdicts); the validator must not reject them.
POSSIBLE = [
    ("the demo's report", GOOD),
    ("p50 equal to p99", changed("p99 4.31 ms", "p99 0.37 ms")),
    ("zero latency", changed("p50 0.37 ms, p99 4.31 ms", "p50 0.00 ms, p99 0.00 ms")),
    ("a call's audio failed", changed(CALL_OUT, CALL_OUT.replace("PASS (speech ok", "FAIL (speech BAD"))),
    ("non-TCP packets crossed", changed(ONLY_TCP, ONLY_TCP.replace("yes", "no (3 packets)"))),
    ("the report last in the output", GOOD[:GOOD.index("\nlogs and captures")]),
]


class DemoReportTest(unittest.TestCase):
    def test_impossible_reports_rejected(self):
        for what, report, reason in BAD:
            with self.subTest(what):
                problems = report_problems(report)
                self.assertTrue(problems, f"accepted: {what}")
                self.assertTrue(any(reason in p for p in problems),
                                f"{what}: rejected, but not for {reason!r}: {problems}")

    def test_possible_reports_accepted(self):
        for what, report in POSSIBLE:
            with self.subTest(what):
                self.assertEqual(report_problems(report), [])


if __name__ == "__main__":
    unittest.main()
