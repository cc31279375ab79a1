#!/usr/bin/python3
"""Through corporate proxies, over TLS, with the LAN kept closed.

Every scenario is a real call with audio checked by content (alice in the
LAN speaks, carol on the WAN plays a tone), through real middle boxes:

  1. squid forward-only (CONNECT refused), http:// tunnel;
  2. squid with CONNECT, https:// tunnel to HRAS's own TLS (CA-verified);
  3. tinyproxy with Basic proxy authentication, http:// tunnel; a wrong
     password gets HRAC's specific 407 error and no tunnel;
  4. a proxy that buffers bodies (nginx defaults): HRAC notices, falls back
     to polling by itself, says so, and the call still works;
  5. HRAS behind nginx terminating TLS on 443 (strict firewall, no proxy);
  6. HRAC refuses an HRAS whose certificate does not verify, and one whose
     key does not match pin_sha256;
  7. a captured tunnel request replayed later is refused (401 replay);
  8. the LAN stays closed: a rogue HRAS holding the site secret asks HRAC
     to deliver SIP to a LAN host that never registered, media to another
     LAN host's port 53 (OPEN_MEDIA naming it), to the phone's IP on a port
     its own SDP never named, or on a port that is not open: nothing
     reaches the LAN (capture) and HRAC counts each refusal, while the
     same requests for the registered phone are delivered.

Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on failure.
"""

import os
import re
import signal
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio  # noqa: E402
import proxies  # noqa: E402
import sofwnet  # noqa: E402
from checks import check, finish, require_parts  # noqa: E402
from calls import added_latency, assert_conversation, rat, talk  # noqa: E402
from percentiles import percentile  # noqa: E402
from sofwnet import Baresip, Capture, Topology, EXT_IP, HRAC_IP, HRAS_IP, PHONE_IP  # noqa: E402
from sofwparts import Hras, Hrac, WAN_DOMAIN, site_domain, site_secret  # noqa: E402
import rogue_hras  # noqa: E402

SPEECH_S = 5




class Site:
    """One company site behind `policy`, HRAS in the WAN, alice and carol."""

    def __init__(self, topo, policy):
        self.topo = topo
        topo.build_standard(sites=1, policy=policy)
        self.speech = audio.make_speech_wav(topo.path("speech.wav"),
                                            "SoFW gets through the company proxy. One two three.", SPEECH_S)
        self.tone = audio.make_tone_wav(topo.path("tone.wav"), 697, 30)

    def start_hras(self, **kw):
        self.hras = Hras(self.topo, sites=("a",), **kw).start()
        return self.hras

    def start_hrac(self, **kw):
        self.hrac = Hrac(self.topo, "a", **kw).start()
        return self.hrac

    def call_with_audio(self, lan=None, wan=None):
        """A call from alice to carol, audio checked both ways. With the LAN
        and WAN captures given (udp), returns the relay's added latency per
        RTP packet in ms, both directions (sorted)."""
        alice = Baresip(self.topo, "a-ph1", "alice", PHONE_IP["ph1"], f"sip:alice@{site_domain('a')}",
                        password=self.hras.add_user(f"sip:alice@{site_domain('a')}"), outbound=f"sip:{HRAC_IP}:5060", audio_wav=self.speech)
        carol = Baresip(self.topo, "ext", "carol", EXT_IP, f"sip:carol@{WAN_DOMAIN}",
                        password=self.hras.add_user(f"sip:carol@{WAN_DOMAIN}"), outbound=f"sip:{HRAS_IP}:5060", audio_wav=self.tone)
        for p in (alice, carol):
            p.start()
        for p in (alice, carol):
            p.wait_registered(15)
        rows = []
        talk(self.topo, alice, carol, f"sip:carol@{WAN_DOMAIN}", self.hras,
             on_established=lambda: rows.extend(rat(self.hras)))
        assert_conversation(alice, self.speech, "speech", carol, self.tone, "tone")
        if lan and wan:
            for c in (lan, wan):
                c.stop()
            return added_latency(lan, wan, rows[0])
        return None


def through_squid(topo, port):
    """The tunnel's two channels are squid's connections from the firewall
    to HRAS (squid logs a request only when it ends, and ours do not)."""
    out = topo.run("a-fw", ["ss", "-Htn", "state", "established", "dst", f"{HRAS_IP}:{port}"]).stdout
    assert len(out.splitlines()) >= 2, f"squid holds no tunnel connections to HRAS:{port}: {out!r}"


def tls_modparams(pki):
    return (f'modparam("sofw", "tls_cert", "{pki["cert"]}")\n'
            f'modparam("sofw", "tls_key", "{pki["key"]}")\n')


