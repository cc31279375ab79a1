#!/usr/bin/python3
"""SoFW's Debian packages, built, installed, used and purged for real.

  1. `make deb` builds kamailio-sofw-module and hrac-agent into build/deb,
     fresh, with the project's version; the module depends on exactly the
     installed kamailio, and hrac-agent on the package of every library
     its binary links (dpkg -S of its NEEDED entries);
  2. `dpkg -i` installs both (twice: the maintainer scripts are
     idempotent); every file is where it belongs, the config is a
     conffile, the `sofw` system user exists, the account database
     (/var/lib/kamailio/sofw.sqlite) was made and is Kamailio's alone;
  3. /usr/bin/hrac-agent --version; without -c it reads
     /etc/sofw/hrac-agent.conf (its --check names that file);
  4. the systemd unit passes `systemd-analyze verify` without a warning
     and has the hardening it promises; the module's drop-in for
     kamailio.service sets LimitNOFILE=65536;
  5. a call with audio checked by content using only installed files:
     Kamailio with the module path /usr/lib/.../kamailio/modules alone and
     the packaged example kamailio.cfg, the phones' accounts added with
     kamctl to the database the package made, hrac-agent from /usr/bin run the
     way the unit runs it (user sofw, only CAP_NET_BIND_SERVICE, no new
     privileges) behind a strict firewall; SIGTERM stops it cleanly;
  6. `dpkg --purge` of both leaves nothing behind (files, /etc/sofw, the
     user), also when an earlier check failed.

Debian's kamailio service is never started: Kamailio runs in the test's
namespace like in every other test. Prints PASS/FAIL per check and
"N passed, N failed"; exits 1 on failure.
"""

import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio  # noqa: E402
from calls import assert_conversation, rat, talk  # noqa: E402
from checks import check, finish, require_parts  # noqa: E402
from sofwnet import Baresip, Topology, EXT_IP, HRAC_IP, HRAS_IP, PHONE_IP, KAMAILIO_MODULES  # noqa: E402
from sofwnet import build_dir, source_dir  # noqa: E402
from sofwparts import Hras, Hrac, WAN_DOMAIN, site_domain  # noqa: E402

MODULE_PKG = "kamailio-sofw-module"
AGENT_PKG = "hrac-agent"
MODULE = f"{KAMAILIO_MODULES}/sofw.so"
DOC = f"/usr/share/doc/{MODULE_PKG}"
EXAMPLES = f"{DOC}/examples"
AGENT = "/usr/bin/hrac-agent"
CONF = "/etc/sofw/hrac-agent.conf"
UNIT = "/lib/systemd/system/hrac-agent.service"
DROPIN = "/lib/systemd/system/kamailio.service.d/kamailio-sofw.conf"

MODULE_FILES = [MODULE, f"{DOC}/README", f"{EXAMPLES}/kamailio.cfg",
                f"{EXAMPLES}/sofw-local.cfg.sample", f"{EXAMPLES}/sofw-sites.cfg.sample",
                f"{EXAMPLES}/kamctlrc.sample", DROPIN]
# made by the module's postinst (kamdbctl create), removed on purge
ACCOUNTS_DB = "/var/lib/kamailio/sofw.sqlite"
AGENT_FILES = [AGENT, CONF, UNIT, "/usr/share/doc/hrac-agent/README.Debian"]
# What the unit file must say (key, value).
UNIT_PROMISES = [("Type", "simple"), ("ExecStart", f"{AGENT} -c {CONF}"), ("Restart", "on-failure"),
                 ("User", "sofw"), ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                 ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                 ("AmbientCapabilities", "CAP_NET_BIND_SERVICE"),
                 ("CapabilityBoundingSet", "CAP_NET_BIND_SERVICE")]
