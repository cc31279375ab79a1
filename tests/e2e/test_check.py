#!/usr/bin/python3
"""hrac-agent --check behind real firewalls, against a real HRAS.

Site a's LAN with HRAC, its nftables firewall, HRAS (Kamailio + sofw.so)
on the WAN. `hrac-agent --check` runs in the LAN namespace with the
agent's own config and must give the right verdict, step by step:

  1. open firewall: direct TCP works, streaming works
     -> "verdict: OK — tunnel via direct, mode stream", exit 0;
  2. the same with a wrong secret: HRAS refuses the site (401
     bad_signature) -> BLOCKED, the secret named as the thing to fix;
  3. log_target = syslog: the agent's lines reach /dev/log (a socket of
     the test's, bound over /dev in a private mount namespace) as
     daemon.info with "hrac-agent[pid]", none on stderr; SIGTERM stops it
     cleanly (exit 0, "stopped").
  Then the firewall is switched to the "proxy" policy (nothing forwarded;
  only a proxy on the firewall may go out):
  4. no proxy set: direct blocked (timeout) -> BLOCKED, "set proxy";
  5. a proxy set but none running: the proxy refuses -> BLOCKED, the proxy
     named;
  6. squid (forward-only) set in the config, and again through
     http_proxy in the environment: direct blocked, the proxy forwards
     plain HTTP to HRAS -> OK via the proxy, mode stream;
  7. an https:// server through that squid: CONNECT refused -> BLOCKED;
  8. a proxy that buffers bodies (nginx defaults): streaming does not get
     through, polling does -> OK via the proxy, mode poll;
  9. HRAS serving TLS on 443, squid allowing CONNECT: CONNECT allowed, the
     certificate verified against ca_file -> OK; against an unrelated CA
     -> BLOCKED, the certificate named.

The --check output of each case is printed. Prints PASS/FAIL per check and
"N passed, N failed"; exits 1 on failure.
"""

import os
import re
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxies  # noqa: E402
from checks import check, finish, require_parts  # noqa: E402
from sofwnet import Topology, HRAS_IP, LAN_GW  # noqa: E402
from sofwparts import Hras, Hrac  # noqa: E402

SQUID = f"http://{LAN_GW}:{proxies.Squid.PORT}"
DASH = "\u2014"


class CheckRun:
    """One `hrac-agent --check` run in site a's LAN: exit code, output, time."""

    def __init__(self, topo, hrac, env=None, args=()):
        t0 = time.monotonic()
        r = topo.run("a-lan", [hrac.binary, "--check", "-c", hrac.conf, *args],
                     check=False, timeout=120, env=env)
        self.seconds = time.monotonic() - t0
        self.rc = r.returncode
        self.out = r.stdout
        self.err = r.stderr
        print(f"    $ hrac-agent --check  ({self.seconds:.1f} s, exit {self.rc})", flush=True)
        for line in self.out.splitlines():
            print(f"    | {line}", flush=True)
        if self.err.strip():
            print(f"    stderr: {self.err.strip()}", flush=True)

    def step(self, name):
        m = re.search(rf"^{name}:\s+(.*)$", self.out, re.M)
        assert m, f"no '{name}:' line in the output"
        return m.group(1)

    def verdict(self):
        lines = [x for x in self.out.splitlines() if x.startswith("verdict: ")]
        assert len(lines) == 1, f"expected one verdict line, got {lines}"
        return lines[0]

    def expect(self, rc, verdict_start, steps=None):
        assert self.rc == rc, f"exit code {self.rc}, expected {rc}"
        v = self.verdict()
        assert v.startswith(verdict_start), f"verdict {v!r} does not start with {verdict_start!r}"
        for name, text in (steps or {}).items():
            got = self.step(name)
            assert text in got, f"{name}: {got!r} does not contain {text!r}"
        # Every step is bounded: nothing here may take long.
        assert self.seconds < 40, f"--check took {self.seconds:.1f} s"