def squid_forward_only():
    with Topology(deadline=120) as topo:
        site = Site(topo, "proxy")
        squid = proxies.Squid(topo, "a-fw", allow_connect=False).start()
        site.start_hras()
        https = Hrac(topo, "a", name="hrac-https", server=f"https://{HRAS_IP}:443",
                     extra={"proxy": squid.url}).start(wait_up=False)
        topo.wait_log(https.proc, r"proxy refused CONNECT \(403\)", 10, "HRAC explains the refused CONNECT")
        https.stop()
        site.start_hrac(extra={"proxy": squid.url})
        through_squid(topo, 80)
        site.call_with_audio()


def squid_connect_https():
    with Topology(deadline=120) as topo:
        site = Site(topo, "proxy")
        pki = proxies.make_certs(topo, HRAS_IP)
        squid = proxies.Squid(topo, "a-fw", allow_connect=True).start()
        site.start_hras(tunnel_listen=f"{HRAS_IP}:443", extra_cfg=tls_modparams(pki))
        site.start_hrac(server=f"https://{HRAS_IP}:443", extra={"proxy": squid.url, "ca_file": pki["ca"]})
        through_squid(topo, 443)
        site.call_with_audio()


def tinyproxy_basic_auth():
    with Topology(deadline=120) as topo:
        site = Site(topo, "proxy")
        tp = proxies.Tinyproxy(topo, "a-fw", "sofw", "proxy-secret").start()
        site.start_hras()
        bad = Hrac(topo, "a", name="hrac-badpass",
                   extra={"proxy": tp.url, "proxy_user": "sofw", "proxy_password": "wrong", "proxy_auth": "basic"})
        bad.start(wait_up=False)
        topo.wait_log(bad.proc, r"407", 10, "HRAC reports the proxy's 407")
        assert not site.hras.site_up("a")
        bad.stop()
        site.start_hrac(extra={"proxy": tp.url, "proxy_user": "sofw", "proxy_password": "proxy-secret",
                               "proxy_auth": "basic"})
        site.call_with_audio()


def buffering_proxy_falls_back_to_polling():
    with Topology(deadline=120) as topo:
        site = Site(topo, "proxy")
        proxy = proxies.buffering_forward_proxy(topo, "a-fw", 8080)
        site.start_hras()
        t0 = time.monotonic()
        hrac = Hrac(topo, "a", extra={"proxy": f"http://192.168.1.1:8080"})
        hrac.start(wait_up=False)
        topo.wait_log(hrac.proc, r"falling back to polling", 20, "HRAC falls back to polling")
        topo.wait_log(hrac.proc, r"tunnel up: .*mode=poll", 20, "HRAC up in polling mode")
        print(f"    polling tunnel up {time.monotonic() - t0:.1f} s after start", flush=True)
        site.hrac = hrac
        assert site.hras.site_states()["site-a"].get("mode") == "poll"
        lan = Capture(topo, "a-lan", "br0", name="lan", bpf="udp").start()
        wan = Capture(topo, "wan", "br0", name="wan", bpf="udp").start()
        lat = site.call_with_audio(lan, wan)
        assert len(lat) > 300, f"only {len(lat)} RTP packets matched across the relay"
        print(f"    polling mode, relay added latency: p50 {percentile(lat, 50):.1f} ms, "
              f"p99 {percentile(lat, 99):.1f} ms over {len(lat)} packets", flush=True)
        assert proxy.proc.alive()


def hras_behind_nginx_tls():
    with Topology(deadline=120) as topo:
        site = Site(topo, "strict")
        pki = proxies.make_certs(topo, HRAS_IP)
        site.start_hras(tunnel_listen="127.0.0.1:8080")
        proxies.tls_front(topo, "wan", HRAS_IP, pki["cert"], pki["key"], "127.0.0.1:8080")
        site.start_hrac(server=f"https://{HRAS_IP}:443", extra={"ca_file": pki["ca"]})
        assert site.hras.site_states()["site-a"]["mode"] == "stream"
        site.call_with_audio()


def hrac_refuses_unverified_hras():
    with Topology(deadline=120) as topo:
        Site(topo, "strict")
        pki = proxies.make_certs(topo, HRAS_IP)
        hras = Hras(topo, sites=("a",), tunnel_listen=f"{HRAS_IP}:443", extra_cfg=tls_modparams(pki)).start()
        wrong_ca = Hrac(topo, "a", name="hrac-wrong-ca", server=f"https://{HRAS_IP}:443",
                        extra={"ca_file": pki["other_ca"]}).start(wait_up=False)
        topo.wait_log(wrong_ca.proc, r"certificate does not verify", 15, "HRAC refuses an unverifiable HRAS")
        wrong_ca.stop()
        wrong_pin = Hrac(topo, "a", name="hrac-wrong-pin", server=f"https://{HRAS_IP}:443",
                         extra={"ca_file": pki["ca"],
                                "pin_sha256": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}).start(wait_up=False)
        topo.wait_log(wrong_pin.proc, r"does not match pin_sha256", 15, "HRAC refuses a pin mismatch")
        wrong_pin.stop()
        assert not hras.site_up("a") and "tunnel up" not in wrong_ca.proc.log_text() + wrong_pin.proc.log_text()
        right = Hrac(topo, "a", name="hrac-right-pin", server=f"https://{HRAS_IP}:443",
                     extra={"ca_file": pki["ca"], "pin_sha256": pki["pin"]}).start()
        assert right.ups() == 1 and hras.site_up("a")