# hrac-agent as the unit runs it: user sofw, CAP_NET_BIND_SERVICE only.
AS_THE_UNIT = ["setpriv", "--reuid=sofw", "--regid=sofw", "--init-groups", "--no-new-privs",
               "--bounding-set=-all,+net_bind_service", "--inh-caps=-all,+net_bind_service",
               "--ambient-caps=+net_bind_service"]
SPEECH_S = 5


def sh(argv, timeout=120, check=True):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed (rc {r.returncode}):\n{r.stdout}{r.stderr}")
    return r


def installed(pkg):
    r = sh(["dpkg-query", "-W", "-f=${Status}", pkg], check=False)
    return r.returncode == 0 and "install ok installed" in r.stdout


def known(pkg):
    """dpkg still has a record of it (installed, or removed with config)."""
    r = sh(["dpkg-query", "-W", "-f=${Status}", pkg], check=False)
    return r.returncode == 0 and "not-installed" not in r.stdout


def user_exists(name):
    return sh(["getent", "passwd", name], check=False).returncode == 0


def project_version():
    with open(os.path.join(source_dir(), "CMakeLists.txt")) as f:
        m = re.search(r"project\(sofw VERSION ([0-9.]+)", f.read())
    assert m, "no project(sofw VERSION ...) in CMakeLists.txt"
    return m.group(1)


def needed_packages(binary):
    """The Debian packages of the libraries `binary` links (NEEDED)."""
    dynamic = sh(["objdump", "-p", binary]).stdout
    libs = re.findall(r"^\s+NEEDED\s+(\S+)", dynamic, re.M)
    assert libs, f"{binary} links no libraries?"
    ldd = sh(["ldd", binary]).stdout
    pkgs = {}
    for lib in libs:
        m = re.search(rf"^\s*{re.escape(lib)} => (\S+)", ldd, re.M)
        assert m, f"ldd does not resolve {lib}"
        path = os.path.realpath(m.group(1))
        owner = sh(["dpkg", "-S", path], check=False)
        if owner.returncode != 0:  # /lib vs /usr/lib (merged /usr)
            owner = sh(["dpkg", "-S", path.replace("/usr/lib/", "/lib/", 1)])
        pkgs[lib] = owner.stdout.split(":")[0]
    return pkgs


def depends_names(depends):
    return {d.strip().split()[0] for d in depends.split(",") if d.strip()}


