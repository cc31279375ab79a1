#!/usr/bin/python3
"""An Internet host attacking HRAS's media, run inside a namespace by
test_media_attacks.py (standard library only). Prints one JSON line with
what it did and what came back, and exits.

  attacker.py spray <hras_ip> <port_min> <port_max> <seconds>
      Sends an RTP packet (PCMU, loud noise) to every port of the range, RTP
      and RTCP alike, round after round, for <seconds>; prints "round N" after
      each round. Counts every datagram that comes back (a latched port would
      send the call's media here).

  flood <hras_ip> <own_ip> <user@domain> <invites> <m_lines> <others>
      Sends <invites> INVITEs (each a new Call-ID, an SDP with <m_lines>
      audio streams) to sip:<user@domain> through HRAS, then <others>
      MESSAGE and <others> OPTIONS with the same SDP, RATE a second, and
      counts the responses by status code until a few seconds after. From a foreign domain, as
      any caller from outside: what a local user's calls get, whoever sends
      them.
"""

import json
import random
import socket
import struct
import sys
import time

# Flood requests a second: under the SIP flood limit a Kamailio in front of
# HRAS may keep per source (pike: 30 in 2 s bans), so that what is tested
# is the media limits behind it, not that ban.
RATE = 12


def spray(hras_ip, port_min, port_max, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    s.setblocking(False)
    ssrc = random.getrandbits(32)
    payload = bytes([0x00, 0xff] * 80)  # full-scale square wave in PCMU
    sent = received = rounds = 0
    senders = set()
    seq = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.monotonic()
        for port in range(port_min, port_max + 1):
            seq = (seq + 1) & 0xffff
            pkt = struct.pack("!BBHII", 0x80, 0, seq, seq * 160, ssrc) + payload
            try:
                s.sendto(pkt, (hras_ip, port))
                sent += 1
            except OSError:
                pass  # ICMP port unreachable comes back as an error: expected
            if port % 500 == 0:
                received += drain(s, senders)
        received += drain(s, senders)
        rounds += 1
        print(f"round {rounds}", flush=True)
        # about two rounds a second: enough to hit every port many times
        # during a call without starving the phones of CPU
        time.sleep(max(0.0, 0.5 - (time.monotonic() - start)))
    received += drain(s, senders)
    print(json.dumps({"sent": sent, "rounds": rounds, "received": received,
                      "from": sorted(senders)[:10]}), flush=True)


def drain(s, senders):
    n = 0
    while True:
        try:
            _, addr = s.recvfrom(65536)
        except BlockingIOError:
            return n
        except OSError:
            continue  # a reported ICMP error, not a datagram
        n += 1
        senders.add(f"{addr[0]}:{addr[1]}")


def sdp(ip, m_lines):
    lines = ["v=0", f"o=- 1 1 IN IP4 {ip}", "s=-", f"c=IN IP4 {ip}", "t=0 0"]
    for i in range(m_lines):
        lines += [f"m=audio {40000 + 2 * i} RTP/AVP 0", "a=rtpmap:0 PCMU/8000"]
    return "\r\n".join(lines) + "\r\n"


def request(method, hras_ip, own_ip, port, target, n, body):
    call_id = f"flood-{method.lower()}-{n}-{random.getrandbits(32):08x}@{own_ip}"
    return (f"{method} sip:{target} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {own_ip}:{port};rport;branch=z9hG4bK{random.getrandbits(48):012x}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:mallory@{own_ip}>;tag={random.getrandbits(32):08x}\r\n"
            f"To: <sip:{target}>\r\n"
            f"Call-ID: {call_id}\r\n"
            f"CSeq: 1 {method}\r\n"
            f"Contact: <sip:mallory@{own_ip}:{port}>\r\n"
            "Content-Type: application/sdp\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


def flood(hras_ip, own_ip, target, invites, m_lines, others):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((own_ip, 0))
    port = s.getsockname()[1]
    s.settimeout(0.01)
    body = sdp(own_ip, m_lines)
    codes = {}

    def collect(until):
        while time.monotonic() < until:
            try:
                data, _ = s.recvfrom(65536)
            except socket.timeout:
                continue
            line = data.split(b"\r\n", 1)[0].decode(errors="replace")
            if line.startswith("SIP/2.0 "):
                code = line.split(" ")[1]
                codes[code] = codes.get(code, 0) + 1

    sent = {"INVITE": 0, "MESSAGE": 0, "OPTIONS": 0}
    plan = [("INVITE", invites), ("MESSAGE", others), ("OPTIONS", others)]
    for method, count in plan:
        for n in range(count):
            s.sendto(request(method, hras_ip, own_ip, port, target, n, body), (hras_ip, 5060))
            sent[method] += 1
            collect(time.monotonic() + 1.0 / RATE)
    collect(time.monotonic() + 4)
    print(json.dumps({"sent": sent, "responses": codes}), flush=True)


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "spray":
        spray(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
        return 0
    if len(sys.argv) == 8 and sys.argv[1] == "flood":
        flood(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
