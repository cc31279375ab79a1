"""A call between two baresip phones whose audio is checked by content:
what each side received is compared with the file the other side sent."""

import audio
from sofwparts import parse_kamcmd_structs


def rat(hras):
    return parse_kamcmd_structs(hras.kamcmd("sofw.rat") or "")


def assert_audio(sent_wav, phone, kind):
    recs = phone.recordings("dec")
    assert recs, f"{phone.name} recorded nothing"
    r = audio.compare(sent_wav, recs[-1], kind)
    print(f"    {phone.name} received: {r['summary']}", flush=True)
    assert r["ok"], f"{phone.name}: {r['summary']}"


def talk(topo, caller, callee, uri, hras=None, timeout=20, on_established=None):
    """caller dials uri, callee answers; the call runs until the shorter of
    the two microphone files ends and that phone hangs up. Waits until both
    sides are idle and, with hras, until the call's RAT entry is gone.
    on_established() runs once both sides have the call up."""
    mc, me = caller.mark(), callee.mark()
    caller.dial(uri)
    callee.wait_incoming(10, since=me)
    callee.answer()
    caller.wait_established(10, since=mc)
    callee.wait_established(10, since=me)
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
