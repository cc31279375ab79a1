// The admin status page: JSON escaping (whatever SIP brings in From, To or
// Call-ID stays inert, valid UTF-8 JSON), HTTP Basic credentials, and the
// page served by the real tunnel server next to the tunnel endpoints.
#include "core/status_page.hpp"
#include "core/tunnel_server.hpp"

#include "tunnel_client.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

using namespace sofw;
using namespace sofw::hras;
using namespace sofw::test;

namespace {

// Decodes a JSON string literal as json_string() writes it (\uXXXX within
// the BMP, surrogates not needed); nullopt if it is not one.
std::optional<std::string> json_unquote(const std::string &j)
{
    if (j.size() < 2 || j.front() != '"' || j.back() != '"')
        return std::nullopt;
    std::string out;
    for (size_t i = 1; i + 1 < j.size(); i++) {
        unsigned char c = static_cast<unsigned char>(j[i]);
        if (c < 0x20 || c == '"')
            return std::nullopt;  // must have been escaped
        if (c != '\\') {
            out += char(c);
            continue;
        }
        if (++i + 1 >= j.size())
            return std::nullopt;
        switch (j[i]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
            if (i + 4 >= j.size())
                return std::nullopt;
            unsigned cp = unsigned(std::stoul(j.substr(i + 1, 4), nullptr, 16));
            i += 4;
            if (cp < 0x80) {
                out += char(cp);
            } else if (cp < 0x800) {
                out += char(0xC0 | cp >> 6);
                out += char(0x80 | (cp & 0x3F));
            } else {
                out += char(0xE0 | cp >> 12);
                out += char(0x80 | ((cp >> 6) & 0x3F));
                out += char(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: return std::nullopt;
        }
    }
    return out;
}

std::string basic(const std::string &user_pass)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < user_pass.size(); i += 3) {
        uint32_t n = uint32_t(uint8_t(user_pass[i])) << 16 | uint32_t(uint8_t(user_pass[i + 1])) << 8 |
                     uint8_t(user_pass[i + 2]);
        for (int k = 3; k >= 0; k--)
            out += tab[(n >> (6 * k)) & 63];
    }
    if (size_t rest = user_pass.size() - i) {
        uint32_t n = uint32_t(uint8_t(user_pass[i])) << 16 | (rest == 2 ? uint32_t(uint8_t(user_pass[i + 1])) << 8 : 0);
        out += tab[(n >> 18) & 63];
        out += tab[(n >> 12) & 63];
        out += rest == 2 ? tab[(n >> 6) & 63] : '=';
        out += '=';
    }
    return "Basic " + out;
}

template <size_t N>
void set(char (&f)[N], const std::string &v)
{
    snprintf(f, N, "%s", v.c_str());
}

StatusSnapshot sample()
{
    StatusSnapshot s;
    s.now = 1700000000;
    StatusSnapshot::SiteView v;
    v.name = "acme";
    v.domain = "acme.example";
    v.addr = "127.1.0.1";
    v.state.up = 1;
    set(v.state.mode, "stream");
    v.state.lanes = 3;
    set(v.state.session, "0123456789abcdef0123456789abcdef");
    set(v.state.hrac_lan, "10.0.0.2:5060");
    set(v.state.peer, "198.51.100.2:40000");
    v.state.since = 1699999990;
    v.state.phones = 1;
    s.sites.push_back(v);
    hras_phone_row p{};
    p.site = 0;
    set(p.lan, "192.168.1.10:5060");
    set(p.endpoint, "127.1.0.1:41000");
    p.idle = 3;
    s.phones.push_back(p);
    hras_rat_row r{};
    r.site = 0;
    set(r.call_id, "c1\"</script><script>alert(1)</script>");
    set(r.from, "\"Mallory \\\" <b>\" <sip:m@x>;tag=\x01\x7f");
    set(r.to, "<sip:alice@acme.example>");
    set(r.media, "audio");
    set(r.internal, "192.168.1.10:4000");
    set(r.external, "198.51.100.20:5000");
    r.hras_port = 30000;
    r.hrac_port = 20000;
    r.latched = 1;
    r.packets_up = 250;
    r.packets_down = 249;
    r.age = 5;
    r.idle = 0;
    r.loss_up = 0;
    r.loss_down = 1.25;
    r.jitter_up = 3.5;
    r.jitter_down = 0.04;
    r.late60_up = 12.5;
    r.late150_up = 2;
    s.calls.push_back(r);
    RtpQualityHistory h;
    h.up = {{0, 1.5f}, {2.5f, 3}};
    h.down = {{0, 0.25f}, {0, 0.5f}};
    s.call_history.push_back(h);
    s.counters = {{"media_packets_up", 250}, {"active_calls", 1}};
    return s;
}

}  // namespace

