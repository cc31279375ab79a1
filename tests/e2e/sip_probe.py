"""A hand-made SIP user agent for the security test: sends one request at a
time over UDP from a namespace, answers a digest challenge once (RFC 2617
MD5, qop=auth) and returns the final status. It builds exactly the
requests an attacker would (any From/To/Contact/R-URI), which a real phone
refuses to send."""

import hashlib
import re
import secrets
import socket
import time

from sofwnet import socket_in_netns


def _challenge(value):
    """Digest challenge parameters of a WWW-/Proxy-Authenticate value."""
    if not value or not value.lower().startswith("digest "):
        return None
    return {k.lower(): v1 or v2 for k, v1, v2 in
            re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))', value[7:])}


def digest(ch, user, password, method, uri):
    """The Authorization value answering challenge ch."""
    ha1 = hashlib.md5(f"{user}:{ch['realm']}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    v = f'Digest username="{user}", realm="{ch["realm"]}", nonce="{ch["nonce"]}", uri="{uri}", algorithm=MD5'
    if "auth" in ch.get("qop", "").split(","):
        cnonce = secrets.token_hex(8)
        resp = hashlib.md5(f"{ha1}:{ch['nonce']}:00000001:{cnonce}:auth:{ha2}".encode()).hexdigest()
        v += f', qop=auth, nc=00000001, cnonce="{cnonce}"'
    else:
        resp = hashlib.md5(f"{ha1}:{ch['nonce']}:{ha2}".encode()).hexdigest()
    v += f', response="{resp}"'
    if "opaque" in ch:
        v += f', opaque="{ch["opaque"]}"'
    return v


class SipProbe:
    """UDP SIP from ip:port in namespace ns (full name) to server (ip, port)."""

    def __init__(self, netns, ip, server, port=5070):
        self.ip, self.port, self.server = ip, port, server
        self.sock = socket_in_netns(netns, type=socket.SOCK_DGRAM)
        self.sock.bind((ip, port))
        self.seq = 0

    def close(self):
        self.sock.close()

    def _message(self, method, ruri, from_uri, to_uri, call_id, cseq, contact, extra, body):
        branch = "z9hG4bK-" + secrets.token_hex(6)
        lines = [f"{method} {ruri} SIP/2.0",
                 f"Via: SIP/2.0/UDP {self.ip}:{self.port};branch={branch};rport",
                 "Max-Forwards: 70",
                 f"From: <{from_uri}>;tag={call_id[:8]}",
                 f"To: <{to_uri}>",
                 f"Call-ID: {call_id}",
                 f"CSeq: {cseq} {method}"]
        if contact:
            lines.append(f"Contact: {contact}")
        lines += extra
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body)}")
        return branch, "\r\n".join(lines) + "\r\n\r\n" + body

    def _final(self, call_id, cseq, timeout):
        """The first final response to (call_id, cseq), or None."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536).decode("utf-8", "replace")
            except socket.timeout:
                return None
            m = re.match(r"SIP/2.0 (\d{3}) ?(.*?)\r\n", data)
            if not m or f"Call-ID: {call_id}" not in data or not re.search(rf"CSeq: {cseq} ", data):
                continue
            if int(m.group(1)) >= 200:
                return data

    def request(self, method, ruri, from_uri, to_uri=None, contact=None, user=None, password=None,
                extra=(), body="", timeout=3.0):
        """Sends the request; with user/password answers one challenge.
        Returns (status, reason), (None, 'no answer') after timeout."""
        to_uri = to_uri or ruri
        call_id = secrets.token_hex(10)
        cseq, auth = 1, []
        for _ in range(2):
            branch, msg = self._message(method, ruri, from_uri, to_uri, call_id, cseq, contact,
                                        list(extra) + auth, body)
            self.sock.sendto(msg.encode(), self.server)
            resp = self._final(call_id, cseq, timeout)
            if resp is None:
                return None, "no answer"
            status, reason = re.match(r"SIP/2.0 (\d{3}) ?(.*?)\r\n", resp).groups()
            status = int(status)
            if method == "INVITE":
                to = re.search(r"^To: (.*)$", resp, re.M).group(1).strip()
                ack = msg.split("\r\n")[:2] + ["Max-Forwards: 70", f"From: <{from_uri}>;tag={call_id[:8]}",
                                               f"To: {to}", f"Call-ID: {call_id}", f"CSeq: {cseq} ACK",
                                               "Content-Length: 0"]
                ack[0] = f"ACK {ruri} SIP/2.0"
                self.sock.sendto(("\r\n".join(ack) + "\r\n\r\n").encode(), self.server)
            ch = None
            if status in (401, 407) and user and not auth:
                hdr = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
                m = re.search(rf"^{hdr}: (.*)$", resp, re.M | re.I)
                ch = _challenge(m.group(1).strip()) if m else None
            if ch is None:
                return status, reason
            hdr = "Authorization" if status == 401 else "Proxy-Authorization"
            auth = [f"{hdr}: {digest(ch, user, password, method, ruri)}"]
            cseq += 1
        return status, reason

    def register(self, aor, contact=None, expires=60, **kw):
        """REGISTER aor ("user@domain") with contact (default: this probe)."""
        user, domain = aor.split("@", 1)
        contact = contact or f"<sip:{user}@{self.ip}:{self.port}>"
        return self.request("REGISTER", f"sip:{domain}", f"sip:{aor}", f"sip:{aor}", contact=contact,
                            extra=[f"Expires: {expires}" if contact != "*" else "Expires: 0"], **kw)

    def invite(self, ruri, from_aor, **kw):
        body = (f"v=0\r\no=- 1 1 IN IP4 {self.ip}\r\ns=-\r\nc=IN IP4 {self.ip}\r\nt=0 0\r\n"
                f"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
        return self.request("INVITE", ruri, f"sip:{from_aor}", ruri,
                            contact=f"<sip:{from_aor.split('@')[0]}@{self.ip}:{self.port}>", body=body, **kw)

    def flood(self, ruri, from_aor, count):
        """count OPTIONS as fast as the socket takes them (no waiting)."""
        for i in range(count):
            _, msg = self._message("OPTIONS", ruri, f"sip:{from_aor}", ruri, secrets.token_hex(10), 1,
                                   None, [], "")
            self.sock.sendto(msg.encode(), self.server)