class Packages:
    """The two .deb files of this run, and what the machine had before."""

    def __init__(self):
        self.debs = {}
        self.backup = None   # an sofw.so no package owned, put back at the end

    def build(self):
        t0 = time.time()
        r = sh(["make", "-C", source_dir(), "deb"], timeout=450)
        assert "build-debs.sh: built" in r.stdout, r.stdout[-2000:]
        version = project_version()
        arch = sh(["dpkg", "--print-architecture"]).stdout.strip()
        for pkg in (MODULE_PKG, AGENT_PKG):
            path = os.path.join(source_dir(), "build", "deb", f"{pkg}_{version}_{arch}.deb")
            assert os.path.isfile(path), f"{path} missing"
            assert os.path.getmtime(path) >= t0 - 1, f"{path} is not from this run"
            self.debs[pkg] = path
            fields = {k: sh(["dpkg-deb", "-f", path, k]).stdout.strip()
                      for k in ("Package", "Version", "Architecture", "Depends")}
            print(f"    {os.path.basename(path)}: Depends: {fields['Depends']}", flush=True)
            assert fields["Package"] == pkg and fields["Version"] == version and fields["Architecture"] == arch, fields
            self.check_contents(pkg, path)

        kamailio = sh(["dpkg-query", "-W", "-f=${Version}", "kamailio"]).stdout.strip()
        module_depends = sh(["dpkg-deb", "-f", self.debs[MODULE_PKG], "Depends"]).stdout
        assert f"kamailio (= {kamailio})" in module_depends, module_depends
        names = depends_names(module_depends)
        for lib in ("libmicrohttpd12", "libnettle8", "libgnutls30"):
            assert lib in names, f"{MODULE_PKG} does not depend on {lib}: {module_depends}"

        agent_depends = depends_names(sh(["dpkg-deb", "-f", self.debs[AGENT_PKG], "Depends"]).stdout)
        linked = needed_packages(os.path.join(build_dir(), "hrac-agent", "hrac-agent"))
        print(f"    hrac-agent links: {linked}", flush=True)
        missing = {lib: p for lib, p in linked.items() if p not in agent_depends}
        assert not missing, f"hrac-agent's Depends lack the packages of {missing}: {agent_depends}"
        assert "adduser" in agent_depends, agent_depends

    @staticmethod
    def check_contents(pkg, path):
        listing = sh(["dpkg-deb", "-c", path]).stdout
        files = {line.split()[-1].lstrip(".") for line in listing.splitlines() if line.startswith("-")}
        want = MODULE_FILES if pkg == MODULE_PKG else AGENT_FILES
        missing = [f for f in want if f not in files]
        assert not missing, f"{pkg} lacks {missing}; it has {sorted(files)}"
        if pkg == AGENT_PKG:
            ctrl = sh(["dpkg-deb", "-I", path]).stdout
            for script in ("postinst", "prerm", "postrm", "conffiles"):
                assert script in ctrl, f"{pkg} has no {script}: {ctrl}"

    def clear_the_way(self):
        """A run killed before its purge leaves the packages installed:
        purge them. An sofw.so that no package owns (make -f
        Makefile.kamailio install) is kept aside and put back at the end."""
        for pkg in (AGENT_PKG, MODULE_PKG):
            if known(pkg):
                print(f"    {pkg} left by an earlier run: purging it first", flush=True)
                sh(["dpkg", "--purge", pkg])
        if os.path.exists(MODULE):
            self.backup = MODULE + ".sofw-test-backup"
            shutil.move(MODULE, self.backup)
            print(f"    {MODULE} (no package's) kept aside", flush=True)
        for path in MODULE_FILES + AGENT_FILES + [ACCOUNTS_DB]:
            assert not os.path.exists(path), f"{path} exists before the install"
        assert not user_exists("sofw"), "a user sofw exists before the install"

    def install(self):
        self.clear_the_way()
        r = sh(["dpkg", "-i", self.debs[MODULE_PKG], self.debs[AGENT_PKG]])
        assert "hrac-agent --check" in r.stdout + r.stderr, f"no set-up note from postinst:\n{r.stdout}{r.stderr}"
        # Again: postinst must cope with its own earlier run (user exists).
        sh(["dpkg", "-i", self.debs[MODULE_PKG], self.debs[AGENT_PKG]])
        for pkg in (MODULE_PKG, AGENT_PKG):
            assert installed(pkg), f"{pkg} not installed"
        for path in MODULE_FILES + AGENT_FILES:
            assert os.path.isfile(path), f"{path} not installed"
        assert os.access(AGENT, os.X_OK), f"{AGENT} not executable"
        st = os.stat(ACCOUNTS_DB)
        assert st.st_mode & 0o777 == 0o640 and st.st_uid == int(sh(["id", "-u", "kamailio"]).stdout), \
            f"{ACCOUNTS_DB}: mode {st.st_mode & 0o777:o}, uid {st.st_uid}: not Kamailio's alone"
        tables = sh(["sqlite3", ACCOUNTS_DB, ".tables"]).stdout.split()
        assert "subscriber" in tables and "version" in tables, f"{ACCOUNTS_DB} has {tables}"
        conffiles = sh(["dpkg-query", "-W", "-f=${Conffiles}", AGENT_PKG]).stdout
        assert CONF in conffiles, f"{CONF} is not a conffile: {conffiles!r}"
        with open(CONF) as f, open(os.path.join(source_dir(), "cfg", "hrac-agent.conf")) as g:
            assert f.read() == g.read(), f"{CONF} differs from cfg/hrac-agent.conf"
        for ex in ("kamailio.cfg", "sofw-local.cfg.sample", "sofw-sites.cfg.sample", "kamctlrc.sample"):
            with open(f"{EXAMPLES}/{ex}") as f, open(os.path.join(source_dir(), "cfg", ex)) as g:
                assert f.read() == g.read(), f"{EXAMPLES}/{ex} differs from cfg/{ex}"
        pw = sh(["getent", "passwd", "sofw"]).stdout.strip().split(":")
        assert int(pw[2]) < 1000 and pw[6] in ("/usr/sbin/nologin", "/bin/false"), f"sofw is not a system user: {pw}"

    def purge(self):
        try:
            sh(["dpkg", "--purge", AGENT_PKG, MODULE_PKG])
            for pkg in (AGENT_PKG, MODULE_PKG):
                assert not known(pkg), f"dpkg still knows {pkg}"
            left = [p for p in MODULE_FILES + AGENT_FILES + [ACCOUNTS_DB, "/etc/sofw", DOC,
                                                             "/usr/share/doc/hrac-agent"]
                    if os.path.exists(p)]
            assert not left, f"left behind: {left}"
            assert not user_exists("sofw"), "the sofw user is still there"
        finally:
            if self.backup:
                shutil.move(self.backup, MODULE)


