#!/usr/bin/python3
"""A hostile company proxy for tests/e2e/test_tamper.py: a plain-http
forward proxy (absolute-URI requests, as HRAC sends them through an
http:// proxy) that understands just enough HTTP/1.1 and of the tunnel's
record layer (3-byte length, ciphertext, 16-byte tag; docs/protocol.md
"Records") to tamper with one record when told to, keeping the HTTP around
it well-formed (chunks re-made, Content-Length adjusted), as a proxy in the
path could.

    tamper_proxy.py LISTEN_IP PORT CONTROL_FILE

CONTROL_FILE holds "<generation> <up|down> <flip|inject|replay>"; for each
new generation the next whole record of that direction (up: requests,
HRAC -> HRAS; down: responses) is
  flip    one bit of its tag flipped,
  inject  preceded by a frame-shaped blob: a clear SIP REGISTER frame with
          a record's length header and 16 bytes where a tag would be,
  replay  sent, then sent again.
It prints "tampered <generation> <dir> <action>" when done. Everything
else passes unchanged."""

import os
import socket
import struct
import sys
import threading

LISTEN_IP, PORT, CONTROL = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
done_generation = [None]


def injected_blob():
    sip = (b"REGISTER sip:site-a.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.66:5060;branch=z9hG4bKinj\r\n"
           b"From: <sip:mallory@site-a.example>;tag=inj\r\nTo: <sip:mallory@site-a.example>\r\n"
           b"Call-ID: INJECTED-BY-PROXY\r\nCSeq: 1 REGISTER\r\nContact: <sip:mallory@192.168.1.66>\r\n"
           b"Content-Length: 0\r\n\r\n")
    ra = struct.pack("!BBHH", 4, 17, 5060, 0) + socket.inet_aton("192.168.1.66")
    frame = struct.pack("!BBBBI", 1, 1, 0, len(ra), len(sip)) + ra + sip
    return struct.pack("!I", len(frame))[1:] + frame + b"\0" * 16


def wanted():
    """(generation, direction, action) not yet done, or None."""
    try:
        with open(CONTROL) as f:
            gen, direction, action = f.read().split()
    except (OSError, ValueError):
        return None
    return None if gen == done_generation[0] else (gen, direction, action)


def tamper(direction, record):
    """The bytes to send for one whole record."""
    with lock:
        w = wanted()
        if not w or w[1] != direction:
            return record
        gen, _, action = w
        done_generation[0] = gen
    if action == "flip":
        out = record[:-1] + bytes([record[-1] ^ 1])
    elif action == "inject":
        out = injected_blob() + record
    elif action == "replay":
        out = record + record
    else:
        out = record
    print(f"tampered {gen} {direction} {action}", flush=True)
    return out


class Body:
    """Cuts a record stream into whole records, each through tamper()."""

    def __init__(self, direction, records):
        self.direction, self.records, self.buf = direction, records, b""

    def feed(self, data):
        if not self.records:
            return data
        self.buf += data
        out = b""
        while len(self.buf) >= 3:
            n = int.from_bytes(self.buf[:3], "big") + 19
            if len(self.buf) < n:
                break
            out += tamper(self.direction, self.buf[:n])
            self.buf = self.buf[n:]
        return out

    def rest(self):
        out, self.buf = self.buf, b""
        return out


def read_until(sock, buf, token):
    while token not in buf:
        data = sock.recv(65536)
        if not data:
            raise EOFError
        buf += data
    return buf


def pump(src, dst, direction, first=b""):
    """HTTP messages from src to dst, bodies through the record tamper."""
    buf = first
    try:
        while True:
            buf = read_until(src, buf, b"\r\n\r\n")
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            if direction == "up":  # absolute URI -> origin form
                method, target, version = lines[0].split(b" ", 2)
                if target.startswith(b"http://"):
                    target = b"/" + target[7:].split(b"/", 1)[1] if b"/" in target[7:] else b"/"
                lines[0] = b" ".join((method, target, version))
                lines = [l for l in lines if not l.lower().startswith(b"proxy-")]
            lower = b"\r\n".join(lines).lower()
            body = Body(direction, b"application/x-sofw-frames" in lower)
            if b"transfer-encoding: chunked" in lower:
                dst.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
                while True:
                    buf = read_until(src, buf, b"\r\n")
                    size_line, buf = buf.split(b"\r\n", 1)
                    size = int(size_line.split(b";")[0], 16)
                    if size == 0:
                        buf = read_until(src, buf, b"\r\n")
                        _, buf = buf.split(b"\r\n", 1)  # no trailers from our peers
                        rest = body.rest()
                        dst.sendall((b"%x\r\n%s\r\n" % (len(rest), rest) if rest else b"") + b"0\r\n\r\n")
                        break
                    while len(buf) < size + 2:
                        data = src.recv(65536)
                        if not data:
                            raise EOFError
                        buf += data
                    out = body.feed(buf[:size])
                    buf = buf[size + 2:]
                    if out:
                        dst.sendall(b"%x\r\n%s\r\n" % (len(out), out))
                continue
            length, had_length = 0, False
            for l in lines[1:]:
                if l.lower().startswith(b"content-length:"):
                    length, had_length = int(l.split(b":", 1)[1]), True
            while len(buf) < length:
                data = src.recv(65536)
                if not data:
                    raise EOFError
                buf += data
            data, buf = buf[:length], buf[length:]
            data = body.feed(data) + body.rest()
            lines = [l for l in lines if not l.lower().startswith(b"content-length:")]
            if had_length or data:
                lines.append(b"Content-Length: %d" % len(data))
            dst.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + data)
    except (EOFError, OSError, ValueError):
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client):
    try:
        first = read_until(client, b"", b"\r\n\r\n")
        target = first.split(b"\r\n", 1)[0].split(b" ")[1]
        hostport = target[7:].split(b"/", 1)[0].decode()
        host, _, port = hostport.partition(":")
        server = socket.create_connection((host, int(port or 80)))
    except (EOFError, OSError, IndexError, ValueError):
        client.close()
        return
    threading.Thread(target=pump, args=(server, client, "down"), daemon=True).start()
    pump(client, server, "up", first)


def main():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((LISTEN_IP, PORT))
    ls.listen(32)
    print(f"tamper proxy listening on {LISTEN_IP}:{PORT}", flush=True)
    while True:
        client, _ = ls.accept()
        threading.Thread(target=serve, args=(client,), daemon=True).start()


if __name__ == "__main__":
    main()
