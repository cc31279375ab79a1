#include "config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace hrac;

namespace {

// A scratch directory removed with its files at the end of each test.
class ConfigTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/hrac-config-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override
    {
        for (const auto &path : files_)
            unlink(path.c_str());
        rmdir(dir_.c_str());
    }

    std::string write_file(const std::string &name, const std::string &text)
    {
        const std::string path = dir_ + "/" + name;
        std::ofstream(path) << text;
        files_.push_back(path);
        return path;
    }

    static Config load(const std::vector<std::string> &args) { return load_config(parse_command_line(args)); }

    static std::string error_of(const std::vector<std::string> &args)
    {
        try {
            load(args);
        } catch (const ConfigError &e) {
            return e.what();
        }
        return "(no error)";
    }

    std::string dir_;
    std::vector<std::string> files_;
};

const char *full_config = "# HRAC for the Berlin office\n"
                          "site = berlin\n"
                          "secret = s3cret#with-hash\n"
                          "\n"
                          "   server = http://198.51.100.1:80/  \n"
                          "sip_listen=10.0.0.2:5060\n"
                          "keepalive_interval = 20\n"
                          "log_level = debug\n";

}  // namespace

TEST_F(ConfigTest, ReadsEveryKeyFromTheFile)
{
    const Config c = load({"-c", write_file("hrac.conf", full_config)});
    EXPECT_EQ(c.site, "berlin");
    EXPECT_EQ(c.secret, "s3cret#with-hash");
    EXPECT_EQ(c.server, "http://198.51.100.1:80");
    EXPECT_EQ(c.server_path, "");
    EXPECT_EQ(c.sip_listen, "10.0.0.2:5060");
    EXPECT_EQ(c.sip_host, "10.0.0.2");
    EXPECT_EQ(c.sip_port, 5060);
    EXPECT_EQ(c.keepalive_interval, 20u);
    EXPECT_EQ(c.log_level, LogLevel::debug);
    EXPECT_EQ(c.proxy, "");
}

TEST_F(ConfigTest, FlagsOverrideTheFile)
{
    const std::string path = write_file("hrac.conf", full_config);
    const Config c = load({"--config", path, "--site=hamburg", "--keepalive_interval", "5",
                           "--proxy=http://127.0.0.1:3128", "--sip_listen=[2001:db8::2]:5070"});
    EXPECT_EQ(c.site, "hamburg");
    EXPECT_EQ(c.keepalive_interval, 5u);
    EXPECT_EQ(c.proxy, "http://127.0.0.1:3128");
    EXPECT_EQ(c.sip_listen, "[2001:db8::2]:5070");
    EXPECT_EQ(c.sip_host, "2001:db8::2");
    EXPECT_EQ(c.sip_port, 5070);
    EXPECT_EQ(c.secret, "s3cret#with-hash");  // untouched keys stay
}

TEST_F(ConfigTest, DefaultsApplyWhenOptionalKeysAreMissing)
{
    const Config c =
        load({"--site=x", "--secret=y", "--server=https://hras.example.com/tunnel", "--sip_listen=10.0.0.2:5060"});
    EXPECT_EQ(c.keepalive_interval, 15u);
    EXPECT_EQ(c.media_port_min, 20000);
    EXPECT_EQ(c.media_port_max, 29999);
    EXPECT_EQ(media_ports_text(c), "20000-29999");
    EXPECT_EQ(c.media_timeout, 120u);
    EXPECT_EQ(c.log_level, LogLevel::info);
    EXPECT_EQ(c.server, "https://hras.example.com/tunnel");
    EXPECT_EQ(c.server_path, "/tunnel");
}

TEST_F(ConfigTest, SecretFileGivesItsFirstLine)
{
    const std::string secret = write_file("secret", "from-file\r\nsecond line\n");
    const Config c = load({"-c", write_file("hrac.conf", "site = a\nsecret_file = " + secret +
                                                             "\nserver = http://127.0.0.1:8080\n"
                                                             "sip_listen = 127.0.0.1:5060\n")});
    EXPECT_EQ(c.secret, "from-file");
}

