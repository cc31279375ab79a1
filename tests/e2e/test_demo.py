#!/usr/bin/python3
"""The README's demo, checked by its own report: it must end with 0, name
three calls whose audio passed, say that only TCP crossed the firewall, and
every figure in it must be possible (demo_report.py; test_demo_report.py
shows that check rejecting impossible reports)."""

import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from demo_report import report_problems  # noqa: E402

DEMO = os.path.join(HERE, "..", "..", "demo", "demo.py")


def main():
    r = subprocess.run([sys.executable, DEMO], capture_output=True, text=True, timeout=300)
    print(r.stdout)
    checks = {
        "demo exits 0": r.returncode == 0,
        "three calls in the report": len(re.findall(r"^call ", r.stdout, re.M)) == 3,
        "every call's audio passed": re.findall(r"^call .*audio (\w+)", r.stdout, re.M) == ["PASS"] * 3,
        "two calls relayed, the LAN call direct": (
            r.stdout.count("relayed through the tunnel") == 2 and r.stdout.count("direct inside the LAN") == 1),
        "only TCP crossed the firewall: yes": re.search(r"^only TCP crossed the firewall\s+yes$", r.stdout, re.M)
        is not None,
    }
    problems = report_problems(r.stdout)
    for p in problems:
        print(f"impossible report: {p}")
    checks["every line and figure of the report possible"] = not problems
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'} {name}")
    if r.returncode != 0:
        print(r.stderr[-3000:])
    failed = sum(1 for ok in checks.values() if not ok)
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
