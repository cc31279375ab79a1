"""SoFW's own parts for end-to-end tests: HRAS (Debian's Kamailio with our
sofw.so and cfg/kamailio.cfg) and HRAC (hrac-agent), started the way an
admin would, inside a Topology (sofwnet.py)."""

import hashlib
import os
import re
import secrets
import shutil
import subprocess

from sofwnet import (HRAC_IP, HRAS_IP, Kamailio, build_dir, log, source_dir)

WAN_DOMAIN = "wan.example"


def site_domain(site):
    return f"site-{site}.example"


def site_secret(site):
    return f"secret-of-site-{site}-0123456789"


def parse_kamcmd_structs(text):
    """kamcmd's pretty output of an array of structs -> list of dicts."""
    items, cur = [], None
    for line in text.splitlines():
        s = line.strip()
        if s == "{":
            cur = {}
        elif s == "}":
            if cur is not None:
                items.append(cur)
            cur = None
        elif cur is not None and ":" in s:
            k, v = s.split(":", 1)
            cur[k.strip()] = v.strip()
    return items


def parse_kamcmd(text):
    """kamcmd's pretty output -> its values, nested: a struct is a dict, an
    array (a block holding only blocks) a list. Top level: a list."""
    stack = [("top", [], None)]  # (kind, container, name it goes under)
    for line in text.splitlines():
        s = line.strip()
        if s.endswith("{"):
            name = s[:-1].rstrip().rstrip(":").strip() or None
            stack.append(("block", [], name))
        elif s == "}":
            if len(stack) < 2:
                continue
            _, items, name = stack.pop()
            if items and all(isinstance(i, tuple) for i in items):
                value = {k: v for k, v in items}
            elif all(not isinstance(i, tuple) for i in items):
                value = items
            else:
                value = {k: v for k, v in (i for i in items if isinstance(i, tuple))}
            stack[-1][1].append((name, value) if name else value)
        elif ":" in s:
            k, v = s.split(":", 1)
            stack[-1][1].append((k.strip(), v.strip()))
        elif s:
            stack[-1][1].append(s)
    return [i if not isinstance(i, tuple) else {i[0]: i[1]} for i in stack[0][1]]


def kamcmd_pages(hras, rpc, *args):
    """All rows of a paged list RPC (sofw.rat, sofw.phones): asks page
    after page until `next` is -1. Returns (rows, heads of the pages)."""
    rows, heads, offset = [], [], 0
    site = args[0] if args else "all"
    while True:
        out = hras.kamcmd(rpc, site, str(offset)) or ""
        page = [v for v in parse_kamcmd(out) if isinstance(v, dict)]
        assert page, f"{rpc}: no page in {out[:300]!r}"
        head = page[0]
        part = head.get("rows", [])
        if isinstance(part, dict):  # one row only
            part = [part]
        rows += part
        heads.append({k: v for k, v in head.items() if k != "rows"})
        nxt = int(head["next"])
        if nxt < 0:
            return rows, heads
        assert nxt > offset, head
        offset = nxt


def kamctl_env(db_path):
    """What kamdbctl/kamctl need for an SQLite account database at db_path
    (as docs/deployment.md puts into /etc/kamailio/kamctlrc): no prompts,
    only the standard tables, HA1 hashes but no plain-text passwords."""
    env = dict(os.environ)
    env.update({"DBENGINE": "SQLITE", "DB_PATH": db_path, "STORE_PLAINTEXT_PW": "0",
                "INSTALL_EXTRA_TABLES": "no", "INSTALL_PRESENCE_TABLES": "no",
                "INSTALL_DBUID_TABLES": "no"})
    return env


