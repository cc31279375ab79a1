#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ from the unit tests'
messages, the SDP corpus and the protocol's test vectors. Run it again after
changing it; the seeds are committed, so the brief CI runs replay them.

    fuzz/make_seeds.py            # (re)writes fuzz/corpus
"""
import hashlib
import pathlib
import re
import struct

top = pathlib.Path(__file__).resolve().parent.parent
corpus = top / "fuzz" / "corpus"
EV = b"|EV|"


def put(target, name, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data)


def c_literals(src):
    """The texts of crlf("..." "...") calls: adjacent C++ literals, decoded, LF -> CRLF."""
    out = []
    for m in re.finditer(r'crlf\(((?:\s*"(?:[^"\\]|\\.)*")+)\s*\)', src):
        text = "".join(bytes(lit, "latin-1").decode("unicode_escape")
                       for lit in re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))
        out.append(text.replace("\n", "\r\n"))
    return out


def sip_messages():
    msgs = []
    for f in ["sip_message_test.cpp", "sip_translate_test.cpp", "sip_boundary_test.cpp"]:
        for t in c_literals((top / "kamailio-mod-sofw/test" / f).read_text()):
            if re.match(r"^(SIP/2\.0 \d{3}|[A-Z]+ \S+ SIP/2\.0)", t) and t not in msgs:
                msgs.append(t)
    return msgs


def fdp(strings, ints):
    """FuzzedDataProvider input: strings read from the front (ConsumeRandomLengthString,
    '\\' escaped, ended by '\\' and one more byte), integers (list of byte strings, in the
    order they are consumed) from the back."""
    front = b"".join(s.encode("latin-1").replace(b"\\", b"\\\\") + b"\\x" for s in strings)
    back = b"".join(reversed([b[::-1] for b in ints]))
    return front + back


def ra(hostport_v4=None, v6=None, port=5060, relay=0, transport=17):
    if v6 is not None:
        import ipaddress
        return bytes([6, transport]) + struct.pack(">HH", port, relay) + ipaddress.IPv6Address(v6).packed
    return bytes([4, transport]) + struct.pack(">HH", port, relay) + bytes(map(int, hostport_v4.split(".")))


def frame(ftype, ra_bytes, payload, version=1, flags=0):
    if isinstance(payload, str):
        payload = payload.encode()
    return bytes([version, ftype, flags, len(ra_bytes)]) + struct.pack(">I", len(payload)) + ra_bytes + payload


def control(op, port):
    return bytes([op, 0]) + struct.pack(">H", port)


def sdp(ip, port, extra=""):
    return ("v=0\r\no=- 8000 8001 IN IP4 %s\r\ns=call\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0 8 101\r\n%sa=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n" % (ip, ip, port, extra))


def with_sdp(head, body):
    return head + "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def dialog(method_line, call_id, via, cseq, to_tag=False):
    return (method_line + "\r\nVia: " + via + "\r\nMax-Forwards: 70\r\nFrom: <sip:alice@acme.example>;tag=a-" +
            call_id + "\r\nTo: <sip:bob@wan.example>" + (";tag=t-" + call_id if to_tag else "") +
            "\r\nCall-ID: " + call_id + "\r\nCSeq: " + cseq + "\r\nContact: <sip:alice@192.168.1.10:5060>\r\n")


def main():
    msgs = sip_messages()
    for i, m in enumerate(msgs):
        name = "test-%02d-%s" % (i, hashlib.sha1(m.encode()).hexdigest()[:8])
        for t in ["sip_message", "sip_translate", "hrac_sip_peek"]:
            put(t, name, m)
    # regression cases of crashes the fuzzers found (each fixed in the code)
    put("sip_message", "regress-no-dialog-body", "SIP/2.0 700 Too High\r\nCall-ID: x\r\n\r\n")
    put("host_port", "regress-bracket-in-bracket", "[[]")
    crlf_only = "\r\n\r\n"
    put("sip_translate", "keepalive", crlf_only)

    # SDP: every input of the SDP corpus
    for f in sorted((top / "kamailio-mod-sofw/test/sdp-corpus").glob("*.in.sdp")):
        put("sdp", f.stem, f.read_bytes())

    # frames: streams of frames, then the cut points (FDP: from the back)
    invite = msgs[0] if msgs else "OPTIONS sip:x SIP/2.0\r\n\r\n"
    streams = {
        "keepalive": frame(4, b"", b""),
        "keepalive-ts": frame(4, b"", struct.pack(">Q", 123456789)),
        "sip-v4": frame(1, ra("192.168.1.10"), invite),
        "media-v6": frame(2, ra(v6="fd00::10", port=20000, relay=20000), b"\x80\x00" + b"\x00" * 10 + b"rtp"),
        "control-open": frame(3, ra("192.168.1.10", port=4000), control(1, 20000)),
        "mixed": frame(4, b"", b"") + frame(1, ra("10.0.0.5"), invite) + frame(3, b"", control(4, 0)) +
                 frame(2, ra("10.0.0.5", port=4000, relay=20002), b"\x80" * 20),
        "bad-version": frame(1, ra("10.0.0.5"), "x", version=2),
        "oversized": bytes([1, 2, 0, 10]) + struct.pack(">I", 70000) + ra("10.0.0.5"),
    }
    for name, s in streams.items():
        cuts = [3, 8, 1, 17, 5]
        tail = b"".join(struct.pack(">H", c)[::-1] for c in reversed(cuts)) + bytes([len(cuts)])
        put("frame", name, s + tail)

    # RA headers: binary and text
    put("ra_header", "v4", ra("192.168.1.10", port=5060, relay=20000))
    put("ra_header", "v6", ra(v6="2001:db8::1", port=5060))
    put("ra_header", "tcp", ra("10.0.0.2", port=5061, transport=6))
    put("ra_header", "text-v4", "192.168.1.10:5060")
    put("ra_header", "text-v6", "[2001:db8::1]:5060")

    # control payloads and frames
    for name, (op, port) in {"open": (1, 20000), "close": (2, 20000), "failed": (3, 20001),
                             "stream-ok": (4, 0), "odd-open": (1, 20001)}.items():
        put("control", name, control(op, port))
    put("control", "frames", frame(3, ra("192.168.1.10", port=4000), control(1, 20000)) + frame(3, b"", control(4, 0)))

    # lanes: lane count, history, then operations (see lanes_fuzz.cpp):
    # 0 send, 1 clock, 2 check, 3 deliver, 4 lose, 5 ack, 6 open, 7 full, 8 forged frames, 9 forged ack
    send = lambda n: bytes([0, n])
    clock, check, ack = (lambda ms: bytes([1, ms // 2])), bytes([2]), bytes([5])
    deliver, lose = (lambda lane: bytes([3, lane])), (lambda lane: bytes([4, lane]))
    set_open = lambda lane, on: bytes([6, lane, on])
    full = lambda lane, on: bytes([7, lane, on])
    forged = lambda lane, data: bytes([8, lane, len(data)]) + data
    forged_ack = lambda payload: bytes([9, len(payload)]) + payload
    lane_media = lambda mseq, pkt: frame(5, ra("192.168.1.10", port=4000, relay=20000), struct.pack(">I", mseq) + pkt)
    open3 = set_open(1, 1) + set_open(2, 1)
    tick = lambda held: check + b"".join(deliver(i) for i in range(3) if i not in held) + ack + clock(5)
    put("lanes", "hedge", bytes([3, 0]) + open3 + b"".join(
        send(172) * 6 + tick({1}) + tick({1}) + tick({1}) + tick({1}) for _ in range(15)) + deliver(1) + ack + check)
    put("lanes", "all-stalled", bytes([3, 1]) + open3 + send(20) * 3 + tick(set()) + send(20) * 3 +
        clock(50) + check + send(20) + deliver(1) + ack + clock(5) + check + deliver(0) + deliver(2) + ack +
        clock(300) + check + send(20))
    put("lanes", "closed-full-lost", bytes([8, 2]) + b"".join(set_open(i, 1) for i in range(1, 8)) + send(100) * 16 +
        lose(3) + set_open(5, 0) + full(0, 1) + send(100) * 8 + clock(100) + check + full(0, 0) +
        b"".join(deliver(i) for i in range(8)) + ack + check)
    put("lanes", "history", bytes([1, 1]) + send(255) * 255 + send(255) * 255 + clock(50) + check + deliver(0) + ack)
    put("lanes", "forged", bytes([2, 0]) + set_open(1, 1) +
        forged(0, lane_media(0xfffffffe, b"\x80\x00") + lane_media(0xffffffff, b"") + lane_media(0, b"x")) +
        forged(1, lane_media(0xffffffff, b"\x80")) + forged(1, frame(5, ra("10.0.0.5"), b"\x00\x01")) +
        forged(2, lane_media(7, b"")) + forged(0, frame(2, ra("10.0.0.5"), b"\x80")) +
        send(4) * 4 + forged_ack(bytes([5, 0, 0, 2]) + struct.pack(">II", 2, 2)) +
        forged_ack(bytes([5, 0, 0, 2]) + struct.pack(">II", 0xffffffff, 1)) +
        forged_ack(bytes([5, 0, 0, 9]) + bytes(36)) + forged_ack(bytes([5, 0, 0, 1, 0, 0, 0])) + ack)

    # host:port
    for name, s in {"v4": "10.0.0.2:5060", "name": "sip.example.com", "v6": "[2001:db8::2]:5070",
                    "v6-bare": "[::1]", "bad-port": "host:65536"}.items():
        put("host_port", name, s)

    # auth: FDP strings (site session lan time nonce signature media_ports) and ints
    # (count, then per request: method, path, known site, sign)
    session, nonce = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
    put("auth", "signed-ok",
        fdp(["acme", session, "10.0.0.2:5060", "1700000000", nonce, "", "20000-29999"],
            [b"\x00", b"\x00", b"\x01", b"\x01", b"\x01"]))
    put("auth", "unsigned",
        fdp(["acme", session, "10.0.0.2:5060", "1700000000", nonce, "ab" * 32, "1024-65535"],
            [b"\x00", b"\x01", b"\x00", b"\x01", b"\x00"]))
    put("auth", "stale-signed",
        fdp(["acme", session, "[fd00::2]:5060", "1699990000", nonce, "", "30000-20000"],
            [b"\x00", b"\x00", b"\x01", b"\x01", b"\x01"]))

    # status page: method path authorization, a site, a phone, a call, a counter
    good = "Basic YWRtaW46c3RhdHVzLXNlY3JldA=="
    strings = ["GET", "/sofw/status.json", good,
               "acme", "acme.example", "127.1.0.1", "stream", session, "10.0.0.2:5060", "198.51.100.7:40000",
               "192.168.1.10:5060", "127.1.0.1:40001",
               "c1@host", "\"Al<i>ce\" <sip:alice@acme.example>", "<sip:bob@wan.example>", "audio",
               "192.168.1.10:4000", "198.51.100.20:5004",
               "sip_frames_up", "\xff\xfe\x00\x1f"]
    ints = [b"\x00" * 8, b"\x01", b"\x01", b"\x00" * 8, b"\x00" * 8, b"\x01", b"\x00" * 4, b"\x00" * 8,
            b"\x01", b"\x00" * 4, b"\x00" * 4, b"\x00" * 4, b"\x00" * 4, b"\x00" * 8, b"\x00" * 8, b"\x00" * 8]
    put("status_page", "json", fdp(strings, ints))
    put("status_page", "html-bad-auth", fdp(["GET", "/sofw/status", "Basic YWRtaW46d3Jvbmc="], [b"\x00" * 8]))
    put("status_page", "post", fdp(["POST", "/sofw/status.json", good], [b"\x00" * 8]))

    # HRAC config: file text, NUL, arguments separated by NUL
    full = ("# HRAC for the Berlin office\nsite = berlin\nsecret = s3cret#with-hash\n\n"
            "   server = http://198.51.100.1:80/  \nsip_listen=10.0.0.2:5060\nkeepalive_interval = 20\n"
            "log_level = debug\n")
    put("hrac_config", "full", full)
    put("hrac_config", "flags", full + "\0--config\0/etc/x.conf\0--site=hamburg\0--keepalive_interval\0005"
        "\0--proxy=http://u:pw@127.0.0.1:3128\0--sip_listen=[2001:db8::2]:5070")
    put("hrac_config", "tunnel", full + "proxy = http://proxy.example:3128\nproxy_user = bob\n"
        "proxy_password = hunter22\nproxy_auth = ntlm\nno_proxy = .example.com, 10.0.0.0/8\n"
        "pin_sha256 = sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ntunnel_mode = poll\n"
        "media_ports = 20000-20099\nmedia_timeout = 60\nstream_probe_timeout = 3\nlog_target = syslog\n"
        "tunnel_lanes = 2\n")
    put("hrac_config", "https-prefix", "site=a\nsecret=x\nserver=https://[2001:db8::1]:8443/sofw/\n"
        "sip_listen=[fd00::2]:5060\nmedia_ports=5060-5070\n")

    # proxy choice: server, proxy, no_proxy, https_proxy, http_proxy, all_proxy, env no_proxy
    put("hrac_proxy", "env", "\0".join(["https://hras.example.com:443", "", "", "http://u:p@proxy:3128",
                                        "http://proxy:8080", "socks5://s:1080", "localhost,.corp"]))
    put("hrac_proxy", "setting", "\0".join(["http://198.51.100.1/x", "http://proxy.example:3128", "*"]))
    put("hrac_proxy", "cidr", "\0".join(["http://10.1.2.3:80", "", "10.0.0.0/8 ::1/128, fd00::/8",
                                         "", "http://[fd00::1]:3128"]))

    # LAN policy: kind(+params) then payload; 0 up from, 1 down to, 2 media, 3 clock, 4 registered?
    reg = ("REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK1\r\n"
           "From: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\nCall-ID: r1\r\n"
           "CSeq: 2 REGISTER\r\nContact: <sip:alice@192.168.1.10:5060>;expires=600\r\nContent-Length: 0\r\n\r\n")

    def resp(code, cseq, extra=""):
        return ("SIP/2.0 %d Whatever\r\nVia: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK1\r\n"
                "From: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>;tag=2\r\nCall-ID: r1\r\n"
                "CSeq: %s\r\n%sContent-Length: 0\r\n\r\n" % (code, cseq, extra))
    inv = ("INVITE sip:alice@192.168.1.10 SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.2:5060\r\n"
           "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
    ev = lambda kind, params, payload="": bytes([kind]) + bytes(params) + payload.encode()
    put("hrac_lan_policy", "register-call", EV.join([
        ev(1, [0, 0], inv), ev(0, [0, 0], reg), ev(1, [0, 0], resp(401, "2 REGISTER")), ev(0, [0, 0], reg),
        ev(1, [0, 0], resp(200, "2 REGISTER", "Contact: <sip:alice@192.168.1.10:5060>;expires=60\r\n")),
        ev(4, [0, 0]), ev(1, [0, 0], inv), ev(2, [0, 0]), ev(2, [4, 1]), ev(2, [1, 0]), ev(3, [60, 20]),
        ev(1, [0, 0], inv), ev(4, [0, 0])]))
    unreg = reg.replace("expires=600", "expires=0")
    put("hrac_lan_policy", "unregister", EV.join([
        ev(0, [1, 0], reg.replace("192.168.1.10", "192.168.1.11")), ev(1, [1, 0], resp(200, "2 REGISTER")),
        ev(0, [1, 0], unreg), ev(1, [1, 0], resp(200, "2 REGISTER")), ev(1, [1, 0], inv), ev(3, [255, 255]),
        ev(1, [1, 0], resp(180, "1 INVITE"))]))

    # HRAS relay: 0 SIP up, 1 SIP from Kamailio, 2 media up, 3 control, 4 public packet, 5 session up, 6 loop
    via_up = "SIP/2.0/UDP 192.168.1.10:5060;rport;branch=z9hG4bK-a-c1"
    offer = with_sdp(dialog("INVITE sip:bob@wan.example SIP/2.0", "c1", via_up, "1 INVITE"),
                     sdp("192.168.1.10", 4000))
    answer = with_sdp(dialog("SIP/2.0 200 OK", "c1", via_up, "1 INVITE", True), sdp("198.51.100.20", 5004))
    bye = dialog("BYE sip:bob@wan.example SIP/2.0", "c1", via_up, "2 BYE", True) + "Content-Length: 0\r\n\r\n"
    via_down = "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-k-c2"
    offer_in = with_sdp(dialog("INVITE sip:alice@192.168.1.10:5060 SIP/2.0", "c2", via_down, "1 INVITE"),
                        sdp("198.51.100.20", 5006, "a=rtcp:5007\r\n"))
    answer_up = with_sdp(dialog("SIP/2.0 200 OK", "c2", via_down, "1 INVITE", True), sdp("192.168.1.10", 4002))
    rtp = "\x80\x00\x00\x01\x00\x00\x00\x00\x12\x34\x56\x78" + "x" * 20
    put("hras_relay", "call-up", EV.join([
        ev(5, [0, 0, 9]), ev(0, [0, 0, 0], offer), ev(1, [0, 0, 0], answer), ev(3, [0, 0, 1], "\x03\x00\x4e\x20"),
        ev(2, [0, 0, 0], rtp), ev(4, [0, 0, 0], rtp), ev(4, [1, 0, 0], rtp), ev(4, [0, 0, 1], rtp), ev(6, [0, 0, 0]),
        ev(0, [0, 0, 0], bye)]))
    put("hras_relay", "call-down", EV.join([
        ev(5, [0, 0, 9]), ev(0, [0, 0, 0], reg), ev(1, [0, 0, 0], offer_in), ev(0, [0, 0, 0], answer_up),
        ev(4, [0, 0, 0], rtp), ev(2, [0, 0, 0], rtp), ev(3, [0, 0, 0], "\x04\x00\x00\x00"), ev(6, [0, 0, 0])]))
    lan_bypass = offer.replace("bob@wan.example", "carol@acme.example")
    put("hras_relay", "bypass", EV.join([
        ev(5, [0, 0, 9]), ev(0, [0, 0, 0], lan_bypass), ev(1, [0, 0, 0], lan_bypass.replace("INVITE sip:carol", "INVITE sip:carol")),
        ev(0, [0, 1, 0], answer.replace("198.51.100.20", "192.168.1.11")), ev(1, [0, 1, 0], answer)]))

    # TURN (bench/loadgen/turn.hpp): what a TURN server sends down TCP
    def stun(type_, txid, attrs):
        body = b"".join(struct.pack(">HH", t, len(v)) + v + b"\0" * (-len(v) % 4) for t, v in attrs)
        return struct.pack(">HHI", type_, len(body), 0x2112A442) + txid + body

    def xor_addr(ip, port):
        a = struct.unpack(">I", bytes(map(int, ip.split("."))))[0] ^ 0x2112A442
        return struct.pack(">BBHI", 0, 1, port ^ 0x2112, a)

    txid = bytes(range(12))
    alloc_ok = stun(0x0103, txid, [(0x0016, xor_addr("198.18.0.3", 49200)), (0x0020, xor_addr("198.18.0.4", 40001)),
                                   (0x000D, struct.pack(">I", 600)), (0x8022, b"Coturn-4.6.1")])
    alloc_err = stun(0x0113, txid, [(0x0009, b"\0\0\x04\x25Allocation Mismatch")])
    bind_ok = stun(0x0109, txid, [])
    rtp = b"\x80\x00\x00\x01" + b"\0" * 8 + b"SFWB" + b"\0" * 156
    chan = struct.pack(">HH", 0x4000, len(rtp)) + rtp
    odd = struct.pack(">HH", 0x4000, 5) + b"abcde\0\0\0"
    put("turn", "allocate-ok", alloc_ok)
    put("turn", "allocate-error", alloc_err)
    put("turn", "stream", alloc_ok + bind_ok + stun(0x0108, txid, []) + chan + odd + chan[:50])
    put("turn", "channel-data", chan * 3)
    put("turn", "oversized", struct.pack(">HH", 0x4000, 0xFFFF) + rtp)
    put("turn", "bad-cookie", alloc_ok[:4] + b"\0\0\0\0" + alloc_ok[8:])

    # RTP quality: clock byte, then records: flags (1 tick, 2 clock byte
    # follows, 4 take counters), arrival delta (2 bytes, 100 us), length, packet
    def rtp_packet(seq, ts, ssrc=0x12345678, pt=0, first=0x80):
        return struct.pack(">BBHII", first, pt, seq & 0xffff, ts & 0xffffffff, ssrc) + b"\xd5" * 20

    def rtp_rec(packet, delta_100us=200, flags=0):
        return bytes([flags]) + struct.pack(">H", delta_100us) + bytes([len(packet)]) + packet

    put("rtp_quality", "clean", b"\x01" + b"".join(
        rtp_rec(rtp_packet(s, s * 160), flags=5 if s % 50 == 0 else 0) for s in range(120)))
    put("rtp_quality", "gaps-wrap", b"\x01" + b"".join(
        rtp_rec(rtp_packet(s, s * 160), flags=5 if s % 7 == 0 else 0) for s in range(65520, 65560) if s % 9))
    burst = [rtp_rec(rtp_packet(s, s * 160), delta_100us=0 if 5 < s < 15 else 200) for s in range(30)]
    burst[6] = rtp_rec(rtp_packet(6, 960), delta_100us=2700)
    put("rtp_quality", "late-burst", b"\x01" + b"".join(burst))
    rtcp = struct.pack(">BBHI", 0x80, 200, 6, 0x12345678) + b"\0" * 20
    put("rtp_quality", "reorder-rtcp-ssrc", b"\x03" + b"".join([
        rtp_rec(rtp_packet(1, 0)), rtp_rec(rtp_packet(3, 1920)), rtp_rec(rtp_packet(2, 960)),
        rtp_rec(rtcp), rtp_rec(rtp_packet(2, 960)), rtp_rec(rtp_packet(40000, 5)),
        rtp_rec(rtp_packet(9000, 77, ssrc=0x9abcdef0), flags=5), rtp_rec(rtp_packet(9001, 1037, ssrc=0x9abcdef0)),
        bytes([2, 3]) + struct.pack(">H", 200) + bytes([12]) + rtp_packet(9002, 1997, ssrc=0x9abcdef0)[:12]]))
    ext = struct.pack(">BBHII", 0x92, 101, 7, 1000, 1) + b"\0\0\0\0" + b"\xbe\xde\x00\x01" + b"abcd" + b"pay\x03"
    put("rtp_quality", "csrc-ext-padding", b"\x02" + rtp_rec(ext) + rtp_rec(ext[:-1] + b"\x40") + rtp_rec(b"x" * 11))


if __name__ == "__main__":
    main()
