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
    void SetUp() override {
        char tmpl[] = "/tmp/hrac-config-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        for (const auto &path : files_)
            unlink(path.c_str());
        rmdir(dir_.c_str());
    }

    std::string write_file(const std::string &name, const std::string &text) {
        const std::string path = dir_ + "/" + name;
        std::ofstream(path) << text;
        files_.push_back(path);
        return path;
    }

    static Config load(const std::vector<std::string> &args) {
        return load_config(parse_command_line(args));
    }

    static std::string error_of(const std::vector<std::string> &args) {
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

const char *full_config =
    "# HRAC for the Berlin office\n"
    "site = berlin\n"
    "secret = s3cret#with-hash\n"
    "\n"
    "   server = http://198.51.100.1:80/  \n"
    "sip_listen=10.0.0.2:5060\n"
    "keepalive_interval = 20\n"
    "log_level = debug\n";

} // namespace

TEST_F(ConfigTest, ReadsEveryKeyFromTheFile) {
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

TEST_F(ConfigTest, FlagsOverrideTheFile) {
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

TEST_F(ConfigTest, DefaultsApplyWhenOptionalKeysAreMissing) {
    const Config c = load({"--site=x", "--secret=y", "--server=https://hras.example.com/tunnel",
                           "--sip_listen=10.0.0.2:5060"});
    EXPECT_EQ(c.keepalive_interval, 15u);
    EXPECT_EQ(c.media_port_min, 20000);
    EXPECT_EQ(c.media_port_max, 29999);
    EXPECT_EQ(media_ports_text(c), "20000-29999");
    EXPECT_EQ(c.media_timeout, 120u);
    EXPECT_EQ(c.log_level, LogLevel::info);
    EXPECT_EQ(c.server, "https://hras.example.com/tunnel");
    EXPECT_EQ(c.server_path, "/tunnel");
}

TEST_F(ConfigTest, SecretFileGivesItsFirstLine) {
    const std::string secret = write_file("secret", "from-file\r\nsecond line\n");
    const Config c = load({"-c", write_file("hrac.conf",
                                            "site = a\nsecret_file = " + secret +
                                                "\nserver = http://127.0.0.1:8080\n"
                                                "sip_listen = 127.0.0.1:5060\n")});
    EXPECT_EQ(c.secret, "from-file");
}

TEST_F(ConfigTest, SecretFlagReplacesSecretFileOfTheFile) {
    const Config c = load({"-c",
                           write_file("hrac.conf", "site = a\nsecret_file = /nonexistent\n"
                                                   "server = http://127.0.0.1:8080\n"
                                                   "sip_listen = 127.0.0.1:5060\n"),
                           "--secret=flag-secret"});
    EXPECT_EQ(c.secret, "flag-secret");
}

TEST_F(ConfigTest, UnreadableSecretFileIsAnError) {
    EXPECT_NE(error_of({"--site=a", "--secret_file=/nonexistent/secret", "--server=http://h",
                        "--sip_listen=10.0.0.2:5060"})
                  .find("cannot read secret_file '/nonexistent/secret'"),
              std::string::npos);
}

TEST_F(ConfigTest, UnknownKeyInFileNamesFileAndLine) {
    const std::string path = write_file("hrac.conf", "site = a\n# comment\nsipp_listen = 1.2.3.4:5\n");
    EXPECT_EQ(error_of({"-c", path}), path + ":3: unknown key 'sipp_listen'");
}

TEST_F(ConfigTest, UnknownFlagIsAnError) {
    EXPECT_EQ(error_of({"--colour=blue"}), "unknown option '--colour' (see --help)");
}

TEST_F(ConfigTest, LineWithoutEqualsIsAnError) {
    const std::string path = write_file("hrac.conf", "site berlin\n");
    EXPECT_EQ(error_of({"-c", path}), path + ":1: expected 'key = value'");
}

TEST_F(ConfigTest, MissingRequiredKeysAreNamed) {
    EXPECT_EQ(error_of({"--secret=y", "--server=http://h", "--sip_listen=10.0.0.2:5060"}),
              "missing required setting 'site'");
    EXPECT_EQ(error_of({"--site=x", "--server=http://h", "--sip_listen=10.0.0.2:5060"}),
              "missing required setting 'secret' (or 'secret_file')");
    EXPECT_EQ(error_of({"--site=x", "--secret=y", "--sip_listen=10.0.0.2:5060"}),
              "missing required setting 'server'");
    EXPECT_EQ(error_of({"--site=x", "--secret=y", "--server=http://h"}),
              "missing required setting 'sip_listen'");
}

TEST_F(ConfigTest, BadSipListenIsAnError) {
    for (const char *bad : {"10.0.0.2", "10.0.0.2:", "10.0.0.2:0", "10.0.0.2:70000", "lan.example:5060",
                            "10.0.0.256:5060", "2001:db8::2:5060", "[2001:db8::2]5060", "0.0.0.0:5060"}) {
        const std::string error = error_of({"--site=x", "--secret=y", "--server=http://h",
                                            std::string("--sip_listen=") + bad});
        EXPECT_EQ(error.rfind(std::string("sip_listen '") + bad + "'", 0), 0u) << bad << ": " << error;
    }
}

TEST_F(ConfigTest, OtherBadValuesAreErrors) {
    const std::vector<std::string> good = {"--site=x", "--secret=y", "--server=http://h",
                                           "--sip_listen=10.0.0.2:5060"};
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

TEST_F(ConfigTest, MediaPortsAndTimeoutFromFileAndFlags) {
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

TEST_F(ConfigTest, BadMediaPortsAreErrors) {
    const std::vector<std::string> good = {"--site=x", "--secret=y", "--server=http://h",
                                           "--sip_listen=10.0.0.2:5060"};
    auto with = [&](const std::string &flag) {
        auto args = good;
        args.push_back(flag);
        return error_of(args);
    };
    for (const char *bad : {"", "20000", "20000-", "-29999", "a-b", "20000-29999x", "20000--1",
                            "+20000-29999", "20000-29999-30000"})
        EXPECT_EQ(with(std::string("--media_ports=") + bad),
                  std::string("media_ports '") + bad + "' is not a port range (e.g. 20000-29999)")
            << bad;
    EXPECT_EQ(with("--media_ports=20001-29999"), "media_ports '20001-29999' must start at an even port (RTP)");
    EXPECT_EQ(with("--media_ports=20000-20000"),
              "media_ports '20000-20000' must have its first port below its last");
    EXPECT_EQ(with("--media_ports=30000-20000"),
              "media_ports '30000-20000' must have its first port below its last");
    EXPECT_EQ(with("--media_ports=1022-2000"), "media_ports '1022-2000' must lie within 1024..65535");
    EXPECT_EQ(with("--media_ports=60000-65536"), "media_ports '60000-65536' must lie within 1024..65535");
    EXPECT_EQ(with("--media_ports=5000-6000"),
              "media_ports '5000-6000' must not include the sip_listen port 5060");
    EXPECT_EQ(with("--media_timeout=9"), "media_timeout 9 is out of range 10..86400");
    EXPECT_EQ(with("--media_timeout=2m"), "media_timeout '2m' is not a number");
}

TEST_F(ConfigTest, DefaultMediaPortsMustNotHoldTheSipPort) {
    EXPECT_EQ(error_of({"--site=x", "--secret=y", "--server=http://h", "--sip_listen=10.0.0.2:25060"}),
              "the default media_ports 20000-29999 include the sip_listen port; set media_ports");
    EXPECT_EQ(load({"--site=x", "--secret=y", "--server=http://h", "--sip_listen=10.0.0.2:25060",
                    "--media_ports=30000-39999"})
                  .media_port_min,
              30000);
}

TEST_F(ConfigTest, HelpAndVersionNeedNoSettings) {
    EXPECT_TRUE(parse_command_line({"--help"}).help);
    EXPECT_TRUE(parse_command_line({"--version"}).version);
}

TEST_F(ConfigTest, MissingConfigFileIsAnError) {
    EXPECT_EQ(error_of({"-c", "/nonexistent/hrac.conf"}).rfind("cannot read config file", 0), 0u);
}
