#include "check.hpp"

#include "check_probe.hpp"
#include "proxy_choice.hpp"
#include "re_handle.hpp"

#include <sofw/defaults.h>
#include <sofw/text.hpp>
#include <sofw/tunnel_http.hpp>

#include <arpa/inet.h>

#include <csignal>
#include <cstdlib>
#include <initializer_list>

namespace hrac {

namespace {

constexpr unsigned dns_timeout_s = 3;
constexpr unsigned tcp_timeout_s = 3;
constexpr long http_timeout_s = 10;
constexpr unsigned auth_timeout_s = 10;
// HRAS answers a long poll within its poll_wait at the latest.
constexpr unsigned poll_timeout_s = sofw::poll_wait_s + 5;

std::string ms_text(double ms)
{
    char text[32];
    if (ms < 10)
        snprintf(text, sizeof text, "%.1f ms", ms);
    else if (ms < 1000)
        snprintf(text, sizeof text, "%.0f ms", ms);
    else
        snprintf(text, sizeof text, "%.1f s", ms / 1000);
    return text;
}

bool is_ip_literal(const std::string &host)
{
    unsigned char scratch[16];
    return inet_pton(AF_INET, host.c_str(), scratch) == 1 || inet_pton(AF_INET6, host.c_str(), scratch) == 1;
}

// "host[:port]" of a URL after its scheme; userinfo and path stripped.
Endpoint endpoint_of(const std::string &url, uint16_t default_port)
{
    const std::string authority = url_authority(url);
    Endpoint e;
    e.port = default_port;
    std::string port;
    if (!authority.empty() && authority[0] == '[') {
        const auto close = authority.find(']');
        e.host = authority.substr(1, close == std::string::npos ? std::string::npos : close - 1);
        if (close != std::string::npos && close + 1 < authority.size() && authority[close + 1] == ':')
            port = authority.substr(close + 2);
    } else {
        const auto colon = authority.rfind(':');
        e.host = authority.substr(0, colon);
        if (colon != std::string::npos)
            port = authority.substr(colon + 1);
    }
    if (!port.empty()) {
        const long n = strtol(port.c_str(), nullptr, 10);
        if (n > 0 && n < 65536)
            e.port = static_cast<uint16_t>(n);
    }
    return e;
}

// What the proxy step says to do when the proxy is out of reach.
std::string tcp_short(const TcpOutcome &o, unsigned timeout_s)
{
    switch (o.kind) {
    case TcpOutcome::works: return "works";
    case TcpOutcome::timeout: return "no answer within " + std::to_string(timeout_s) + " s";
    case TcpOutcome::refused: return "connection refused";
    case TcpOutcome::unreachable:
    case TcpOutcome::error: return o.detail;
    }
    return o.detail;
}

// Why direct TCP failing blocks the tunnel when no proxy is set.
std::string direct_blocked(const TcpOutcome &o, const std::string &server)
{
    const std::string set_proxy =
        "set proxy = http://<the company proxy>:<port> in the config (or https_proxy/http_proxy in the environment)";
    switch (o.kind) {
    case TcpOutcome::works: return "";
    case TcpOutcome::timeout:
        return "the firewall blocks direct TCP to " + server + " (no answer within " + std::to_string(tcp_timeout_s) +
               " s) and no proxy is set: " + set_proxy;
    case TcpOutcome::refused:
        return "nothing accepts TCP connections at " + server +
               " (connection refused): is HRAS running there, and is server its tunnel_listen address and "
               "port? (If a firewall on the way refuses it instead: " +
               set_proxy + ")";
    case TcpOutcome::unreachable:
        return server + " is unreachable from here (" + o.detail + "): check this box's route, or " + set_proxy;
    case TcpOutcome::error: break;
    }
    return "cannot connect to " + server + " (" + o.detail + ")";
}

// Prints one line per step, in order; a blocked check lists the steps it
// did not get to.
class Report {
public:
    explicit Report(FILE *out) : out_(out) {}

    void step(const char *name, const std::string &text)
    {
        fprintf(out_, "%-11s %s\n", (std::string(name) + ":").c_str(), text.c_str());
        fflush(out_);
        done_ = name;
    }

    int blocked(const std::string &what)
    {
        bool after = done_.empty();
        for (const char *name : steps) {
            if (after)
                step(name, "not tried");
            else if (done_ == name)
                after = true;
        }
        fprintf(out_, "%s\n", verdict_blocked(what).c_str());
        fflush(out_);
        return 1;
    }

