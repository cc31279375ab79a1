"""A call between two baresip phones whose audio is checked by content:
what each side received is compared with the file the other side sent."""

import audio
from sofwparts import kamcmd_pages


def rat(hras):
    return kamcmd_pages(hras, "sofw.rat")[0]


def assert_audio(sent_wav, phone, kind):
    recs = phone.recordings("dec")
    assert recs, f"{phone.name} recorded nothing"
    r = audio.compare(sent_wav, recs[-1], kind)
    print(f"    {phone.name} received: {r['summary']}", flush=True)
    assert r["ok"], f"{phone.name}: {r['summary']}"


def connect(caller, callee, uri):
    """caller dials uri, callee answers, both sides have the call up.
    Returns the two phones' event marks from before the dial."""
    mc, me = caller.mark(), callee.mark()
    caller.dial(uri)
    callee.wait_incoming(10, since=me)
    callee.answer()
    caller.wait_established(10, since=mc)
    callee.wait_established(10, since=me)
    return mc, me


def talk(topo, caller, callee, uri, hras=None, timeout=20, on_established=None):
    """caller dials uri, callee answers; the call runs until the shorter of
    the two microphone files ends and that phone hangs up. Waits until both
    sides are idle and, with hras, until the call's RAT entry is gone.
    on_established() runs once both sides have the call up."""
    mc, me = connect(caller, callee, uri)
    if on_established:
        on_established()
    for p, m in ((caller, mc), (callee, me)):
        p.wait_closed(timeout, since=m)
        p.wait_no_calls()
    if hras:
        topo.wait_for(lambda: not rat(hras), 5, "RAT empty after the call")


def assert_conversation(caller, caller_wav, caller_kind, callee, callee_wav, callee_kind):
    """Each side heard what the other sent."""
    assert_audio(caller_wav, callee, caller_kind)
    assert_audio(callee_wav, caller, callee_kind)


def rtp_times(cap, flt, port):
    """{(ssrc, seq): time} of RTP packets matching flt, decoded on port."""
    rows = cap.fields(flt, ["rtp.ssrc", "rtp.seq", "frame.time_epoch"], decode_as=f"udp.port=={port},rtp")
    return {(r["rtp.ssrc"], r["rtp.seq"]): float(r["frame.time_epoch"]) for r in rows if r["rtp.seq"]}


def added_latency(lan, wan, row):
    """Per-packet time through the relay (HRAC + tunnel + HRAS), both ways,
    matched by RTP SSRC and sequence number on the two captures."""
    p, q = int(row["hrac_port"]), int(row["hras_port"])
    out_lan = rtp_times(lan, f"udp.dstport=={p}", p)
    out_wan = rtp_times(wan, f"udp.srcport=={q}", q)
    in_wan = rtp_times(wan, f"udp.dstport=={q}", q)
    in_lan = rtp_times(lan, f"udp.srcport=={p}", p)
    d = [out_wan[k] - t for k, t in out_lan.items() if k in out_wan]
    d += [in_lan[k] - t for k, t in in_wan.items() if k in in_lan]
    return sorted(x * 1000 for x in d)