def version_and_default_config():
    r = sh([AGENT, "--version"])
    assert r.stdout.strip() == f"hrac-agent {project_version()}", r.stdout
    # No -c: the packaged config, whose secret_file does not exist yet.
    r = sh([AGENT, "--check"], check=False, timeout=30)
    print("    $ hrac-agent --check   (no -c)", flush=True)
    for line in r.stdout.splitlines()[:1] + r.stdout.splitlines()[-1:]:
        print(f"    | {line}", flush=True)
    assert r.returncode == 1, f"exit {r.returncode}"
    assert re.search(r"^config:\s+invalid \u2014 cannot read secret_file '/etc/sofw/hrac-agent.secret'",
                     r.stdout, re.M), r.stdout
    assert f"fix {CONF}" in r.stdout, r.stdout


def unit_verifies():
    r = sh(["systemd-analyze", "verify", UNIT], check=False, timeout=60)
    ours = [line for line in (r.stdout + r.stderr).splitlines() if "hrac-agent" in line]
    assert r.returncode == 0 and not ours, f"systemd-analyze verify (rc {r.returncode}):\n{r.stdout}{r.stderr}"
    with open(UNIT) as f:
        settings = {}
        for line in f:
            m = re.match(r"^(\w+)=(.*)$", line.strip())
            if m:
                settings[m.group(1)] = m.group(2)
    for key, value in UNIT_PROMISES:
        assert settings.get(key) == value, f"{UNIT}: {key}={settings.get(key)!r}, expected {value!r}"


def kamailio_dropin():
    """The module's drop-in gives kamailio.service the descriptors sofw.so
    needs (Debian's unit sets none: 1024)."""
    with open(DROPIN) as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    assert lines == ["[Service]", "LimitNOFILE=65536"], lines
    r = sh(["systemd-analyze", "verify", "/lib/systemd/system/kamailio.service"], check=False, timeout=60)
    ours = [line for line in (r.stdout + r.stderr).splitlines() if "kamailio-sofw" in line]
    assert not ours, f"systemd-analyze verify complains about the drop-in:\n{r.stdout}{r.stderr}"


