#!/usr/bin/python3
"""Operating HRAS the Kamailio way, end to end.

Real processes: Kamailio + sofw.so (HRAS) in `wan` with WITH_PROMETHEUS
defined and the status page switched on, hrac-agent behind a strict
firewall in site a, baresip phones (alice in site a, carol on the WAN), and
an admin host `admin` on the WAN that scrapes the metrics with curl and
looks at the status page with headless Chromium.

  1. a Prometheus scrape (xhttp_prom on its own TCP listener) exports the
     sofw counters, agreeing with sofw.stats; the listener serves nothing
     but /metrics, and the SIP TCP socket does not serve /metrics;
  2. alice calls carol; during the call sofw.sites shows site-a up and
     sofw.rat the call with its packet counters moving, also page by page
     (site, offset, rows; total and next), and its media quality each way
     (no loss on this clean call, jitter and late shares sane);
  3. sofw.phones lists alice's loopback endpoint (all sites, and site-a
     only); an unknown site is refused;
  4. the status page in headless Chromium (credentials in the URL) renders
     site-a up, alice's phone and the call with non-zero packet counters,
     matching sofw.rat, its quality each way and a chart of each way (inline
     SVG with a point a second); a screenshot is saved in the run directory;
  5. the page and its JSON are refused (401 + WWW-Authenticate) without
     credentials and with a wrong password, by curl and Chromium alike;
     after four wrong passwords the address is backed off (429 with
     Retry-After, even for the right password) until Retry-After passed;
     then status.json is valid JSON showing the call with its quality and
     the per-second series of its chart;
  6. after hang-up sofw.rat is empty;
  7. a second scrape shows the counters moved by the call (media packets
     both ways, RTP measured both ways with none lost, SIP from the site,
     SDP rewritten, RAT entries);
  8. sofw.kick site-a closes the tunnel: HRAC logs a second "tunnel up",
     sessions_opened and sessions_closed grow, a new session is up; an
     unknown site is refused;
  9. after the kick, a call between alice and carol carries media again.

Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on failure.
The run directory (kept with SOFW_KEEP_RUNDIR=1 or on failure) holds the
Chromium screenshot status-page.png and the dumped DOM.
"""

import html.parser
import json
import os
import re
import secrets
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sofwnet  # noqa: E402
from checks import check, finish, require_parts  # noqa: E402
from sofwnet import Baresip, Topology, EXT_IP, HRAC_IP, HRAS_IP, PHONE_IP  # noqa: E402
from sofwparts import Hras, Hrac, WAN_DOMAIN, kamcmd_pages, parse_kamcmd, site_domain  # noqa: E402
from calls import connect, rat  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CURL = "/usr/bin/curl"
ADMIN_IP = "198.51.100.30"
METRICS_PORT = 9090
STATUS_USER = "admin"
STATUS_PASSWORD = "st-" + secrets.token_urlsafe(12)   # URL-safe: goes into the URL as is
SITE = "site-a"


# -- the admin's tools ------------------------------------------------------

