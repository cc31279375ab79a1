"""A rogue HRAC for the attack tests: it holds a site's real secret (a
compromised LAN box) and sends whatever it likes up a real, authenticated
streaming session, on a socket in a namespace of the test's choice.

Everything that depends on how frames travel inside the channel bodies is
in `wire` below: the signed requests, the session keys from the opening
GET's answer (docs/protocol.md "Records", Handshake) and the sealing of
frames into records for the upstream body (records.py)."""

import hashlib
import hmac
import secrets
import socket
import struct
import threading
import time

import records

SIP, MEDIA, CONTROL, KEEPALIVE = 1, 2, 3, 4


def ra_header(ip, port, relay_port=0, family=4, proto=17):
    """An RA header naming ip:port (IPv4), any values allowed."""
    return struct.pack("!BBHH", family, proto, port, relay_port) + socket.inet_aton(ip)


def frame(ftype, payload=b"", ra=b"", version=1, ra_len=None, payload_len=None):
    """One frame (docs/protocol.md "Frames"); the lengths may lie."""
    return struct.pack("!BBBBI", version, ftype, 0,
                       len(ra) if ra_len is None else ra_len,
                       len(payload) if payload_len is None else payload_len) + ra + payload


class wire:
    """How a session's requests are signed and its bodies framed: the one
    place to change when the tunnel's bodies become records."""

    @staticmethod
    def request(method, path, site, secret, session, lan, extra=""):
        """(the request's bytes, its nonce)"""
        t, nonce = str(int(time.time())), secrets.token_hex(16)
        canon = f"SOFW1\n{method}\n{path}\n{site}\n{session}\n{lan}\n{t}\n{nonce}"
        sig = hmac.new(secret.encode(), canon.encode(), hashlib.sha256).hexdigest()
        head = (f"{method} {path} HTTP/1.1\r\nHost: hras\r\nX-SoFW-Site: {site}\r\n"
                f"X-SoFW-Session: {session}\r\nX-SoFW-Lan: {lan}\r\nX-SoFW-Time: {t}\r\n"
                f"X-SoFW-Nonce: {nonce}\r\nX-SoFW-Signature: {sig}\r\n{extra}")
        if method == "POST":
            head += "Content-Type: application/x-sofw-frames\r\nTransfer-Encoding: chunked\r\n"
        return (head + "\r\n").encode(), nonce

    @staticmethod
    def up_sealer(secret, session, nonce, response_head):
        """The upstream's record sealer, keyed from the opening GET's nonce
        and the server nonce its 200 carries (None without one)."""
        hdrs = {k.strip().lower(): v.strip() for k, v in
                (l.split(":", 1) for l in response_head.decode(errors="replace").split("\r\n")[1:] if ":" in l)}
        ns = hdrs.get("x-sofw-server-nonce")
        if not ns:
            return None
        return records.Sealer(records.derive_keys(secret.encode(), session, nonce, ns)["up"])

    @staticmethod
    def up_chunk(sealer, frames):
        """Frames as one piece of the endless upstream body: a record each."""
        data = b"".join(sealer.seal(f) for f in frames)
        return b"%x\r\n%s\r\n" % (len(data), data)


class RogueHrac:
    def __init__(self, sock_factory, server_ip, site, secret, port=80, lan="192.168.1.2:5060"):
        self.sock_factory = sock_factory  # () -> a TCP socket in the right namespace
        self.server = (server_ip, port)
        self.site, self.secret, self.lan = site, secret, lan
        self.session = secrets.token_hex(16)
        self.down = self.up = None
        self.down_bytes = 0
        self.down_closed = threading.Event()

    def _connect(self):
        s = self.sock_factory()
        s.settimeout(5)
        s.connect(self.server)
        return s

    def open(self):
        """GET down and POST up of a new session; returns the GET's status line."""
        self.down = self._connect()
        req, nonce = wire.request("GET", "/sofw/v1/down", self.site, self.secret, self.session, self.lan)
        self.down.sendall(req)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.down.recv(4096)
            if not chunk:
                break
            head += chunk
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        self.sealer = wire.up_sealer(self.secret, self.session, nonce, head.split(b"\r\n\r\n", 1)[0])
        if self.sealer is None:
            return status + " (no server nonce)"
        threading.Thread(target=self._read_down, daemon=True).start()
        self.up = self._connect()
        self.up.sendall(wire.request("POST", "/sofw/v1/up", self.site, self.secret, self.session, self.lan)[0])
        return status

    def _read_down(self):
        """Reads (and drops) what HRAS sends down, so that this rogue is a
        fast reader; notes when HRAS closes."""
        self.down.settimeout(None)
        try:
            while True:
                data = self.down.recv(65536)
                if not data:
                    break
                self.down_bytes += len(data)
        except OSError:
            pass
        self.down_closed.set()

    def send(self, *frames):
        """Frames up (a record each), as one piece of the body. False if
        HRAS closed."""
        try:
            self.up.sendall(wire.up_chunk(self.sealer, frames))
            return True
        except OSError:
            return False

    def close(self):
        for s in (self.up, self.down):
            if s:
                try:
                    s.close()
                except OSError:
                    pass
