// hrac-agent --check: finds out, step by step, whether the tunnel gets
// from this box to HRAS and which way (direct or through the proxy,
// streaming or polling), prints one line per step in plain words and a
// final verdict, and exits 0 if a working way was found, 1 if not.
//
// Steps: configuration; the server's address; direct TCP to it; the proxy
// in use (setting or environment) and TCP to it; through the proxy, plain
// forwarding (http://) or CONNECT (https://); TLS verification of HRAS;
// site authentication (one signed request); streaming (STREAM_OK within
// stream_probe_timeout), else polling. Each step is bounded in time. It is
// a one-shot command: it blocks, unlike the agent's event loop.
//
// The pure parts (wording, hints, the verdict) are declared here for the
// unit tests; the probes live in check.cpp.
#pragma once
#include "config.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace hrac {

// host and port of a URL; default_port when the URL names none.
struct Endpoint {
    std::string host;  // IPv6 without brackets
    uint16_t port = 0;
};
// The server's: http:// 80, https:// 443.
Endpoint server_endpoint(const std::string &server_url);
// A proxy's, as curl reads it: https:// 443, anything else 1080.
Endpoint proxy_endpoint(const std::string &proxy_url);
// "198.51.100.1:80", "[2001:db8::1]:443".
std::string endpoint_text(const Endpoint &e);

// One bounded TCP connect attempt.
struct TcpOutcome {
    enum Kind { works, timeout, refused, unreachable, error };
    Kind kind = error;
    std::string address;  // the address tried last, "ip:port"
    std::string detail;   // strerror() for refused/unreachable/error
    double ms = 0;        // time to connect (works)
};
// "works (TCP to 198.51.100.1:80 connected in 0.4 ms)",
// "blocked (no answer from 198.51.100.1:80 within 3 s)",
// "refused (198.51.100.1:80: Connection refused)", ...
std::string describe_tcp(const TcpOutcome &o, unsigned timeout_s);

// What to do about HRAS refusing site authentication; reason is the first
// line of its 401 ("bad_signature", "stale", ...).
std::string auth_hint(const std::string &reason, const std::string &site);

// Which mode the agent would end up in. Empty when none works: then why
// says what to do.
struct ModeVerdict {
    std::string mode;  // "stream", "poll" or ""
    std::string why;   // the reason when mode is empty
};
ModeVerdict choose_mode(TunnelMode configured, bool stream_works, bool poll_works);

// "verdict: OK — tunnel via proxy http://proxy:3128, mode poll"
std::string verdict_ok(const std::string &path, const std::string &mode);
// "verdict: BLOCKED — <what failed>; <what to do>"
std::string verdict_blocked(const std::string &what);

// Runs the check with the command line as given (config file, flags) and
// prints to out. Returns the exit code: 0 a working way found, 1 not.
int run_check(const CommandLine &cl, FILE *out);

}  // namespace hrac
