"""Network-namespace test bed for SoFW end-to-end tests.

Standard library only (Debian's /usr/bin/python3), run as root.

What it provides
----------------
* Topology   -- namespaces, bridges, veths, the site firewalls, process
                management and waiting helpers.  Everything it creates is torn
                down on exit (context manager, atexit, SIGTERM/SIGINT/SIGHUP),
                also on failure.
* Capture    -- tcpdump in a namespace plus tshark queries on the result.
* Kamailio   -- Debian's /usr/sbin/kamailio in the foreground in a namespace,
                with its own runtime dir and ctl socket; kamcmd helpers.
* Baresip    -- a headless baresip 1.0.0 phone driven over ctrl_tcp
                (netstring-framed JSON commands, responses and events).

Standard layout (see Topology.build_standard)::

                          WAN 198.51.100.0/24  (namespace "wan", bridge br0)
     ext 198.51.100.20 ----+---- 198.51.100.1  HRAS / Kamailio (in "wan")
                           |
          198.51.100.2 ----+---- 198.51.100.3
              a-fw                  b-fw          nftables, NAT
          192.168.1.1           192.168.1.1
              |                     |
      a-lan br0 192.168.1.2    b-lan br0 192.168.1.2   HRAC runs here
        |           |            |           |
     a-ph1        a-ph2        b-ph1        b-ph2
  192.168.1.10  192.168.1.11  (same private plan in both sites, on purpose)

Each phone gets its own namespace because baresip binds RTP to 0.0.0.0 and
sends from the namespace's first address: two phones in one namespace break
audio.

Only addresses inside namespaces created here (and loopback) are ever used.
Processes are stopped only by the PIDs this module started.
"""

import atexit
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

# --------------------------------------------------------------------------
# Addressing plan (documentation range for the "public" side).

WAN_PREFIX = 24
HRAS_IP = "198.51.100.1"            # HRAS (Kamailio) in namespace "wan"
EXT_IP = "198.51.100.20"            # a phone directly on the WAN
FW_WAN_IP = {"a": "198.51.100.2", "b": "198.51.100.3"}
LAN_PREFIX = 24
LAN_GW = "192.168.1.1"              # firewall's LAN address, default route
HRAC_IP = "192.168.1.2"             # HRAC listens here (X-lan namespace)
PHONE_IP = {"ph1": "192.168.1.10", "ph2": "192.168.1.11"}

# Fixed bridge MACs: a Linux bridge otherwise takes the lowest MAC of its
# ports and changes it when a port is added, and a neighbour's stale ARP entry
# then swallows packets for ~15 s.  Locally administered (02:...).
BRIDGE_MAC = {"wan": "02:5f:00:00:00:01",
              "a": "02:5f:00:00:0a:01",
              "b": "02:5f:00:00:0b:01"}

KAMAILIO_BIN = "/usr/sbin/kamailio"
KAMCMD_BIN = "/usr/sbin/kamcmd"
KAMAILIO_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
BARESIP_BIN = "/usr/bin/baresip"
BARESIP_MODULES = "/usr/lib/baresip/modules"

RFC1918_FILTER = ("(ip.dst==10.0.0.0/8 || ip.dst==172.16.0.0/12 || "
                  "ip.dst==192.168.0.0/16)")

_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_ansi(text):
    """baresip colours reginfo/listcalls output; remove the escape codes."""
    return _ANSI_RE.sub("", text)


