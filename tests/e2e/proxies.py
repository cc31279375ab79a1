"""The middle boxes of a company network, for end-to-end tests: squid and
tinyproxy as forward proxies, nginx as a proxy that buffers bodies and as
a TLS-terminating reverse proxy in front of HRAS; plus a throwaway CA and
server certificate. Each runs in the foreground under a Topology, with its
files in the run directory."""

import base64
import os
import pwd
import subprocess

from sofwnet import LAN_GW


def _own_dir(topo, name, user=None):
    d = topo.path(name)
    os.makedirs(d, exist_ok=True)
    if user:
        pw = pwd.getpwnam(user)
        os.chown(d, pw.pw_uid, pw.pw_gid)
    os.chmod(d, 0o777)
    return d


class Squid:
    """squid 5 on the firewall. allow_connect=False refuses CONNECT (a
    forward-only proxy); True allows CONNECT to 443 only (Debian's rule)."""

    PORT = 3128

    def __init__(self, topo, ns, allow_connect=True, name="squid"):
        self.topo, self.ns, self.name = topo, ns, name
        self.dir = _own_dir(topo, name, "proxy")
        connect_rule = ("http_access deny CONNECT !SSL_ports" if allow_connect
                        else "http_access deny CONNECT")
        self.conf = os.path.join(self.dir, "squid.conf")
        with open(self.conf, "w") as f:
            f.write(f"""http_port {LAN_GW}:{self.PORT}
acl lan src 192.168.1.0/24
acl SSL_ports port 443
acl CONNECT method CONNECT
{connect_rule}
http_access allow lan
http_access deny all
pinger_enable off
cache deny all
shutdown_lifetime 1 second
pid_filename {self.dir}/squid.pid
access_log stdio:{self.dir}/access.log
cache_log {self.dir}/cache.log
cache_store_log none
coredump_dir {self.dir}
""")
        self.proc = None

    def start(self):
        self.proc = self.topo.spawn(self.ns, ["squid", "-N", "-f", self.conf], name=self.name)
        self.topo.wait_for(lambda: self.topo.listening(self.ns, "tcp", LAN_GW, self.PORT), 20,
                           f"{self.name} listening", logs=[self.proc, os.path.join(self.dir, "cache.log")])
        return self

    @property
    def url(self):
        return f"http://{LAN_GW}:{self.PORT}"

    def access_log(self):
        try:
            with open(os.path.join(self.dir, "access.log")) as f:
                return f.read()
        except FileNotFoundError:
            return ""


class Tinyproxy:
    """tinyproxy 1.11 on the firewall with Basic proxy authentication."""

    PORT = 8888

    def __init__(self, topo, ns, user, password, name="tinyproxy"):
        self.topo, self.ns, self.name = topo, ns, name
        self.dir = _own_dir(topo, name, "nobody")
        self.conf = os.path.join(self.dir, "tinyproxy.conf")
        with open(self.conf, "w") as f:
            f.write(f"""User nobody
Group nogroup
Port {self.PORT}
Listen {LAN_GW}
Timeout 600
Allow 192.168.1.0/24
ConnectPort 443
BasicAuth {user} {password}
LogLevel Info
LogFile "{self.dir}/tinyproxy.log"
PidFile "{self.dir}/tinyproxy.pid"
MaxClients 50
""")
        self.proc = None

    def start(self):
        self.proc = self.topo.spawn(self.ns, ["tinyproxy", "-d", "-c", self.conf], name=self.name)
        self.topo.wait_for(lambda: self.topo.listening(self.ns, "tcp", LAN_GW, self.PORT), 10,
                           f"{self.name} listening", logs=[self.proc])
        return self

    @property
    def url(self):
        return f"http://{LAN_GW}:{self.PORT}"


class Nginx:
    """nginx in the foreground with a given `server { }` block."""

    def __init__(self, topo, ns, server_block, name="nginx"):
        self.topo, self.ns, self.name = topo, ns, name
        self.dir = _own_dir(topo, name, "www-data")
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(f"""daemon off;
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {self.dir}/access.log;
    client_body_temp_path {self.dir}/body;
    proxy_temp_path {self.dir}/proxy;
    fastcgi_temp_path {self.dir}/fastcgi;
    uwsgi_temp_path {self.dir}/uwsgi;
    scgi_temp_path {self.dir}/scgi;
{server_block}
}}
""")
        self.proc = None
        self.listen = None

    def start(self, ip, port):
        self.proc = self.topo.spawn(self.ns, ["nginx", "-c", self.conf, "-p", self.dir], name=self.name)
        self.topo.wait_for(lambda: self.topo.listening(self.ns, "tcp", ip, port), 10,
                           f"{self.name} listening on {ip}:{port}",
                           logs=[self.proc, os.path.join(self.dir, "error.log")])
        return self


def buffering_forward_proxy(topo, ns, port=8080):
    """A company proxy that buffers bodies both ways (nginx's defaults), as
    DLP and virus-scanning proxies do: plain-http forwarding only."""
    block = f"""    server {{
        listen {LAN_GW}:{port};
        location / {{
            proxy_pass http://$http_host;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            client_max_body_size 0;
        }}
    }}"""
    return Nginx(topo, ns, block, name="buffering-proxy").start(LAN_GW, port)


def tls_front(topo, ns, ip, cert, key, upstream):
    """nginx terminating TLS on ip:443 in front of HRAS (docs/deployment.md):
    no buffering in either direction, long timeouts for the endless streams."""
    block = f"""    server {{
        listen {ip}:443 ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location /sofw/ {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
            client_max_body_size 0;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            client_body_timeout 1h;
        }}
    }}"""
    return Nginx(topo, ns, block, name="tls-front").start(ip, 443)


def make_certs(topo, ip, name="pki"):
    """A throwaway CA and a server certificate for `ip`; returns a dict of
    paths (ca, cert, key, other_ca) and the server key's SHA-256 pin. A
    second, unrelated CA lets a test show that verification can fail."""
    d = topo.path(name)
    os.makedirs(d, exist_ok=True)

    def ossl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    for ca in ("ca", "other-ca"):
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", f"/CN=SoFW test {ca}", "-keyout", f"{ca}.key", "-out", f"{ca}.pem")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={ip}",
         "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write(f"subjectAltName=IP:{ip}\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
    pub = subprocess.run(["openssl", "x509", "-in", os.path.join(d, "server.pem"), "-pubkey", "-noout"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                         check=True, capture_output=True).stdout
    b64 = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der,
                         check=True, capture_output=True).stdout
    pin = base64.b64encode(b64).decode()
    for f_ in ("server.key",):
        os.chmod(os.path.join(d, f_), 0o644)  # nginx workers read it as www-data
    return {"ca": os.path.join(d, "ca.pem"), "other_ca": os.path.join(d, "other-ca.pem"),
            "cert": os.path.join(d, "server.pem"), "key": os.path.join(d, "server.key"),
            "pin": pin}

