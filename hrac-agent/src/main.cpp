// hrac-agent: reads its settings, opens the LAN SIP socket and the tunnel to
// HRAS, relays media ports on HRAS's request, and runs the libre event loop
// until SIGTERM or SIGINT.
#include "check.hpp"
#include "config.hpp"
#include "counters.hpp"
#include "curl_loop.hpp"
#include "fd_budget.hpp"
#include "lan_policy.hpp"
#include "log.hpp"
#include "media_relay.hpp"
#include "proxy_choice.hpp"
#include "re_handle.hpp"
#include "sip_relay.hpp"
#include "tunnel.hpp"

#include <sofw/text.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <unistd.h>

namespace hrac {
namespace {

// Turns signals into loop events (the self-pipe trick): the handler only
// writes the signal number to a pipe, and the loop reads it and acts with
// no restriction on what it may call. libre's own re_main() signal hook
// covers SIGTERM/SIGINT only, and SIGUSR1 is needed too.
class SignalPipe {
public:
    using Handler = std::function<void(int signo)>;

    explicit SignalPipe(Handler handler) : handler_(std::move(handler)) {}
    ~SignalPipe()
    {
        for (int signo : watched_)
            signal(signo, SIG_DFL);
        watch_.stop();
        if (write_fd >= 0)
            ::close(write_fd);
        if (read_fd_ >= 0)
            ::close(read_fd_);
        write_fd = -1;
    }
    SignalPipe(const SignalPipe &) = delete;
    SignalPipe &operator=(const SignalPipe &) = delete;

    // Returns 0 or an errno value.
    int open(std::initializer_list<int> signals)
    {
        int fds[2];
        if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
            return errno;
        read_fd_ = fds[0];
        write_fd = fds[1];
        if (int err = watch_.listen(read_fd_, FD_READ, &SignalPipe::on_readable, this))
            return err;
        for (int signo : signals) {
            struct sigaction action {};
            action.sa_handler = &SignalPipe::on_signal;
            sigemptyset(&action.sa_mask);
            action.sa_flags = SA_RESTART;
            if (sigaction(signo, &action, nullptr) != 0)
                return errno;
            watched_.push_back(signo);
        }
        return 0;
    }

private:
    static void on_signal(int signo)
    {
        const int saved_errno = errno;
        const unsigned char byte = static_cast<unsigned char>(signo);
        if (write(write_fd, &byte, 1) < 0) {
            // Pipe full: signals are already pending, nothing is lost.
        }
        errno = saved_errno;
    }

    static void on_readable(int, void *arg)
    {
        auto &self = *static_cast<SignalPipe *>(arg);
        unsigned char signals[64];
        const ssize_t n = read(self.read_fd_, signals, sizeof signals);
        for (ssize_t i = 0; i < n; ++i)
            self.handler_(signals[i]);
    }