def replayed_request_is_refused():
    with Topology(deadline=120) as topo:
        Site(topo, "strict")
        cap = Capture(topo, "a-lan", "br0", name="lan-http", bpf="tcp port 80").start()
        hras = Hras(topo, sites=("a",)).start()
        Hrac(topo, "a").start()
        cap.stop()
        reqs = cap.fields('http.request.method=="GET"', ["http.request.line"])
        assert reqs, "no tunnel GET captured"
        headers = [h for h in reqs[0]["http.request.line"].split("|") if h.startswith("X-SoFW-")]
        assert any(h.startswith("X-SoFW-Signature") for h in headers), headers
        failures = hras.stats()["auth_failures"]
        argv = ["curl", "-s", "-o", "-", "-w", "%{http_code}", "--max-time", "5"]
        for h in headers:
            argv += ["-H", h.replace("\\r\\n", "").strip()]
        argv.append(f"http://{HRAS_IP}:80/sofw/v1/down")
        out = topo.run("a-lan", argv, check=False).stdout
        assert out.endswith("401") and "replay" in out, f"replay answered: {out!r}"
        assert hras.stats()["auth_failures"] == failures + 1


def lan_stays_closed():
    R = rogue_hras
    with Topology(deadline=90) as topo:
        Site(topo, "strict")
        sock = sofwnet.socket_in_netns(topo.ns("wan"))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HRAS_IP, 80))
        rogue = R.RogueHras(sock, site_secret("a"))
        hrac = Hrac(topo, "a").start()
        cap = Capture(topo, "a-lan", "br0", name="lan-closed", bpf="udp").start()
        alice_ip, stranger = PHONE_IP["ph1"], PHONE_IP["ph2"]
        alice = Baresip(topo, "a-ph1", "alice", alice_ip, f"sip:alice@{site_domain('a')}",
                        outbound=f"sip:{HRAC_IP}:5060")  # the rogue HRAS asks for no password
        alice.start()

        def sip_from_hrac(word):
            return [p for t, _, p in rogue.up_frames if t == R.SIP and word in p[:40]]
        assert rogue.wait(lambda: sip_from_hrac(b"REGISTER"), 10), "no REGISTER reached the rogue HRAS"
        reg = sip_from_hrac(b"REGISTER")[0].decode()
        keep = [l for l in reg.split("\r\n") if l.split(":")[0].lower() in ("via", "from", "to", "call-id", "cseq", "contact")]
        ok = "SIP/2.0 200 OK\r\n" + "\r\n".join(l + (";tag=rogue" if l.lower().startswith("to:") else "")
                                              for l in keep) + "\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n"
        rogue.send(R.frame(R.SIP, ok.encode(), R.ra_header(alice_ip, 5060)))
        alice.wait_registered(10)

        def options(ip):
            return (f"OPTIONS sip:x@{ip} SIP/2.0\r\nVia: SIP/2.0/UDP {HRAC_IP}:5060;branch=z9hG4bKrogue{ip[-2:]}\r\n"
                    f"From: <sip:rogue@{HRAS_IP}>;tag=r\r\nTo: <sip:x@{ip}>\r\nCall-ID: rogue-{ip}\r\n"
                    "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
        # alice's own SDP (an INVITE going up) names her media endpoint:
        # the only one HRAC may send media to. The rogue never answers it.
        alice.dial(f"sip:bob@{site_domain('a')}")
        assert rogue.wait(lambda: sip_from_hrac(b"INVITE"), 10), "alice's INVITE did not reach the rogue HRAS"
        offer = sip_from_hrac(b"INVITE")[0].decode(errors="replace")
        m = re.search(r"^m=audio (\d+) ", offer, re.M)
        assert m and f"c=IN IP4 {alice_ip}" in offer, offer
        alice_rtp = int(m.group(1))
        unnamed = alice_rtp + 10                      # alice's IP, a port her SDP never named
        # A host in the LAN that is not a phone, listening where a rogue
        # would aim (DNS); the capture sees the whole LAN bridge as well.
        dns = sofwnet.socket_in_netns(topo.ns("a-ph2"), type=socket.SOCK_DGRAM)
        dns.bind((stranger, 53))
        dns.setblocking(False)
        listener = sofwnet.socket_in_netns(topo.ns("a-ph1"), type=socket.SOCK_DGRAM)
        listener.bind((alice_ip, unnamed))
        listener.setblocking(False)

        rogue.send(R.frame(R.SIP, options(stranger), R.ra_header(stranger, 5060)))
        # OPEN_MEDIA naming another LAN host's port 53, then media for it.
        rogue.send(R.frame(R.CONTROL, struct.pack("!BBH", R.OPEN_MEDIA, 0, 20000), R.ra_header(stranger, 53)))
        rogue.send(R.frame(R.MEDIA, b"\x80" * 20, R.ra_header(stranger, 53, 20000)))
        rogue.send(R.frame(R.MEDIA, b"\x80" * 20, R.ra_header(stranger, 53, 20001)))
        # OPEN_MEDIA naming alice's IP with a port her SDP never named.
        rogue.send(R.frame(R.CONTROL, struct.pack("!BBH", R.OPEN_MEDIA, 0, 20004), R.ra_header(alice_ip, unnamed)))
        rogue.send(R.frame(R.MEDIA, b"\x80" * 20, R.ra_header(alice_ip, unnamed, 20004)))
        rogue.send(R.frame(R.MEDIA, b"\x80" * 20, R.ra_header(stranger, 4000, 20004)))  # not the named phone
        rogue.send(R.frame(R.MEDIA, b"\x80" * 20, R.ra_header(alice_ip, alice_rtp, 20002)))  # port not open
        # The allowed ones, last: once they arrived, the refused ones would have.
        rogue.send(R.frame(R.CONTROL, struct.pack("!BBH", R.OPEN_MEDIA, 0, 20008), R.ra_header(alice_ip, alice_rtp)))
        rogue.send(R.frame(R.MEDIA, b"\x80" * 20, R.ra_header(alice_ip, alice_rtp, 20008)))
        rogue.send(R.frame(R.SIP, options(alice_ip), R.ra_header(alice_ip, 5060)))         # allowed
        assert rogue.wait(lambda: [p for t, _, p in rogue.up_frames if t == R.SIP and b"rogue-" + alice_ip.encode() in p],
                          10), "alice's answer to the allowed OPTIONS did not come back"
        cap.stop()
        assert cap.count(f"ip.dst=={stranger}") == 0, cap.packets(f"ip.dst=={stranger}")
        assert cap.count(f"ip.dst=={alice_ip} && udp.srcport==20008 && udp.dstport=={alice_rtp}") == 1, \
            "the allowed media packet did not reach alice (the check could not fail)"
        assert cap.count(f"ip.dst=={alice_ip} && udp.dstport=={unnamed}") == 0, \
            cap.packets(f"ip.dst=={alice_ip} && udp.dstport=={unnamed}")
        assert cap.count(f"ip.dst=={alice_ip} && udp.srcport==20002") == 0
        for sock_, what in ((dns, f"{stranger}:53"), (listener, f"{alice_ip}:{unnamed}")):
            try:
                data = sock_.recv(2048)
                raise AssertionError(f"{what} received {data!r} from HRAC")
            except BlockingIOError:
                pass
            sock_.close()
        alice.hangup()
        hrac.proc.send_signal(signal.SIGUSR1)
        line = topo.wait_log(hrac.proc, r"counters: .*lan_refused_media=\d+", 5, "HRAC's counters")
        text = hrac.proc.log_text()
        counters = dict(re.findall(r"(\w+)=(\d+)", text[text.rfind("counters:"):].splitlines()[0]))
        assert int(counters["lan_refused_sip"]) >= 1 and int(counters["lan_refused_media"]) >= 4, counters
        assert int(counters.get("media_dropped_closed", 0)) >= 1, counters
        rogue.close()


def main():
    if require_parts():
        return 1
    check("squid forward-only (CONNECT refused), http:// tunnel: call with audio", squid_forward_only)
    check("squid CONNECT, https:// tunnel to HRAS's own TLS: call with audio", squid_connect_https)
    check("tinyproxy Basic auth: wrong password gives 407, right one a call with audio", tinyproxy_basic_auth)
    check("buffering proxy: HRAC falls back to polling, call with audio", buffering_proxy_falls_back_to_polling)
    check("HRAS behind nginx TLS on 443: call with audio", hras_behind_nginx_tls)
    check("HRAC refuses an HRAS that does not verify or does not match the pin", hrac_refuses_unverified_hras)
    check("a captured tunnel request replayed later is refused", replayed_request_is_refused)
    check("the LAN stays closed to deliveries nobody registered or opened", lan_stays_closed)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