TEST_F(ConfigTest, SecretFlagReplacesSecretFileOfTheFile)
{
    const Config c = load({"-c",
                           write_file("hrac.conf", "site = a\nsecret_file = /nonexistent\n"
                                                   "server = http://127.0.0.1:8080\n"
                                                   "sip_listen = 127.0.0.1:5060\n"),
                           "--secret=flag-secret"});
    EXPECT_EQ(c.secret, "flag-secret");
}

TEST_F(ConfigTest, UnreadableSecretFileIsAnError)
{
    EXPECT_NE(
        error_of({"--site=a", "--secret_file=/nonexistent/secret", "--server=http://h", "--sip_listen=10.0.0.2:5060"})
            .find("cannot read secret_file '/nonexistent/secret'"),
        std::string::npos);
}

TEST_F(ConfigTest, UnknownKeyInFileNamesFileAndLine)
{
    const std::string path = write_file("hrac.conf", "site = a\n# comment\nsipp_listen = 1.2.3.4:5\n");
    EXPECT_EQ(error_of({"-c", path}), path + ":3: unknown key 'sipp_listen'");
}

TEST_F(ConfigTest, UnknownFlagIsAnError)
{
    EXPECT_EQ(error_of({"--colour=blue"}), "unknown option '--colour' (see --help)");
}

TEST_F(ConfigTest, LineWithoutEqualsIsAnError)
{
    const std::string path = write_file("hrac.conf", "site berlin\n");
    EXPECT_EQ(error_of({"-c", path}), path + ":1: expected 'key = value'");
}

TEST_F(ConfigTest, MissingRequiredKeysAreNamed)
{
    EXPECT_EQ(error_of({"--secret=y", "--server=http://h", "--sip_listen=10.0.0.2:5060"}),
              "missing required setting 'site'");
    EXPECT_EQ(error_of({"--site=x", "--server=http://h", "--sip_listen=10.0.0.2:5060"}),
              "missing required setting 'secret' (or 'secret_file')");
    EXPECT_EQ(error_of({"--site=x", "--secret=y", "--sip_listen=10.0.0.2:5060"}), "missing required setting 'server'");
    EXPECT_EQ(error_of({"--site=x", "--secret=y", "--server=http://h"}), "missing required setting 'sip_listen'");
}

TEST_F(ConfigTest, BadSipListenIsAnError)
{
    for (const char *bad : {"10.0.0.2", "10.0.0.2:", "10.0.0.2:0", "10.0.0.2:70000", "lan.example:5060",
                            "10.0.0.256:5060", "2001:db8::2:5060", "[2001:db8::2]5060", "0.0.0.0:5060"}) {
        const std::string error =
            error_of({"--site=x", "--secret=y", "--server=http://h", std::string("--sip_listen=") + bad});
        EXPECT_EQ(error.rfind(std::string("sip_listen '") + bad + "'", 0), 0u) << bad << ": " << error;
    }
}

TEST_F(ConfigTest, OtherBadValuesAreErrors)
{
    const std::vector<std::string> good = {"--site=x", "--secret=y", "--server=http://h", "--sip_listen=10.0.0.2:5060"};
    auto with = [&](const std::string &flag) {
        auto args = good;
        args.push_back(flag);
        return error_of(args);
    };
    EXPECT_EQ(with("--server=ftp://h"),
              "server 'ftp://h' is not an http:// or https:// base URL (e.g. http://198.51.100.1:80)");
    EXPECT_EQ(with("--keepalive_interval=0"), "keepalive_interval 0 is out of range 1..3600");
    EXPECT_EQ(with("--keepalive_interval=ten"), "keepalive_interval 'ten' is not a number");
    EXPECT_EQ(with("--log_level=verbose"), "log_level 'verbose' is not one of error, warn, info, debug");
    EXPECT_EQ(with("--site=two words"), "site 'two words' must be visible ASCII without spaces");
}

