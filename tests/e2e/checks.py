"""PASS/FAIL bookkeeping of an end-to-end test: each check runs, prints one
line with its time, and the test ends with "N passed, N failed"."""

import time
import traceback

import sofwnet

_results = []


def check(name, fn):
    """Runs fn(); an exception (an assertion or anything else) fails the
    check. Returns True when it passed."""
    t0 = time.monotonic()
    try:
        fn()
    except Exception as e:  # noqa: BLE001 -- report any failure
        _results.append((name, False))
        print(f"FAIL {name} ({time.monotonic() - t0:.1f}s): {e}", flush=True)
        # An assertion says what failed; one without words needs its place.
        if not isinstance(e, AssertionError) or not str(e):
            traceback.print_exc()
        return False
    _results.append((name, True))
    print(f"PASS {name} ({time.monotonic() - t0:.1f}s)", flush=True)
    return True


def finish(topo=None):
    """Prints the summary; marks topo failed (its run directory is kept).
    Returns the exit code."""
    passed = sum(1 for _, ok in _results if ok)
    failed = len(_results) - passed
    if failed and topo is not None:
        topo.failed = True
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


def require_parts():
    """A missing part fails the test, never skips it: scripts/setup.sh
    installs every part, so CI has them all. Returns an exit code or None."""
    missing = sofwnet.missing_requirements()
    if missing:
        print(f"FAIL: cannot run, missing: {', '.join(missing)} (scripts/setup.sh installs them)")
        return 1
    return None

