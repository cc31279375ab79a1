#!/usr/bin/python3
"""Key figures of one or more bench/run.py result files, as Markdown.

    python3 bench/summarize.py bench/results/*.json

One table row per file, then the median of every column for each number of
calls (and --loss). Latencies in ms, CPU in ms per 1,000 relayed packets.
Results from before a column existed show "-" there.
"""

import json
import statistics
import sys


def get(r, *path):
    for p in path:
        if r is None:
            return None
        r = r.get(p) if isinstance(r, dict) else None
    return r


def lat(r, run, d, q):
    v = get(r, run, d, "latency_ns", q)
    return None if v is None else v / 1e6


def cpu(r, run, name):
    return get(r, run, "cpu", name, "per_1k_packets_ms")


def both_dirs(r, run, key):
    """(up, down) of a per-direction figure, None where the run lacks it."""
    if run not in r or get(r, run, "up", key) is None:
        return None
    return (get(r, run, "up", key), get(r, run, "down", key))


def sofw_cpu(r):
    return (cpu(r, "sofw", "hrac") or 0) + (cpu(r, "sofw", "hras_relay") or 0)


RUNS = (("sofw", "sofw"), ("coturn", "coturn"), ("direct", "direct"), ("rtpe", "rtpengine"))


COLUMNS = [
    ("calls", lambda r: r["params"]["calls"], "d"),
    ("lost direct", lambda r: (get(r, "direct", "up", "lost") or 0) + (get(r, "direct", "down", "lost") or 0), "d"),
    ("lost sofw", lambda r: (get(r, "sofw", "up", "lost") or 0) + (get(r, "sofw", "down", "lost") or 0), "d"),
    ("lost rtpe", lambda r: None if "rtpengine" not in r else
     get(r, "rtpengine", "up", "lost") + get(r, "rtpengine", "down", "lost"), "d"),
    ("p50 direct", lambda r: lat(r, "direct", "up", "p50"), ".3f"),
    ("p99 direct", lambda r: lat(r, "direct", "up", "p99"), ".3f"),
    ("p50 sofw up/down", lambda r: (lat(r, "sofw", "up", "p50"), lat(r, "sofw", "down", "p50")), ".3f"),
    ("p99 sofw up/down", lambda r: (lat(r, "sofw", "up", "p99"), lat(r, "sofw", "down", "p99")), ".3f"),
    ("added p99 (max of dirs)", lambda r: max(lat(r, "sofw", d, "p99") - lat(r, "direct", d, "p99")
                                              for d in ("up", "down")), ".3f"),
    ("max sofw", lambda r: max(lat(r, "sofw", d, "max") for d in ("up", "down")), ".1f"),
    ("p50 / p99 rtpe", lambda r: (lat(r, "rtpengine", "up", "p50"), lat(r, "rtpengine", "up", "p99"))
     if "rtpengine" in r else None, ".3f"),
    ("HRAC", lambda r: cpu(r, "sofw", "hrac"), ".1f"),
    ("HRAS relay", lambda r: cpu(r, "sofw", "hras_relay"), ".1f"),
    ("HRAS SIP", lambda r: cpu(r, "sofw", "hras_sip_workers"), ".1f"),
    ("HRAC+HRAS", lambda r: (cpu(r, "sofw", "hrac") or 0) + (cpu(r, "sofw", "hras_relay") or 0), ".1f"),
    ("rtpengine", lambda r: cpu(r, "rtpengine", "rtpengine"), ".1f"),
    ("ratio", lambda r: ((cpu(r, "sofw", "hrac") + cpu(r, "sofw", "hras_relay")) / cpu(r, "rtpengine", "rtpengine"))
     if cpu(r, "rtpengine", "rtpengine") else None, ".2f"),
    ("fw bytes/pkt", lambda r: get(r, "sofw", "fw", "bytes_per_rtp_packet"), ".0f"),
    ("fw IP pkts/pkt", lambda r: get(r, "sofw", "fw", "ip_packets_per_rtp_packet"), ".2f"),
    ("idle B/min", lambda r: get(r, "idle", "bytes_per_minute"), ".0f"),
    ("busy % d/s/e", lambda r: (get(r, "direct", "machine_busy_pct"), get(r, "sofw", "machine_busy_pct"),
                                get(r, "rtpengine", "machine_busy_pct")), ".0f"),
    ("loadgen % (sofw uac)", lambda r: get(r, "sofw", "cpu", "uac", "pct_core"), ".0f"),
    ("relays waited for CPU %", lambda r: (get(r, "sofw", "cpu", "hrac", "runqueue_wait_pct"),
                                           get(r, "sofw", "cpu", "hras_relay", "runqueue_wait_pct")), ".0f"),
    ("busy not ours (cores, max)", lambda r: max(unaccounted(r, n) for n in ("direct", "sofw", "rtpengine", "coturn")
                                                 if n in r), ".2f"),
    ("commit", lambda r: r.get("commit"), "s"),
    # with --loss: late or lost, per set-up, up / down
    ("loss %", lambda r: r["params"].get("loss", 0), "g"),
] + [(f"> {ms} ms or lost {short}", lambda r, run=run, ms=ms: both_dirs(r, run, f"late_{ms}ms_or_lost_pct"), ".2f")
     for ms in (60, 150) for short, run in RUNS] + [
    (f"lost % {short}", lambda r, run=run: both_dirs(r, run, "loss_pct"), ".2f") for short, run in RUNS] + [
    ("loss % ", lambda r: r["params"].get("loss", 0), "g"),
] + [(f"link bytes/pkt {short}", lambda r, run=run: get(r, run, "fw", "bytes_per_rtp_packet"), ".0f")
     for short, run in RUNS] + [
    (f"link IP pkts/pkt {short}", lambda r, run=run: get(r, run, "fw", "ip_packets_per_rtp_packet"), ".2f")
    for short, run in RUNS] + [
    ("coturn CPU", lambda r: cpu(r, "coturn", "coturn"), ".1f"),
    ("ratio sofw/coturn", lambda r: sofw_cpu(r) / cpu(r, "coturn", "coturn")
     if cpu(r, "coturn", "coturn") and "sofw" in r else None, ".2f"),
]