class Admin:
    """curl and headless Chromium in the `admin` namespace on the WAN."""

    def __init__(self, topo):
        self.topo = topo
        self.n = 0

    def curl(self, url, user=None, password=None):
        """(status, headers text, body text) of one GET."""
        self.n += 1
        body, hdrs = self.topo.path(f"curl-{self.n}.body"), self.topo.path(f"curl-{self.n}.headers")
        argv = [CURL, "-sS", "--max-time", "5", "-o", body, "-D", hdrs, "-w", "%{http_code}"]
        if user is not None:
            argv += ["-u", f"{user}:{password}"]
        r = self.topo.run("admin", argv + [url], check=False)
        assert r.returncode == 0, f"curl {url} failed (rc {r.returncode}): {r.stderr.strip()}"
        with open(body, encoding="utf-8", errors="replace") as f, open(hdrs) as h:
            return int(r.stdout.strip()), h.read(), f.read()

    def scrape(self):
        """The sofw metrics of one Prometheus scrape: {counter: value}."""
        status, _, body = self.curl(f"http://{HRAS_IP}:{METRICS_PORT}/metrics")
        assert status == 200, f"/metrics answered {status}: {body[:200]}"
        metrics = {}
        for line in body.splitlines():
            m = re.match(r"kamailio_sofw_(\w+) (\d+)(?: \d+)?$", line)
            if m:
                metrics[m.group(1)] = int(m.group(2))
        assert metrics, f"no kamailio_sofw_ metric in the scrape:\n{body[:500]}"
        return metrics

    def chromium(self, url, *mode):
        """Headless Chromium (fresh profile) on url; its stdout."""
        self.n += 1
        profile = self.topo.path(f"chromium-profile-{self.n}")
        os.makedirs(profile)
        home = self.topo.path("chromium-home")
        os.makedirs(home, exist_ok=True)
        argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", "--virtual-time-budget=4000", *mode, url]
        r = self.topo.run("admin", argv, check=False, timeout=120, env={"HOME": home})
        with open(self.topo.path(f"chromium-{self.n}.log"), "w") as f:
            f.write(r.stderr)
        assert r.returncode == 0, f"chromium exited with {r.returncode}: {r.stderr[-1500:]}"
        return r.stdout


def status_url(user=STATUS_USER, password=STATUS_PASSWORD, path="/sofw/status"):
    cred = f"{user}:{password}@" if user is not None else ""
    return f"http://{cred}{HRAS_IP}{path}"


