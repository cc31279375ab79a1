// HRAC's settings: the input up to its first NUL byte is a config file's
// text, every NUL-separated piece after it a command-line argument. The
// file text and the arguments are parsed, the flags applied over the file,
// and every setting validated (make_config), as hrac-agent starts; a
// Config that comes out is turned into curl options as every tunnel
// request is. A ConfigError is the designed answer to bad input; any other
// exception escaping is a bug. Keys that name files (secret_file,
// proxy_password_file, ca_file, client_cert, client_key) are dropped so the
// target reads no file.
#include "config.hpp"
#include "fuzz_check.hpp"
#include "http_options.hpp"

#include <curl/curl.h>

#include <string>
#include <vector>

using namespace hrac;

namespace {

void drop_file_keys(Settings &s)
{
    for (const char *k : {"secret_file", "proxy_password_file", "ca_file", "client_cert", "client_key"})
        s.erase(k);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string input(reinterpret_cast<const char *>(data), size);
    const size_t nul = input.find('\0');
    const std::string text = input.substr(0, nul);
    std::vector<std::string> args;
    for (size_t at = nul; at != std::string::npos && at < input.size();) {
        const size_t next = input.find('\0', at + 1);
        args.push_back(input.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1));
        at = next;
    }

    Settings file, flags;
    try {
        file = parse_config_text(text, "fuzz.conf");
    } catch (const ConfigError &) {
    }
    try {
        CommandLine cl = parse_command_line(args);
        flags = cl.flags;
        apply_default_config_file(cl, "/nonexistent/hrac-agent.conf", [](const std::string &) { return false; });
        FUZZ_CHECK(cl.config_given || cl.config_file.empty());
    } catch (const ConfigError &) {
    }
    drop_file_keys(file);
    drop_file_keys(flags);

    Config c;
    try {
        c = make_config(file, flags);
    } catch (const ConfigError &) {
        return 0;
    }
    FUZZ_CHECK(!c.site.empty() && !c.secret.empty());
    FUZZ_CHECK(c.media_port_min <= c.media_port_max);
    (void)media_ports_text(c);
    const std::string redacted = redact_url(c.proxy);
    if (!c.proxy_password.empty() && c.proxy_password.size() > 3)
        FUZZ_CHECK(redacted.find(":" + c.proxy_password + "@") == std::string::npos);
    (void)tunnel_mode_name(c.tunnel_mode);
    (void)proxy_auth_name(c.proxy_auth);

    static CURL *easy = curl_easy_init();
    if (easy) {
        curl_easy_reset(easy);
        ProxyAuthMemory memory(c.proxy_auth, !c.proxy_user.empty());
        apply_http_options(easy, c, memory.mask());
        memory.accepted_after(CURLAUTH_BASIC | CURLAUTH_DIGEST);
        (void)memory.still_negotiating();
    }
    return 0;
}
