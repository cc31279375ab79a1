#!/usr/bin/python3
"""SoFW media benchmark: N concurrent calls with RTP, DIRECT vs through SoFW.

    sudo python3 bench/run.py --calls 50 --seconds 20
    sudo bench/run.sh --calls 500 --seconds 20        # builds first
    sudo bench/run.sh --calls 50 --seconds 10 --loss 2 --only sofw,coturn

One run, in network namespaces of its own (tests/e2e/sofwnet.Topology):

  DIRECT  UAC and UAS (bench/loadgen, `sofw-loadgen`) in two namespaces on
          one bridge of their own (198.18.0.0/24), with a plain Kamailio
          registrar/record-routing proxy (bench/direct-registrar.cfg) in a
          third: the UAS registers there, the UAC calls through it; media
          goes straight between UAC and UAS (Kamailio does not touch SDP).
  SOFW    the e2e standard site: UAC in a-ph1 (192.168.1.10) behind the
          strict firewall, HRAC (hrac-agent) in a-lan as its outbound proxy,
          the HTTP tunnel through a-fw, HRAS (Kamailio + sofw.so,
          cfg/kamailio.cfg) in wan, the UAS in ext (198.51.100.20)
          registered with HRAS. Both authenticate (digest) as the
          reference configuration demands: the users are added to HRAS's
          account database first.

  RTPENGINE  (when /usr/bin/rtpengine is installed; bench/run.sh installs
          it; --no-rtpengine skips it) the DIRECT set-up with every call's
          media through rtpengine-daemon in userspace (--table=-1), driven
          by the same Kamailio (rtpengine_offer/answer/delete): "one good
          single UDP relay" as the reference for CPU per packet.
  COTURN  (when /usr/bin/turnserver is installed; bench/run.sh installs
          Debian's coturn; --no-coturn skips it) what a phone behind a
          firewall that lets only TCP out would use instead of SoFW: TURN
          over TCP. The UAC sits behind a NAT router of its own (t-rt, its
          WAN side on the DIRECT bridge) and is a TURN client of coturn
          (t-turn, 198.18.0.3, --no-auth on a private realm): per call one
          TCP connection, Allocate, CreatePermission and ChannelBind for the
          UAS's media address, RTP as ChannelData; its SDP offers the relayed
          address and the UAS sends plain RTP there. SIP as in DIRECT.

Every set-up has a "link" that stands for the firewall's WAN side: SOFW the
site firewall's (a-fw, lan0 <-> wan0), COTURN its router's (t-rt), DIRECT
and RTPENGINE the UAC's port on the bridge. Its IP bytes and packets are
counted (nft counters, both directions, ACKs included), and --loss PCT drops
PCT % of the packets crossing it at random in both directions (nftables
numgen) while the calls' media flows (from when every call is up until
just before the BYEs).
All runs place the same N calls (--cps per second), wait until all are up,
then measure a window of --seconds: packets sent/received per direction
(by the send time stamped into each packet), one-way latency (sender's
CLOCK_REALTIME in the payload vs the receiving socket's kernel time stamp),
the CPU time of every relaying process (/proc/PID/stat: HRAC, HRAS's
"sofw relay" process and its SIP workers, rtpengine, coturn), the packets
later than 60 and 150 ms, the bytes on the link (nft counters in a table of
our own) and the machine's busy time (/proc/stat). Before the SoFW calls, and while the
DIRECT run keeps the CPUs busy elsewhere, an idle window (--idle-seconds,
default 2 keep-alive intervals) measures what an idle tunnel costs on the
firewall's WAN side. Processes not ours that use CPU during a window (a
shared machine) are named in the report, as are other signs that the
machine rather than the relay was the limit.

Prints a table and writes everything as JSON (--json PATH, default in the
run directory). Exits 0 when all runs completed (whatever their figures),
1 when a run could not be carried out.
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import sofwnet  # noqa: E402
from sofwnet import (Kamailio, Proc, Topology, EXT_IP, HRAC_IP, HRAS_IP,  # noqa: E402
                     PHONE_IP, build_dir, log, source_dir)
from percentiles import percentile  # noqa: E402
from sofwparts import Hras, Hrac, WAN_DOMAIN, parse_kamcmd_structs, site_domain  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1

# DIRECT: a bridge of its own in the benchmarking range (RFC 2544).
D_KAM, D_UAC, D_UAS = "198.18.0.1", "198.18.0.10", "198.18.0.11"
D_DOMAIN = "direct.example"
D_BRIDGE_MAC = "02:5f:00:00:d0:01"

PACKET = 172                    # RTP bytes of one packet (12 header + 160 PCMU)
RAW_IP = PACKET + 8 + 20        # the same packet as plain IPv4/UDP

# COTURN: the relay on the DIRECT bridge, the UAC behind a NAT router whose
# WAN side is on the same bridge and whose LAN is a private net of its own.
T_TURN, T_RT_WAN = "198.18.0.3", "198.18.0.4"
T_LAN_GW, T_UAC = "192.168.50.1", "192.168.50.10"
TURN_PORT = 3478
TURNSERVER_BIN = "/usr/bin/turnserver"


class Link:
    """The link that stands for a set-up's "firewall WAN side": its bytes are
    counted, and --loss drops packets on it. Forward between lan0 and wan0
    of a firewall or router namespace (SOFW, COTURN), or the UAC's port on
    the DIRECT bridge (DIRECT, RTPENGINE: a drop there is loss on the wire,
    where a drop in the UAC's own output hook would fail its sendto()).
    Counting (priority -10) comes before the loss (-5): the bytes are what
    the senders put on the link, dropped packets and retransmissions
    included. Tables of our own, policy accept: the namespace's own ruleset
    still decides."""

    def __init__(self, topo, ns, family, up, down, what):
        self.topo, self.ns, self.family = topo, ns, family
        self.up, self.down, self.what = up, down, what
        self.counting = False
        self.loss_pct = 0.0

    @classmethod
    def forward(cls, topo, ns, what):
        return cls(topo, ns, "inet", 'iifname "lan0" oifname "wan0"', 'iifname "wan0" oifname "lan0"', what)

    @classmethod
    def bridge_port(cls, topo, ns, port, what):
        return cls(topo, ns, "bridge", f'meta protocol ip iifname "{port}"',
                   f'meta protocol ip oifname "{port}"', what)

    def _table(self, name, prio, action):
        return (f"table {self.family} {name} {{\n"
                f"    chain forward_{name} {{\n"
                f"        type filter hook forward priority {prio}; policy accept;\n"
                f'        {self.up} {action} comment "up"\n'
                f'        {self.down} {action} comment "down"\n'
                f"    }}\n}}\n")

    def count(self):
        if not self.counting:
            self.topo.run(self.ns, ["nft", "-f", "-"], input=self._table("sofw_bench", -10, "counter"))
            self.counting = True

    def _list(self, table):
        r = self.topo.run(self.ns, ["nft", "list", "table", self.family, table])
        out = {}
        for m in re.finditer(r'counter packets (\d+) bytes (\d+)(?: drop)? comment "(\w+)"', r.stdout):
            out[m.group(3)] = {"packets": int(m.group(1)), "bytes": int(m.group(2))}
        return out

    def counters(self):
        return self._list("sofw_bench")

    def start_loss(self, pct):
        """Drops pct % of the packets each way, at random (per 10,000)."""
        self.loss_pct = pct
        n = round(pct * 100)
        self.topo.run(self.ns, ["nft", "-f", "-"],
                      input=self._table("sofw_loss", -5, f"numgen random mod 10000 < {n} counter drop"))

    def drops(self):
        return self._list("sofw_loss") if self.loss_pct else None

    def stop_loss(self):
        if not self.loss_pct:
            return None
        d = self.drops()
        self.topo.run(self.ns, ["nft", "delete", "table", self.family, "sofw_loss"])
        self.loss_pct = 0.0
        return d


# --------------------------------------------------------------------------
# measurement helpers

def cpu_seconds(pid):
    """utime + stime of one process, in seconds (None if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


STAT_COLS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def machine_ticks():
    """Jiffies of all CPUs from /proc/stat by column."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return dict(zip(STAT_COLS, v))


def machine_delta(a, b, dt):
    """Busy % of the whole machine over dt seconds, and the tick samples of
    each /proc/stat column as % of all samples. Busy comes from the idle
    time, which the kernel accounts exactly; the other columns are sampled
    at the timer tick and miss short bursts (this VM: HZ=250, tick-based
    accounting), so they only show proportions."""
    d = {k: b[k] - a[k] for k in STAT_COLS}
    idle_s = (d["idle"] + d["iowait"]) / CLK_TCK
    busy = max(0.0, 100.0 * (1 - idle_s / (NCPU * dt)))
    total = sum(d.values())
    return busy, {k: round(pct(v, total), 1) for k, v in d.items()}


def runqueue_wait(pid):
    """Seconds the threads of a process spent runnable but waiting for a
    CPU (/proc/PID/task/*/schedstat, second field), None if it is gone."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e9


def all_cpu():
    """{pid: (name, ppid, cpu seconds)} of every process on the machine."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        name = raw[raw.find("(") + 1:raw.rfind(")")]
        fields = raw.rsplit(")", 1)[1].split()
        out[int(d)] = (name, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK)
    return out


def our_pids(topo):
    pids = {os.getpid()}
    for ns in topo.namespaces:
        r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
        pids.update(int(p) for p in r.stdout.split())
    return pids


def other_load(a, b, ours, dt):
    """CPU (% of one core) used during the window by processes that are not
    ours: user processes by name, kernel threads (ksoftirqd, kworker: partly
    our own packet processing) as one figure."""
    users, kernel = {}, 0.0
    for pid, (name, ppid, sec) in b.items():
        if pid in ours or pid not in a:
            continue
        d = sec - a[pid][2]
        if d <= 0:
            continue
        if ppid == 2 or pid == 2:
            kernel += d
        else:
            users[name] = users.get(name, 0.0) + d
    top = sorted(users.items(), key=lambda kv: -kv[1])[:5]
    return {"user_seconds": sum(users.values()),
            "user_pct_core": pct(sum(users.values()), dt),
            "top_user": {n: round(pct(s, dt), 1) for n, s in top if s > 0},
            "kernel_threads_pct_core": pct(kernel, dt)}


def pct(part, whole):
    return 100.0 * part / whole if whole else 0.0


class Loadgen:
    """One sofw-loadgen process in a namespace, driven over its stdin."""

    def __init__(self, topo, ns, name, role, sip, proxy, domain, calls, cps,
                 from_domain=None, password=None, register=False, turn=None):
        self.topo, self.name = topo, name
        binary = os.path.join(build_dir(), "bench", "sofw-loadgen")
        if not os.access(binary, os.X_OK):
            raise RuntimeError(f"{binary} is missing: build first (bench/run.sh)")
        argv = [binary, "--role", role, "--sip", sip, "--proxy", proxy,
                "--domain", domain, "--calls", str(calls), "--cps", str(cps)]
        if from_domain:
            argv += ["--from-domain", from_domain]
        if password:
            argv += ["--password", password]
        if register:
            argv += ["--register"]
        if turn:
            argv += ["--turn", turn]
        log_path = topo.path(f"{name}.log")
        with open(log_path, "ab") as out:
            popen = subprocess.Popen(
                ["ip", "netns", "exec", topo.ns(ns)] + argv, stdin=subprocess.PIPE,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.proc = Proc(name, topo.ns(ns), argv, popen, log_path)
        topo.procs.append(self.proc)     # stopped by the topology's teardown
        self.wait(r"^READY$", 10)

    @property
    def pid(self):
        return self.proc.pid

    def cmd(self, line):
        self.proc.popen.stdin.write((line + "\n").encode())
        self.proc.popen.stdin.flush()

    def wait(self, regex, timeout, what=None):
        return self.topo.wait_log(self.proc, regex, timeout,
                                  what or f"{self.name}: /{regex}/")

    def report(self):
        path = self.topo.path(f"{self.name}.json")
        self.cmd(f"report {path}")
        self.wait(r"^REPORTED$", 30)
        with open(path) as f:
            return json.load(f)

    def quit(self):
        if self.proc.alive():
            try:
                self.cmd("quit")
                self.proc.popen.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.stop()


def renice(pids, value):
    """Diagnostic (--relay-nice): set the nice value of every thread of the
    relay processes, to tell CPU contention from the relays' own delays."""
    for pid in pids:
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            continue
        for tid in tids:
            try:
                os.setpriority(os.PRIO_PROCESS, tid, value)
            except OSError:
                pass


def kamailio_procs(kam):
    """{pid: description} of a Kamailio instance (kamcmd core.psx)."""
    out = kam.kamcmd("core.psx")
    return {int(p["PID"]): p.get("DSC", "") for p in parse_kamcmd_structs(out)
            if p.get("PID", "").isdigit()}


def udp_errors(topo, namespaces):
    """{namespace: {InErrors, RcvbufErrors, SndbufErrors}} from /proc/net/snmp
    of each namespace: datagrams the kernel dropped at a full socket."""
    out = {}
    for ns in namespaces:
        r = topo.run(ns, ["cat", "/proc/net/snmp"], check=False)
        lines = [ln.split() for ln in r.stdout.splitlines() if ln.startswith("Udp:")]
        if len(lines) >= 2:
            v = dict(zip(lines[0][1:], (int(x) for x in lines[1][1:])))
            out[ns] = {k: v.get(k, 0) for k in ("InErrors", "RcvbufErrors", "SndbufErrors")}
    return out


def udp_errors_delta(a, b):
    return {ns: {k: b[ns][k] - a[ns].get(k, 0) for k in b[ns]} for ns in b
            if any(b[ns][k] - a[ns].get(k, 0) for k in b[ns])}


def counter_delta(a, b):
    return {k: {f: b[k][f] - a[k][f] for f in ("packets", "bytes")} for k in b}


# --------------------------------------------------------------------------
# one measured run

def run_calls(topo, label, uac, uas, args, procs, link, relayed=None, namespaces=()):
    """Place the calls, measure a window, hang up. procs: {name: pid} whose
    CPU time is measured; link: the set-up's Link (bytes counted, --loss
    applied while media flows); relayed(): relay packet counter (or None);
    namespaces: where to count UDP datagrams dropped at full sockets."""
    link.count()
    udp0 = udp_errors(topo, namespaces)
    log(f"{label}: placing {args.calls} calls at {args.cps}/s")
    uac.cmd("call")
    m = uac.wait(r"^CALLS up=(\d+) failed=(\d+)$", args.calls / args.cps + 45,
                 f"{label}: all calls answered or failed")
    up, failed = int(m.group(1)), int(m.group(2))
    log(f"{label}: {up} calls up, {failed} failed")
    if up == args.calls:
        uas.wait(r"^ACKED \d+$", 10, f"{label}: UAS saw every ACK")
    if args.loss:
        log(f"{label}: dropping {args.loss:g} % of the packets each way on {link.what}")
        link.start_loss(args.loss)
    time.sleep(args.settle)

    t0 = time.time_ns() + 500_000_000
    t1 = t0 + int(args.seconds * 1e9)
    for lg in (uac, uas):
        lg.cmd(f"window {t0} {t1}")

    ours = our_pids(topo)

    def snapshot():
        return {"cpu": {n: cpu_seconds(p) for n, p in procs.items()},
                "wait": {n: runqueue_wait(p) for n, p in procs.items()},
                "all": all_cpu(),
                "machine": machine_ticks(),
                "relayed": relayed() if relayed else None,
                "fw": link.counters(),
                "drops": link.drops(),
                "t": time.monotonic()}

    time.sleep(max(0, (t0 - time.time_ns()) / 1e9))
    s0 = snapshot()
    log(f"{label}: measuring {args.seconds:.0f} s")
    time.sleep(max(0, (t1 - time.time_ns()) / 1e9))
    s1 = snapshot()
    # stop the media on both sides, let what is in flight arrive, hang up
    time.sleep(0.3)
    for lg in (uac, uas):
        lg.cmd("stop")
    time.sleep(1.0)
    drops_total = link.stop_loss()
    uac.cmd("bye")
    m = uac.wait(r"^BYES ok=(\d+) failed=(\d+)$", 40, f"{label}: BYEs answered")
    bye_ok, bye_failed = int(m.group(1)), int(m.group(2))
    ruac, ruas = uac.report(), uas.report()
    udp1 = udp_errors(topo, namespaces)

    dt = s1["t"] - s0["t"]
    busy, columns = machine_delta(s0["machine"], s1["machine"], dt)
    res = {
        "calls": args.calls, "calls_up": up, "calls_failed": failed,
        "fail_codes": ruac["fail_codes"], "bye_ok": bye_ok, "bye_failed": bye_failed,
        "window_s": dt,
        "machine_busy_pct": busy,
        "machine_cpu_pct": columns,
        "up": direction(ruac, ruas),      # UAC -> UAS (LAN -> WAN)
        "down": direction(ruas, ruac),    # UAS -> UAC (WAN -> LAN)
        "send_lag_ns": {"uac": ruac["tx"]["send_lag_ns"], "uas": ruas["tx"]["send_lag_ns"]},
        "tx_queue_drops": {"uac": ruac["tx"].get("queue_drops", 0), "uas": ruas["tx"].get("queue_drops", 0)},
        "sip": {"uac": ruac["sip"], "uas": ruas["sip"]},
        "cpu": {},
        "other_load": other_load(s0["all"], s1["all"], ours, dt),
        # whole run (set-up to BYE): datagrams dropped at full UDP sockets
        "udp_socket_drops": udp_errors_delta(udp0, udp1),
    }
    # Every packet an endpoint sent in the window crosses the relay once.
    res["relayed_packets"] = res["up"]["sent"] + res["down"]["sent"]
    if relayed:
        res["relay_counter_delta"] = s1["relayed"] - s0["relayed"]
    for n in procs:
        a, b = s0["cpu"][n], s1["cpu"][n]
        if a is None or b is None:
            res["cpu"][n] = None
            continue
        c = {"seconds": b - a, "pct_core": pct(b - a, dt)}
        wa, wb = s0["wait"][n], s1["wait"][n]
        if wa is not None and wb is not None:
            # share of the window it was ready to run but had no CPU
            c["runqueue_wait_pct"] = pct(wb - wa, dt)
        if res["relayed_packets"]:
            c["per_1k_packets_ms"] = 1000.0 * (b - a) / (res["relayed_packets"] / 1000.0)
        res["cpu"][n] = c
    # The machine's busy time less the load generators and the processes not
    # ours that lived through the window: the relays plus kernel work charged
    # to no process. Only in the JSON: short-lived processes of others on a
    # shared machine land here too, and a saturated machine caps it.
    busy_s = busy / 100.0 * NCPU * dt
    lg_s = sum((res["cpu"].get(w) or {}).get("seconds", 0) for w in ("uac", "uas"))
    rest = busy_s - lg_s - res["other_load"]["user_seconds"]
    res["machine_rest"] = {"seconds": rest,
                           "per_1k_packets_ms": 1000.0 * rest / (res["relayed_packets"] / 1000.0)
                           if res["relayed_packets"] else None,
                           "saturated": busy > 90}
    fw = counter_delta(s0["fw"], s1["fw"])
    # RTP packets that crossed (or were offered to) the link in the window:
    # what HRAS relayed (SOFW, as in the first results), else what both
    # ends sent
    pk = res.get("relay_counter_delta") if relayed else res["relayed_packets"]
    res["fw"] = {"counters": fw, "link": link.what,
                 "bytes_per_rtp_packet": (fw["up"]["bytes"] + fw["down"]["bytes"]) / pk if pk else None,
                 "ip_packets_per_rtp_packet": (fw["up"]["packets"] + fw["down"]["packets"]) / pk if pk else None,
                 "raw_udp_bytes": RAW_IP}
    if args.loss:
        res["loss"] = {"pct": args.loss, "link": link.what,
                       "dropped_window": counter_delta(s0["drops"], s1["drops"]),
                       "dropped_total": drops_total}
    if ruac.get("turn"):
        res["turn_client"] = ruac["turn"]
    uac.quit()
    uas.quit()
    return res


def slow_bursts(slow):
    """Packets slower than 1 ms grouped into bursts (send times < 5 ms
    apart): how many, how long, how far apart. Bursts at a steady interval
    point at a periodic stall of a relay rather than at random scheduling."""
    times = sorted(t for t, _, _ in slow)
    bursts = []
    for t in times:
        if bursts and t - bursts[-1][1] < 5_000_000:
            bursts[-1][1] = t
            bursts[-1][2] += 1
        else:
            bursts.append([t, t, 1])
    gaps = [(b[0] - a[0]) / 1e6 for a, b in zip(bursts, bursts[1:])]
    return {"packets": len(times), "bursts": len(bursts),
            "largest_burst_packets": max((b[2] for b in bursts), default=0),
            "burst_gap_ms_median": percentile(gaps, 50) if gaps else None,
            "burst_starts_ms": [round((b[0] - times[0]) / 1e6, 1) for b in bursts[:40]]}


def direction(tx, rx):
    sent, got = tx["tx"]["window"], rx["rx"]["window"]
    lost = max(0, sent - got)
    late60, late150 = rx["rx"].get("late_over_60ms"), rx["rx"].get("late_over_150ms")
    return {"sent": sent, "received": got, "lost": sent - got,
            "loss_pct": pct(sent - got, sent),
            # arriving later than 60 / 150 ms one-way, or never
            "late_60ms_or_lost_pct": pct(late60 + lost, sent) if late60 is not None else None,
            "late_150ms_or_lost_pct": pct(late150 + lost, sent) if late150 is not None else None,
            "late_over_60ms": late60, "late_over_150ms": late150,
            "receive_time": rx["rx"].get("receive_time", "kernel"),
            "sent_total": tx["tx"]["total"], "received_total": rx["rx"]["total"],
            "lost_by_seq_total": rx["rx"]["lost_by_seq"], "reordered": rx["rx"]["reordered"],
            "dup": rx["rx"]["dup"], "send_errors": tx["tx"]["errors"],
            "wrong_source": rx["rx"]["wrong_source"],
            "latency_ns": rx["rx"]["latency_ns"],
            "latency_user_ns": rx["rx"]["latency_user_ns"],
            "slow_over_1ms": slow_bursts(rx.get("slow", []))}


# --------------------------------------------------------------------------
# the set-ups

def build_direct(topo):
    """The DIRECT bridge; returns the Link of DIRECT and RTPENGINE."""
    topo.add_ns("d-br")
    topo.add_bridge("d-br", D_BRIDGE_MAC)
    for name, ip in (("d-kam", D_KAM), ("d-uac", D_UAC), ("d-uas", D_UAS)):
        topo.add_ns(name)
        topo.add_port(name, "eth0", f"{ip}/24", "d-br", f"p-{name}")
    return Link.bridge_port(topo, "d-br", "p-d-uac", "the UAC's port on the bridge")


def build_coturn(topo):
    """coturn on the DIRECT bridge, the UAC behind a NAT router of its own
    (a plain one: SIP over UDP passes it; the media takes TCP to the relay,
    as a client behind a firewall that lets only TCP out would). Returns
    the router's WAN link."""
    topo.add_ns("t-turn")
    topo.add_port("t-turn", "eth0", f"{T_TURN}/24", "d-br", "p-t-turn")
    topo.add_ns("t-rt")
    topo.add_port("t-rt", "wan0", f"{T_RT_WAN}/24", "d-br", "p-t-rt")
    topo.add_ns("t-uac")
    topo.ip("t-uac", ["link", "add", "eth0", "type", "veth", "peer", "name", "lan0", "netns", topo.ns("t-rt")])
    topo.ip("t-rt", f"addr add {T_LAN_GW}/24 dev lan0")
    topo.ip("t-rt", "link set lan0 up")
    topo.ip("t-uac", f"addr add {T_UAC}/24 dev eth0")
    topo.ip("t-uac", "link set eth0 up")
    topo.ip("t-uac", f"route add default via {T_LAN_GW}")
    topo.run("t-rt", ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
    topo.run("t-rt", ["nft", "-f", "-"], input=sofwnet.FIREWALL_POLICIES["open"])
    return Link.forward(topo, "t-rt", "the TURN client's router, WAN side")


def start_coturn(topo):
    """Debian's coturn, TCP and UDP listeners on 198.18.0.3:3478, UDP relay
    ports on the same address; no authentication on a private realm (it is
    reachable only inside this run's namespaces)."""
    argv = [TURNSERVER_BIN, "-n", "--no-auth", "--realm=bench.example",
            f"--listening-ip={T_TURN}", f"--relay-ip={T_TURN}", f"--listening-port={TURN_PORT}",
            "--min-port=49152", "--max-port=65535", "--no-tls", "--no-dtls", "--no-cli",
            f"--userdb={topo.path('turndb')}", f"--pidfile={topo.path('turnserver.pid')}",
            "--log-file=stdout", "--simple-log"]
    proc = topo.spawn("t-turn", argv, name="coturn")
    topo.wait_for(lambda: topo.listening("t-turn", "tcp", T_TURN, TURN_PORT), 10,
                  "coturn listening on TCP", logs=[proc])
    return proc


def coturn_version():
    try:
        r = subprocess.run([TURNSERVER_BIN, "--version"], capture_output=True, text=True)
        return (r.stdout.strip() or r.stderr.strip()).splitlines()[0]
    except (OSError, IndexError):
        return "?"


def run_coturn(topo, args, link):
    label = "coturn"
    turn = start_coturn(topo)
    kam = Kamailio(topo, "d-kam", os.path.join(HERE, "direct-registrar.cfg"),
                   name=f"{label}-kamailio", listen=("udp", D_KAM, 5060)).start()
    uas = Loadgen(topo, "d-uas", f"{label}-uas", "uas", f"{D_UAS}:5060", f"{D_KAM}:5060",
                  D_DOMAIN, args.calls, args.cps)
    m = uas.wait(r"^REGISTERED ok=(\d+) failed=(\d+)$", args.calls / 200 + 40)
    if int(m.group(1)) != args.calls:
        raise RuntimeError(f"{label}: only {m.group(1)} of {args.calls} users registered")
    uac = Loadgen(topo, "t-uac", f"{label}-uac", "uac", f"{T_UAC}:5060", f"{D_KAM}:5060",
                  D_DOMAIN, args.calls, args.cps, from_domain=D_DOMAIN, turn=f"{T_TURN}:{TURN_PORT}")
    procs = {"uac": uac.pid, "uas": uas.pid, "coturn": turn.pid}
    if args.relay_nice is not None:
        renice([turn.pid], args.relay_nice)
    for pid, dsc in kamailio_procs(kam).items():
        if "receiver" in dsc:
            procs[f"kamailio-sip-{pid}"] = pid
    res = run_calls(topo, label, uac, uas, args, procs, link,
                    namespaces=[topo.ns(n) for n in ("d-kam", "t-uac", "d-uas", "t-turn")])
    res["setup"] = (f"UAC behind a NAT router, TURN client over TCP of coturn {coturn_version()} "
                    "(--no-auth, UDP relay), media as ChannelData; SIP through the DIRECT proxy")
    turn.stop()
    kam.stop()
    return res


RTPENGINE_BIN = "/usr/bin/rtpengine"


def start_rtpengine(topo):
    """rtpengine in userspace (no kernel table) next to the direct proxy."""
    argv = [RTPENGINE_BIN, "--config-file=none", "--foreground", "--log-stderr",
            "--log-level=5", "--table=-1", f"--interface={D_KAM}",
            "--listen-ng=127.0.0.1:2223", "--port-min=30000", "--port-max=39999",
            "--delete-delay=0", f"--pidfile={topo.path('rtpengine.pid')}"]
    proc = topo.spawn("d-kam", argv, name="rtpengine")
    topo.wait_for(lambda: topo.listening("d-kam", "udp", "127.0.0.1", 2223), 10,
                  "rtpengine listening for ng commands", logs=[proc])
    return proc


def run_direct(topo, args, link, rtpengine=False):
    """The DIRECT baseline, or with rtpengine=True the same with every call's
    media through rtpengine (the reference UDP relay)."""
    label = "rtpengine" if rtpengine else "direct"
    rtpe = start_rtpengine(topo) if rtpengine else None
    kam = Kamailio(topo, "d-kam", os.path.join(HERE, "direct-registrar.cfg"),
                   name=f"{label}-kamailio", listen=("udp", D_KAM, 5060),
                   defines={"WITH_RTPENGINE": None} if rtpengine else None).start()
    uas = Loadgen(topo, "d-uas", f"{label}-uas", "uas", f"{D_UAS}:5060", f"{D_KAM}:5060",
                  D_DOMAIN, args.calls, args.cps)
    m = uas.wait(r"^REGISTERED ok=(\d+) failed=(\d+)$", args.calls / 200 + 40)
    if int(m.group(1)) != args.calls:
        raise RuntimeError(f"{label}: only {m.group(1)} of {args.calls} users registered")
    uac = Loadgen(topo, "d-uac", f"{label}-uac", "uac", f"{D_UAC}:5060", f"{D_KAM}:5060",
                  D_DOMAIN, args.calls, args.cps, from_domain=D_DOMAIN)
    procs = {"uac": uac.pid, "uas": uas.pid}
    if rtpe:
        procs["rtpengine"] = rtpe.pid
        if args.relay_nice is not None:
            renice([rtpe.pid], args.relay_nice)
    for pid, dsc in kamailio_procs(kam).items():
        if "receiver" in dsc:
            procs[f"kamailio-sip-{pid}"] = pid
    res = run_calls(topo, label, uac, uas, args, procs, link,
                    namespaces=[topo.ns(n) for n in ("d-kam", "d-uac", "d-uas")])
    if rtpe:
        res["setup"] = ("as DIRECT, with every call's media through rtpengine "
                        f"{rtpengine_version()} in userspace (--table=-1) next to the proxy")
        rtpe.stop()
    else:
        res["setup"] = ("UAC and UAS on one bridge; plain Kamailio registrar/record-routing "
                        "proxy (bench/direct-registrar.cfg) for SIP, media direct")
    kam.stop()
    return res


def rtpengine_version():
    try:
        r = subprocess.run([RTPENGINE_BIN, "--version"], capture_output=True, text=True)
        m = re.search(r"Version:\s*(\S+)", r.stdout + r.stderr)
        return m.group(1) if m else "?"
    except OSError:
        return "?"


# The benchmark's accounts on HRAS: the UAS's users bench0..N-1 (WAN) and the
# UAC's callers caller0..N-1 (site a), all with this password.
BENCH_PASSWORD = "bench-password-0123"


def start_sofw(topo, args, link):
    # The UAS registers every user from one address, as a PBX or trunk
    # would: it is trusted past the flood limit (FLOOD_TRUSTED), as an admin
    # trusts a trunk; everything else of cfg/kamailio.cfg stays as shipped.
    hras = Hras(topo, sites=("a",), debug=2,
                extra_defines={"FLOOD_TRUSTED": f'"{EXT_IP}/32"'})
    hras.add_users_bulk([(f"bench{i}", WAN_DOMAIN) for i in range(args.calls)]
                        + [(f"caller{i}", site_domain("a")) for i in range(args.calls)], BENCH_PASSWORD)
    hras.start()
    hrac = Hrac(topo, "a")
    with open(hrac.conf) as f:       # the harness logs at debug; measure at info
        conf = f.read().replace("log_level = debug", "log_level = info")
    with open(hrac.conf, "w") as f:
        f.write(conf)
    hrac.start()
    topo.wait_for(lambda: hras.site_up("a"), 10, "HRAS sees site a up")
    link.count()
    uas = Loadgen(topo, "ext", "sofw-uas", "uas", f"{EXT_IP}:5060", f"{HRAS_IP}:5060",
                  WAN_DOMAIN, args.calls, args.cps, password=BENCH_PASSWORD)
    m = uas.wait(r"^REGISTERED ok=(\d+) failed=(\d+)$", args.calls / 200 + 40)
    if int(m.group(1)) != args.calls:
        raise RuntimeError(f"sofw: only {m.group(1)} of {args.calls} users registered with HRAS")
    return hras, hrac, uas


def run_sofw(topo, args, hras, hrac, uas, link):
    uac = Loadgen(topo, "a-ph1", "sofw-uac", "uac", f"{PHONE_IP['ph1']}:5060", f"{HRAC_IP}:5060",
                  WAN_DOMAIN, args.calls, args.cps, from_domain=site_domain("a"),
                  password=BENCH_PASSWORD, register=True)
    # HRAC lets media reach only phones registered through it
    m = uac.wait(r"^REGISTERED ok=(\d+) failed=(\d+)$", 20)
    if int(m.group(1)) != 1:
        raise RuntimeError("sofw: the UAC could not register through HRAC")
    kprocs = kamailio_procs(hras.kam)
    relay = [p for p, d in kprocs.items() if d.startswith("sofw relay")]
    if len(relay) != 1:
        raise RuntimeError(f"cannot find HRAS's 'sofw relay' process in {kprocs}")
    procs = {"uac": uac.pid, "uas": uas.pid, "hrac": hrac.proc.pid, "hras_relay": relay[0]}
    if args.relay_nice is not None:
        renice([hrac.proc.pid, relay[0]], args.relay_nice)
    workers = [p for p, d in kprocs.items() if "receiver" in d]
    for p in workers:
        procs[f"hras_sip_{p}"] = p
    st0 = hras.stats()

    def relayed():
        s = hras.stats()
        return s["media_packets_up"] + s["media_packets_down"]

    res = run_calls(topo, "sofw", uac, uas, args, procs, link, relayed,
                    namespaces=[topo.ns(n) for n in ("a-ph1", "a-lan", "wan", "ext")])
    # the SIP workers as one figure
    ws = [res["cpu"].pop(f"hras_sip_{p}") for p in workers]
    ws = [w for w in ws if w]
    sec = sum(w["seconds"] for w in ws)
    res["cpu"]["hras_sip_workers"] = {
        "runqueue_wait_pct": sum(w.get("runqueue_wait_pct", 0) for w in ws),
        "seconds": sec, "pct_core": pct(sec, res["window_s"]), "processes": len(ws),
        "per_1k_packets_ms": 1000.0 * sec / (res["relayed_packets"] / 1000.0) if res["relayed_packets"] else None}
    st1 = hras.stats()
    res["hras_stats_delta"] = {k: st1[k] - st0.get(k, 0) for k in st1
                               if isinstance(st1[k], int) and st1[k] != st0.get(k, 0)}
    hrac.stop()       # it logs its counters when it stops
    text = hrac.proc.log_text()
    m = re.search(r"stopped; counters: (.*)$", text, re.M)
    if m:
        res["hrac_counters"] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}
    res["hrac_log_warnings"] = [ln for ln in text.splitlines()
                                if " warn " in ln or " error " in ln][:20]
    res["setup"] = ("UAC in the LAN behind the strict firewall, HRAC as outbound proxy, "
                    "HTTP tunnel, HRAS (Kamailio + sofw.so, cfg/kamailio.cfg), UAS on the WAN")
    return res


# --------------------------------------------------------------------------
# report

def ms(ns):
    return None if ns is None else ns / 1e6


def lat(d, key="p99"):
    v = d.get("latency_ns")
    return ms(v[key]) if v else None


def fmt(v, spec=".3f"):
    return "-" if v is None else format(v, spec)


def limits(results, args):
    """Where the machine, not SoFW, set the limit."""
    notes = []
    for name in ("direct", "rtpengine", "sofw", "coturn"):
        r = results.get(name)
        if not r:
            continue
        for d in ("up", "down"):
            if name == "direct" and r[d]["lost"] > 0 and not args.loss:
                notes.append(f"direct baseline lost {r[d]['lost']} packets {d}: the machine "
                             f"(not SoFW) cannot carry this load")
        for who in ("uac", "uas"):
            c = r["cpu"].get(who)
            if c and c["pct_core"] > 85:
                notes.append(f"{name}: load generator {who} used {c['pct_core']:.0f}% of a core")
            lag = r["send_lag_ns"].get(who)
            if lag and lag["p99"] > 5e6:
                notes.append(f"{name}: load generator {who} sent late (send lag p99 "
                             f"{lag['p99'] / 1e6:.1f} ms): it could not keep its 20 ms schedule")
        ol = r.get("other_load") or {}
        ours = sum(c["seconds"] for c in r["cpu"].values() if c) / r["window_s"]
        unaccounted = r["machine_busy_pct"] / 100 * NCPU - ours - ol.get("user_pct_core", 0) / 100
        if unaccounted > 0.4:
            notes.append(f"{name}: {unaccounted:.1f} cores of the machine's busy time belong to none "
                         f"of our processes (kernel work, or short-lived processes of others)")
        if ol.get("user_pct_core", 0) > 5:
            notes.append(f"{name}: processes not ours used {ol['user_pct_core']:.0f}% of a core "
                         f"during the window ({ol['top_user']})")
        if r["machine_busy_pct"] > 90:
            notes.append(f"{name}: the machine was {r['machine_busy_pct']:.0f}% busy "
                         f"({NCPU} cores) during the window")
    return notes


def cpu_ms(r, name):
    c = (r or {}).get("cpu", {}).get(name)
    return c.get("per_1k_packets_ms") if c else None


REPORT_RUNS = ("direct", "sofw", "rtpengine", "coturn")


def print_report(results, args):
    d, s, e, t = (results.get(n) for n in REPORT_RUNS)
    print()
    print(f"=== SoFW media benchmark: {args.calls} calls, {args.seconds:.0f} s window, "
          f"{PACKET}-byte RTP every 20 ms each way"
          f"{f', {args.loss:g} % loss each way on the link' if args.loss else ''} "
          f"(commit {results.get('commit')}) ===")
    print(f"{'':34} {'DIRECT':>10} {'SOFW':>10} {'added':>10} {'RTPENGINE':>10} {'COTURN':>10}")

    def row(label, get, add=True, spec=".3f"):
        dv, sv, ev, tv = ((get(r) if r else None) for r in (d, s, e, t))
        a = (sv - dv) if add and dv is not None and sv is not None else None
        print(f"{label:34} {fmt(dv, spec):>10} {fmt(sv, spec):>10} "
              f"{fmt(a, spec) if add else '':>10} {fmt(ev, spec):>10} {fmt(tv, spec):>10}")

    row("calls up", lambda r: r["calls_up"], False, "d")
    for dn, lbl in (("up", "UAC->UAS (LAN->WAN)"), ("down", "UAS->UAC (WAN->LAN)")):
        print(lbl)
        for k in ("sent", "received", "lost"):
            row(f"  packets {k}", lambda r, k=k: r[dn][k], False, "d")
        row("  reordered + duplicated", lambda r: r[dn]["reordered"] + r[dn]["dup"], False, "d")
        for q in ("p50", "p99", "max"):
            row(f"  one-way latency {q} (ms)", lambda r, q=q: lat(r[dn], q))
        row("  ... to the application p99 (ms)",
            lambda r: ms(r[dn]["latency_user_ns"]["p99"]) if r[dn]["latency_user_ns"] else None)
        row("  lost (% of sent)", lambda r: r[dn]["loss_pct"], False, ".2f")
        row("  > 60 ms late or lost (%)", lambda r: r[dn].get("late_60ms_or_lost_pct"), False, ".2f")
        row("  > 150 ms late or lost (%)", lambda r: r[dn].get("late_150ms_or_lost_pct"), False, ".2f")
    if args.loss:
        row("loss rule drops up (window)", lambda r: (r.get("loss") or {}).get("dropped_window", {}).get(
            "up", {}).get("packets"), False, "d")
        row("loss rule drops down (window)", lambda r: (r.get("loss") or {}).get("dropped_window", {}).get(
            "down", {}).get("packets"), False, "d")
        row("loss rule drops (media phase)", lambda r: sum(v["packets"] for v in (
            (r.get("loss") or {}).get("dropped_total") or {}).values()) if r.get("loss") else None, False, "d")
    row("link IP bytes per RTP packet", lambda r: (r.get("fw") or {}).get("bytes_per_rtp_packet"), False, ".1f")
    row("link IP packets per RTP packet", lambda r: (r.get("fw") or {}).get("ip_packets_per_rtp_packet"),
        False, ".2f")
    print(f"  (link: SOFW the site firewall's WAN side, COTURN the TURN client's router's WAN side, "
          f"DIRECT/RTPENGINE the UAC's port; plain UDP = {RAW_IP} IP bytes)")
    print("CPU per 1,000 relayed packets (ms), over the window")
    both = None
    if s:
        for n in ("hrac", "hras_relay", "hras_sip_workers"):
            c = s["cpu"].get(n)
            if c:
                print(f"  SOFW {n:29} {c.get('per_1k_packets_ms') or 0:8.2f}   ({c['pct_core']:.1f}% of a core; "
                      f"waited for a CPU {c.get('runqueue_wait_pct', 0):.1f}% of the time)")
        both = (cpu_ms(s, "hrac") or 0) + (cpu_ms(s, "hras_relay") or 0)
        print(f"  SOFW HRAC + HRAS relay             {both:8.2f}")
    for r, n, what in ((e, "rtpengine", "RTPENGINE (userspace)"), (t, "coturn", "COTURN (turnserver)")):
        if r and cpu_ms(r, n):
            c = r["cpu"][n]
            print(f"  {what:33} {c['per_1k_packets_ms']:8.2f}   ({c['pct_core']:.1f}% of a core; "
                  f"its threads together waited for a CPU {c.get('runqueue_wait_pct', 0):.0f}% of the time)")
            if both:
                print(f"  ratio SOFW (HRAC + HRAS relay) / {what.split()[0]}: {both / c['per_1k_packets_ms']:.2f}")
    row("SIP retransmissions (uac+uas)",
        lambda r: r["sip"]["uac"]["retransmissions"] + r["sip"]["uas"]["retransmissions"], False, "d")
    for name, r in zip(REPORT_RUNS, (d, s, e, t)):
        if r and r.get("udp_socket_drops"):
            rt = {w: {k: v for k, v in r["sip"][w].get("retransmitted", {}).items() if v} for w in ("uac", "uas")}
            print(f"  {name}: datagrams dropped at full UDP sockets {r['udp_socket_drops']}; "
                  f"retransmitted {rt}")
    if t and t.get("turn_client"):
        tc = t["turn_client"]
        bad = {k: v for k, v in tc.items() if v and k not in ("connects", "allocated", "bound")}
        print(f"COTURN client: {tc.get('connects')} connections, {tc.get('allocated')} allocations, "
              f"{tc.get('bound')} channels bound; {'problems: ' + str(bad) if bad else 'no problem counted'}; "
              f"media the full TCP queue did not take: {t.get('tx_queue_drops', {}).get('uac', 0)}")
    if s:
        fw = s.get("fw")
        if fw and fw["bytes_per_rtp_packet"]:
            print(f"Firewall WAN side: {fw['bytes_per_rtp_packet']:.1f} IP bytes per RTP packet "
                  f"vs {RAW_IP} as plain UDP ({fw['bytes_per_rtp_packet'] / RAW_IP:.2f}x), "
                  f"{fw['ip_packets_per_rtp_packet']:.2f} IP packets per RTP packet")
    idle = results.get("idle")
    if idle:
        print(f"Idle tunnel (keep-alive {idle['keepalive_interval_s']} s): "
              f"{idle['bytes_per_minute']:.0f} IP bytes/min per site on the firewall's WAN side "
              f"({idle['packets']} packets in {idle['window_s']:.1f} s)")
    for name, r in zip(REPORT_RUNS, (d, s, e, t)):
        if r:
            lg = ", ".join(f"{w} {r['cpu'][w]['pct_core']:.0f}%" for w in ("uac", "uas") if r["cpu"].get(w))
            ol = r.get("other_load") or {}
            mc = r.get("machine_cpu_pct", {})
            print(f"{name}: machine {r['machine_busy_pct']:.0f}% busy of {NCPU} cores "
                  f"(softirq {mc.get('softirq', 0):.0f}%, steal {mc.get('steal', 0):.0f}%); "
                  f"load generators {lg} of a core; not ours {ol.get('user_pct_core', 0):.0f}%")
    notes = results.get("limits") or []
    print("Limits: " + ("none seen (the machine kept up)" if not notes else ""))
    for n in notes:
        print(f"  - {n}")
    print(f"JSON: {args.json}")


# --------------------------------------------------------------------------

SETUPS = ("direct", "rtpengine", "sofw", "coturn")


def choose_setups(ap, args):
    """The set-ups of this run: --only's list, else all whose relay is
    installed and not skipped."""
    have = {"rtpengine": os.access(RTPENGINE_BIN, os.X_OK), "coturn": os.access(TURNSERVER_BIN, os.X_OK)}
    if args.only:
        want = {s.strip() for s in args.only.split(",") if s.strip()}
        bad = want - set(SETUPS)
        if bad or not want:
            ap.error(f"--only: unknown set-up {', '.join(sorted(bad)) or '(none)'}; choose from {', '.join(SETUPS)}")
        for s in want & set(have):
            if not have[s]:
                ap.error(f"--only {s}: {RTPENGINE_BIN if s == 'rtpengine' else TURNSERVER_BIN} is not installed "
                         "(bench/run.sh installs it)")
        return want
    want = {"direct", "sofw"}
    if have["rtpengine"] and not args.no_rtpengine:
        want.add("rtpengine")
    if have["coturn"] and not args.no_coturn:
        want.add("coturn")
    return want


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20, help="measured window")
    ap.add_argument("--cps", type=float, default=100, help="call set-up rate")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds between the last call up and the window")
    ap.add_argument("--idle-seconds", type=float, default=30,
                    help="idle-tunnel window (default 2 keep-alive intervals)")
    ap.add_argument("--only", metavar="SETUPS",
                    help=f"run these set-ups only, comma-separated: {', '.join(SETUPS)} (default: all)")
    ap.add_argument("--no-rtpengine", action="store_true",
                    help="skip RTPENGINE (rtpengine as the reference UDP relay; "
                         "it runs when /usr/bin/rtpengine is installed)")
    ap.add_argument("--no-coturn", action="store_true",
                    help="skip COTURN (TURN over TCP through coturn; "
                         "it runs when /usr/bin/turnserver is installed)")
    ap.add_argument("--loss", type=float, default=0.0, metavar="PCT",
                    help="drop PCT %% of the packets each way at random on each set-up's link "
                         "while media flows (default 0)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--relay-nice", type=int, metavar="N",
                    help="diagnostic: run the relays (HRAC, HRAS relay, rtpengine) at nice N")
    args = ap.parse_args()
    if not 0 <= args.loss < 100:
        ap.error("--loss must be at least 0 and below 100")
    if args.calls < 1:
        ap.error("--calls must be at least 1")
    want = choose_setups(ap, args)

    missing = sofwnet.missing_requirements()
    if missing:
        print(f"cannot run, missing: {', '.join(missing)} (scripts/setup.sh installs them)")
        return 1
    deadline = int(len(want) * (args.calls / args.cps + args.seconds + 60) + args.idle_seconds + 120)
    results = {"params": vars(args).copy(), "setups": [s for s in SETUPS if s in want],
               "packet_bytes": PACKET, "raw_udp_ip_bytes": RAW_IP,
               "machine": {"cpus": NCPU, "kernel": platform.release()},
               "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        results["commit"] = subprocess.run(["git", "-C", source_dir(), "rev-parse", "--short", "HEAD"],
                                           capture_output=True, text=True).stdout.strip() or None
    except OSError:
        results["commit"] = None
    if not results["commit"] and os.path.exists(os.path.join(source_dir(), "COMMIT")):
        with open(os.path.join(source_dir(), "COMMIT")) as f:   # an exported tree
            results["commit"] = f.read().strip()[:7]
    t_start = time.monotonic()
    with Topology(deadline=deadline) as topo:
        if args.json is None:
            args.json = topo.path("results.json")
            topo.keep_rundir = True
        results["params"]["json"] = args.json
        try:
            idle0 = None
            if "sofw" in want:
                topo.build_standard(sites=1, policy="strict")
                sofw_link = Link.forward(topo, "a-fw", "the site firewall's WAN side")
            if want & {"direct", "rtpengine", "coturn"}:
                direct_link = build_direct(topo)
            if "coturn" in want:
                coturn_link = build_coturn(topo)
            if "sofw" in want:
                hras, hrac, uas = start_sofw(topo, args, sofw_link)
                time.sleep(1)
                idle0 = (sofw_link.counters(), time.monotonic())
                log(f"idle tunnel window started ({args.idle_seconds:.0f} s, overlapping the other runs)")
            if "direct" in want:
                results["direct"] = run_direct(topo, args, direct_link)
            if "rtpengine" in want:
                results["rtpengine"] = run_direct(topo, args, direct_link, rtpengine=True)
            if "coturn" in want:
                results["coturn"] = run_coturn(topo, args, coturn_link)
            if idle0:
                left = idle0[1] + args.idle_seconds - time.monotonic()
                if left > 0:
                    log(f"idle window: {left:.0f} s to go")
                    time.sleep(left)
                c1, t1 = sofw_link.counters(), time.monotonic()
                dlt = counter_delta(idle0[0], c1)
                b = dlt["up"]["bytes"] + dlt["down"]["bytes"]
                results["idle"] = {"window_s": t1 - idle0[1], "counters": dlt,
                                   "packets": dlt["up"]["packets"] + dlt["down"]["packets"],
                                   "bytes": b, "bytes_per_minute": b * 60 / (t1 - idle0[1]),
                                   "keepalive_interval_s": 15}
                results["sofw"] = run_sofw(topo, args, hras, hrac, uas, sofw_link)
        except Exception as e:  # noqa: BLE001 -- report, clean up, fail
            topo.failed = True
            results["error"] = f"{type(e).__name__}: {e}"
            log(f"benchmark failed: {e}")
        results["limits"] = limits(results, args)
        results["elapsed_s"] = time.monotonic() - t_start
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print_report(results, args)
        if "error" in results:
            print(f"ERROR: {results['error']}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
