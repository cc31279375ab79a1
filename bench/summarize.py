#!/usr/bin/python3
"""Key figures of one or more bench/run.py result files, as Markdown.

    python3 bench/summarize.py bench/results/*.json

One table row per file, then the median of every column for each number of
calls. Latencies in ms, CPU in ms per 1,000 relayed packets.
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
    ("busy not ours (cores, max)", lambda r: max(unaccounted(r, n) for n in ("direct", "sofw", "rtpengine")
                                                 if n in r), ".2f"),
    ("commit", lambda r: r.get("commit"), "s"),
]


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


# two tables, so that each stays readable: (title, first column, end)
TABLES = [("Loss and one-way latency (ms; up = LAN->WAN)", 1, 11),
          ("CPU (ms per 1,000 relayed packets), firewall bytes, machine", 11, len(COLUMNS))]


def main(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            r = json.load(f)
        rows.append((p, [fn(r) if not r.get("error") else None for _, fn, _ in COLUMNS]))
    for title, a, b in TABLES:
        cols = [COLUMNS[0]] + COLUMNS[a:b]
        idx = [0] + list(range(a, b))
        print(f"\n{title}\n")
        print("| run | " + " | ".join(c for c, _, _ in cols) + " |")
        print("|---" * (len(cols) + 1) + "|")
        for p, vals in rows:
            print(f"| {p.rsplit('/', 1)[-1]} | " + " | ".join(fmt(vals[i], COLUMNS[i][2]) for i in idx) + " |")
        for calls in sorted({v[0] for _, v in rows if v[0] is not None}):
            sel = [v for _, v in rows if v[0] == calls]
            if len(sel) < 2:
                continue
            med = [median([v[i] for v in sel]) for i in range(len(COLUMNS))]
            print(f"| **median of {len(sel)}** | " + " | ".join(fmt(med[i], COLUMNS[i][2]) for i in idx) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    main(sys.argv[1:])
