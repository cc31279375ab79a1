#!/usr/bin/python3
"""The README's demo, checked by its own report: it must end with 0, name
three calls whose audio passed, and say that only TCP crossed the firewall."""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
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
        "added latency reported": re.search(r"^added latency through the relay\s+p50 [\d.]+ ms, p99 [\d.]+ ms$",
                                            r.stdout, re.M) is not None,
    }
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'} {name}")
    if r.returncode != 0:
        print(r.stderr[-3000:])
    failed = sum(1 for ok in checks.values() if not ok)
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
