"""What a possible demo report looks like (demo/demo.py prints it): every
line known, every figure present, a number, and not impossible — no
negative count, byte total, duration or latency, no p50 above its p99, no
verdict that contradicts its parts. report_problems() lists what is wrong;
test_demo.py applies it to the real report, test_demo_report.py to made-up
ones that it must reject."""

import re

HEADING = ("SoFW demo report", "================")
INT = re.compile(r"-?\d+")
DEC = re.compile(r"-?\d+(?:\.\d+)?")


def report_lines(text):
    """The report's lines: from under its heading to the first empty line;
    None when there is no heading."""
    lines = text.splitlines()
    for i in range(len(lines) - 1):
        if (lines[i], lines[i + 1]) == HEADING:
            body = lines[i + 2:]
            return body[:body.index("")] if "" in body else body
    return None


def _figure(problems, what, token, form, least):
    """token as a number of the given form (INT or DEC), or None with the
    reason added to problems; least is the smallest possible value."""
    if not form.fullmatch(token):
        problems.append(f"{what}: {token!r} is not a number")
        return None
    value = int(token) if form is INT else float(token)
    if value < 0:
        problems.append(f"{what}: {token} is negative")
    elif value < least:
        problems.append(f"{what}: {token} is below {least}, which cannot be")
    return value


def _names(label, value):
    """A comma-separated list of user@domain (accounts, registrations)."""
    if not all(re.fullmatch(r"[^\s@,]+@[^\s@,]+", n) for n in value.split(", ")):
        return [f"{label}: {value!r} is not a list of user@domain"]
    return []


def _tunnel(label, value):
    if not re.fullmatch(r"\S+ \(\S+\) via squid, HRAC \S+", value):
        return [f"{label}: {value!r} is not '<state> (<mode>) via squid, HRAC <address>'"]
    return []


def _call(label, value):
    m = re.fullmatch(r"audio (\S+) \(speech (\S+), tone (\S+)\), (\S+) s", value)
    if not m:
        return [f"{label}: {value!r} is not 'audio <verdict> (speech <ok|BAD>, tone <ok|BAD>), <seconds> s'"]
    verdict, speech, tone, seconds = m.groups()
    problems = []
    if verdict not in ("PASS", "FAIL") or speech not in ("ok", "BAD") or tone not in ("ok", "BAD"):
        problems.append(f"{label}: unknown verdict in {value!r}")
    elif (verdict == "PASS") != (speech == tone == "ok"):
        problems.append(f"{label}: audio {verdict} contradicts speech {speech}, tone {tone}")
    _figure(problems, f"{label} duration", seconds, DEC, 0)
    return problems


def _media_path(label, value):
    if value not in ("relayed through the tunnel", "direct inside the LAN (no media in the tunnel)"):
        return [f"{label}: {value!r} is neither relayed nor direct"]
    return []


def _rtp_packets(label, value):
    # printed only when packets were matched, so never 0
    problems = []
    _figure(problems, label, value, INT, 1)
    return problems


def _latency(label, value):
    m = re.fullmatch(r"p50 (\S+) ms, p99 (\S+) ms", value)
    if not m:
        return [f"{label}: {value!r} is not 'p50 <ms> ms, p99 <ms> ms'"]
    problems = []
    p50 = _figure(problems, f"{label} p50", m[1], DEC, 0)
    p99 = _figure(problems, f"{label} p99", m[2], DEC, 0)
    if p50 is not None and p99 is not None and p50 > p99:
        problems.append(f"{label}: p50 {m[1]} ms is above p99 {m[2]} ms")
    return problems


def _firewall(label, value):
    m = re.fullmatch(r"(\S+) bytes, (\S+) TCP connections \(from squid\)", value)
    if not m:
        return [f"{label}: {value!r} is not '<n> bytes, <n> TCP connections (from squid)'"]
    # The tunnel and the relayed calls crossed the firewall through squid:
    # at least one connection, and bytes with it.
    problems = []
    _figure(problems, f"{label} bytes", m[1], INT, 1)
    _figure(problems, f"{label} TCP connections", m[2], INT, 1)
    return problems


def _only_tcp(label, value):
    if value == "yes":
        return []
    m = re.fullmatch(r"no \((\S+) packets\)", value)
    if not m:
        return [f"{label}: {value!r} is neither 'yes' nor 'no (<n> packets)'"]
    problems = []
    _figure(problems, f"{label} non-TCP packets", m[1], INT, 1)
    return problems


# (label, a pattern the label matches, how many lines: an int or "1+", check)
LINES = [
    ("accounts (kamctl add; digest auth)", None, 1, _names),
    ("registrations", None, 1, _names),
    ("tunnel of site-a", None, 1, _tunnel),
    ("call <title>", re.compile(r"call \S.*?(?=\s+audio |$)"), "1+", _call),
    ("     media path", None, "1+", _media_path),
    ("RTP packets relayed (both ways, matched)", None, 1, _rtp_packets),
    ("added latency through the relay", None, 1, _latency),
    ("firewall WAN side", None, 1, _firewall),
    ("only TCP crossed the firewall", None, 1, _only_tcp),
]


def _split(line):
    """(entry of LINES, the line's label, its value) or None: the label is
    left-aligned and padded with spaces up to the value."""
    for entry in LINES:
        label, pattern = entry[0], entry[1]
        m = pattern.match(line) if pattern else None
        if pattern is None and (line == label or line.startswith(label + " ")):
            return entry, label, line[len(label):].strip()
        if m:
            return entry, m[0], line[m.end():].strip()
    return None


def report_problems(text):
    """Everything that makes text an impossible demo report; [] when it is
    a possible one."""
    lines = report_lines(text)
    if lines is None:
        return ["no report: its heading 'SoFW demo report' is missing"]
    problems, seen = [], {}
    for line in lines:
        split = _split(line)
        if split is None:
            problems.append(f"unknown report line {line!r}")
            continue
        entry, label, value = split
        seen[entry[0]] = seen.get(entry[0], 0) + 1
        problems += entry[3](label, value)
    for label, _, count, _ in LINES:
        n = seen.get(label, 0)
        if n == 0:
            problems.append(f"missing report line {label.strip()!r}")
        elif count != "1+" and n != count:
            problems.append(f"report line {label.strip()!r} appears {n} times")
    if seen.get("call <title>", 0) != seen.get("     media path", 0):
        problems.append("not every call has its media path line")
    return problems
