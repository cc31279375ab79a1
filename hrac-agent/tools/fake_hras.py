#!/usr/bin/python3
"""A stand-in HRAS for trying hrac-agent by hand on loopback, e.g. behind
squid, tinyproxy or nginx: it speaks the tunnel protocol of docs/protocol.md
(streaming with STREAM_OK, polling, signatures both ways, optional TLS) and
plays a registrar that answers every REGISTER and OPTIONS with 200 OK.
It is no HRAS: no Kamailio, no SIP routing, no media.

  fake_hras.py --listen 127.0.0.1:8080 --secret s3cret
  fake_hras.py --listen 127.0.0.1:8443 --secret s3cret --tls-cert c.pem --tls-key k.pem
  fake_hras.py ... --no-stream-ok      # a server that never confirms streaming
  fake_hras.py ... --no-poll           # an HRAS from before polling (404)

Prints one line per event to stdout."""

import argparse
import hashlib
import hmac
import socket
import ssl
import struct
import sys
import threading
import time

SIP, MEDIA, CONTROL, KEEPALIVE = 1, 2, 3, 4
STREAM_OK = 4


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, flush=True)


def frame(ftype, payload=b"", ra=b""):
    return struct.pack("!BBBBI", 1, ftype, 0, len(ra), len(payload)) + ra + payload


def parse_frames(buf):
    out = []
    while len(buf) >= 8:
        _, ftype, _, ra_len, plen = struct.unpack("!BBBBI", buf[:8])
        if len(buf) < 8 + ra_len + plen:
            break
        out.append((ftype, buf[8:8 + ra_len], buf[8 + ra_len:8 + ra_len + plen]))
        buf = buf[8 + ra_len + plen:]
    return out, buf


def answer_sip(payload):
    """200 OK for REGISTER and OPTIONS, built from the request's headers."""
    text = payload.decode(errors="replace")
    first = text.split("\r\n", 1)[0]
    method = first.split(" ", 1)[0]
    if method not in ("REGISTER", "OPTIONS"):
        return None
    keep = [l for l in text.split("\r\n")
            if l.split(":")[0].strip().lower() in ("via", "from", "to", "call-id", "cseq", "contact")]
    lines = ["SIP/2.0 200 OK"] + [l + (";tag=fake" if l.lower().startswith("to:") and "tag=" not in l else "")
                                  for l in keep]
    if method == "REGISTER":
        lines.append("Expires: 60")
    return ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode()


class Session:
    def __init__(self, sid, mode):
        self.sid = sid
        self.mode = mode
        self.down = None          # streaming: the GET's socket
        self.queue = []           # polling: frames waiting for a poll
        self.stream_ok_sent = False
        self.up_seen = False
        self.cond = threading.Condition()