def log(msg):
    print(f"[sofwnet {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------
# Firewall rulesets (nftables, in the X-fw namespaces).  Interfaces there are
# "lan0" (192.168.1.1) and "wan0" (198.51.100.2/.3).

NFT_STRICT = """
flush ruleset
table inet sofw_fw {
    # Nothing may talk to the firewall itself.  Keeping this strict also
    # matters for NAT: an unsolicited early packet from the WAN must not leave
    # a conntrack entry that later steals the NAT mapping.
    chain input {
        type filter hook input priority filter; policy drop;
        iif "lo" accept
        ct state established,related accept
    }
    # The company policy SoFW is built for: only new TCP to 80/443 goes out.
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        iifname "lan0" oifname "wan0" tcp dport { 80, 443 } ct state new accept
    }
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "wan0" masquerade
    }
}
"""

NFT_OPEN = """
flush ruleset
table inet sofw_fw {
    chain input {
        type filter hook input priority filter; policy drop;
        iif "lo" accept
        ct state established,related accept
    }
    # Plain NAT router: everything from the LAN may go out.
    chain forward {
        type filter hook forward priority filter; policy accept;
    }
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "wan0" masquerade
    }
}
"""

# Policy "proxy": nothing is forwarded at all; the only way out of the LAN
# is an HTTP proxy running on the firewall itself (squid 3128, tinyproxy
# 8888, a buffering nginx 8080), which may open TCP 80/443 to the WAN.
NFT_PROXY = """
flush ruleset
table inet sofw_fw {
    chain input {
        type filter hook input priority filter; policy drop;
        iif "lo" accept
        ct state established,related accept
        iifname "lan0" tcp dport { 3128, 8080, 8888 } ct state new accept
    }
    chain forward {
        type filter hook forward priority filter; policy drop;
    }
    chain output {
        type filter hook output priority filter; policy drop;
        oif "lo" accept
        ct state established,related accept
        oifname "wan0" tcp dport { 80, 443 } ct state new accept
    }
}
"""

FIREWALL_POLICIES = {"strict": NFT_STRICT, "open": NFT_OPEN, "proxy": NFT_PROXY}


class WaitTimeout(AssertionError):
    """A wait_for condition did not become true in time."""


class DeadlineExceeded(BaseException):
    """The whole run took longer than Topology(deadline=...).  A
    BaseException so that per-check `except Exception` does not swallow it
    and the run unwinds into teardown."""


# --------------------------------------------------------------------------
# Sockets inside a namespace.  A socket belongs to the network namespace it
# was created in, so switching this thread into the namespace just for
# socket() lets the test process talk to 127.0.0.1 of a phone namespace (its
# ctrl_tcp port) or connect from a LAN namespace, without helper processes.

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_setns_lock = threading.Lock()


def _setns(fd):
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def socket_in_netns(netns, family=socket.AF_INET, type=socket.SOCK_STREAM):
    """Create a socket in network namespace `netns` (full name)."""
    with _setns_lock:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                _setns(target)
                try:
                    return socket.socket(family, type)
                finally:
                    _setns(own)
            finally:
                os.close(target)
        finally:
            os.close(own)


# --------------------------------------------------------------------------

class Proc:
    """A process started by Topology.spawn()."""

    def __init__(self, name, ns, argv, popen, log_path):
        self.name = name
        self.ns = ns            # full namespace name
        self.argv = argv
        self.popen = popen
        self.pid = popen.pid
        self.log = log_path

    def alive(self):
        return self.popen.poll() is None

    @property
    def returncode(self):
        return self.popen.poll()

    def log_text(self):
        try:
            with open(self.log, "r", errors="replace") as f:
                return strip_ansi(f.read())
        except FileNotFoundError:
            return ""

    def tail(self, lines=25):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def send_signal(self, sig):
        if self.alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, sig=signal.SIGTERM, timeout=5.0, repeat_after=2.0,
             already_signalled=False):
        """Stop by PID: `sig` (unless already_signalled), `sig` once more
        after `repeat_after` s (baresip may need a second SIGTERM when a
        dialog hangs; None = never), SIGKILL after `timeout` s."""
        if not self.alive():
            return self.popen.returncode
        if not already_signalled:
            self.send_signal(sig)
        start = time.monotonic()
        repeated = repeat_after is None
        while time.monotonic() - start < timeout:
            try:
                return self.popen.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
            if not repeated and time.monotonic() - start >= repeat_after:
                self.send_signal(sig)
                repeated = True
        log(f"{self.name} (pid {self.pid}) ignored {sig.name}; SIGKILL")
        self.send_signal(signal.SIGKILL)
        try:
            return self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log(f"process {self.name} pid {self.pid} survived SIGKILL")
            return None

    def __repr__(self):
        return f"<Proc {self.name} pid={self.pid} ns={self.ns}>"


