"""A rogue HRAS for one test only: it holds the site's secret (as a
compromised server or a man in the middle with the secret would) and asks
HRAC to deliver SIP and media into the LAN where it must not. It speaks the
real wire protocol (docs/protocol.md) on a socket in the WAN namespace."""

import hashlib
import hmac
import socket
import struct
import threading

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
        proof = hmac.new(self.secret, f"SOFW1-SERVER\n{hdrs['x-sofw-nonce']}\n{hdrs['x-sofw-session']}".encode(),
                         hashlib.sha256).hexdigest()
        if path.endswith("/down"):
            conn.sendall(("HTTP/1.1 200 OK\r\nContent-Type: application/x-sofw-frames\r\n"
                          f"Transfer-Encoding: chunked\r\nX-SoFW-Server-Signature: {proof}\r\n\r\n").encode())
            with self.cond:
                self.down = conn
                self.cond.notify_all()
            self.send(frame(CONTROL, struct.pack("!BBH", 4, 0, 0)))  # STREAM_OK
            return
        # upstream: a chunked body of frames
        buf, body = rest, b""
        while True:
            while b"\r\n" in buf:
                size_line, after = buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                if len(after) < size + 2:
                    break
                body += after[:size]
                buf = after[size + 2:]
                frames, body = parse_frames(body)
                with self.cond:
                    self.up_frames += frames
                    self.cond.notify_all()
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk

    def send(self, data):
        with self.cond:
            self.down.sendall(b"%x\r\n%s\r\n" % (len(data), data))

    def wait(self, pred, timeout):
        with self.cond:
            return self.cond.wait_for(pred, timeout)

    def close(self):
        self.sock.close()