def value(fn, r):
    """A column of one result; None where the run failed or lacks a set-up."""
    if r.get("error"):
        return None
    try:
        return fn(r)
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def unaccounted(r, run):
    """Cores of busy time not accounted to our processes during a window."""
    x = r[run]
    ours = sum(c["seconds"] for c in x["cpu"].values() if c) / x["window_s"]
    cores = r["machine"]["cpus"]
    return x["machine_busy_pct"] / 100 * cores - ours - x["other_load"]["user_pct_core"] / 100


def fmt(v, spec):
    if v is None:
        return "-"
    if isinstance(v, tuple):
        return " / ".join(fmt(x, spec) for x in v)
    if spec == "d":
        v = round(v)
    return format(v, spec)


def median(vals):
    if not vals or any(v is None for v in vals):
        return None
    if isinstance(vals[0], tuple):
        return tuple(median([v[i] for v in vals]) for i in range(len(vals[0])))
    if isinstance(vals[0], str):
        return vals[0] if len(set(vals)) == 1 else "mixed"
    return statistics.median(vals)


# tables of a readable width: (title, first column, end)
_LATE = [c[0] for c in COLUMNS].index("loss %")
_LINK = [c[0] for c in COLUMNS].index("loss % ")
TABLES = [("Loss and one-way latency (ms; up = LAN->WAN)", 1, 11),
          ("CPU (ms per 1,000 relayed packets), firewall bytes, machine", 11, _LATE),
          ("Late or lost (% of the packets sent in the window, up / down)", _LATE, _LINK),
          ("Bytes on each set-up's link per RTP packet (SOFW: firewall WAN side; COTURN: the TURN "
           "client's router's WAN side; DIRECT/RTPENGINE: the UAC's port), COTURN CPU", _LINK, len(COLUMNS))]


def main(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            r = json.load(f)
        rows.append((p, [value(fn, r) for _, fn, _ in COLUMNS]))
    for title, a, b in TABLES:
        cols = [COLUMNS[0]] + COLUMNS[a:b]
        idx = [0] + list(range(a, b))
        print(f"\n{title}\n")
        print("| run | " + " | ".join(c for c, _, _ in cols) + " |")
        print("|---" * (len(cols) + 1) + "|")
        for p, vals in rows:
            print(f"| {p.rsplit('/', 1)[-1]} | " + " | ".join(fmt(vals[i], COLUMNS[i][2]) for i in idx) + " |")
        for group in sorted({(v[0], v[_LATE]) for _, v in rows if v[0] is not None}):
            sel = [v for _, v in rows if (v[0], v[_LATE]) == group]
            if len(sel) < 2:
                continue
            med = [median([v[i] for v in sel]) for i in range(len(COLUMNS))]
            print(f"| **median of {len(sel)}** | " + " | ".join(fmt(med[i], COLUMNS[i][2]) for i in idx) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    main(sys.argv[1:])