    int ok(const std::string &path, const std::string &mode)
    {
        fprintf(out_, "%s\n", verdict_ok(path, mode).c_str());
        fflush(out_);
        return 0;
    }

private:
    static constexpr const char *steps[] = {"config",  "address", "direct", "proxy",     "forwarding",
                                            "connect", "tls",     "auth",   "streaming", "polling"};
    FILE *out_;
    std::string done_;
};

// The proxy's own refusals, in the agent's words (request_failure.cpp).
Failure proxy_failure(const Config &config, const check::EasyOutcome &o, bool credentials)
{
    RequestOutcome r;
    r.result = o.result;
    r.connect_code = o.connect_code;
    r.status = static_cast<int>(o.status);
    r.auth_challenge = o.auth_challenge;
    r.via_proxy = true;
    r.proxy_credentials = credentials;
    r.curl_error = o.curl_error;
    r.refusal = o.refusal;
    r.site = config.site;
    r.channel = "check";
    r.server = config.server;
    return classify(r);
}

std::string tls_verified_text(const Config &config)
{
    std::string text = "HRAS certificate verified against " +
                       (config.ca_file.empty() ? std::string("the system CA store") : "ca_file " + config.ca_file);
    if (!config.pin_sha256.empty())
        text += ", public key matches pin_sha256";
    if (!config.client_cert.empty())
        text += ", client certificate offered";
    return text;
}

// What to do about a failed TLS connection to HRAS.
std::string tls_hint(const Config &config, CURLcode result, const std::string &server)
{
    switch (result) {
    case CURLE_PEER_FAILED_VERIFICATION:
        return "; ca_file must name the CA that issued HRAS's certificate (now: " +
               (config.ca_file.empty() ? std::string("the system CA store") : config.ca_file) +
               "), and the certificate must be for the host in server";
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return "; set pin_sha256 to the SHA-256 of HRAS's current public key (see hrac-agent.conf for the "
               "openssl command), or leave it out";
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR: return " (TLS connection to " + server + ")";
    default: return "";
    }
}

}  // namespace

Endpoint server_endpoint(const std::string &server_url)
{
    return endpoint_of(server_url, sofw::istarts_with(server_url, "https://") ? 443 : 80);
}

Endpoint proxy_endpoint(const std::string &proxy_url)
{
    // curl: CURL_DEFAULT_PROXY_PORT 1080, 443 for an HTTPS proxy.
    return endpoint_of(proxy_url, sofw::istarts_with(proxy_url, "https://") ? 443 : 1080);
}

std::string endpoint_text(const Endpoint &e)
{
    const bool v6 = e.host.find(':') != std::string::npos;
    return (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
}

std::string describe_tcp(const TcpOutcome &o, unsigned timeout_s)
{
    switch (o.kind) {
    case TcpOutcome::works: return "works (TCP to " + o.address + " connected in " + ms_text(o.ms) + ")";
    case TcpOutcome::timeout:
        return "blocked (no answer from " + o.address + " within " + std::to_string(timeout_s) + " s)";
    case TcpOutcome::refused: return "refused (" + o.address + ": connection refused)";
    case TcpOutcome::unreachable: return "unreachable (" + o.address + ": " + o.detail + ")";
    case TcpOutcome::error: break;
    }
    return "failed (" + (o.address.empty() ? std::string() : o.address + ": ") + o.detail + ")";
}

std::string auth_hint(const std::string &reason, const std::string &site)
{
    if (reason == "unknown_site")
        return "HRAS has no site '" + site +
               "': check site here, or add the site on HRAS "
               "(modparam(\"sofw\", \"site\", \"name=" +
               site + ";...\"))";
    if (reason == "bad_signature")
        return "the secret here differs from the one HRAS has for site '" + site + "': check secret/secret_file";
    if (reason == "stale")
        return "this box's clock and HRAS's differ by more than HRAS's auth_window (" +
               std::to_string(sofw::default_auth_window_s) + " s by default): synchronise both (NTP)";
    if (reason == "replay")
        return "HRAS has seen this request before: is something on the way replaying requests?";
    if (reason == "malformed")
        return "HRAS could not read the X-SoFW-* headers: does something on the way strip or change them?";
    return "";
}

ModeVerdict choose_mode(TunnelMode configured, bool stream_works, bool poll_works)
{
    switch (configured) {
    case TunnelMode::stream:
        if (stream_works)
            return {"stream", ""};
        if (poll_works)
            return {"", "streaming does not get through and tunnel_mode = stream: set tunnel_mode = auto "
                        "(polling works)"};
        return {"", "neither streaming nor polling gets through"};
    case TunnelMode::poll:
        if (poll_works)
            return {"poll", ""};
        return {"", "polling does not get through (tunnel_mode = poll)"};
    case TunnelMode::automatic: break;
    }
    if (stream_works)
        return {"stream", ""};
    if (poll_works)
        return {"poll", ""};
    return {"", "neither streaming nor polling gets through"};
}

std::string verdict_ok(const std::string &path, const std::string &mode)
{
    return "verdict: OK \u2014 tunnel via " + path + ", mode " + mode;
}

std::string verdict_blocked(const std::string &what) { return "verdict: BLOCKED \u2014 " + what; }

int run_check(const CommandLine &cl, FILE *out)
{
    using namespace check;
    Report report(out);

    Config config;
    try {
        config = load_config(cl);
    } catch (const ConfigError &e) {
        report.step("config", std::string("invalid \u2014 ") + e.what());
        return report.blocked(std::string("the configuration: ") + e.what() + "; fix " +
                              (cl.config_file.empty() ? std::string("the options") : cl.config_file));
    }
    report.step("config", "OK \u2014 " + (cl.config_file.empty() ? std::string("options only") : cl.config_file) +
                              ": site " + config.site + ", server " + config.server + ", tunnel_mode " +
                              tunnel_mode_name(config.tunnel_mode));

    // A peer closing a socket must be an error return, not a dead process.
    signal(SIGPIPE, SIG_IGN);
    CurlRuntime curl;
    LibreRuntime libre;
    if (!curl.ok() || libre.error())
        return report.blocked("internal: cannot initialise libcurl or libre");

    const ProxyChoice proxy = choose_proxy(config, [](const char *name) { return getenv(name); });
    const bool via_proxy = !proxy.url.empty();
    const bool credentials = !config.proxy_user.empty() || proxy.url.find('@') != std::string::npos;
    const bool https = sofw::istarts_with(config.server, "https://");
    const Endpoint server = server_endpoint(config.server);
    const std::string server_text = endpoint_text(server);

    // The server's address.
    const Resolution address = resolve(server.host, server.port, dns_timeout_s);
    if (is_ip_literal(server.host)) {
        report.step("address", server.host + " (an IP address: no DNS needed)");
    } else if (address.error.empty()) {
        std::string list;
        for (const Address &a : address.addresses) {
            const std::string text = address_text(a);
            const std::string ip = text.substr(0, text.rfind(':'));
            if (list.find(ip) == std::string::npos)
                list += (list.empty() ? "" : ", ") + ip;
        }
        report.step("address", server.host + " is " + list + " (DNS, " + ms_text(address.ms) + ")");
    } else if (via_proxy) {
        report.step("address",
                    "cannot resolve " + server.host + " here (" + address.error + "); the proxy resolves it itself");
    } else {
        report.step("address", "cannot resolve " + server.host + " (" + address.error + ")");
        return report.blocked("cannot resolve " + server.host + " (" + address.error +
                              "): check server, and this box's DNS (/etc/resolv.conf)");
    }

    // Direct TCP: the way when no proxy is set; for information otherwise.
    TcpOutcome direct;
    if (address.addresses.empty()) {
        report.step("direct", "not tried (no address)");
    } else {
        direct = tcp_connect(address.addresses, tcp_timeout_s);
        report.step("direct", describe_tcp(direct, tcp_timeout_s) +
                                  (via_proxy ? "; not used: the tunnel goes through the proxy" : ""));
    }

    // The proxy in use, and TCP to it.
    if (!via_proxy) {
        report.step("proxy", "none, going direct (" + proxy.why + ")");
        if (direct.kind != TcpOutcome::works)
            return report.blocked(direct_blocked(direct, server_text));
    } else {
        const Endpoint at = proxy_endpoint(proxy.url);
        const std::string named = proxy.url + " (" + proxy.why + ")";
        const Resolution proxy_address = resolve(at.host, at.port, dns_timeout_s);
        if (!proxy_address.error.empty()) {
            report.step("proxy", named + ": cannot resolve " + at.host + " (" + proxy_address.error + ")");
            return report.blocked("cannot resolve the proxy's name " + at.host + " (" + proxy_address.error +
                                  "): check proxy, and this box's DNS");
        }
        const TcpOutcome reach = tcp_connect(proxy_address.addresses, tcp_timeout_s);
        if (reach.kind != TcpOutcome::works) {
            report.step("proxy", named + ": " + describe_tcp(reach, tcp_timeout_s));
            return report.blocked("cannot connect to the proxy " + proxy.url + " (" + tcp_short(reach, tcp_timeout_s) +
                                  "): check proxy (is the proxy running, are its host and port right?)" +
                                  (direct.kind == TcpOutcome::works
                                       ? "; direct TCP to " + server_text + " works, so proxy = none would go direct"
                                       : ""));
        }
        report.step("proxy",
                    named + ": reachable (TCP to " + reach.address + " connected in " + ms_text(reach.ms) + ")");
    }

    // Through the proxy: plain forwarding (http://) or CONNECT (https://).
    // For https:// one request does CONNECT and then TLS, so the TLS step
    // reads its result.
    bool have_tls = false;
    EasyOutcome tls;
    const bool socks = via_proxy && sofw::istarts_with(proxy.url, "socks");
    if (!via_proxy) {
        report.step("forwarding", "not needed (direct)");
        report.step("connect", "not needed (direct)");
    } else if (socks) {
        const EasyOutcome o =
            easy_request(config, "http://" + server_text + "/", EasyKind::connect_only, http_timeout_s);
        if (o.result != CURLE_OK) {
            report.step("forwarding", "the SOCKS proxy does not connect to " + server_text + ": " + o.curl_error);
            return report.blocked("the SOCKS proxy " + proxy.url + " does not connect to " + server_text + " (" +
                                  o.curl_error + "): its rules may not allow it");
        }
        report.step("forwarding", "the SOCKS proxy connects to " + server_text + " (" + ms_text(o.ms) + ")");
        report.step("connect", "not needed (SOCKS proxy)");
    } else if (!https) {
        const EasyOutcome o =
            easy_request(config, config.server + sofw::tunnel_path::prefix, EasyKind::get, http_timeout_s);
        const bool proxy_answered = o.proxy_error || o.status == 407 || o.status == 502 || o.status == 504 ||
                                    (o.status == 401 && o.auth_challenge) || o.status == 403;
        if (o.status == 0) {
            const std::string why = o.result == CURLE_OPERATION_TIMEDOUT
                                        ? "no answer within " + std::to_string(http_timeout_s) + " s"
                                        : o.curl_error;
            report.step("forwarding", "no answer through the proxy (" + why + ")");
            return report.blocked("the proxy " + proxy.url + " gave no answer to a request for " + config.server +
                                  " (" + why + ")");
        }
        if (proxy_answered) {
            Failure f = proxy_failure(config, o, credentials);
            if (o.status == 503 || (o.proxy_error && f.kind != FailureKind::proxy_refused))
                f.message = "proxy could not reach HRAS at " + config.server + " (" + std::to_string(o.status) +
                            (o.refusal.empty() ? "" : " " + o.refusal) + ")";
            report.step("forwarding", "the proxy refuses to forward plain HTTP to " + config.server + " (" +
                                          std::to_string(o.status) + (o.refusal.empty() ? "" : " " + o.refusal) + ")");
            return report.blocked(f.message);
        }
        const bool hras = o.refusal == "not a SoFW tunnel endpoint";
        report.step("forwarding", "the proxy forwards plain HTTP to " + config.server + " (" +
                                      (hras ? "HRAS" : "the server") + " answered " + std::to_string(o.status) +
                                      (o.refusal.empty() ? "" : ": " + o.refusal) + ")");
        report.step("connect", "not needed (http:// server)");
    } else {
        report.step("forwarding", "not needed (https:// goes through CONNECT)");
        tls = easy_request(config, config.server + "/", EasyKind::connect_only, http_timeout_s);
        have_tls = true;
        const long code = tls.connect_code;
        if (code >= 200 && code <= 299) {
            report.step("connect", "the proxy allows CONNECT to " + server_text);
        } else if (code == 502 || code == 503 || code == 504) {
            report.step("connect",
                        "the proxy allows CONNECT but cannot reach " + server_text + " (" + std::to_string(code) + ")");
            return report.blocked("the proxy " + proxy.url + " cannot reach " + server_text + " (" +
                                  std::to_string(code) + "): is HRAS up, and may the proxy connect there?");
        } else if (code != 0) {
            report.step("connect", "the proxy refuses CONNECT to " + server_text + " (" + std::to_string(code) + ")");
            return report.blocked(proxy_failure(config, tls, credentials).message);
        } else {
            report.step("connect", "no answer to CONNECT (" + tls.curl_error + ")");
            return report.blocked("the proxy " + proxy.url + " did not answer CONNECT to " + server_text + " (" +
                                  tls.curl_error + ")");
        }
    }

    // TLS verification of HRAS.
    if (!https) {
        report.step("tls", "not used (http:// server: the tunnel's own signatures protect it)");
    } else {
        if (!have_tls)
            tls = easy_request(config, config.server + "/", EasyKind::connect_only, http_timeout_s);
        if (tls.result != CURLE_OK) {
            RequestOutcome r;
            r.result = tls.result;
            r.curl_error = tls.curl_error;
            r.via_proxy = via_proxy;
            r.channel = "TLS connection";
            r.server = config.server;
            const Failure f = classify(r);
            report.step("tls", "fails \u2014 " + f.message);
            return report.blocked(f.message + tls_hint(config, tls.result, server_text));
        }
        report.step("tls", tls_verified_text(config) + " (" + ms_text(tls.ms) + ")");
    }

    // Site authentication: a poll pair (the first opens a session and is
    // answered at once; check_probe.cpp).
    TunnelProbes probes(config, via_proxy, credentials);
    const TunnelProbes::Result auth = probes.authenticate(auth_timeout_s);
    if (!auth.works) {
        std::string what = auth.failure.message;
        if (auth.status == 401 && !auth.refusal.empty()) {
            report.step("auth", "HRAS refused site '" + config.site + "' (401 " + auth.refusal + ")");
            const std::string hint = auth_hint(auth.refusal, config.site);
            if (!hint.empty())
                what += ": " + hint;
        } else {
            report.step("auth", "fails \u2014 " + auth.failure.message);
            if (auth.status == 404)
                what += ": is server the HRAS tunnel URL (its tunnel_listen, or where a reverse proxy passes /sofw/)?";
        }
        return report.blocked(what);
    }
    report.step("auth", "OK \u2014 HRAS accepted site '" + config.site + "' (200, server proof verified, " +
                            ms_text(auth.ms) + ")");

    // Streaming, else polling.
    bool stream_works = false;
    bool stream_tried = false;
    std::string stream_why;
    if (config.tunnel_mode == TunnelMode::poll) {
        report.step("streaming", "not tried (tunnel_mode = poll)");
    } else {
        stream_tried = true;
        const TunnelProbes::Result s = probes.stream(config.stream_probe_timeout);
        stream_works = s.works;
        stream_why = s.failure.message;
        report.step("streaming", s.works ? "works (STREAM_OK after " + ms_text(s.ms) + ")"
                                         : "does not get through (" + s.failure.message + ")");
    }
    bool poll_works = false;
    std::string poll_why;
    if (stream_works) {
        report.step("polling", "not tried (streaming works)");
    } else {
        const TunnelProbes::Result p = probes.poll(poll_timeout_s);
        poll_works = p.works;
        poll_why = p.failure.message;
        if (!p.works)
            report.step("polling", "does not get through (" + p.failure.message + ")");
        else if (stream_tried)
            report.step("polling", "works (streaming is buffered by something in the path; a poll was answered in " +
                                       ms_text(p.ms) + ")");
        else
            report.step("polling", "works (a poll was answered in " + ms_text(p.ms) + ")");
    }

    const ModeVerdict mode = choose_mode(config.tunnel_mode, stream_works, poll_works);
    if (mode.mode.empty()) {
        std::string what = mode.why;
        if (!stream_why.empty())
            what += "; streaming: " + stream_why;
        if (!poll_why.empty())
            what += "; polling: " + poll_why;
        return report.blocked(what);
    }
    return report.ok(via_proxy ? "proxy " + proxy.url : "direct", mode.mode);
}

}  // namespace hrac