class Tables(html.parser.HTMLParser):
    """The rows of every <table id=...> of a rendered page as dicts keyed by
    the column headings: {id: [{heading: cell text}]}."""

    def __init__(self, text):
        super().__init__()
        self.tables, self.heads = {}, {}
        self._table, self._row, self._cell = None, None, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = dict(attrs).get("id")
            self.tables.setdefault(self._table, [])
            self.heads.setdefault(self._table, [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append((tag, self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if all(t == "th" for t, _ in self._row):
                self.heads[self._table] = [c for _, c in self._row]
            else:
                cells = [c for _, c in self._row]
                self.tables[self._table].append(dict(zip(self.heads[self._table], cells)))
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def phones(hras, *site):
    return kamcmd_pages(hras, "sofw.phones", *site)[0]


QUALITY = ("loss_up", "loss_down", "jitter_up", "jitter_down",
           "late60_up", "late60_down", "late150_up", "late150_down")


def assert_clean_quality(row, what):
    """The media quality figures of a sofw.rat row or status.json call on a
    clean call: every field there, no loss, jitter 0..1000 ms, late shares
    0..100 % (the >150 ms share no bigger than the >60 ms one)."""
    missing = [k for k in QUALITY if k not in row]
    assert not missing, f"{what}: no {missing} in {row}"
    q = {k: float(row[k]) for k in QUALITY}
    assert q["loss_up"] == 0 and q["loss_down"] == 0, f"{what}: loss on a clean call: {q}"
    for way in ("up", "down"):
        assert 0 <= q["jitter_" + way] < 1000, f"{what}: jitter {way}: {q}"
        assert 0 <= q["late150_" + way] <= q["late60_" + way] <= 100, f"{what}: late shares {way}: {q}"
    return q


def main():
    if require_parts():
        return 1
    missing = [t for t in (CHROMIUM, CURL) if not shutil.which(t)]
    if missing:
        print(f"FAIL: cannot run, missing: {', '.join(missing)} (scripts/setup.sh installs them)")
        return 1
    with Topology(deadline=360) as topo:
        topo.build_standard(sites=1, policy="strict")
        topo.add_wan_host("admin", ADMIN_IP)
        admin = Admin(topo)
        tone_a = sofwnet.make_tone_wav(topo.path("tone697.wav"), seconds=60, freq=697)
        tone_c = sofwnet.make_tone_wav(topo.path("tone1209.wav"), seconds=60, freq=1209)

        hras = Hras(topo, sites=("a",), extra_cfg=(f'modparam("sofw", "status_user", "{STATUS_USER}")\n'
                                                   f'modparam("sofw", "status_password", "{STATUS_PASSWORD}")\n'))
        hras.kam.defines["WITH_PROMETHEUS"] = None
        hras.start()
        topo.wait_for(lambda: topo.listening("wan", "tcp", HRAS_IP, METRICS_PORT), 10,
                      f"metrics listener on {HRAS_IP}:{METRICS_PORT}", logs=[hras.proc])
        hrac = Hrac(topo, "a").start()
        topo.wait_for(lambda: hras.site_up("a"), 5, "sofw.sites: site-a up")
        alice = Baresip(topo, "a-ph1", "alice", PHONE_IP["ph1"], f"sip:alice@{site_domain('a')}",
                        password=hras.add_user(f"sip:alice@{site_domain('a')}"), outbound=f"sip:{HRAC_IP}:5060", audio_wav=tone_a, record=False)
        carol = Baresip(topo, "ext", "carol", EXT_IP, f"sip:carol@{WAN_DOMAIN}",
                        password=hras.add_user(f"sip:carol@{WAN_DOMAIN}"), outbound=f"sip:{HRAS_IP}:5060", audio_wav=tone_c, record=False)
        for p in (alice, carol):
            p.start()
        for p in (alice, carol):
            p.wait_registered(15)

        state = {}

        def scrape_before():
            m = admin.scrape()
            stats = hras.stats()
            for k in ("media_packets_up", "media_packets_down", "sip_from_sites", "sdp_rewritten",
                      "sessions_opened", "rat_created", "active_sites", "phones", "active_calls"):
                assert k in m, f"kamailio_sofw_{k} not exported: {sorted(m)}"
            assert m["active_sites"] == 1, m
            assert m["sessions_opened"] == stats["sessions_opened"] >= 1, (m, stats)
            # SIP counters move with every REGISTER refresh: the scrape came first
            assert m["sip_from_sites"] <= stats["sip_from_sites"] and m["sip_from_sites"] > 0, (m, stats)
            state["before"] = m
            status, _, body = admin.curl(f"http://{HRAS_IP}:{METRICS_PORT}/")
            assert status == 404, f"metrics listener answered / with {status}"
            status, _, body = admin.curl(f"http://{HRAS_IP}:5060/metrics")
            assert status == 404, f"the SIP TCP socket served /metrics ({status})"
        check("Prometheus scrape (xhttp_prom): sofw counters exported, only on the metrics listener",
              scrape_before)

        def call_up(caller, callee, uri):
            mc, me = connect(caller, callee, uri)
            rows = topo.wait_for(lambda: [r for r in rat(hras) if int(r["packets_up"]) > 0
                                          and int(r["packets_down"]) > 0], 5,
                                 "sofw.rat: media relayed both ways")
            return rows[0], mc, me

        def hang_up(caller, callee, marks):
            caller.hangup()
            for p, m in zip((caller, callee), marks):
                p.wait_closed(10, since=m)
                p.wait_no_calls()

        def during_call():
            row, mc, me = call_up(alice, carol, f"sip:carol@{WAN_DOMAIN}")
            state["call"], state["marks"] = row, (mc, me)
            site = hras.site_states()[SITE]
            assert site["state"] == "up" and site["mode"] == "stream", site
            assert site["hrac"] == f"{HRAC_IP}:5060", site
            assert row["site"] == SITE and row["bypass"] == "0", row
            assert row["internal"].startswith(PHONE_IP["ph1"] + ":"), row
            assert row["external"].startswith(EXT_IP + ":"), row
            assert int(row["hras_port"]) and int(row["hrac_port"]), row
            up0, down0 = int(row["packets_up"]), int(row["packets_down"])
            # paged: the site's first page of one row, then past its end
            page = [v for v in parse_kamcmd(hras.kamcmd("sofw.rat", SITE, "0", "1")) if isinstance(v, dict)][0]
            assert (page["total"], page["offset"], page["next"]) == ("1", "0", "-1"), page
            assert [r["call_id"] for r in page["rows"]] == [row["call_id"]], page
            page = [v for v in parse_kamcmd(hras.kamcmd("sofw.rat", SITE, "1")) if isinstance(v, dict)][0]
            assert (page["total"], page["next"]) == ("1", "-1") and not page.get("rows"), page
            assert hras.kam.kamcmd("sofw.rat", "no-such-site", check=False) is None, "unknown site accepted"

            def moved():
                r = [x for x in rat(hras) if x["call_id"] == row["call_id"] and x["stream"] == row["stream"]]
                return r and int(r[0]["packets_up"]) > up0 + 10 and int(r[0]["packets_down"]) > down0 + 10 and r[0]
            now = topo.wait_for(moved, 5, "sofw.rat packet counters moving both ways")
            q = assert_clean_quality(now, "sofw.rat")
            print(f"    sofw.rat quality: {q}", flush=True)
        check("during a call: sofw.sites shows site-a up, sofw.rat the call with packets moving", during_call)

        def phone_list():
            rows = phones(hras)
            mine = [r for r in rows if r["site"] == SITE and r["lan"] == f"{PHONE_IP['ph1']}:5060"]
            assert len(mine) == 1, rows
            ep = mine[0]["endpoint"]
            addr = hras.site_states()[SITE]["addr"]
            assert ep.startswith(addr + ":") and int(ep.rsplit(":", 1)[1]) > 0, (ep, addr)
            assert 0 <= int(mine[0]["idle"]) < 60, mine
            assert phones(hras, SITE) == rows, "sofw.phones site-a differs from the whole list"
            assert hras.kam.kamcmd("sofw.phones", "no-such-site", check=False) is None, "unknown site accepted"
            state["endpoint"] = ep
        check("sofw.phones lists alice's loopback endpoint; unknown site refused", phone_list)

        def page_in_chromium():
            assert "call" in state, "no call"
            dom = admin.chromium(status_url(), "--dump-dom")
            with open(topo.path("status-page-dom.html"), "w") as f:
                f.write(dom)
            t = Tables(dom).tables
            sites = [r for r in t.get("sites", []) if r.get("site") == SITE]
            assert sites and sites[0]["tunnel"] == "up" and sites[0]["mode"] == "stream", f"sites: {t.get('sites')}"
            assert sites[0]["HRAC"] == f"{HRAC_IP}:5060" and sites[0]["phones"] == "1", sites
            assert any(r.get("site") == SITE and r.get("LAN address") == f"{PHONE_IP['ph1']}:5060"
                       and r.get("loopback endpoint") == state["endpoint"] for r in t.get("phones", [])), \
                f"phones: {t.get('phones')}"
            row = state["call"]
            calls = [r for r in t.get("calls", []) if r.get("Call-ID") == row["call_id"]]
            assert calls, f"calls: {t.get('calls')}"
            c = calls[0]
            assert c["HRAS port"] == row["hras_port"] and c["HRAC port"] == row["hrac_port"], (c, row)
            assert c["phone (internal)"].startswith(PHONE_IP["ph1"] + ":"), c
            # From/To hold <sip:...>: shown as text, not swallowed as markup
            assert c["from"] == row["from"] and c["to"] == row["to"], (c, row)
            assert "<sip:" in c["from"], c
            assert int(c["packets up"]) > 0 and int(c["packets down"]) > 0, f"no packets on the page: {c}"
            for way in ("up", "down"):
                m = re.fullmatch(r"loss ([\d.]+) %, jitter ([\d.]+) ms\s+late >60 ms ([\d.]+) %, >150 ms ([\d.]+) %",
                                 c.get(f"quality {way}", ""))
                assert m and float(m.group(1)) == 0, f"quality {way} on the page: {c}"
            # the chart: two sparklines (up, down) in the call's row, each
            # with its loss and jitter lines drawn through at least one point
            call_row = re.search(r"<tr>(?:(?!</tr>).)*" + re.escape(html.escape(row["call_id"], quote=False)) +
                                 r"(?:(?!</tr>).)*</tr>", dom, re.S)
            assert call_row, "the call's row is not in the DOM"
            svgs = re.findall(r'<svg class="spark".*?</svg>', call_row.group(0), re.S)
            assert len(svgs) == 2, f"{len(svgs)} sparklines in the call's row"
            for svg in svgs:
                points = re.findall(r'<polyline class="(loss|jitter)"[^>]*points="([^"]*)"', svg)
                assert [k for k, _ in points] == ["loss", "jitter"], svg
                for kind, pts in points:
                    assert re.fullmatch(r"(\d+(\.\d+)?,\d+(\.\d+)?)( \d+(\.\d+)?,\d+(\.\d+)?)*", pts), \
                        f"{kind} line without points: {svg}"
            counters = {r["counter"]: r["value"] for r in t.get("counters", []) if "value" in r}
            assert int(counters.get("media_packets_up", 0)) > 0 and counters.get("active_calls") == "1", counters
            shot = topo.path("status-page.png")
            admin.chromium(status_url(), f"--screenshot={shot}", "--window-size=1500,900")
            with open(shot, "rb") as f:
                png = f.read()
            assert png.startswith(b"\x89PNG") and len(png) > 10000, f"screenshot {shot}: {len(png)} bytes"
            print(f"    screenshot: {shot}", flush=True)
        check("status page in headless Chromium: site-a up, alice's phone, the call with packets", page_in_chromium)

        def page_refused():
            for path in ("/sofw/status", "/sofw/status.json"):
                for user, password, what in ((None, None, "no credentials"),
                                             (STATUS_USER, STATUS_PASSWORD + "x", "wrong password"),
                                             ("root", STATUS_PASSWORD, "wrong user")):
                    status, hdrs, body = admin.curl(f"http://{HRAS_IP}{path}", user, password)
                    assert status == 401, f"{path} with {what}: {status}"
                    assert re.search(r"^WWW-Authenticate: Basic realm=", hdrs, re.M | re.I), hdrs
                    assert SITE not in body and "packets" not in body, body[:200]
            # Four wrong passwords from one address: it is backed off, the
            # right password too is answered 429 until Retry-After passed.
            status, hdrs, body = admin.curl(f"http://{HRAS_IP}/sofw/status.json", STATUS_USER, STATUS_PASSWORD)
            assert status == 429 and re.search(r"^Retry-After: [1-9]\d*\r?$", hdrs, re.M | re.I), (status, hdrs)
            assert SITE not in body, body[:200]
            assert hras.stats()["status_auth_backoff"] >= 1
            answers = []
            topo.wait_for(lambda: answers.append(admin.curl(f"http://{HRAS_IP}/sofw/status.json", STATUS_USER,
                                                            STATUS_PASSWORD)) or answers[-1][0] == 200,
                          10, "the status page answers the right password again after Retry-After")
            status, hdrs, body = answers[-1]
            assert status == 200 and re.search(r"^Content-Type: application/json", hdrs, re.M | re.I), (status, hdrs)
            j = json.loads(body)
            assert any(c["call_id"] == state["call"]["call_id"] and c["packets_up"] > 0 for c in j["calls"]), j
            call = [c for c in j["calls"] if c["call_id"] == state["call"]["call_id"]][0]
            assert_clean_quality(call, "status.json")
            for way in ("up", "down"):
                series = call["history"][way]
                assert 1 <= len(series["loss"]) == len(series["jitter"]) <= 60, series
                assert all(v == 0 for v in series["loss"]), f"loss {way} in the chart: {series}"
                assert all(isinstance(v, (int, float)) and 0 <= v < 1000 for v in series["jitter"]), series
            assert [s["state"] for s in j["sites"] if s["name"] == SITE] == ["up"], j["sites"]
            dom = admin.chromium(status_url(password=STATUS_PASSWORD + "x"), "--dump-dom")
            assert SITE not in dom and "<table" not in dom, f"Chromium got the page with a wrong password: {dom[:300]}"
        check("status page refused without credentials or with wrong ones (401, curl and Chromium), then backed off "
              "(429, Retry-After)", page_refused)

        def after_hangup():
            assert "marks" in state, "no call"
            hang_up(alice, carol, state["marks"])
            topo.wait_for(lambda: not rat(hras), 5, "sofw.rat empty after the hang-up")
            assert hras.stats()["active_calls"] == 0
        check("after hang-up sofw.rat is empty", after_hangup)

        def scrape_after():
            b, m = state["before"], admin.scrape()
            for k in ("media_packets_up", "media_packets_down", "media_bytes_up", "sip_from_sites", "sip_to_sites",
                      "sdp_rewritten", "rat_created", "rat_removed"):
                assert m[k] > b[k], f"kamailio_sofw_{k} did not move: {b[k]} -> {m[k]}"
            assert m["media_packets_up"] > b["media_packets_up"] + 100, (b["media_packets_up"], m["media_packets_up"])
            for way in ("up", "down"):
                assert m[f"rtp_packets_{way}"] > b[f"rtp_packets_{way}"] + 100, (way, b, m)
                assert m[f"rtp_lost_{way}"] == b[f"rtp_lost_{way}"], f"RTP lost {way} on a clean call: {b} -> {m}"
                assert m[f"rtp_late_150ms_{way}"] <= m[f"rtp_late_60ms_{way}"] <= m[f"rtp_packets_{way}"], (way, m)
                assert f"rtp_late_60ms_{way}" in b and f"rtp_late_150ms_{way}" in b, sorted(b)
            assert m["active_calls"] == 0, m
            stats = hras.stats()
            assert m["media_packets_up"] == stats["media_packets_up"], (m["media_packets_up"], stats)
            print(f"    media_packets_up {b['media_packets_up']} -> {m['media_packets_up']}, "
                  f"media_packets_down {b['media_packets_down']} -> {m['media_packets_down']}, "
                  f"sdp_rewritten {b['sdp_rewritten']} -> {m['sdp_rewritten']}", flush=True)
        check("Prometheus scrape after the call: the sofw counters moved", scrape_after)

        def kick():
            st0, ups0 = hras.stats(), hrac.ups()
            session0 = hras.site_states()[SITE]["session"]
            out = hras.kamcmd("sofw.kick", SITE).strip()
            assert out == "kicked", f"sofw.kick answered {out!r}"
            hrac.wait_up(count=ups0 + 1, timeout=15)
            topo.wait_for(lambda: (lambda s: s["state"] == "up" and s["session"] != session0)(hras.site_states()[SITE]),
                          10, "site-a up again with a new session")
            st1 = hras.stats()
            assert st1["sessions_opened"] > st0["sessions_opened"], (st0["sessions_opened"], st1["sessions_opened"])
            assert st1["sessions_closed"] > st0["sessions_closed"], (st0["sessions_closed"], st1["sessions_closed"])
            assert "closed by the admin (sofw.kick)" in hras.proc.log_text(), "HRAS did not log the kick"
            assert hras.kam.kamcmd("sofw.kick", "no-such-site", check=False) is None, "unknown site accepted"
        check("sofw.kick site-a: the tunnel drops, HRAC reconnects (second tunnel up, sessions_opened grows)", kick)

        def call_after_kick():
            row, mc, me = call_up(carol, alice, f"sip:alice@{site_domain('a')}")
            hang_up(carol, alice, (mc, me))
            topo.wait_for(lambda: not rat(hras), 5, "sofw.rat empty after the hang-up")
        check("after the kick, a call carries media both ways again", call_after_kick)

        return finish(topo)


if __name__ == "__main__":
    sys.exit(main())