class Topology:
    """Network namespaces for one test run, and everything started in them.

    Use as a context manager::

        with Topology() as topo:
            topo.build_standard(sites=1)
            ...

    Namespace names carry a per-run prefix (`prefix`, e.g. "s1234-"), so
    concurrent or stale runs never collide; `ns("a-lan")` gives the full name.
    All logs go to `rundir` (kept on failure, removed on success unless
    SOFW_KEEP_RUNDIR=1).
    """

    def __init__(self, prefix=None, keep_rundir=None, deadline=None):
        self.prefix = prefix or self._free_prefix()
        self.rundir = tempfile.mkdtemp(prefix=f"sofw-e2e-{self.prefix}")
        # Daemons that drop privileges (squid -> proxy) must traverse it.
        os.chmod(self.rundir, 0o711)
        if keep_rundir is None:
            keep_rundir = os.environ.get("SOFW_KEEP_RUNDIR") == "1"
        self.keep_rundir = keep_rundir
        # ctest kills a test that times out with SIGKILL, which leaves no
        # chance to clean up; a deadline shorter than the ctest TIMEOUT makes
        # the run unwind and tear down by itself first.
        self.deadline = deadline
        self.failed = False           # tests set this on a failed check
        self.namespaces = []          # full names, creation order
        self.procs = []               # Proc, start order
        self._torn_down = False
        self._old_handlers = {}
        self._lock = threading.RLock()
        atexit.register(self.teardown)

    # -- lifetime ----------------------------------------------------------

    @staticmethod
    def _free_prefix():
        existing = _list_netns()
        base = os.getpid() % 10000
        for n in range(base, base + 10000):
            prefix = f"s{n % 10000}-"
            if not any(x.startswith(prefix) for x in existing):
                return prefix
        raise RuntimeError("no free namespace prefix")

    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self._old_handlers[sig] = signal.signal(sig, self._on_signal)
        if self.deadline:
            self._old_handlers[signal.SIGALRM] = signal.signal(
                signal.SIGALRM, self._on_deadline)
            signal.alarm(int(self.deadline))
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.failed = True
        self.teardown()
        return False

    def _on_signal(self, signum, frame):
        # Turn the signal into an exception so the with-block unwinds and
        # teardown runs; ignore further signals while tearing down.
        if self._torn_down:
            return
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    def _on_deadline(self, signum, frame):
        if self._torn_down:
            return
        raise DeadlineExceeded(f"run exceeded its deadline of "
                               f"{self.deadline}s")

    def teardown(self):
        """Stop our processes (by PID), then delete our namespaces.
        Idempotent; safe from atexit."""
        with self._lock:
            if self._torn_down:
                return
            self._torn_down = True
        # No interruption of the clean-up itself.
        if self.deadline:
            signal.alarm(0)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            try:
                signal.signal(sig, signal.SIG_IGN)
            except ValueError:       # not in the main thread
                pass
        try:
            if self.failed:
                self.print_failure_info()
            # Ask everything to stop first, then wait: faster than serially.
            for p in reversed(self.procs):
                p.send_signal(signal.SIGTERM)
            for p in reversed(self.procs):
                p.stop(timeout=5.0, already_signalled=True)
            for ns in reversed(self.namespaces):
                self._kill_leftovers(ns)
                subprocess.run(["ip", "netns", "del", ns],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            left = [n for n in _list_netns() if n.startswith(self.prefix)]
            if left:
                log(f"WARNING: namespaces left behind: {left}")
            if self.failed or self.keep_rundir:
                log(f"run directory kept: {self.rundir}")
            else:
                shutil.rmtree(self.rundir, ignore_errors=True)
        finally:
            for sig, h in self._old_handlers.items():
                try:
                    signal.signal(sig, h)
                except (ValueError, TypeError):
                    pass

    def _kill_leftovers(self, ns):
        """Processes still inside one of our namespaces can only be
        descendants of ours (e.g. a kamailio child whose parent was killed):
        the namespace was created by this run.  Kill them by PID."""
        r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                           text=True)
        for pid in r.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
                log(f"killed leftover pid {pid} in {ns}")
            except (ProcessLookupError, ValueError):
                pass

    def print_failure_info(self):
        log(f"FAILED -- run directory: {self.rundir}")
        for p in self.procs:
            log(f"  log of {p.name} (pid {p.pid}, {p.ns}): {p.log}")

    # -- namespaces and links ---------------------------------------------

    def ns(self, name):
        """Full namespace name for a short one ("a-lan" -> "s1234-a-lan")."""
        return name if name.startswith(self.prefix) else self.prefix + name

    def add_ns(self, name):
        full = self.ns(name)
        subprocess.run(["ip", "netns", "add", full], check=True)
        self.namespaces.append(full)
        # IPv6 off: no DAD/router-solicitation noise in captures, and all
        # SoFW addressing is IPv4.
        self.run(name, ["sysctl", "-q", "-w",
                        "net.ipv6.conf.all.disable_ipv6=1",
                        "net.ipv6.conf.default.disable_ipv6=1"])
        self.ip(name, "link set lo up")
        return full

    def ip(self, ns, args):
        """`ip -n <ns> <args>` (args: a string split on blanks, or a list)."""
        if isinstance(args, str):
            args = args.split()
        argv = ["ip", "-n", self.ns(ns)] + list(args)
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {r.stderr.strip()}")
        return r

    def add_bridge(self, ns, mac, addr=None, name="br0"):
        self.ip(ns, f"link add {name} type bridge")
        # Setting the address explicitly pins it (addr_assign_type=set).
        self.ip(ns, f"link set {name} address {mac}")
        # No IGMP snooping: otherwise the bridge joins multicast groups and
        # its IGMP reports show up as non-TCP noise in captures.
        self.ip(ns, f"link set {name} type bridge mcast_snooping 0")
        if addr:
            self.ip(ns, f"addr add {addr} dev {name}")
        self.ip(ns, f"link set {name} up")

    def add_port(self, host_ns, host_if, addr, bridge_ns, port_if,
                 bridge="br0"):
        """veth from `host_ns` (interface `host_if`, address `addr`) into the
        bridge `bridge` of `bridge_ns` (port `port_if`).  Both ends are
        created directly inside their namespaces, so names never touch the
        root namespace and may repeat across namespaces."""
        self.ip(host_ns, ["link", "add", host_if, "type", "veth", "peer",
                          "name", port_if, "netns", self.ns(bridge_ns)])
        self.ip(bridge_ns, f"link set {port_if} master {bridge}")
        self.ip(bridge_ns, f"link set {port_if} up")
        if addr:
            self.ip(host_ns, f"addr add {addr} dev {host_if}")
        self.ip(host_ns, f"link set {host_if} up")

    def add_wan_host(self, name, ip):
        """A namespace `name` with eth0 at `ip`/24 on the WAN bridge."""
        self.add_ns(name)
        self.add_port(name, "eth0", f"{ip}/{WAN_PREFIX}", "wan", f"p-{name}")
        return self.ns(name)

    def build_standard(self, sites=1, policy="strict"):
        """Build the standard layout (module docstring has the picture).

        sites:  1 -> site "a" only; 2 -> sites "a" and "b".
        policy: firewall ruleset of every site, "strict" (only new TCP to
                80/443 leaves the LAN, NAT) or "open" (NAT, all allowed).

        Namespaces (short names, see ns()):
          wan     br0 198.51.100.1/24 (fixed MAC); HRAS runs here
          ext     eth0 198.51.100.20/24, a phone directly on the WAN
          X-fw    lan0 192.168.1.1/24, wan0 198.51.100.2 (a) / .3 (b);
                  ip_forward=1, nftables ruleset for `policy`
          X-lan   br0 192.168.1.2/24 (fixed MAC), default via 192.168.1.1;
                  HRAC runs here
          X-ph1   eth0 192.168.1.10/24, default via 192.168.1.1
          X-ph2   eth0 192.168.1.11/24, default via 192.168.1.1
        """
        if sites not in (1, 2):
            raise ValueError("sites must be 1 or 2")
        if policy not in FIREWALL_POLICIES:
            raise ValueError(f"policy must be one of {list(FIREWALL_POLICIES)}")
        self.add_ns("wan")
        self.add_bridge("wan", BRIDGE_MAC["wan"], f"{HRAS_IP}/{WAN_PREFIX}")
        self.add_wan_host("ext", EXT_IP)
        for site in "ab"[:sites]:
            self.add_site(site, policy)

    def add_site(self, site, policy="strict"):
        lan, fw = f"{site}-lan", f"{site}-fw"
        self.add_ns(lan)
        self.add_bridge(lan, BRIDGE_MAC[site], f"{HRAC_IP}/{LAN_PREFIX}")
        self.ip(lan, f"route add default via {LAN_GW}")

        self.add_ns(fw)
        self.add_port(fw, "lan0", f"{LAN_GW}/{LAN_PREFIX}", lan, "p-fw")
        self.add_port(fw, "wan0", f"{FW_WAN_IP[site]}/{WAN_PREFIX}", "wan",
                      f"p-{site}-fw")
        self.run(fw, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        self.set_firewall(site, policy)

        for ph, ip in PHONE_IP.items():
            name = f"{site}-{ph}"
            self.add_ns(name)
            self.add_port(name, "eth0", f"{ip}/{LAN_PREFIX}", lan, f"p-{ph}")
            self.ip(name, f"route add default via {LAN_GW}")

    def set_firewall(self, site, policy):
        """Load the nftables ruleset `policy` into site `site`'s firewall."""
        self.run(f"{site}-fw", ["nft", "-f", "-"],
                 input=FIREWALL_POLICIES[policy])

    # -- processes ---------------------------------------------------------

    def run(self, ns, cmd, check=True, timeout=30, input=None, env=None):
        """Run `cmd` (list, or string for sh -c) in namespace `ns` and wait.
        Returns CompletedProcess with text stdout/stderr."""
        if isinstance(cmd, str):
            cmd = ["sh", "-c", cmd]
        argv = ["ip", "netns", "exec", self.ns(ns)] + list(cmd)
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout, input=input,
                           env=self._env(env))
        if check and r.returncode != 0:
            raise RuntimeError(
                f"command failed in {ns} (rc {r.returncode}): "
                f"{' '.join(cmd)}\n{r.stdout}{r.stderr}")
        return r

    def spawn(self, ns, argv, log=None, env=None, name=None, cwd=None):
        """Start `argv` in namespace `ns` in the background.

        stdout+stderr go to `log` (default <rundir>/<name>.log).  The process
        gets its own session so a terminal's Ctrl-C reaches only the test,
        which then stops it in order.  `ip netns exec` execs the program, so
        the returned Proc.pid is the program's own PID."""
        name = name or os.path.basename(argv[0])
        if log is None:
            log = self.path(f"{name}.log")
        if self._torn_down:
            raise RuntimeError("topology already torn down")
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                ["ip", "netns", "exec", self.ns(ns)] + list(argv),
                stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=self._env(env), cwd=cwd,
                start_new_session=True)
        p = Proc(name, self.ns(ns), list(argv), popen, log)
        self.procs.append(p)
        return p

    @staticmethod
    def _env(extra):
        if extra is None:
            return None
        env = dict(os.environ)
        env.update(extra)
        return env

    def path(self, *parts):
        """A path inside the run directory."""
        return os.path.join(self.rundir, *parts)

    # -- waiting -----------------------------------------------------------

    def wait_for(self, predicate, timeout, what, logs=None, interval=0.05):
        """Poll `predicate()` until it returns a truthy value, which is
        returned.  On timeout raise WaitTimeout naming `what` with the tails
        of `logs` (Procs or paths; default: every process we started)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                break
            time.sleep(interval)
        msg = [f"timed out after {timeout:.1f}s waiting for: {what}"]
        for item in (self.procs if logs is None else logs):
            if isinstance(item, Proc):
                title = f"{item.name} (pid {item.pid}, {item.ns}) {item.log}"
                text = item.tail()
            else:
                title, text = str(item), _tail_file(item)
            msg.append(f"--- tail of {title} ---\n{text}")
        raise WaitTimeout("\n".join(msg))

    def wait_log(self, proc, regex, timeout, what=None):
        """Wait until `proc`'s log (ANSI stripped) matches `regex`; returns
        the match."""
        rx = re.compile(regex, re.M)
        return self.wait_for(lambda: rx.search(proc.log_text()), timeout,
                             what or f"{proc.name} log to match /{regex}/",
                             logs=[proc])

    # -- reachability ------------------------------------------------------

    def tcp_connect(self, ns, host, port, timeout=2.0):
        """Try a TCP connection from namespace `ns`.  Returns None on
        success or the error text."""
        s = socket_in_netns(self.ns(ns))
        s.settimeout(timeout)
        try:
            s.connect((host, port))
            return None
        except OSError as e:
            return f"{type(e).__name__}: {e}"
        finally:
            s.close()

    def http_get(self, ns, host, port=80, path="/", timeout=3.0):
        """Minimal HTTP/1.0 GET from namespace `ns`; returns the raw reply
        (bytes).  Raises OSError if it cannot connect."""
        s = socket_in_netns(self.ns(ns))
        s.settimeout(timeout)
        try:
            s.connect((host, port))
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            chunks = []
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
            return b"".join(chunks)
        finally:
            s.close()

    def listening(self, ns, proto, ip, port):
        """True if something listens on ip:port (proto "udp"/"tcp") in ns."""
        flag = "-lnu" if proto == "udp" else "-lnt"
        r = self.run(ns, ["ss", "-H", flag], check=False)
        for line in r.stdout.splitlines():
            cols = line.split()   # State Recv-Q Send-Q Local Peer [Process]
            if len(cols) > 3 and cols[3] == f"{ip}:{port}":
                return True
        return False

    def start_http_server(self, ns, ip, port, docroot=None, name=None):
        """python3 -m http.server bound to ip:port in ns; waits until it
        answers."""
        name = name or f"http-{port}"
        docroot = docroot or self.path(f"{name}-root")
        os.makedirs(docroot, exist_ok=True)
        with open(os.path.join(docroot, "index.html"), "w") as f:
            f.write("sofw e2e\n")
        p = self.spawn(ns, [sys.executable, "-m", "http.server", str(port),
                            "--bind", ip, "--directory", docroot], name=name)
        self.wait_for(lambda: self.listening(ns, "tcp", ip, port), 10,
                      f"{name} listening on {ip}:{port}", logs=[p])
        return p


def _list_netns():
    r = subprocess.run(["ip", "netns", "list"], capture_output=True,
                       text=True)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def _tail_file(path, lines=25):
    try:
        with open(path, "r", errors="replace") as f:
            return "\n".join(strip_ansi(f.read()).splitlines()[-lines:])
    except OSError as e:
        return f"({e})"


# --------------------------------------------------------------------------

class Capture:
    """tcpdump on `iface` in namespace `ns`, written to <rundir>/<name>.pcap.

    --immediate-mode and -U so nothing is lost when it is stopped; -Z root so
    it can write into the run directory."""

    def __init__(self, topo, ns, iface, name=None, bpf=None):
        self.topo = topo
        self.ns = ns
        self.iface = iface
        self.name = name or f"cap-{ns}-{iface}"
        self.file = topo.path(f"{self.name}.pcap")
        self.bpf = bpf
        self.proc = None

    def start(self, timeout=10):
        argv = ["tcpdump", "--immediate-mode", "-U", "-n", "-Z", "root",
                "-i", self.iface, "-w", self.file]
        if self.bpf:
            argv += self.bpf.split()
        self.proc = self.topo.spawn(self.ns, argv, name=self.name)
        self.topo.wait_log(self.proc, r"listening on", timeout,
                           f"tcpdump on {self.ns}/{self.iface} to start")
        return self

    def stop(self):
        if self.proc is not None and self.proc.alive():
            # SIGINT makes tcpdump flush and close the file properly.
            self.proc.stop(sig=signal.SIGINT, timeout=5, repeat_after=None)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def packets(self, display_filter):
        """tshark one-line summaries of the packets matching the filter."""
        r = subprocess.run(["tshark", "-n", "-r", self.file,
                            "-Y", display_filter],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"tshark failed on {self.file}: {r.stderr}")
        return [line for line in r.stdout.splitlines() if line.strip()]

    def count(self, display_filter=None):
        return len(self.packets(display_filter or "frame"))

    def fields(self, display_filter, fields, decode_as=None):
        """One dict per matching packet with the tshark `fields`; a field
        that occurs several times (Via, Record-Route) has its occurrences
        joined with '|'. decode_as: e.g. "udp.port==20000,rtp"."""
        argv = ["tshark", "-n", "-r", self.file, "-Y", display_filter,
                "-T", "fields", "-E", "separator=\t", "-E", "aggregator=|"]
        if decode_as:
            argv += ["-d", decode_as]
        for f in fields:
            argv += ["-e", f]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"tshark failed on {self.file}: {r.stderr}")
        return [dict(zip(fields, line.split("\t")))
                for line in r.stdout.splitlines() if line.strip()]

    def non_tcp_packets(self, src=None):
        """IPv4 packets that are not TCP (UDP, ICMP, IGMP, ...), optionally
        only those from source address `src`."""
        flt = "ip and not tcp"
        if src:
            flt += f" and ip.src=={src}"
        return self.packets(flt)

    def sip_to_private(self):
        """SIP packets whose IP destination is an RFC1918 address.

        tshark's SIP dissector recognises SIP on UDP/TCP (port 5060 and
        heuristics); SIP carried binary-framed inside the HTTP tunnel on port
        80 is generally not decoded, so this reports what tshark sees as SIP,
        plus any packet to a private address whose payload carries a SIP
        status/request line marker."""
        return self.packets(
            f"(sip || udp contains \"SIP/2.0\" || tcp contains \"SIP/2.0\")"
            f" && {RFC1918_FILTER}")


# --------------------------------------------------------------------------

class Kamailio:
    """Debian's kamailio in the foreground (-DD -E) in namespace `ns`.

    cfg:          configuration file.
    module_paths: module directories searched in order (joined with ':' for
                  -L); Debian's modules dir is appended.
    defines:      dict for -A NAME=VALUE (None value -> -A NAME).
    listen:       (proto, ip, port) that must be listening to call it ready.

    The runtime dir (-Y) is <rundir>/<name>; the cfg must set the ctl module's
    binrpc socket from the CTL_SOCKET define, which this class passes as
    -A 'CTL_SOCKET="unix:<rundir>/<name>/kamailio_ctl"', so kamcmd talks to
    this instance only.
    """

    def __init__(self, topo, ns, cfg, name="kamailio", module_paths=(),
                 defines=None, listen=("udp", HRAS_IP, 5060), extra_args=()):
        self.topo = topo
        self.ns = ns
        self.cfg = cfg
        self.name = name
        self.module_paths = list(module_paths) + [KAMAILIO_MODULES]
        self.defines = dict(defines or {})
        self.listen = listen
        self.extra_args = list(extra_args)
        self.runtime_dir = topo.path(name)
        self.ctl = os.path.join(self.runtime_dir, "kamailio_ctl")
        self.proc = None

    def start(self, timeout=15):
        os.makedirs(self.runtime_dir, exist_ok=True)
        defines = dict(self.defines)
        defines["CTL_SOCKET"] = f'"unix:{self.ctl}"'
        argv = [KAMAILIO_BIN, "-DD", "-E", "-f", self.cfg,
                "-L", ":".join(self.module_paths), "-Y", self.runtime_dir,
                "-P", os.path.join(self.runtime_dir, "kamailio.pid"),
                "-m", "64", "-M", "8"]
        for k, v in defines.items():
            argv += ["-A", k if v is None else f"{k}={v}"]
        argv += self.extra_args
        self.proc = self.topo.spawn(self.ns, argv, name=self.name,
                                    cwd=self.runtime_dir)

        def ready():
            if not self.proc.alive():
                raise RuntimeError(
                    f"{self.name} exited (rc {self.proc.returncode}):\n"
                    f"{self.proc.tail(40)}")
            if self.listen and not self.topo.listening(self.ns, *self.listen):
                return False
            return self.kamcmd("core.uptime", check=False) is not None

        self.topo.wait_for(ready, timeout, f"{self.name} ready "
                           f"(listening on {self.listen}, ctl answering)",
                           logs=[self.proc])
        return self

    def kamcmd(self, *args, check=True, timeout=10):
        """Run kamcmd against this instance's ctl socket (a unix socket, so
        no namespace is needed).  Returns stdout, or None on failure when
        check is False."""
        r = subprocess.run([KAMCMD_BIN, "-s", f"unix:{self.ctl}"]
                           + [str(a) for a in args],
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0 or r.stdout.startswith("error"):
            if check:
                raise RuntimeError(f"kamcmd {' '.join(map(str, args))} "
                                   f"failed: {r.stdout}{r.stderr}")
            return None
        return r.stdout

    def ul_dump(self):
        """AoRs present in the location table (set of strings)."""
        out = self.kamcmd("ul.dump")
        return set(re.findall(r"^\s*AoR:\s*(\S+)\s*$", out, re.M))

    def ul_contacts(self):
        """{aor: [contact uri, ...]} from the location table."""
        out = self.kamcmd("ul.dump")
        result, aor = {}, None
        for line in out.splitlines():
            m = re.match(r"^\s*AoR:\s*(\S+)", line)
            if m:
                aor = m.group(1)
                result.setdefault(aor, [])
                continue
            m = re.match(r"^\s*Address:\s*(\S+)", line)
            if m and aor:
                result[aor].append(m.group(1))
        return result

    def stop(self):
        if self.proc:
            self.proc.stop()


# --------------------------------------------------------------------------

class CtrlTcp:
    """Client for baresip's ctrl_tcp module.

    Messages are netstrings ("<len>:<json>,").  Commands are
    {"command": ..., "params": ..., "token": ...}; responses carry
    "response": true, "ok", "data" and our token; events carry "event": true,
    "class", "type" (e.g. REGISTER_OK, CALL_INCOMING, CALL_ESTABLISHED,
    CALL_CLOSED), "param", "accountaor", and for calls "direction", "peeruri",
    "id".  ctrl_tcp serves a single connection and sends events only to it, so
    one reader thread owns the socket and files everything it gets."""

    def __init__(self, sock):
        self.sock = sock
        self.cond = threading.Condition()
        self.events = []
        self.responses = {}
        self.closed = False
        self._next = 0
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    def _read_loop(self):
        buf = b""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                buf += data
                while True:
                    msg, buf = _netstring_pop(buf)
                    if msg is None:
                        break
                    self._dispatch(msg)
        except OSError:
            pass
        finally:
            with self.cond:
                self.closed = True
                self.cond.notify_all()

    def _dispatch(self, raw):
        try:
            msg = json.loads(raw.decode("utf-8", "replace"))
        except ValueError:
            return
        with self.cond:
            if msg.get("response"):
                self.responses[msg.get("token")] = msg
            elif msg.get("event"):
                msg["_time"] = time.monotonic()
                self.events.append(msg)
            self.cond.notify_all()

    def command(self, command, params=None, timeout=5.0):
        """Send a command and wait for its response (dict)."""
        with self.cond:
            self._next += 1
            token = f"t{self._next}"
        msg = {"command": command, "token": token}
        if params is not None:
            msg["params"] = params
        payload = json.dumps(msg).encode()
        self.sock.sendall(b"%d:%s," % (len(payload), payload))
        deadline = time.monotonic() + timeout
        with self.cond:
            while token not in self.responses:
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise TimeoutError(f"no response to ctrl_tcp "
                                       f"{command!r} within {timeout}s")
                self.cond.wait(left)
            return self.responses.pop(token)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def _netstring_pop(buf):
    """Split one netstring off `buf`: (payload or None, rest)."""
    colon = buf.find(b":")
    if colon < 0:
        return None, buf
    try:
        n = int(buf[:colon])
    except ValueError:
        raise ValueError(f"bad netstring header {buf[:colon][:20]!r}")
    end = colon + 1 + n
    if len(buf) < end + 1:
        return None, buf
    if buf[end:end + 1] != b",":
        raise ValueError("netstring not terminated by ','")
    return buf[colon + 1:end], buf[end + 1:]


class Baresip:
    """A headless baresip 1.0.0 phone in its own namespace.

    topo, ns:    topology and short namespace name (one phone per namespace).
    ip:          the phone's address (sip_listen ip:5060).
    aor:         e.g. "sip:alice@site-a.example".
    outbound:    outbound proxy URI, e.g. "sip:192.168.1.2:5060" (REGISTER
                 and calls go there); None = none.
    answermode:  "manual" (use answer()) or "auto".
    audio_wav:   8 kHz mono s16 WAV sent as microphone (aufile); the call ends
                 when it ends.  Default: a 30 s 440 Hz tone made with sox.
    password:    the account's password (auth_pass): phones authenticate
                 with their AoR's user name; None = no credentials.
    record:      load sndfile: every call leaves <rec_dir>/dump-<local time
                 YYYY-MM-DD-HH-MM-SS>-dec.wav (what was received/decoded) and
                 ...-enc.wav (what was sent).
    """

    CTRL_PORT = 4444

    def __init__(self, topo, ns, name, ip, aor, outbound=None,
                 answermode="manual", audio_wav=None, regint=60, record=True,
                 sip_port=5060, extra_account_params="", extra_config="",
                 verbose=False, password=None):
        self.topo = topo
        self.ns = ns
        self.name = name
        self.ip = ip
        self.aor = aor
        self.outbound = outbound
        self.answermode = answermode
        self.password = password
        self.regint = regint
        self.record = record
        self.sip_port = sip_port
        self.extra_account_params = extra_account_params
        self.extra_config = extra_config
        self.verbose = verbose
        self.confdir = topo.path(f"phone-{name}")
        self.rec_dir = os.path.join(self.confdir, "rec")
        self.audio_wav = audio_wav
        self.proc = None
        self.ctrl = None

    # -- configuration -----------------------------------------------------

    def config_text(self):
        mods = ["g711.so", "aufile.so", "aubridge.so"]
        if self.record:
            mods.append("sndfile.so")
        lines = [
            "# generated by sofwnet.Baresip",
            "poll_method\t\tpoll",
            f"sip_listen\t\t{self.ip}:{self.sip_port}",
            "call_local_timeout\t120",
            "call_max_calls\t\t4",
            # Audio: a WAV file as microphone; playback to the aubridge
            # null device (alsa,null burns a whole core).
            f"audio_source\t\taufile,{self.audio_wav}",
            "audio_player\t\taubridge,nil",
            "audio_alert\t\taubridge,nil",
            "ausrc_srate\t\t8000",
            "auplay_srate\t\t8000",
            "ausrc_channels\t\t1",
            "auplay_channels\t\t1",
            "audio_buffer\t\t20-160",
            "rtp_tos\t\t\t0",
            "rtcp_mux\t\tno",
            "jitter_buffer_delay\t5-10",
            # Only loopback: baresip must never send DNS anywhere else.
            "dns_server\t\t127.0.0.1:53",
            f"module_path\t\t{BARESIP_MODULES}",
        ]
        lines += [f"module\t\t\t{m}" for m in mods]
        lines += [
            "module_tmp\t\taccount.so",
            "module_app\t\tmenu.so",
            "module_app\t\tctrl_tcp.so",
            f"ctrl_tcp_listen\t\t127.0.0.1:{self.CTRL_PORT}",
            f"snd_path\t\t{self.rec_dir}",
            "ringback_disabled\tyes",
            "statmode_default\toff",
        ]
        if self.extra_config:
            lines.append(self.extra_config)
        return "\n".join(lines) + "\n"

    def account_line(self):
        params = [f"answermode={self.answermode}", f"regint={self.regint}"]
        if self.outbound:
            params.append(f'outbound="{self.outbound}"')
        if self.password:
            params.append(f"auth_pass={self.password}")
        params.append("audio_codecs=PCMU/8000/1,PCMA/8000/1")
        if self.extra_account_params:
            params.append(self.extra_account_params.lstrip(";"))
        return f"<{self.aor}>;" + ";".join(params) + "\n"

    def write_config(self):
        os.makedirs(self.rec_dir, exist_ok=True)
        if self.audio_wav is None:
            self.audio_wav = make_tone_wav(
                os.path.join(self.confdir, "tone.wav"), seconds=30)
        with open(os.path.join(self.confdir, "config"), "w") as f:
            f.write(self.config_text())
        with open(os.path.join(self.confdir, "accounts"), "w") as f:
            f.write(self.account_line())
        # An empty contacts file: the built-in template points at public
        # hosts, and the contact module is not loaded anyway.
        open(os.path.join(self.confdir, "contacts"), "w").close()

    # -- lifetime ----------------------------------------------------------

    def start(self, timeout=10):
        self.write_config()
        argv = [BARESIP_BIN, "-f", self.confdir]
        if self.verbose:
            argv.append("-v")
        self.proc = self.topo.spawn(self.ns, argv, name=f"baresip-{self.name}")

        def connect():
            if not self.proc.alive():
                raise RuntimeError(f"baresip {self.name} exited "
                                   f"(rc {self.proc.returncode}):\n"
                                   f"{self.proc.tail(40)}")
            s = socket_in_netns(self.topo.ns(self.ns))
            s.settimeout(1.0)
            try:
                s.connect(("127.0.0.1", self.CTRL_PORT))
            except OSError:
                s.close()
                return None
            s.settimeout(None)
            return s

        sock = self.topo.wait_for(connect, timeout,
                                  f"baresip {self.name} ctrl_tcp to accept",
                                  logs=[self.proc])
        self.ctrl = CtrlTcp(sock)
        return self

    def quit(self, timeout=5):
        """Ask baresip to quit (unregisters), then make sure it is gone."""
        if self.proc is None or not self.proc.alive():
            return
        try:
            self.ctrl.command("quit", timeout=2)
        except (TimeoutError, OSError):
            pass      # it may exit before answering
        try:
            self.proc.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.stop()
        if self.ctrl:
            self.ctrl.close()

    # -- commands and events -------------------------------------------------

    def command(self, command, params=None, timeout=5.0):
        """Run a ctrl_tcp command; returns the response dict."""
        return self.ctrl.command(command, params, timeout)

    def command_text(self, command, params=None, timeout=5.0):
        r = self.command(command, params, timeout)
        return strip_ansi(r.get("data", ""))

    def events(self, type=None):
        with self.ctrl.cond:
            evs = list(self.ctrl.events)
        return [e for e in evs if type is None or e.get("type") == type]

    def mark(self):
        """Position in the event list; pass as `since` to wait_event()."""
        with self.ctrl.cond:
            return len(self.ctrl.events)

    def wait_event(self, types, timeout, since=0, what=None):
        """Wait for an event whose type is in `types` (str or tuple), among
        events received after mark `since`.  Returns the event dict."""
        if isinstance(types, str):
            types = (types,)

        def found():
            for e in self.events()[since:]:
                if e.get("type") in types:
                    return e
            return None

        return self.topo.wait_for(
            found, timeout, what or f"{self.name}: event {'/'.join(types)}",
            logs=[self.proc])

    def reginfo(self):
        return self.command_text("reginfo")

    def is_registered(self):
        """True when reginfo shows the 200 OK status of a registration
        (baresip prints 'OK', 'ERR' or 'zzz' per registration)."""
        return re.search(r"\bOK\b", self.reginfo()) is not None

    def wait_registered(self, timeout=10):
        """REGISTER_OK may fire before we connect, so check reginfo too."""
        self.topo.wait_for(
            lambda: self.events("REGISTER_OK") or self.is_registered(),
            timeout, f"{self.name} ({self.aor}) registered",
            logs=[self.proc], interval=0.2)

    def registers_within(self, seconds):
        """Negative check helper: True if it registers within `seconds`,
        False if it does not (no exception)."""
        try:
            self.wait_registered(seconds)
            return True
        except WaitTimeout:
            return False

    def dial(self, uri):
        r = self.command("dial", uri)
        if not r.get("ok"):
            raise RuntimeError(f"{self.name}: dial {uri} failed: {r}")
        return r

    def wait_incoming(self, timeout=10, since=0):
        return self.wait_event("CALL_INCOMING", timeout, since,
                               f"{self.name}: incoming call")

    def answer(self):
        r = self.command("accept")
        if not r.get("ok"):
            raise RuntimeError(f"{self.name}: accept failed: {r}")
        return r

    def wait_established(self, timeout=10, since=0):
        """Wait for CALL_ESTABLISHED; fails early if the call closes."""
        ev = self.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), timeout,
                             since, f"{self.name}: call established")
        if ev.get("type") != "CALL_ESTABLISHED":
            raise AssertionError(f"{self.name}: call closed before being "
                                 f"established: {ev.get('param')}")
        return ev

    def wait_closed(self, timeout=10, since=0):
        return self.wait_event("CALL_CLOSED", timeout, since,
                               f"{self.name}: call closed")

    def hangup(self):
        return self.command("hangup")

    def listcalls(self):
        return self.command_text("listcalls")

    def callstat(self):
        return self.command_text("callstat")

    def active_calls(self):
        """Number of calls from listcalls ("Active calls (N)")."""
        m = re.search(r"Active calls \((\d+)\)", self.listcalls())
        return int(m.group(1)) if m else 0

    def wait_no_calls(self, timeout=10):
        self.topo.wait_for(lambda: self.active_calls() == 0, timeout,
                           f"{self.name}: no active calls",
                           logs=[self.proc], interval=0.2)

    def recordings(self, kind="dec"):
        """sndfile dumps, oldest first: kind "dec" (received) or "enc"."""
        try:
            names = sorted(n for n in os.listdir(self.rec_dir)
                           if n.endswith(f"-{kind}.wav"))
        except FileNotFoundError:
            return []
        return [os.path.join(self.rec_dir, n) for n in names]


def source_dir():
    """Project source tree (ctest passes SOFW_SOURCE_DIR)."""
    return os.environ.get("SOFW_SOURCE_DIR") or os.path.abspath(
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def build_dir():
    """CMake build tree (ctest passes SOFW_BUILD_DIR; default build/cmake)."""
    return os.environ.get("SOFW_BUILD_DIR") or os.path.join(source_dir(),
                                                            "build", "cmake")


REQUIRED_TOOLS = ["ip", "nft", "ss", "sysctl", "tcpdump", "tshark", "sox",
                  KAMAILIO_BIN, KAMCMD_BIN, BARESIP_BIN]


def missing_requirements():
    """What prevents running here: not root, or tools that are absent."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (network namespaces)")
    missing += [t for t in REQUIRED_TOOLS if not shutil.which(t)]
    if not os.path.isdir(BARESIP_MODULES):
        missing.append(BARESIP_MODULES)
    return missing


def make_tone_wav(path, seconds=30, freq=440):
    """8 kHz mono s16 sine WAV (what aufile expects for G.711)."""
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", path,
                    "synth", str(seconds), "sine", str(freq), "vol", "0.5"],
                   check=True, capture_output=True)
    return path


def cleanup_stale(prefix):
    """Remove what a run killed with SIGKILL (no teardown) left behind:
    processes in the namespaces named <prefix>* (they can only belong to
    that run) and the namespaces themselves."""
    if not re.fullmatch(r"s\d{1,4}-", prefix):
        raise ValueError("prefix looks like s1234-")
    for ns in _list_netns():
        if not ns.startswith(prefix):
            continue
        r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                           text=True)
        for pid in r.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", ns])
        print(f"removed {ns}")


if __name__ == "__main__":
    # python3 sofwnet.py cleanup s1234-   (after a run was SIGKILLed)
    if len(sys.argv) == 3 and sys.argv[1] == "cleanup":
        cleanup_stale(sys.argv[2])
    else:
        print(__doc__)
        print("usage: sofwnet.py cleanup <prefix, e.g. s1234->")
