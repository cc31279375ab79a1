// The proxy HRAC says it uses, worked out as libcurl 7.88 does. The cases
// with an environment proxy were also checked against curl itself through
// squid (see the report of the change that added this).
#include "proxy_choice.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

using namespace hrac;

namespace {

Config server(const std::string &url)
{
    Config c;
    c.server = url;
    return c;
}

struct Env {
    std::map<std::string, std::string> vars;
    GetEnv get() const
    {
        return [this](const char *name) -> const char * {
            const auto it = vars.find(name);
            return it == vars.end() ? nullptr : it->second.c_str();
        };
    }
};

}  // namespace

TEST(ProxyChoice, DirectWithoutSettingOrEnvironment)
{
    const ProxyChoice p = choose_proxy(server("https://hras.example.com"), Env{}.get());
    EXPECT_EQ(p.url, "");
    EXPECT_EQ(describe(p), "proxy: none, direct (no proxy setting and no proxy in the environment)");
}

TEST(ProxyChoice, SchemeVariableThenAllProxy)
{
    Env env{{{"https_proxy", "http://s:3128"}, {"http_proxy", "http://p:3128"}, {"all_proxy", "http://a:1"}}};
    EXPECT_EQ(choose_proxy(server("https://h"), env.get()).url, "http://s:3128");
    EXPECT_EQ(choose_proxy(server("http://h"), env.get()).url, "http://p:3128");
    EXPECT_EQ(choose_proxy(server("http://h"), env.get()).why, "http_proxy in the environment");

    Env upper{{{"HTTPS_PROXY", "http://S:3128"}, {"HTTP_PROXY", "http://P:3128"}, {"ALL_PROXY", "http://A:1"}}};
    EXPECT_EQ(choose_proxy(server("https://h"), upper.get()).url, "http://S:3128");
    // curl ignores HTTP_PROXY (a CGI program gets it from a request header).
    EXPECT_EQ(choose_proxy(server("http://h"), upper.get()).url, "http://A:1");
    EXPECT_EQ(choose_proxy(server("http://h"), upper.get()).why, "ALL_PROXY in the environment");

    Env empty{{{"https_proxy", ""}, {"all_proxy", "http://a:1"}}};
    EXPECT_EQ(choose_proxy(server("https://h"), empty.get()).url, "http://a:1");
}

TEST(ProxyChoice, PasswordsAreRedacted)
{
    Env env{{{"https_proxy", "http://u:secret@proxy:3128"}}};
    EXPECT_EQ(describe(choose_proxy(server("https://h"), env.get())),
              "proxy: http://u:***@proxy:3128 (https_proxy in the environment)");
    Config c = server("https://h");
    c.proxy_from_environment = false;
    c.proxy = "http://u:secret@proxy:3128";
    EXPECT_EQ(describe(choose_proxy(c, Env{}.get())), "proxy: http://u:***@proxy:3128 (proxy setting)");
}

TEST(ProxyChoice, NoProxyFromTheEnvironmentOrTheSetting)
{
    Env env{{{"https_proxy", "http://s:3128"}, {"no_proxy", "localhost, .example.com"}}};
    const ProxyChoice p = choose_proxy(server("https://hras.example.com:443/x"), env.get());
    EXPECT_EQ(p.url, "");
    EXPECT_EQ(p.why, "hras.example.com matches the no_proxy in the environment");
    EXPECT_EQ(choose_proxy(server("https://hras.example.org"), env.get()).url, "http://s:3128");

    Config c = server("https://hras.example.org");
    c.no_proxy_set = true;
    c.no_proxy = "example.org";
    EXPECT_EQ(choose_proxy(c, env.get()).why, "hras.example.org matches the no_proxy setting");
    c.no_proxy = "";  // the setting replaces the environment's list
    EXPECT_EQ(
        choose_proxy(server("https://hras.example.com"), Env{{{"https_proxy", "http://s:1"}, {"NO_PROXY", "*"}}}.get())
            .url,
        "");
}

TEST(ProxyChoice, AnExplicitProxyIgnoresTheEnvironment)
{
    Config c = server("https://hras.example.com");
    c.proxy_from_environment = false;
    c.proxy = "http://proxy:3128";
    Env env{{{"https_proxy", "http://other:1"}, {"no_proxy", "example.com"}}};
    EXPECT_EQ(describe(choose_proxy(c, env.get())), "proxy: http://proxy:3128 (proxy setting)");
    c.no_proxy_set = true;
    c.no_proxy = "hras.example.com";
    EXPECT_EQ(choose_proxy(c, env.get()).url, "");
    c.proxy.clear();  // proxy = none
    c.no_proxy_set = false;
    EXPECT_EQ(describe(choose_proxy(c, env.get())), "proxy: none, direct (proxy = none)");
}

TEST(ProxyChoice, NoProxyMatchesLikeCurl)
{
    EXPECT_TRUE(no_proxy_matches("anything", "*"));
    EXPECT_FALSE(no_proxy_matches("anything", ""));
    EXPECT_TRUE(no_proxy_matches("example.com", "example.com"));
    EXPECT_TRUE(no_proxy_matches("www.example.com", "example.com"));
    EXPECT_TRUE(no_proxy_matches("www.example.com", ".example.com"));
    EXPECT_TRUE(no_proxy_matches("WWW.Example.COM.", "example.com."));
    EXPECT_FALSE(no_proxy_matches("nonexample.com", "example.com"));
    EXPECT_FALSE(no_proxy_matches("example.com", "www.example.com"));
    EXPECT_TRUE(no_proxy_matches("b", "a,b c"));
    EXPECT_TRUE(no_proxy_matches("198.51.100.1", "10.0.0.1, 198.51.100.1"));
    EXPECT_TRUE(no_proxy_matches("198.51.100.1", "198.51.100.0/24"));
    EXPECT_FALSE(no_proxy_matches("198.51.101.1", "198.51.100.0/24"));
    EXPECT_TRUE(no_proxy_matches("10.1.2.3", "10.0.0.0/8"));
    EXPECT_FALSE(no_proxy_matches("198.51.100.10", "198.51.100.1"));
    EXPECT_TRUE(no_proxy_matches("2001:db8::1", "2001:db8::/32"));
    EXPECT_TRUE(no_proxy_matches("2001:db8::1", "[2001:db8::1]"));
    EXPECT_FALSE(no_proxy_matches("2001:db9::1", "2001:db8::/32"));
    // A name never matches an address entry and the other way round.
    EXPECT_FALSE(no_proxy_matches("10.0.0.1", "0.1"));
}

TEST(ProxyChoice, UrlHost)
{
    EXPECT_EQ(url_host("https://hras.example.com:8443/tunnel"), "hras.example.com");
    EXPECT_EQ(url_host("http://198.51.100.1"), "198.51.100.1");
    EXPECT_EQ(url_host("http://[2001:db8::1]:80/x"), "2001:db8::1");
    EXPECT_EQ(url_host("http://u:p@h:1"), "h");
}