class FakeHras:
    def __init__(self, args):
        self.args = args
        self.secret = args.secret.encode()
        self.sessions = {}
        self.lock = threading.Lock()

    def proof(self, nonce, sid):
        return hmac.new(self.secret, f"SOFW1-SERVER\n{nonce}\n{sid}".encode(), hashlib.sha256).hexdigest()

    def check(self, method, path, h):
        fields = ["SOFW1", method, path] + [h.get(k, "") for k in (
            "x-sofw-site", "x-sofw-session", "x-sofw-lan", "x-sofw-time", "x-sofw-nonce")]
        want = hmac.new(self.secret, "\n".join(fields).encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(want, h.get("x-sofw-signature", ""))

    def session(self, sid, mode):
        with self.lock:
            s = self.sessions.get(sid)
            if not s:
                s = self.sessions[sid] = Session(sid, mode)
                log(f"session {sid} opened ({mode})")
            return s

    def send_down(self, s, data):
        with s.cond:
            if s.mode == "poll":
                s.queue.append(data)
                s.cond.notify_all()
            elif s.down:
                try:
                    s.down.sendall(b"%x\r\n%s\r\n" % (len(data), data))
                except OSError:
                    pass

    def frames_up(self, s, frames):
        for ftype, ra, payload in frames:
            first = payload.split(b"\r\n", 1)[0].decode(errors="replace") if ftype == SIP else ""
            log(f"up {s.mode} type={ftype} len={len(payload)} {first}")
            if s.mode == "stream" and not self.args.no_stream_ok:
                self.stream_ok(s)
            if ftype == SIP:
                reply = answer_sip(payload)
                if reply:
                    self.send_down(s, frame(SIP, reply, ra))

    def stream_ok(self, s):
        """Once per streaming session, after its first upstream frame; sent
        as soon as the GET is open (the POST may come first)."""
        with s.cond:
            s.up_seen = True
            if s.stream_ok_sent or not s.down:
                return
            s.stream_ok_sent = True
        self.send_down(s, frame(CONTROL, struct.pack("!BBH", STREAM_OK, 0, 0)))

    # --- HTTP ---
    def serve(self, conn):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode(errors="replace").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                path = target if target.startswith("/") else "/" + target.split("/", 3)[3]
                h = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
                if not self.check(method, path, h):
                    body = b"bad_signature\n"
                    conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                    log(f"401 {method} {path}")
                    return
                sid, nonce = h["x-sofw-session"], h["x-sofw-nonce"]
                proof = f"X-SoFW-Server-Signature: {self.proof(nonce, sid)}\r\n"
                if path.endswith("/down"):
                    return self.stream_down(conn, sid, proof)
                if path.endswith("/up"):
                    return self.stream_up(conn, sid, buf)
                if self.args.no_poll or not (path.endswith("/poll") or path.endswith("/send")):
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    log(f"404 {method} {path}")
                    continue
                s = self.session(sid, "poll")
                if path.endswith("/send"):
                    n = int(h.get("content-length", "0"))
                    while len(buf) < n:
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        buf += chunk
                    body, buf = buf[:n], buf[n:]
                    frames, rest = parse_frames(body)
                    self.frames_up(s, frames)
                    conn.sendall(("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" + proof + "\r\n").encode())
                    continue
                with s.cond:
                    s.cond.wait_for(lambda: s.queue, self.args.poll_wait)
                    data = b"".join(s.queue) or frame(KEEPALIVE)
                    s.queue = []
                conn.sendall(("HTTP/1.1 200 OK\r\nContent-Type: application/x-sofw-frames\r\n"
                              f"Content-Length: {len(data)}\r\n" + proof + "\r\n").encode() + data)
        except (OSError, ValueError, KeyError) as e:
            log(f"connection ended: {e!r}")
        finally:
            conn.close()

    def stream_down(self, conn, sid, proof):
        s = self.session(sid, "stream")
        conn.sendall(("HTTP/1.1 200 OK\r\nContent-Type: application/x-sofw-frames\r\n"
                      "Transfer-Encoding: chunked\r\n" + proof + "\r\n").encode())
        with s.cond:
            s.down = conn
        log(f"session {sid} downstream open")
        if s.up_seen and not self.args.no_stream_ok:
            self.stream_ok(s)
        while True:
            time.sleep(self.args.keepalive)
            self.send_down(s, frame(KEEPALIVE))
            if s.down is not conn:
                return

    def stream_up(self, conn, sid, buf):
        s = self.session(sid, "stream")
        body = b""
        while True:
            while b"\r\n" in buf:
                size_line, after = buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                if len(after) < size + 2:
                    break
                body += after[:size]
                buf = after[size + 2:]
                frames, body = parse_frames(body)
                self.frames_up(s, frames)
            chunk = conn.recv(65536)
            if not chunk:
                log(f"session {sid} upstream closed")
                return
            buf += chunk


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", default="127.0.0.1:8080")
    ap.add_argument("--secret", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--tls-client-ca", help="require client certificates from this CA")
    ap.add_argument("--no-stream-ok", action="store_true")
    ap.add_argument("--no-poll", action="store_true")
    ap.add_argument("--poll-wait", type=float, default=20)
    ap.add_argument("--keepalive", type=float, default=15)
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(16)
    ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(args.tls_client_ca)
    server = FakeHras(args)
    log(f"fake HRAS on {args.listen}{' (TLS)' if ctx else ''}")
    while True:
        conn, _ = sock.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def run(c=conn):
            if ctx:
                try:
                    c = ctx.wrap_socket(c, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    log(f"TLS handshake failed: {e}")
                    c.close()
                    return
            server.serve(c)
        threading.Thread(target=run, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