TEST_F(ConfigTest, MediaPortsAndTimeoutFromFileAndFlags)
{
    const std::string path =
        write_file("hrac.conf", std::string(full_config) + "media_ports = 30000-30999\nmedia_timeout = 60\n");
    const Config c = load({"-c", path});
    EXPECT_EQ(c.media_port_min, 30000);
    EXPECT_EQ(c.media_port_max, 30999);
    EXPECT_EQ(c.media_timeout, 60u);

    const Config f = load({"-c", path, "--media_ports=1024-1025", "--media_timeout=86400"});
    EXPECT_EQ(f.media_port_min, 1024);
    EXPECT_EQ(f.media_port_max, 1025);
    EXPECT_EQ(media_ports_text(f), "1024-1025");
    EXPECT_EQ(f.media_timeout, 86400u);

    // Spaces around the dash are harmless; the range may end on an even port.
    const Config g = load({"-c", path, "--media_ports=40000 - 65534"});
    EXPECT_EQ(g.media_port_min, 40000);
    EXPECT_EQ(g.media_port_max, 65534);
    EXPECT_EQ(load({"-c", path, "--media_ports=64000-65535"}).media_port_max, 65535);
}

TEST_F(ConfigTest, BadMediaPortsAreErrors)
{
    const std::vector<std::string> good = {"--site=x", "--secret=y", "--server=http://h", "--sip_listen=10.0.0.2:5060"};
    auto with = [&](const std::string &flag) {
        auto args = good;
        args.push_back(flag);
        return error_of(args);
    };
    for (const char *bad :
         {"", "20000", "20000-", "-29999", "a-b", "20000-29999x", "20000--1", "+20000-29999", "20000-29999-30000"})
        EXPECT_EQ(with(std::string("--media_ports=") + bad),
                  std::string("media_ports '") + bad + "' is not a port range (e.g. 20000-29999)")
            << bad;
    EXPECT_EQ(with("--media_ports=20001-29999"), "media_ports '20001-29999' must start at an even port (RTP)");
    EXPECT_EQ(with("--media_ports=20000-20000"), "media_ports '20000-20000' must have its first port below its last");
    EXPECT_EQ(with("--media_ports=30000-20000"), "media_ports '30000-20000' must have its first port below its last");
    EXPECT_EQ(with("--media_ports=1022-2000"), "media_ports '1022-2000' must lie within 1024..65535");
    EXPECT_EQ(with("--media_ports=60000-65536"), "media_ports '60000-65536' must lie within 1024..65535");
    EXPECT_EQ(with("--media_ports=5000-6000"), "media_ports '5000-6000' must not include the sip_listen port 5060");
    EXPECT_EQ(with("--media_timeout=9"), "media_timeout 9 is out of range 10..86400");
    EXPECT_EQ(with("--media_timeout=2m"), "media_timeout '2m' is not a number");
}

TEST_F(ConfigTest, DefaultMediaPortsMustNotHoldTheSipPort)
{
    EXPECT_EQ(error_of({"--site=x", "--secret=y", "--server=http://h", "--sip_listen=10.0.0.2:25060"}),
              "the default media_ports 20000-29999 include the sip_listen port; set media_ports");
    EXPECT_EQ(load({"--site=x", "--secret=y", "--server=http://h", "--sip_listen=10.0.0.2:25060",
                    "--media_ports=30000-39999"})
                  .media_port_min,
              30000);
}

TEST_F(ConfigTest, HelpAndVersionNeedNoSettings)
{
    EXPECT_TRUE(parse_command_line({"--help"}).help);
    EXPECT_TRUE(parse_command_line({"--version"}).version);
}

TEST_F(ConfigTest, MissingConfigFileIsAnError)
{
    EXPECT_EQ(error_of({"-c", "/nonexistent/hrac.conf"}).rfind("cannot read config file", 0), 0u);
}