def kamdbctl_create(db_path):
    r = subprocess.run(["kamdbctl", "create"], env=kamctl_env(db_path),
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or not os.path.exists(db_path):
        raise RuntimeError(f"kamdbctl create {db_path} failed: {r.stdout}{r.stderr}")


def aor_parts(aor):
    """"sip:alice@site-a.example" -> ("alice", "site-a.example")."""
    m = re.fullmatch(r"(?:sips?:)?([^@;>]+)@([^;>:]+).*", aor)
    if not m:
        raise ValueError(f"not a user@domain AoR: {aor}")
    return m.group(1), m.group(2)


class Hras:
    """Kamailio + sofw.so in namespace `wan`, configured with the project's
    cfg/kamailio.cfg plus the two local files an admin writes.

    cfg_source: the kamailio.cfg to copy (default: the source tree's);
    module_paths: where sofw.so is looked for before Kamailio's own module
    directory (default: the build tree). A test of the installed package
    passes the packaged example and [] (Kamailio's directory only), and
    the account database the package made (db_path; default: a fresh one
    in the run directory). Phones need accounts: add_user()."""

    def __init__(self, topo, sites=("a",), keepalive=None, min_expires=10,
                 debug=3, tunnel_listen=f"{HRAS_IP}:80", extra_cfg="",
                 cfg_source=None, module_paths=None, extra_defines=None, db_path=None):
        self.topo = topo
        self.sites = list(sites)
        self.dir = topo.path("hras")
        os.makedirs(self.dir, exist_ok=True)
        self.cfg = os.path.join(self.dir, "kamailio.cfg")
        shutil.copy(cfg_source or os.path.join(source_dir(), "cfg", "kamailio.cfg"), self.cfg)
        # the accounts: an SQLite database made with Kamailio's own tools,
        # or the one given (the package's)
        self.db = db_path or os.path.join(self.dir, "sofw.sqlite")
        if not db_path:
            # a second HRAS in one run is a new server: new accounts
            if os.path.exists(self.db):
                os.remove(self.db)
            kamdbctl_create(self.db)
        self.passwords = {}
        with open(os.path.join(self.dir, "sofw-local.cfg"), "w") as f:
            f.write(f'#!substdef "!PUBLIC_IP!{HRAS_IP}!g"\n'
                    f'#!substdef "!TUNNEL_LISTEN!{tunnel_listen}!g"\n'
                    f'#!define DBURL "sqlite://{self.db}"\n'
                    f'alias="{WAN_DOMAIN}"\n')
            for s in self.sites:
                f.write(f'alias="{site_domain(s)}"\n')
        with open(os.path.join(self.dir, "sofw-sites.cfg"), "w") as f:
            for s in self.sites:
                f.write(f'modparam("sofw", "site", "name=site-{s};'
                        f'secret={site_secret(s)};domain={site_domain(s)}")\n')
            if keepalive:
                f.write(f'modparam("sofw", "keepalive_interval", {keepalive})\n')
            f.write(extra_cfg)
        defines = {"MIN_EXPIRES": str(min_expires), "DEBUG_LEVEL": str(debug)}
        defines.update(extra_defines or {})
        self.tunnel_listen = tunnel_listen
        if module_paths is None:
            module_paths = [os.path.join(source_dir(), "build")]
        self.kam = Kamailio(topo, "wan", self.cfg, name="hras",
                            module_paths=module_paths,
                            defines=defines)

    def add_user(self, aor, password=None):
        """An account for aor (kamctl add, as an admin does); returns its
        password (a random one unless given)."""
        user, domain = aor_parts(aor)
        password = password or secrets.token_hex(8)
        r = subprocess.run(["kamctl", "add", f"{user}@{domain}", password],
                           env=kamctl_env(self.db), capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"kamctl add {user}@{domain} failed: {r.stdout}{r.stderr}")
        self.passwords[f"{user}@{domain}"] = password
        return password

    def add_users_bulk(self, users, password):
        """Many accounts with one password at once (the benchmark's
        thousands; kamctl add takes ~60 ms each): the rows kamctl add
        writes, HA1 = MD5(user:realm:password) with the domain as realm,
        in one transaction. users: [(user, domain), ...]."""
        rows = []
        for user, domain in users:
            ha1 = hashlib.md5(f"{user}:{domain}:{password}".encode()).hexdigest()
            ha1b = hashlib.md5(f"{user}@{domain}:{domain}:{password}".encode()).hexdigest()
            rows.append(f"('{user}','{domain}','{ha1}','{ha1b}','')")
        sql = "BEGIN;\n" + "".join(
            f"INSERT INTO subscriber (username,domain,ha1,ha1b,password) VALUES {r};\n"
            for r in rows) + "COMMIT;\n"
        subprocess.run(["sqlite3", self.db], input=sql, text=True, check=True, timeout=60)
        log(f"{len(rows)} accounts added to {self.db}")

    def start(self):
        self.kam.start()
        ip, port = self.tunnel_listen.rsplit(":", 1)
        self.topo.wait_for(lambda: self.topo.listening("wan", "tcp", ip, int(port)),
                           10, f"HRAS tunnel server listening on {self.tunnel_listen}",
                           logs=[self.kam.proc])
        return self

    @property
    def proc(self):
        return self.kam.proc

    def kamcmd(self, *args):
        return self.kam.kamcmd(*args)

    def site_states(self):
        return {s["name"]: s for s in kamcmd_pages(self, "sofw.sites")[0]}

    def site_up(self, site):
        return self.site_states().get(f"site-{site}", {}).get("state") == "up"

    def stats(self):
        out = {}
        for line in self.kamcmd("sofw.stats").splitlines():
            m = re.match(r"\s*(\w+):\s*(\d+)", line)
            if m:
                out[m.group(1)] = int(m.group(2))
        return out

    def contact(self, aor):
        """usrloc's fields of the first contact of `aor` (user@domain)."""
        text = self.kamcmd("ul.lookup", "location", aor) or ""
        fields = {}
        for line in text.splitlines():
            m = re.match(r"\s*(\w[\w-]*): (.*)$", line)
            if m and m.group(1) not in fields:
                fields[m.group(1)] = m.group(2).strip()
        return fields if "Address" in fields else None


class Hrac:
    """hrac-agent for `site`, in namespace <site>-lan on HRAC_IP:5060.

    binary: the hrac-agent to run (default: the build tree's); prefix: argv
    words before it (e.g. setpriv to run it as another user)."""

    def __init__(self, topo, site, secret=None, keepalive=None, name=None,
                 server=f"http://{HRAS_IP}:80", extra=None, env=None,
                 binary=None, prefix=()):
        self.topo = topo
        self.binary = binary or os.path.join(build_dir(), "hrac-agent", "hrac-agent")
        self.prefix = list(prefix)
        self.site = site
        self.name = name or f"hrac-{site}"
        self.conf = topo.path(f"{self.name}.conf")
        lines = [f"site = site-{site}",
                 f"secret = {secret or site_secret(site)}",
                 f"server = {server}",
                 f"sip_listen = {HRAC_IP}:5060",
                 "log_level = debug"]
        if keepalive:
            lines.append(f"keepalive_interval = {keepalive}")
        for k, v in (extra or {}).items():
            lines.append(f"{k} = {v}")
        self.env = env
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None

    def start(self, wait_up=True):
        self.proc = self.topo.spawn(f"{self.site}-lan", self.prefix + [self.binary, "-c", self.conf],
                                    name=self.name, env=self.env)
        if wait_up:
            self.wait_up()
        return self

    def ups(self):
        return len(re.findall(r"tunnel up: ", self.proc.log_text()))

    def wait_up(self, count=1, timeout=15):
        self.topo.wait_for(lambda: self.ups() >= count, timeout,
                           f"{self.name}: tunnel up (#{count})", logs=[self.proc])

    def stop(self):
        self.proc.stop()