// --- JSON -----------------------------------------------------------------

TEST(StatusJson, EscapesQuotesBackslashesAndControlCharacters)
{
    EXPECT_EQ(R"("plain")", json_string("plain"));
    EXPECT_EQ(R"("a\"b\\c")", json_string("a\"b\\c"));
    EXPECT_EQ(R"("\n\r\t\b\f")", json_string("\n\r\t\b\f"));
    EXPECT_EQ(R"("\u0000\u0001\u001f\u007f")", json_string(std::string("\0\x01\x1f\x7f", 4)));
}

TEST(StatusJson, MarkupCharactersAreEscapedToo)
{
    std::string j = json_string("</script><img src=x onerror=alert(1)>&amp;");
    EXPECT_EQ(std::string::npos, j.find_first_of("<>&")) << j;
    EXPECT_EQ(R"("\u003c/script\u003e\u003cimg src=x onerror=alert(1)\u003e\u0026amp;")", j);
}

TEST(StatusJson, Utf8PassesAndInvalidBytesBecomeReplacementCharacters)
{
    EXPECT_EQ("\"Jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
              json_string("Jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    EXPECT_EQ(R"("a\ufffdb")", json_string("a\xff"
                                           "b"));
    EXPECT_EQ(R"("\ufffd")", json_string("\xc3"));                                // cut short
    EXPECT_EQ(R"("\ufffd\ufffd")", json_string("\xc0\xaf"));                      // overlong '/'
    EXPECT_EQ(R"("\ufffd\ufffd\ufffd")", json_string("\xed\xa0\x80"));            // surrogate
    EXPECT_EQ(R"("\ufffd\ufffd\ufffd\ufffd")", json_string("\xf4\x90\x80\x80"));  // > U+10FFFF
    // JavaScript line separators
    EXPECT_EQ(R"("\u2028\u2029")", json_string("\xe2\x80\xa8\xe2\x80\xa9"));
}

TEST(StatusJson, RoundTripsAnyValidText)
{
    std::string all;
    for (int c = 1; c < 0x80; c++)
        all += char(c);
    all += "\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80";
    all += std::string(1, '\0');
    auto back = json_unquote(json_string(all));
    ASSERT_TRUE(back);
    EXPECT_EQ(all, *back);
}