namespace {

const std::vector<std::string> https_base = {"--site=x", "--secret=y", "--server=https://hras.example.com",
                                             "--sip_listen=10.0.0.2:5060"};

std::vector<std::string> with_flags(std::vector<std::string> args, const std::vector<std::string> &more)
{
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

// The pin of an all-zero key hash, and one of all 0xff bytes.
const char *pin_zero = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const char *pin_ones = "//////////////////////////////////////////8=";

}  // namespace

TEST_F(ConfigTest, ProxyAndTunnelDefaults)
{
    const Config c = load(https_base);
    EXPECT_TRUE(c.proxy_from_environment);
    EXPECT_EQ(c.proxy, "");
    EXPECT_EQ(c.proxy_user, "");
    EXPECT_EQ(c.proxy_password, "");
    EXPECT_EQ(c.proxy_auth, ProxyAuth::any);
    EXPECT_FALSE(c.no_proxy_set);
    EXPECT_EQ(c.ca_file, "");
    EXPECT_EQ(c.pin_sha256, "");
    EXPECT_EQ(c.client_cert, "");
    EXPECT_EQ(c.tunnel_mode, TunnelMode::automatic);
    EXPECT_EQ(c.stream_probe_timeout, 5u);
    EXPECT_EQ(c.tunnel_lanes, sofw::default_lanes);
    EXPECT_EQ(c.tunnel_coalesce_ms, sofw::default_coalesce_ms);
}

TEST_F(ConfigTest, ReadsProxySettingsFromTheFile)
{
    const std::string secret = write_file("proxy-secret", "pa:ss@word\n");
    const Config c = load({"-c", write_file("hrac.conf", std::string(full_config) +
                                                             "proxy = http://proxy.example.com:3128\n"
                                                             "proxy_user = DOMAIN\\\\hrac\n"
                                                             "proxy_password_file = " +
                                                             secret +
                                                             "\n"
                                                             "proxy_auth = NTLM\n"
                                                             "no_proxy = .internal, 10.0.0.0/8\n"
                                                             "tunnel_mode = poll\n"
                                                             "stream_probe_timeout = 12\n"
                                                             "tunnel_lanes = 5\n")});
    EXPECT_FALSE(c.proxy_from_environment);
    EXPECT_EQ(c.proxy, "http://proxy.example.com:3128");
    EXPECT_EQ(c.proxy_user, "DOMAIN\\\\hrac");
    EXPECT_EQ(c.proxy_password, "pa:ss@word");
    EXPECT_EQ(c.proxy_auth, ProxyAuth::ntlm);
    EXPECT_TRUE(c.no_proxy_set);
    EXPECT_EQ(c.no_proxy, ".internal, 10.0.0.0/8");
    EXPECT_EQ(c.tunnel_mode, TunnelMode::poll);
    EXPECT_EQ(c.stream_probe_timeout, 12u);
    EXPECT_EQ(c.tunnel_lanes, 5u);
}

TEST_F(ConfigTest, ProxyForms)
{
    for (const char *url :
         {"http://proxy:3128", "proxy:3128", "proxy", "https://proxy.example.com", "socks5h://127.0.0.1:1080",
          "http://[2001:db8::1]:3128", "http://u:p@proxy:3128/", "HTTP://Proxy:8080"}) {
        const Config c = load(with_flags(https_base, {std::string("--proxy=") + url}));
        EXPECT_EQ(c.proxy, url);
        EXPECT_FALSE(c.proxy_from_environment);
    }
    const Config none = load(with_flags(https_base, {"--proxy=none"}));
    EXPECT_FALSE(none.proxy_from_environment);
    EXPECT_EQ(none.proxy, "");
    EXPECT_EQ(load(with_flags(https_base, {"--proxy=NONE"})).proxy, "");
}

TEST_F(ConfigTest, BadProxySettingsAreErrors)
{
    auto error = [&](const std::vector<std::string> &more) { return error_of(with_flags(https_base, more)); };
    EXPECT_EQ(error({"--proxy="}), "proxy is empty; leave it out to use the environment's proxy, or say none");
    EXPECT_EQ(error({"--proxy=ftp://proxy:21"}),
              "proxy 'ftp://proxy:21' has an unknown scheme; use http://, https://, socks5h:// (or socks4, "
              "socks4a, socks5)");
    for (const char *bad : {"http://", "http://:3128", "http://proxy:99999", "http://proxy:x", "http://proxy/path",
                            "http://pro xy:3128", "http://[2001:db8::1"})
        EXPECT_EQ(error({std::string("--proxy=") + bad}),
                  std::string("proxy '") + bad + "' is not a proxy URL (e.g. http://proxy.example.com:3128) or none")
            << bad;
    // The password never appears in an error.
    EXPECT_EQ(error({"--proxy=http://u:secret@proxy:x"}),
              "proxy 'http://u:***@proxy:x' is not a proxy URL (e.g. http://proxy.example.com:3128) or none");
    EXPECT_EQ(error({"--proxy_password=p"}), "proxy_password given without proxy_user");
    EXPECT_EQ(error({"--proxy_user="}), "proxy_user is empty");
    EXPECT_EQ(error({"--proxy=none", "--proxy_user=u"}), "proxy_user given, but proxy = none");
    EXPECT_EQ(error({"--proxy=http://a:b@proxy:3128", "--proxy_user=u"}),
              "proxy credentials given both in the proxy URL and as proxy_user; use one");
    EXPECT_EQ(error({"--proxy_user=u", "--proxy_password=p", "--proxy_password_file=/x"}),
              "both proxy_password and proxy_password_file given in the options; use one");
    EXPECT_EQ(error({"--proxy_user=u", "--proxy_password_file=/nonexistent/pw"})
                  .rfind("cannot read proxy_password_file '/nonexistent/pw'", 0),
              0u);
    EXPECT_EQ(error({"--proxy_auth=kerberos"}),
              "proxy_auth 'kerberos' is not one of basic, digest, ntlm, negotiate, any");
}

TEST_F(ConfigTest, ProxyAuthNames)
{
    const std::pair<const char *, ProxyAuth> names[] = {{"basic", ProxyAuth::basic},
                                                        {"Digest", ProxyAuth::digest},
                                                        {"ntlm", ProxyAuth::ntlm},
                                                        {"negotiate", ProxyAuth::negotiate},
                                                        {"any", ProxyAuth::any}};
    for (const auto &[name, auth] : names)
        EXPECT_EQ(load(with_flags(https_base, {std::string("--proxy_auth=") + name})).proxy_auth, auth) << name;
    EXPECT_STREQ(proxy_auth_name(ProxyAuth::digest), "digest");
}

TEST_F(ConfigTest, ProxyPasswordFlagReplacesTheFilesPasswordFile)
{
    const Config c = load(
        {"-c",
         write_file("hrac.conf", std::string(full_config) + "proxy_user = u\nproxy_password_file = /nonexistent\n"),
         "--proxy_password=from-flag"});
    EXPECT_EQ(c.proxy_password, "from-flag");
}

TEST_F(ConfigTest, TlsSettings)
{
    const std::string ca = write_file("ca.pem", "-----BEGIN CERTIFICATE-----\n");
    const std::string cert = write_file("client.pem", "x");
    const std::string key = write_file("client.key", "x");
    const Config c = load(with_flags(https_base, {"--ca_file=" + ca, std::string("--pin_sha256=") + pin_zero,
                                                  "--client_cert=" + cert, "--client_key=" + key}));
    EXPECT_EQ(c.ca_file, ca);
    EXPECT_EQ(c.pin_sha256, std::string("sha256//") + pin_zero);
    EXPECT_EQ(c.client_cert, cert);
    EXPECT_EQ(c.client_key, key);

    // Several pins (key rotation), in curl's form or bare, commas or semicolons.
    EXPECT_EQ(
        load(with_flags(https_base, {std::string("--pin_sha256=") + pin_zero + ", sha256//" + pin_ones})).pin_sha256,
        std::string("sha256//") + pin_zero + ";sha256//" + pin_ones);
    // A client certificate file may hold the key as well.
    EXPECT_EQ(load(with_flags(https_base, {"--client_cert=" + cert})).client_key, "");
}

TEST_F(ConfigTest, BadTlsSettingsAreErrors)
{
    auto error = [&](const std::vector<std::string> &more) { return error_of(with_flags(https_base, more)); };
    EXPECT_EQ(error({"--ca_file=/nonexistent/ca.pem"}).rfind("cannot read ca_file '/nonexistent/ca.pem'", 0), 0u);
    EXPECT_EQ(error({"--client_cert=/nonexistent/c.pem"}).rfind("cannot read client_cert", 0), 0u);
    EXPECT_EQ(error({"--client_key=" + write_file("k", "x")}), "client_key given without client_cert");
    for (const char *bad : {"AAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "sha256//",
                            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=",    // stray bits: not 32 bytes
                            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",    // 31 bytes
                            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-A=",   // not base64
                            "p4zyCfrNP5wOiVSRH1Lys4RxQi4OITBuguYN4VjvbQI"}) {  // no padding
        const std::string e = error({std::string("--pin_sha256=") + bad});
        EXPECT_EQ(e.rfind(std::string("pin_sha256 '") + bad + "' is not a base64 SHA-256 (44 characters", 0), 0u)
            << bad << ": " << e;
    }
    EXPECT_EQ(error({"--pin_sha256="}), "pin_sha256 is empty");
    // TLS settings need an https:// server: a pin on http:// would protect nothing.
    EXPECT_EQ(error_of({"--site=x", "--secret=y", "--server=http://h", "--sip_listen=10.0.0.2:5060",
                        std::string("--pin_sha256=") + pin_zero}),
              "pin_sha256 needs an https:// server (server is http://h)");
    EXPECT_EQ(
        error_of({"--site=x", "--secret=y", "--server=http://h", "--sip_listen=10.0.0.2:5060", "--ca_file=/etc/hosts"}),
        "ca_file needs an https:// server (server is http://h)");
}

TEST_F(ConfigTest, TunnelModeSettings)
{
    EXPECT_EQ(load(with_flags(https_base, {"--tunnel_mode=stream"})).tunnel_mode, TunnelMode::stream);
    EXPECT_EQ(load(with_flags(https_base, {"--tunnel_mode=AUTO"})).tunnel_mode, TunnelMode::automatic);
    EXPECT_EQ(load(with_flags(https_base, {"--stream_probe_timeout=60"})).stream_probe_timeout, 60u);
    EXPECT_EQ(error_of(with_flags(https_base, {"--tunnel_mode=websocket"})),
              "tunnel_mode 'websocket' is not one of auto, stream, poll");
    EXPECT_EQ(error_of(with_flags(https_base, {"--stream_probe_timeout=0"})),
              "stream_probe_timeout 0 is out of range 1..60");
    EXPECT_EQ(error_of(with_flags(https_base, {"--stream_probe_timeout=5s"})),
              "stream_probe_timeout '5s' is not a number");
    EXPECT_STREQ(tunnel_mode_name(TunnelMode::automatic), "auto");
}

TEST_F(ConfigTest, TunnelCoalesce)
{
    EXPECT_EQ(load(with_flags(https_base, {"--tunnel_coalesce_ms=0"})).tunnel_coalesce_ms, 0u);
    EXPECT_EQ(load(with_flags(https_base, {"--tunnel_coalesce_ms=20"})).tunnel_coalesce_ms, 20u);
    EXPECT_EQ(load({"-c", write_file("hrac.conf", std::string(full_config) + "tunnel_coalesce_ms = 3\n")})
                  .tunnel_coalesce_ms,
              3u);
    EXPECT_EQ(error_of(with_flags(https_base, {"--tunnel_coalesce_ms=21"})),
              "tunnel_coalesce_ms 21 is out of range 0..20");
    EXPECT_EQ(error_of(with_flags(https_base, {"--tunnel_coalesce_ms=-1"})),
              "tunnel_coalesce_ms '-1' is not a number");
}

TEST_F(ConfigTest, TunnelLanes)
{
    EXPECT_EQ(load(with_flags(https_base, {"--tunnel_lanes=1"})).tunnel_lanes, 1u);
    EXPECT_EQ(load(with_flags(https_base, {"--tunnel_lanes=8"})).tunnel_lanes, 8u);
    EXPECT_EQ(load({"-c", write_file("hrac.conf", std::string(full_config) + "tunnel_lanes = 2\n"), "--tunnel_lanes=4"})
                  .tunnel_lanes,
              4u)
        << "the flag overrides the file";
    EXPECT_EQ(error_of(with_flags(https_base, {"--tunnel_lanes=0"})), "tunnel_lanes 0 is out of range 1..8");
    EXPECT_EQ(error_of(with_flags(https_base, {"--tunnel_lanes=9"})), "tunnel_lanes 9 is out of range 1..8");
    EXPECT_EQ(error_of(with_flags(https_base, {"--tunnel_lanes=three"})), "tunnel_lanes 'three' is not a number");
    EXPECT_EQ(error_of(with_flags(https_base, {"--tunnel_lanes="})), "tunnel_lanes '' is not a number");
    EXPECT_NE(usage_text().find("tunnel_lanes"), std::string::npos);
}

TEST(RedactUrl, HidesPasswordsOnly)
{
    EXPECT_EQ(redact_url("http://user:secret@proxy:3128"), "http://user:***@proxy:3128");
    EXPECT_EQ(redact_url("http://user:p@ss@proxy:3128"), "http://user:***@proxy:3128");
    EXPECT_EQ(redact_url("http://user@proxy:3128"), "http://user@proxy:3128");
    EXPECT_EQ(redact_url("u:p@proxy"), "u:***@proxy");
    EXPECT_EQ(redact_url("http://proxy:3128"), "http://proxy:3128");
}

TEST_F(ConfigTest, LogTargetStderrOrSyslog)
{
    const std::string path = write_file("hrac.conf", full_config);
    EXPECT_EQ(load({"-c", path}).log_target, LogTarget::stderr_stream);
    EXPECT_EQ(load({"-c", path, "--log_target=syslog"}).log_target, LogTarget::syslog);
    EXPECT_EQ(error_of({"-c", path, "--log_target=journal"}), "log_target 'journal' is not one of stderr, syslog");
}

TEST(CommandLineTest, CheckAndVersionFlags)
{
    EXPECT_TRUE(parse_command_line({"--check"}).check);
    EXPECT_FALSE(parse_command_line({}).check);
    EXPECT_TRUE(parse_command_line({"--version"}).version);
}

namespace {
bool exists_always(const std::string &) { return true; }
bool exists_never(const std::string &) { return false; }
}  // namespace

TEST(CommandLineTest, DefaultConfigFileOnlyWithoutDashC)
{
    CommandLine none = parse_command_line({"--site=x"});
    apply_default_config_file(none, "/etc/sofw/hrac-agent.conf", &exists_always);
    EXPECT_EQ(none.config_file, "/etc/sofw/hrac-agent.conf");

    CommandLine absent = parse_command_line({"--site=x"});
    apply_default_config_file(absent, "/etc/sofw/hrac-agent.conf", &exists_never);
    EXPECT_EQ(absent.config_file, "");

    CommandLine given = parse_command_line({"-c", "/tmp/other.conf"});
    apply_default_config_file(given, "/etc/sofw/hrac-agent.conf", &exists_always);
    EXPECT_EQ(given.config_file, "/tmp/other.conf");
    CommandLine given_eq = parse_command_line({"--config=/tmp/x.conf"});
    apply_default_config_file(given_eq, "/etc/sofw/hrac-agent.conf", &exists_always);
    EXPECT_EQ(given_eq.config_file, "/tmp/x.conf");
}
