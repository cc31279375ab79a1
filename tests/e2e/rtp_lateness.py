"""How late RTP packets reach a phone, measured from a capture beside it.

A phone's jitter buffer plays packets on an even schedule: one every 20 ms,
as their RTP timestamps say. A packet arriving too long after its slot is as
good as lost to the listener, whatever the recording made from the decoded
stream says. For every packet of one RTP stream in a capture:

    offset   = arrival time - RTP timestamp / clock rate
    lateness = offset - the smallest offset of the stream

so the stream's earliest packet (relative to its slot) sets the schedule and
lateness is how far behind that schedule each packet came. The sender's own
capture gives the same figures for what it sent (its scheduling jitter), and
matching packets by (SSRC, sequence number) across the two captures gives
the part the path added (transit time minus the smallest transit time).

Information for developers: the tests print these figures, they do not
judge by them (playout.py judges the same schedule, as a phone plays it).
"""

THRESHOLDS_MS = (60, 150)


def unwrap(values, modulus):
    """Successive wrapping counters (RTP seq, timestamp) as plain integers,
    the first one as is."""
    out, last = [], None
    half = modulus // 2
    for v in values:
        if last is None:
            out.append(v)
        else:
            d = (v - last[0]) % modulus
            if d >= half:
                d -= modulus
            out.append(last[1] + d)
        last = (v, out[-1])
    return out


def stream_rows(cap, flt, port):
    """[(ssrc, seq, timestamp, time)] of the RTP packets matching flt (one
    stream: the SSRC of the first packet), in capture order."""
    rows = cap.fields(flt, ["rtp.ssrc", "rtp.seq", "rtp.timestamp", "frame.time_epoch"],
                      decode_as=f"udp.port=={port},rtp")
    rows = [r for r in rows if r["rtp.seq"] and r["rtp.timestamp"] and r["rtp.ssrc"]]
    if not rows:
        return []
    ssrc = rows[0]["rtp.ssrc"]
    return [(r["rtp.ssrc"], int(r["rtp.seq"]), int(r["rtp.timestamp"]), float(r["frame.time_epoch"]))
            for r in rows if r["rtp.ssrc"] == ssrc]


def schedule_lateness(rows, clock=8000):
    """Lateness (ms) of each packet against the stream's even schedule, and
    how many packets are missing from its sequence number range."""
    if not rows:
        return [], 0
    ts = unwrap([r[2] for r in rows], 1 << 32)
    offsets = [r[3] - t / clock for r, t in zip(rows, ts)]
    base = min(offsets)
    seqs = set(unwrap([r[1] for r in rows], 1 << 16))
    missing = max(seqs) - min(seqs) + 1 - len(seqs)
    return [(o - base) * 1000 for o in offsets], missing


def path_lateness(sent_rows, received_rows):
    """Transit time minus the smallest transit time (ms), per packet found
    in both captures (matched by SSRC and sequence number)."""
    sent = {(r[0], r[1]): r[3] for r in sent_rows}
    transit = [r[3] - sent[(r[0], r[1])] for r in received_rows if (r[0], r[1]) in sent]
    if not transit:
        return []
    base = min(transit)
    return [(t - base) * 1000 for t in transit]


def shares(lateness, thresholds=THRESHOLDS_MS):
    """{threshold: share of packets later than it} (0..1)."""
    n = len(lateness)
    return {t: (sum(1 for x in lateness if x > t) / n if n else 0.0) for t in thresholds}


def _fmt(lateness):
    s = shares(lateness)
    late = ", ".join(f">{t} ms {100 * v:.1f} %" for t, v in s.items())
    return f"{late}, max {max(lateness, default=0):.0f} ms"


def report(direction, sender_cap, sent_flt, sent_port, receiver_cap, recv_flt, recv_port):
    """One direction's figures as a line of text and a dict: what arrived
    against its schedule, what the sender sent against the same schedule,
    and the part the path added."""
    sent = stream_rows(sender_cap, sent_flt, sent_port)
    received = stream_rows(receiver_cap, recv_flt, recv_port)
    recv_late, missing = schedule_lateness(received)
    sent_late, _ = schedule_lateness(sent)
    path_late = path_lateness(sent, received)
    line = (f"{direction}: {len(received)} RTP packets arrived ({len(sent)} sent, {missing} missing); "
            f"late against the 20 ms schedule: {_fmt(recv_late)}; "
            f"added by the path: {_fmt(path_late)}; sender's own: {_fmt(sent_late)}")
    return line, {"received": len(received), "sent": len(sent), "missing": missing,
                  "late": shares(recv_late), "path_late": shares(path_late),
                  "sender_late": shares(sent_late)}