    static int write_fd;  // the signal handler can only reach a global
    Handler handler_;
    int read_fd_ = -1;
    FdWatch watch_;
    std::vector<int> watched_;
};

int SignalPipe::write_fd = -1;

// How HRAC will reach HRAS, said once at start: which proxy (the
// environment's choices are invisible otherwise) and how TLS is verified.
ProxyChoice log_path_to_hras(const Config &config)
{
    const ProxyChoice proxy = choose_proxy(config, [](const char *name) { return getenv(name); });
    if (proxy.url.empty() || config.proxy_user.empty())
        log_info("%s", describe(proxy).c_str());
    else
        log_info("%s, user %s, proxy_auth %s", describe(proxy).c_str(), config.proxy_user.c_str(),
                 proxy_auth_name(config.proxy_auth));
    if (sofw::starts_with(config.server, "https://")) {
        const auto pins =
            config.pin_sha256.empty() ? 0 : 1 + std::count(config.pin_sha256.begin(), config.pin_sha256.end(), ';');
        log_info("tls: HRAS verified against %s%s%s%s",
                 config.ca_file.empty() ? "the system CA store" : ("ca_file " + config.ca_file).c_str(),
                 pins ? (", public key pinned (" + std::to_string(pins) + " pin" + (pins > 1 ? "s" : "") + ")").c_str()
                      : "",
                 config.client_cert.empty() ? "" : ", client certificate ", config.client_cert.c_str());
    }
    return proxy;
}

int run(const Config &config, const std::string &config_file)
{
    // A peer closing a socket must be an error return, not a dead process.
    signal(SIGPIPE, SIG_IGN);

    CurlRuntime curl;
    if (!curl.ok()) {
        log_error("curl_global_init failed");
        return 1;
    }
    LibreRuntime libre;
    if (libre.error()) {
        log_error("libre_init: %s", strerror(libre.error()));
        return 1;
    }
    FdBudget fds;
    if (int err = apply_fd_budget(config.media_port_min, config.media_port_max, fds)) {
        log_error("cannot size the descriptor table for media_ports %s: %s", media_ports_text(config).c_str(),
                  strerror(err));
        return 1;
    }
    if (fds.max_pairs == 0) {
        log_error("media_ports %s: no room for any media port pair: the open-files limit (%llu) is below %llu; "
                  "raise LimitNOFILE (systemd) or ulimit -n",
                  media_ports_text(config).c_str(), static_cast<unsigned long long>(fds.soft_limit),
                  static_cast<unsigned long long>(FdBudget::reserve + 2));
        return 2;
    }
    if (fds.max_pairs < fds.wanted_pairs)
        log_warn("media_ports %s has %llu port pairs, but the open-files limit (%llu, hard limit reached) holds "
                 "only %llu: at most %llu calls at once; raise LimitNOFILE to %llu for all of them",
                 media_ports_text(config).c_str(), static_cast<unsigned long long>(fds.wanted_pairs),
                 static_cast<unsigned long long>(fds.soft_limit), static_cast<unsigned long long>(fds.max_pairs),
                 static_cast<unsigned long long>(fds.max_pairs), static_cast<unsigned long long>(fds.want_fds));
    else
        log_info("media capacity: %llu port pairs (open-files limit %llu)",
                 static_cast<unsigned long long>(fds.max_pairs), static_cast<unsigned long long>(fds.soft_limit));

    log_info("hrac-agent %s: config=%s site=%s server=%s sip_listen=%s keepalive_interval=%u s "
             "media_ports=%s media_timeout=%u s tunnel_mode=%s",
             hrac_version, config_file.empty() ? "(options only)" : config_file.c_str(), config.site.c_str(),
             config.server.c_str(), config.sip_listen.c_str(), config.keepalive_interval,
             media_ports_text(config).c_str(), config.media_timeout, tunnel_mode_name(config.tunnel_mode));
    const ProxyChoice proxy = log_path_to_hras(config);

    Counters counters;
    CurlLoop loop;
    LanPolicy lan_policy;
    Tunnel tunnel(config, loop, counters, proxy);
    SipRelay relay(config, tunnel, counters, lan_policy);
    tunnel.set_frame_handler(sofw::FrameType::sip, [&relay](const sofw::Frame &frame) { relay.deliver(frame); });
    MediaRelay media(config, counters, lan_policy, [&tunnel](const sofw::Frame &frame) { return tunnel.send(frame); });
    media.set_max_pairs(fds.max_pairs);
    tunnel.set_frame_handler(sofw::FrameType::control, [&media](const sofw::Frame &frame) { media.on_control(frame); });
    tunnel.set_frame_handler(sofw::FrameType::media, [&media](const sofw::Frame &frame) { media.deliver(frame); });

    if (int err = relay.open()) {
        log_error("cannot open the SIP socket on %s: %s", config.sip_listen.c_str(), strerror(err));
        return 1;
    }

    SignalPipe signals([&](int signo) {
        if (signo == SIGUSR1) {
            log_info("counters: %s", counters.summary().c_str());
            return;
        }
        log_info("stopping on %s", strsignal(signo));
        tunnel.stop();
        relay.close();
        media.close_all("shutting down");
        re_cancel();
    });
    if (int err = signals.open({SIGTERM, SIGINT, SIGUSR1})) {
        log_error("cannot set up signal handling: %s", strerror(err));
        return 1;
    }

    tunnel.start();

    if (int err = re_main(nullptr)) {
        log_error("event loop failed: %s", strerror(err));
        return 1;
    }
    log_info("stopped; counters: %s", counters.summary().c_str());
    return 0;
}

}  // namespace
}  // namespace hrac

int main(int argc, char **argv)
{
    using namespace hrac;
    const std::vector<std::string> args(argv + 1, argv + argc);
    CommandLine cl;
    Config config;
    try {
        cl = parse_command_line(args);
        if (cl.help) {
            fputs(usage_text().c_str(), stdout);
            return 0;
        }
        if (cl.version) {
            printf("hrac-agent %s\n", hrac_version);
            return 0;
        }
        apply_default_config_file(cl, default_config_file, &file_exists);
        if (cl.check)
            return run_check(cl, stdout);  // says what is wrong with the config itself
        config = load_config(cl);
    } catch (const ConfigError &e) {
        fprintf(stderr, "hrac-agent: %s\n", e.what());
        return 2;
    }
    set_log_level(config.log_level);
    set_log_target(config.log_target);
    try {
        return run(config, cl.config_file);
    } catch (const std::exception &e) {
        log_error("%s", e.what());
        return 1;
    }
}