TEST(StatusJson, SnapshotIsRenderedWithEveryFieldEscaped)
{
    std::string j = status_json(sample());
    EXPECT_EQ(std::string::npos, j.find('<')) << j;
    EXPECT_EQ(std::string::npos, j.find('\x01')) << j;
    EXPECT_NE(std::string::npos, j.find(R"("sites":[{"name":"acme","domain":"acme.example","addr":"127.1.0.1",)"
                                        R"("state":"up","mode":"stream","lanes":3,"session":"0123456789abcdef0123456789abcdef",)"
                                        R"("hrac":"10.0.0.2:5060","peer":"198.51.100.2:40000","since":1699999990,)"
                                        R"("phones":1}])"))
        << j;
    EXPECT_NE(std::string::npos, j.find(R"("phones":[{"site":"acme","lan":"192.168.1.10:5060",)"
                                        R"("endpoint":"127.1.0.1:41000","idle":3}])"))
        << j;
    EXPECT_NE(std::string::npos,
              j.find(R"("call_id":"c1\"\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e")"))
        << j;
    EXPECT_NE(std::string::npos,
              j.find(R"("from":"\"Mallory \\\" \u003cb\u003e\" \u003csip:m@x\u003e;tag=\u0001\u007f")"))
        << j;
    EXPECT_NE(std::string::npos, j.find(R"("hras_port":30000,"hrac_port":20000,"bypass":0,"latched":1,)"
                                        R"("packets_up":250,"packets_down":249,"age":5,"idle":0,)"))
        << j;
    EXPECT_NE(std::string::npos, j.find(R"("counters":{"media_packets_up":250,"active_calls":1}})")) << j;
    EXPECT_EQ(0u, j.find(R"({"now":1700000000,"sites":)")) << j;
}

TEST(StatusJson, CallsCarryTheirQualityAndItsLastMinute)
{
    std::string j = status_json(sample());
    EXPECT_NE(std::string::npos,
              j.find(R"("idle":0,"loss_up":0,"loss_down":1.25,"jitter_up":3.5,"jitter_down":0.04,)"
                     R"("late60_up":12.5,"late60_down":0,"late150_up":2,"late150_down":0,)"
                     R"("history":{"up":{"loss":[0,2.5],"jitter":[1.5,3]},)"
                     R"("down":{"loss":[0,0],"jitter":[0.25,0.5]}}}])"))
        << j;
}

TEST(StatusJson, FiguresAreAlwaysPlainNonNegativeNumbers)
{
    EXPECT_EQ("0", json_figure(0));
    EXPECT_EQ("12.5", json_figure(12.5));
    EXPECT_EQ("0.04", json_figure(0.04));
    EXPECT_EQ("33.33", json_figure(100.0 / 3));
    EXPECT_EQ("100", json_figure(100));
    EXPECT_EQ("1.1", json_figure(1.099));
    EXPECT_EQ("0", json_figure(0.004));
    EXPECT_EQ("1000000000", json_figure(1e12));
    EXPECT_EQ("0", json_figure(-3));
    EXPECT_EQ("0", json_figure(std::nan("")));
    EXPECT_EQ("0", json_figure(HUGE_VAL));
    EXPECT_EQ("0", json_figure(-HUGE_VAL));

    // Whatever a row or a history holds, the JSON has numbers there.
    StatusSnapshot s;
    hras_rat_row r{};
    r.loss_up = std::nan("");
    r.jitter_down = -HUGE_VAL;
    s.calls.push_back(r);
    RtpQualityHistory h;
    h.up = {{std::nanf(""), HUGE_VALF}};
    s.call_history.push_back(h);
    std::string j = status_json(s);
    EXPECT_NE(std::string::npos, j.find(R"("loss_up":0,)")) << j;
    EXPECT_NE(std::string::npos, j.find(R"("jitter_down":0,)")) << j;
    EXPECT_NE(std::string::npos, j.find(R"("up":{"loss":[0],"jitter":[0]})")) << j;
    EXPECT_EQ(std::string::npos, j.find("nan")) << j;
    EXPECT_EQ(std::string::npos, j.find("inf")) << j;
}

TEST(StatusJson, EmptySnapshotAndUnterminatedFields)
{
    EXPECT_EQ(R"({"now":0,"sites":[],"phones":[],"calls":[],"counters":{}})", status_json(StatusSnapshot{}));
    StatusSnapshot s;
    hras_rat_row r{};
    r.site = 7;                                // no such site
    memset(r.call_id, 'x', sizeof r.call_id);  // no terminating NUL
    s.calls.push_back(r);
    std::string j = status_json(s);
    EXPECT_NE(std::string::npos, j.find(R"("site":"?","call_id":")" + std::string(sizeof r.call_id, 'x') + "\"")) << j;
    EXPECT_NE(std::string::npos, j.find(R"("history":{"up":{"loss":[],"jitter":[]},"down":{"loss":[],"jitter":[]}})"))
        << "a call without history has empty series: " << j;
}

TEST(StatusHtml, SelfContainedAndRendersOnlyText)
{
    const std::string &h = status_html();
    EXPECT_EQ(0u, h.find("<!DOCTYPE html>"));
    EXPECT_EQ(std::string::npos, h.find("http://"));
    EXPECT_EQ(std::string::npos, h.find("https://"));
    EXPECT_EQ(std::string::npos, h.find(" src="));
    EXPECT_EQ(std::string::npos, h.find("<link"));
    EXPECT_EQ(std::string::npos, h.find("innerHTML"));
    EXPECT_EQ(std::string::npos, h.find("insertAdjacentHTML"));
    EXPECT_EQ(std::string::npos, h.find("document.write"));
    EXPECT_NE(std::string::npos, h.find("textContent"));
    EXPECT_NE(std::string::npos, h.find("status.json"));
    for (const char *id : {"id=\"sites\"", "id=\"phones\"", "id=\"calls\"", "id=\"counters\""})
        EXPECT_NE(std::string::npos, h.find(id)) << id;
}

TEST(StatusHtml, CallsShowQualityAndAChartDrawnFromNumbersOnly)
{
    const std::string &h = status_html();
    for (const char *head : {"<th>quality up</th>", "<th>quality down</th>", "<th>last 60 s</th>"})
        EXPECT_NE(std::string::npos, h.find(head)) << head;
    // The chart is an inline SVG cloned from the page's own template (no
    // namespace URL, no markup from data); only its points are set, from
    // numbers the script checked (num()).
    EXPECT_NE(std::string::npos, h.find("<template id=\"spark\"><svg class=\"spark\""));
    EXPECT_NE(std::string::npos, h.find("getElementById(\"spark\").content.firstElementChild.cloneNode(true)"));
    EXPECT_NE(std::string::npos, h.find("setAttribute(\"points\", line(loss, lossScale))"));
    EXPECT_NE(std::string::npos, h.find("Number.isFinite(n) && n > 0 ? n : 0"));
    EXPECT_NE(std::string::npos, h.find("c.history && c.history[way]"));
    EXPECT_EQ(std::string::npos, h.find("createElementNS"));
    EXPECT_EQ(std::string::npos, h.find("DOMParser"));
    EXPECT_EQ(std::string::npos, h.find("<script src"));
}

// --- credentials ----------------------------------------------------------

TEST(StatusAuth, Base64IsStrict)
{
    std::string out;
    EXPECT_TRUE(base64_decode("YWRtaW46c2VjcmV0", out));
    EXPECT_EQ("admin:secret", out);
    EXPECT_TRUE(base64_decode("YQ==", out));
    EXPECT_EQ("a", out);
    EXPECT_TRUE(base64_decode("YWI=", out));
    EXPECT_EQ("ab", out);
    EXPECT_TRUE(base64_decode("", out));
    EXPECT_EQ("", out);
    EXPECT_FALSE(base64_decode("YQ", out));        // no padding
    EXPECT_FALSE(base64_decode("Y===", out));      // too much padding
    EXPECT_FALSE(base64_decode("YQ==YQ==", out));  // padding inside
    EXPECT_FALSE(base64_decode("YW=i", out));      // data after padding
    EXPECT_FALSE(base64_decode("YW*i", out));      // not the alphabet
}

TEST(StatusAuth, CredentialsAreCheckedAtConfiguration)
{
    EXPECT_EQ("", check_status_credentials("", ""));
    EXPECT_EQ("", check_status_credentials("admin", "correct horse"));
    EXPECT_NE("", check_status_credentials("admin", ""));
    EXPECT_NE("", check_status_credentials("", "correct horse"));
    EXPECT_NE("", check_status_credentials("ad:min", "correct horse"));
    EXPECT_NE("", check_status_credentials("admin", "short"));
    EXPECT_NE("", check_status_credentials("admin", "with\nnewline"));
}

TEST(StatusAuth, OnlyTheConfiguredUserAndPasswordPass)
{
    BasicAuth auth("admin", "correct horse");
    ASSERT_TRUE(auth.enabled());
    EXPECT_TRUE(auth.check(basic("admin:correct horse")));
    EXPECT_TRUE(auth.check("basic " + basic("admin:correct horse").substr(6)));  // scheme is case-insensitive
    EXPECT_TRUE(auth.check("Basic   " + basic("admin:correct horse").substr(6) + " "));
    EXPECT_FALSE(auth.check(""));
    EXPECT_FALSE(auth.check("Basic"));
    EXPECT_FALSE(auth.check("Basic "));
    EXPECT_FALSE(auth.check(basic("admin:correct hors")));
    EXPECT_FALSE(auth.check(basic("admin:correct horse ")));
    EXPECT_FALSE(auth.check(basic("admin:correct horsf")));
    EXPECT_FALSE(auth.check(basic("Admin:correct horse")));
    EXPECT_FALSE(auth.check(basic("admin")));
    EXPECT_FALSE(auth.check(basic(":")));
    EXPECT_FALSE(auth.check("Bearer " + basic("admin:correct horse").substr(6)));
    EXPECT_FALSE(auth.check("Basic YWRtaW46Y29ycmVjdCBob3JzZQ"));  // padding missing
    EXPECT_FALSE(auth.check("Basic admin:correct horse"));
}

TEST(StatusAuth, NoCredentialsNoPage)
{
    BasicAuth off("", "");
    EXPECT_FALSE(off.enabled());
    EXPECT_FALSE(off.check(basic(":")));
    StatusPage page("", "", [] { return StatusSnapshot{}; });
    EXPECT_FALSE(page.enabled());
}

TEST(StatusPageAnswer, RefusedWithoutCredentialsAnsweredWithThem)
{
    int snapshots = 0;
    StatusPage page("admin", "correct horse", [&] {
        snapshots++;
        return sample();
    });
    ASSERT_TRUE(page.enabled());
    for (const char *auth : {"", "Basic Zm9vOmJhcg==", "Basic !!!"}) {
        HttpAnswer a = page.answer("GET", "/sofw/status.json", auth);
        EXPECT_EQ(401u, a.status) << auth;
        bool challenge = false;
        for (auto &h : a.headers)
            challenge |= h.first == "WWW-Authenticate" && h.second.rfind("Basic realm=", 0) == 0;
        EXPECT_TRUE(challenge) << auth;
        EXPECT_EQ(std::string::npos, a.body.find("acme"));
    }
    EXPECT_EQ(0, snapshots);  // nothing looked at before the credentials pass

    HttpAnswer j = page.answer("GET", "/sofw/status.json", basic("admin:correct horse"));
    EXPECT_EQ(200u, j.status);
    EXPECT_EQ("application/json", j.content_type);
    EXPECT_EQ(status_json(sample()), j.body);
    EXPECT_EQ(1, snapshots);

    HttpAnswer h = page.answer("GET", "/sofw/status", basic("admin:correct horse"));
    EXPECT_EQ(200u, h.status);
    EXPECT_EQ("text/html; charset=utf-8", h.content_type);
    EXPECT_EQ(status_html(), h.body);

    HttpAnswer p = page.answer("POST", "/sofw/status", basic("admin:correct horse"));
    EXPECT_EQ(405u, p.status);

    EXPECT_TRUE(StatusPage::is_status_path("/sofw/status"));
    EXPECT_TRUE(StatusPage::is_status_path("/sofw/status.json"));
    EXPECT_FALSE(StatusPage::is_status_path("/sofw/status/"));
    EXPECT_FALSE(StatusPage::is_status_path("/sofw/v1/down"));
}

// --- served by the tunnel server -----------------------------------------

namespace {

class StatusServerTest : public ::testing::Test {
protected:
    void start(const std::string &user, const std::string &password)
    {
        ASSERT_EQ("", sites.add("name=acme;secret=acme-0123456789abcdef"));
        ASSERT_EQ("", sites.assign_addresses());
        cfg.listen = "127.0.0.1:0";
        page = std::make_unique<StatusPage>(user, password, [] { return sample(); });
        server = std::make_unique<TunnelServer>(loop, sites, cfg, stats);
        server->set_status_page(page.get());
        ASSERT_EQ("", server->start());
    }
    HttpConn &get(const std::string &path, const std::string &authorization = "")
    {
        conns.push_back(std::make_unique<HttpConn>(server->port()));
        std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
        if (!authorization.empty())
            req += "Authorization: " + authorization + "\r\n";
        conns.back()->write(req + "\r\n");
        drive.watch(conns.back().get());
        EXPECT_TRUE(drive.until([&] { return conns.back()->body_complete(); }, 2000)) << path;
        return *conns.back();
    }

    EventLoop loop;
    SiteTable sites;
    Stats stats;
    TunnelConfig cfg;
    std::unique_ptr<StatusPage> page;
    std::unique_ptr<TunnelServer> server;
    Driver drive{loop};
    std::vector<std::unique_ptr<HttpConn>> conns;
};

}  // namespace

TEST_F(StatusServerTest, ServedWithCredentialsOnly)
{
    start("admin", "correct horse");
    HttpConn &anon = get("/sofw/status.json");
    EXPECT_EQ(401, anon.status());
    EXPECT_EQ("Basic realm=\"SoFW HRAS status\", charset=\"UTF-8\"", anon.header("WWW-Authenticate"));
    HttpConn &wrong = get("/sofw/status", basic("admin:wrong password"));
    EXPECT_EQ(401, wrong.status());

    HttpConn &json = get("/sofw/status.json", basic("admin:correct horse"));
    EXPECT_EQ(200, json.status());
    EXPECT_EQ("application/json", json.header("Content-Type"));
    EXPECT_EQ("no-store", json.header("Cache-Control"));
    EXPECT_EQ(status_json(sample()), json.body());

    HttpConn &html = get("/sofw/status", basic("admin:correct horse"));
    EXPECT_EQ(200, html.status());
    EXPECT_EQ(status_html(), html.body());
    EXPECT_NE("", html.header("Content-Security-Policy"));

    // the tunnel endpoints are still the tunnel's: no credentials of the
    // page open them, and nothing of the page is counted as a tunnel failure
    HttpConn &down = get("/sofw/v1/down", basic("admin:correct horse"));
    EXPECT_EQ(401, down.status());
    EXPECT_EQ("malformed\n", down.body());
    EXPECT_EQ(1u, stats.get(HRAS_CNT_AUTH_FAILURES));
}

TEST_F(StatusServerTest, NoPageWithoutCredentialsConfigured)
{
    start("", "");
    HttpConn &c = get("/sofw/status.json", basic("admin:correct horse"));
    EXPECT_EQ(404, c.status());
    EXPECT_EQ("not a SoFW tunnel endpoint\n", c.body());
}