def syslog_run(topo, hras):
    """The agent with log_target = syslog in a private mount namespace
    whose /dev is a directory of the test's holding a datagram socket
    `log` (and null, zero, random, urandom bound from the real /dev)."""
    d = topo.path("dev-syslog")
    os.makedirs(d)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(os.path.join(d, "log"))
    os.chmod(os.path.join(d, "log"), 0o666)
    sock.settimeout(0.2)
    devices = ("null", "zero", "random", "urandom")
    for n in devices:
        open(os.path.join(d, n), "w").close()
    hrac = Hrac(topo, "a", name="hrac-syslog", extra={"log_target": "syslog"})
    script = "".join(f"mount --bind /dev/{n} {d}/{n} && " for n in devices)
    script += f"mount --bind {d} /dev && exec {hrac.binary} -c {hrac.conf}"
    proc = topo.spawn("a-lan", ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                      name="hrac-syslog")
    messages = []

    def read_until(pattern, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(re.search(pattern, m) for m in messages):
                return
            try:
                messages.append(sock.recv(4096).decode(errors="replace"))
            except socket.timeout:
                pass
        raise AssertionError(f"no syslog message matching /{pattern}/ in {timeout} s; got {messages[-5:]} "
                             f"stderr: {proc.tail(10)}")

    try:
        read_until(r"tunnel up: ", 15)
        up = next(m for m in messages if "tunnel up: " in m)
        print(f"    syslog: {up.strip()}", flush=True)
        # <30> = facility daemon (3) * 8 + info (6)
        assert re.match(rf"<30>.* hrac-agent\[{proc.pid}\]: tunnel up: site=site-a", up), up
        assert hras.site_up("a"), "HRAS does not show the site up"
        proc.send_signal(signal.SIGTERM)
        read_until(r"stopped; counters", 10)
        rc = proc.stop(timeout=5, already_signalled=True)
        assert rc == 0, f"exit code {rc} after SIGTERM"
        stop = next(m for m in messages if "stopping on" in m)
        assert stop.startswith("<30>") and "stopping on Terminated" in stop, stop
        assert "tunnel up" not in proc.log_text(), "log lines went to stderr too"
    finally:
        sock.close()


def main():
    rc = require_parts()
    if rc is not None:
        return rc
    with Topology(deadline=240) as topo:
        topo.build_standard(sites=1, policy="open")
        hras = Hras(topo, sites=("a",)).start()
        plain = Hrac(topo, "a", name="hrac-check")

        def open_firewall():
            r = CheckRun(topo, plain)
            r.expect(0, f"verdict: OK {DASH} tunnel via direct, mode stream", {
                "config": f"OK {DASH} {plain.conf}",
                "address": f"{HRAS_IP} (an IP address",
                "direct": f"works (TCP to {HRAS_IP}:80 connected",
                "proxy": "none, going direct",
                "auth": f"OK {DASH} HRAS accepted site 'site-a'",
                "streaming": "works (STREAM_OK after",
                "polling": "not tried (streaming works)",
            })
        check("open firewall: direct works, streaming works, verdict OK via direct", open_firewall)

        def wrong_secret():
            bad = Hrac(topo, "a", name="hrac-check-badsecret", secret="not-the-site-secret")
            r = CheckRun(topo, bad)
            r.expect(1, f"verdict: BLOCKED {DASH} HRAS refused site 'site-a': 401 bad_signature", {
                "direct": "works",
                "auth": "HRAS refused site 'site-a' (401 bad_signature)",
                "streaming": "not tried",
            })
            assert "check secret/secret_file" in r.verdict(), r.verdict()
        check("wrong secret: HRAS refuses the site (401 bad_signature), BLOCKED naming the secret", wrong_secret)

        check("log_target = syslog: daemon.info lines with hrac-agent[pid]; SIGTERM stops it cleanly",
              lambda: syslog_run(topo, hras))

        topo.set_firewall("a", "proxy")

        def no_way_out():
            r = CheckRun(topo, plain)
            r.expect(1, f"verdict: BLOCKED {DASH} the firewall blocks direct TCP to {HRAS_IP}:80", {
                "direct": f"blocked (no answer from {HRAS_IP}:80 within 3 s)",
                "proxy": "none, going direct",
                "auth": "not tried",
            })
            assert "no proxy is set: set proxy = " in r.verdict(), r.verdict()
        check("strict firewall, no proxy set: direct blocked, BLOCKED saying to set a proxy", no_way_out)

        via_squid = Hrac(topo, "a", name="hrac-check-squid", extra={"proxy": SQUID})

        def proxy_not_running():
            r = CheckRun(topo, via_squid)
            r.expect(1, f"verdict: BLOCKED {DASH} cannot connect to the proxy {SQUID} (connection refused)", {
                "direct": "blocked",
                "proxy": f"{SQUID} (proxy setting): refused",
                "forwarding": "not tried",
            })
        check("proxy set but not running: BLOCKED naming the proxy", proxy_not_running)

        squid = proxies.Squid(topo, "a-fw", allow_connect=False).start()

        def through_squid():
            r = CheckRun(topo, via_squid)
            r.expect(0, f"verdict: OK {DASH} tunnel via proxy {SQUID}, mode stream", {
                "direct": f"blocked (no answer from {HRAS_IP}:80 within 3 s); not used",
                "proxy": f"{SQUID} (proxy setting): reachable",
                "forwarding": f"the proxy forwards plain HTTP to http://{HRAS_IP}:80 (HRAS answered 404",
                "connect": "not needed (http:// server)",
                "auth": "OK",
                "streaming": "works",
            })
        check("strict firewall with squid: direct blocked, via the proxy OK, mode stream", through_squid)

        def through_squid_from_environment():
            env_only = Hrac(topo, "a", name="hrac-check-env")
            r = CheckRun(topo, env_only, env={"http_proxy": SQUID})
            r.expect(0, f"verdict: OK {DASH} tunnel via proxy {SQUID}, mode stream", {
                "proxy": f"{SQUID} (http_proxy in the environment): reachable",
            })
        check("the proxy from http_proxy in the environment: found and used", through_squid_from_environment)

        def connect_refused():
            https = Hrac(topo, "a", name="hrac-check-https", server=f"https://{HRAS_IP}:443",
                         extra={"proxy": SQUID})
            r = CheckRun(topo, https)
            r.expect(1, f"verdict: BLOCKED {DASH} proxy refused CONNECT (403)", {
                "forwarding": "not needed (https:// goes through CONNECT)",
                "connect": f"the proxy refuses CONNECT to {HRAS_IP}:443 (403)",
                "tls": "not tried",
            })
            assert "try an http:// server URL" in r.verdict(), r.verdict()
        check("https:// through a forward-only squid: the proxy refuses CONNECT, BLOCKED", connect_refused)
        squid.proc.stop()

        def buffering_proxy():
            nginx = proxies.buffering_forward_proxy(topo, "a-fw")
            buffered = Hrac(topo, "a", name="hrac-check-buffered", extra={"proxy": f"http://{LAN_GW}:8080"})
            r = CheckRun(topo, buffered)
            nginx.proc.stop()
            r.expect(0, f"verdict: OK {DASH} tunnel via proxy http://{LAN_GW}:8080, mode poll", {
                "forwarding": "the proxy forwards plain HTTP",
                "streaming": "does not get through (",
                "polling": "works (streaming is buffered by something in the path",
            })
        check("a proxy that buffers bodies: streaming fails, polling works, verdict OK mode poll", buffering_proxy)

        def tls_through_connect():
            hras.proc.stop()
            pki = proxies.make_certs(topo, HRAS_IP)
            tls = (f'modparam("sofw", "tls_cert", "{pki["cert"]}")\n'
                   f'modparam("sofw", "tls_key", "{pki["key"]}")\n')
            Hras(topo, sites=("a",), tunnel_listen=f"{HRAS_IP}:443", extra_cfg=tls).start()
            proxies.Squid(topo, "a-fw", allow_connect=True, name="squid-connect").start()
            good = Hrac(topo, "a", name="hrac-check-tls", server=f"https://{HRAS_IP}:443",
                        extra={"proxy": SQUID, "ca_file": pki["ca"], "pin_sha256": pki["pin"]})
            r = CheckRun(topo, good)
            r.expect(0, f"verdict: OK {DASH} tunnel via proxy {SQUID}, mode stream", {
                "connect": f"the proxy allows CONNECT to {HRAS_IP}:443",
                "tls": f"HRAS certificate verified against ca_file {pki['ca']}, public key matches pin_sha256",
                "auth": "OK",
                "streaming": "works",
            })
            wrong = Hrac(topo, "a", name="hrac-check-wrong-ca", server=f"https://{HRAS_IP}:443",
                         extra={"proxy": SQUID, "ca_file": pki["other_ca"]})
            r = CheckRun(topo, wrong)
            r.expect(1, f"verdict: BLOCKED {DASH} HRAS certificate does not verify", {
                "connect": "the proxy allows CONNECT",
                "tls": f"fails {DASH} HRAS certificate does not verify",
                "auth": "not tried",
            })
            assert f"ca_file must name the CA that issued HRAS's certificate (now: {pki['other_ca']})" in r.verdict()
        check("https:// via squid CONNECT: TLS verified (ca_file + pin) OK; an unrelated CA BLOCKED",
              tls_through_connect)

        return finish(topo)


if __name__ == "__main__":
    sys.exit(main())
