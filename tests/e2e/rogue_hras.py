"""A rogue HRAS for one test only: it holds the site's secret (as a
compromised server or a man in the middle with the secret would) and asks
HRAC to deliver SIP and media into the LAN where it must not. It speaks the
real wire protocol (docs/protocol.md), records included, on a socket in the
WAN namespace."""

import os
import socket
import struct
import threading

import records

SIP, MEDIA, CONTROL, KEEPALIVE = 1, 2, 3, 4
OPEN_MEDIA = 1


def ra_header(ip, port, relay_port=0):
    return struct.pack("!BBHH", 4, 17, port, relay_port) + socket.inet_aton(ip)


def frame(ftype, payload=b"", ra=b""):
    return struct.pack("!BBBBI", 1, ftype, 0, len(ra), len(payload)) + ra + payload


def parse_frames(buf):
    """Complete frames from the front of buf: ([(type, ra_bytes, payload)], rest)."""
    out = []
    while len(buf) >= 8:
        _, ftype, _, ra_len, plen = struct.unpack("!BBBBI", buf[:8])
        if len(buf) < 8 + ra_len + plen:
            break
        out.append((ftype, buf[8:8 + ra_len], buf[8 + ra_len:8 + ra_len + plen]))
        buf = buf[8 + ra_len + plen:]
    return out, buf


class RogueHras:
    def __init__(self, sock, secret):
        self.sock = sock
        self.secret = secret.encode()
        self.down = None            # the GET's connection, frames go here
        self.sealer = None          # down records of the GET's session
        self.sessions = {}          # session id -> keys, from its GET
        self.up_frames = []         # (type, ra, payload) received from HRAC
        self.cond = threading.Condition()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.sock.listen(8)
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        hdrs = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
        session = hdrs["x-sofw-session"]
        if path.endswith("/down"):
            # The GET opens the session: a server nonce, and the keys.
            ns = os.urandom(16).hex()
            keys = records.derive_keys(self.secret, session, hdrs["x-sofw-nonce"], ns)
            with self.cond:
                self.sessions[session] = (ns, keys)
        elif session not in self.sessions:
            conn.sendall(b"HTTP/1.1 409 Conflict\r\nContent-Length: 17\r\n\r\nsession not open\n")
            return
        ns, keys = self.sessions[session]
        proof = records.server_proof(self.secret, hdrs["x-sofw-nonce"], session, ns)
        if path.endswith("/down"):
            conn.sendall(("HTTP/1.1 200 OK\r\nContent-Type: application/x-sofw-frames\r\n"
                          f"Transfer-Encoding: chunked\r\nX-SoFW-Server-Nonce: {ns}\r\n"
                          f"X-SoFW-Server-Signature: {proof}\r\n\r\n").encode())
            with self.cond:
                self.down = conn
                self.sealer = records.Sealer(keys["down"])
                self.cond.notify_all()
            self.send(frame(CONTROL, struct.pack("!BBH", 4, 0, 0)))  # STREAM_OK
            return
        # upstream: a chunked body of records
        opener = records.Opener(keys["up"])
        buf = rest
        while True:
            while b"\r\n" in buf:
                size_line, after = buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                if len(after) < size + 2:
                    break
                plain = opener.feed(after[:size])  # a failing record raises: the session ends
                buf = after[size + 2:]
                frames, rest_of_record = parse_frames(b"".join(plain))
                assert not rest_of_record, "a record not holding whole frames"
                with self.cond:
                    self.up_frames += frames
                    self.cond.notify_all()
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk

    def send(self, data):
        """Frames down, as one record."""
        with self.cond:
            record = self.sealer.seal(data)
            self.down.sendall(b"%x\r\n%s\r\n" % (len(record), record))

    def wait(self, pred, timeout):
        with self.cond:
            return self.cond.wait_for(pred, timeout)

    def close(self):
        self.sock.close()