def call_with_installed_files():
    with Topology(deadline=150) as topo:
        topo.build_standard(sites=1, policy="strict")
        speech = audio.make_speech_wav(topo.path("speech.wav"),
                                       "SoFW from the Debian packages. One two three.", SPEECH_S)
        tone = audio.make_tone_wav(topo.path("tone.wav"), 697, 30)
        # the accounts in the database the package made, added with kamctl
        hras = Hras(topo, sites=("a",), cfg_source=f"{EXAMPLES}/kamailio.cfg", module_paths=[],
                    db_path=ACCOUNTS_DB)
        alice_pw = hras.add_user(f"sip:alice@{site_domain('a')}")
        carol_pw = hras.add_user(f"sip:carol@{WAN_DOMAIN}")
        hras.start()
        argv = hras.kam.proc.argv
        assert argv[argv.index("-L") + 1] == KAMAILIO_MODULES, f"module path {argv[argv.index('-L') + 1]}"
        with open(f"/proc/{hras.proc.pid}/maps") as f:
            maps = f.read()
        assert MODULE in maps, "Kamailio did not load the installed sofw.so"
        assert source_dir() not in maps, "Kamailio mapped a file of the source tree"

        hrac = Hrac(topo, "a", binary=AGENT, prefix=AS_THE_UNIT).start()
        exe = f"/proc/{hrac.proc.pid}/exe"
        assert os.path.samefile(exe, AGENT), f"hrac-agent runs {os.readlink(exe)!r}, not {AGENT}"
        with open(f"/proc/{hrac.proc.pid}/status") as f:
            status = f.read()
        uid = sh(["id", "-u", "sofw"]).stdout.strip()
        assert re.search(rf"^Uid:\s+{uid}\s", status, re.M), "hrac-agent does not run as sofw"
        cap_eff = int(re.search(r"^CapEff:\s+(\w+)", status, re.M).group(1), 16)
        assert cap_eff == 1 << 10, f"CapEff {cap_eff:#x}: expected CAP_NET_BIND_SERVICE only"
        assert topo.listening("a-lan", "udp", HRAC_IP, 5060), "HRAC does not hold 5060"

        alice = Baresip(topo, "a-ph1", "alice", PHONE_IP["ph1"], f"sip:alice@{site_domain('a')}", password=alice_pw,
                        outbound=f"sip:{HRAC_IP}:5060", audio_wav=speech)
        carol = Baresip(topo, "ext", "carol", EXT_IP, f"sip:carol@{WAN_DOMAIN}", password=carol_pw,
                        outbound=f"sip:{HRAS_IP}:5060", audio_wav=tone)
        for p in (alice, carol):
            p.start()
        for p in (alice, carol):
            p.wait_registered(15)
        relayed = []
        talk(topo, alice, carol, f"sip:carol@{WAN_DOMAIN}", hras, on_established=lambda: relayed.extend(rat(hras)))
        assert relayed and relayed[0]["bypass"] == "0", f"the call was not relayed: {relayed}"
        assert_conversation(alice, speech, "speech", carol, tone, "tone")

        rc = hrac.proc.stop()
        assert rc == 0, f"hrac-agent exit code {rc} after SIGTERM"
        assert re.search(r"stopping on Terminated", hrac.proc.log_text()), hrac.proc.tail()
        assert re.search(r"stopped; counters", hrac.proc.log_text()), hrac.proc.tail()


def main():
    rc = require_parts()
    if rc is not None:
        return rc
    for tool in ("dpkg-deb", "systemd-analyze", "setpriv", "objdump", "make"):
        if not shutil.which(tool):
            print(f"FAIL: cannot run, missing: {tool} (scripts/setup.sh installs it)")
            return 1
    pkgs = Packages()
    if not check("make deb: both packages, fresh, right version, Depends from the real libraries", pkgs.build):
        return finish()
    try:
        if check("dpkg -i (twice): files in place, conffile, sofw system user", pkgs.install):
            check("hrac-agent --version; without -c it reads /etc/sofw/hrac-agent.conf", version_and_default_config)
            check("systemd unit: systemd-analyze verify clean, hardening as promised", unit_verifies)
            check("kamailio.service drop-in: LimitNOFILE=65536, accepted by systemd-analyze", kamailio_dropin)
            check("a call with audio on installed files only; hrac-agent as the unit runs it; clean SIGTERM",
                  call_with_installed_files)
    finally:
        check("dpkg --purge: both packages and everything they installed are gone", pkgs.purge)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
