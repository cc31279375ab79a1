#include "status_page.hpp"

#include "sofw/auth.hpp"
#include "sofw/text.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sofw::hras {
namespace {

// Length of the valid UTF-8 sequence of two or more bytes at s[i], or 0.
size_t utf8_seq(std::string_view s, size_t i)
{
    auto at = [&](size_t k) -> unsigned { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
    auto cont = [&](size_t k) { return (at(k) & 0xC0u) == 0x80u; };
    unsigned c = at(0);
    if (c >= 0xC2 && c <= 0xDF)
        return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;  // no overlongs, no surrogates
        return at(1) >= lo && at(1) <= hi && cont(2) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;  // U+10000..U+10FFFF
        return at(1) >= lo && at(1) <= hi && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
}

// A fixed-size C string field of a published row (maybe unterminated).
template <size_t N>
std::string_view field(const char (&f)[N])
{
    return std::string_view(f, strnlen(f, N));
}

class Json {
public:
    Json &raw(std::string_view s)
    {
        out_ += s;
        return *this;
    }
    // ,"key": before a value (no comma at the start of an object)
    Json &key(std::string_view k)
    {
        if (!first_)
            out_ += ',';
        first_ = false;
        out_ += json_string(k);
        out_ += ':';
        return *this;
    }
    Json &str(std::string_view k, std::string_view v)
    {
        key(k);
        out_ += json_string(v);
        return *this;
    }
    Json &num(std::string_view k, long long v)
    {
        key(k);
        out_ += std::to_string(v);
        return *this;
    }
    Json &unum(std::string_view k, unsigned long long v)
    {
        key(k);
        out_ += std::to_string(v);
        return *this;
    }
    Json &fig(std::string_view k, double v)
    {
        key(k);
        out_ += json_figure(v);
        return *this;
    }
    // "k":[...] of one field of each point
    template <class Point, class Field>
    Json &figs(std::string_view k, const std::vector<Point> &points, Field field)
    {
        key(k);
        out_ += '[';
        for (size_t i = 0; i < points.size(); i++) {
            if (i)
                out_ += ',';
            out_ += json_figure(double(points[i].*field));
        }
        out_ += ']';
        first_ = false;
        return *this;
    }
    Json &open(char c)
    {
        out_ += c;
        first_ = true;
        return *this;
    }
    Json &close(char c)
    {
        out_ += c;
        first_ = false;
        return *this;
    }
    Json &next_element()  // between array elements
    {
        if (!first_)
            out_ += ',';
        first_ = true;
        return *this;
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
    bool first_ = true;
};

std::string site_name(const StatusSnapshot &s, int site)
{
    return site >= 0 && size_t(site) < s.sites.size() ? s.sites[size_t(site)].name : "?";
}

// Bytes of the page, split where the script starts (only for readability).
const char *const page_head = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SoFW HRAS status</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.3em; margin-bottom: .2em; }
h2 { font-size: 1.05em; margin: 1.2em 0 .3em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: .15em .5em; text-align: left; white-space: nowrap; }
th { background: #eee; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.up { color: #070; font-weight: 600; }
td.down { color: #b00; font-weight: 600; }
td.none { color: #888; font-style: italic; }
#error { color: #b00; }
td.q { white-space: pre; }
td.chart { line-height: 1; }
td.chart div { display: flex; align-items: center; gap: .3em; }
td.chart span { width: 2.6em; font-size: .8em; color: #555; }
svg.spark { background: #f6f6f6; border: 1px solid #ddd; margin: 1px 0; }
</style>
</head>
<body>
<h1>SoFW HRAS status</h1>
<p>Data of <span id="updated">(loading)</span>, refreshed every second. <span id="error"></span></p>
<h2>Sites</h2>
<table id="sites"><thead><tr><th>site</th><th>domain</th><th>tunnel</th><th>mode</th><th>lanes</th><th>HRAC</th><th>connected from</th><th>since</th><th>phones</th></tr></thead><tbody></tbody></table>
<h2>Phones</h2>
<table id="phones"><thead><tr><th>site</th><th>LAN address</th><th>loopback endpoint</th><th>idle s</th></tr></thead><tbody></tbody></table>
<h2>Calls</h2>
<p>Media quality of the RTP HRAS relays: <em>up</em> (phone to far side) as it comes out of the tunnel, <em>down</em> (far side to phone) as it goes in. Late: behind the schedule of the packet's timestamp by more than 60 or 150 ms. Charts: the last 60 s, a point a second; red the loss of that second (full height 1 % or the highest), blue the jitter (full height 10 ms or the highest).</p>
<table id="calls"><thead><tr><th>site</th><th>from</th><th>to</th><th>media</th><th>last 60 s</th><th>quality up</th><th>quality down</th><th>packets up</th><th>packets down</th><th>HRAS port</th><th>HRAC port</th><th>phone (internal)</th><th>far side (external)</th><th>LAN bypass</th><th>age s</th><th>idle s</th><th>Call-ID</th></tr></thead><tbody></tbody></table>
<template id="spark"><svg class="spark" viewBox="0 0 120 24" width="120" height="24" preserveAspectRatio="none"><title></title><polyline class="loss" fill="none" stroke="#c00" stroke-width="1.5" points=""></polyline><polyline class="jitter" fill="none" stroke="#06c" stroke-width="1.5" points=""></polyline></svg></template>
<h2>Counters</h2>
<table id="counters"><thead><tr><th>counter</th><th>value</th></tr></thead><tbody></tbody></table>
)HTML";

// The script renders with textContent only: whatever the JSON holds is
// shown as text, never parsed as markup. Class names come from a fixed list.
const char *const page_script = R"JS(<script>
"use strict";
// The page URL may carry user:password@; a fetch URL must not.
const source = new URL("status.json", location.origin + location.pathname).href;
const when = (t) => t ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "";
const yes = (v) => v ? "yes" : "no";
// Numbers from the JSON are used only as numbers: anything else counts as 0.
const num = (v) => {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : 0;
};
const quality = (c, way) => "loss " + num(c["loss_" + way]) + " %, jitter " + num(c["jitter_" + way]) +
  " ms\nlate >60 ms " + num(c["late60_" + way]) + " %, >150 ms " + num(c["late150_" + way]) + " %";
// One sparkline: x a point a second, the newest at the right; y from 0 at
// the bottom to the scale at the top.
const seconds = 60;
function line(values, scale) {
  const first = seconds - values.length;
  return values.map((v, i) => ((first + i) * 2 + 1) + "," + (23 - Math.min(v / scale, 1) * 22).toFixed(1)).join(" ");
}
function spark(h, way) {
  const series = (a) => Array.isArray(a) ? a.slice(-seconds).map(num) : [];
  const loss = series(h && h.loss), jitter = series(h && h.jitter);
  const lossScale = Math.max(1, ...loss), jitterScale = Math.max(10, ...jitter);
  const svg = document.getElementById("spark").content.firstElementChild.cloneNode(true);
  svg.querySelector(".loss").setAttribute("points", line(loss, lossScale));
  svg.querySelector(".jitter").setAttribute("points", line(jitter, jitterScale));
  svg.querySelector("title").textContent = way + ", last " + loss.length + " s: loss up to " +
    Math.max(0, ...loss) + " %, jitter up to " + Math.max(0, ...jitter) + " ms";
  return svg;
}
function chart(c) {
  const box = document.createDocumentFragment();
  for (const way of ["up", "down"]) {
    const div = document.createElement("div");
    const label = document.createElement("span");
    label.textContent = way;
    div.append(label, spark(c.history && c.history[way], way));
    box.appendChild(div);
  }
  return box;
}
const cols = {
  sites: [["name"], ["domain"], [(s) => s.state, (s) => s.state === "up" ? "up" : "down"], ["mode"],
          [(s) => s.lanes || "", "n"], ["hrac"], ["peer"], [(s) => when(s.since)], ["phones", "n"]],
  phones: [["site"], ["lan"], ["endpoint"], ["idle", "n"]],
  calls: [["site"], ["from"], ["to"], [(c) => c.media + " #" + c.stream], [null, "chart", chart],
          [(c) => quality(c, "up"), "q"], [(c) => quality(c, "down"), "q"], ["packets_up", "n"], ["packets_down", "n"],
          ["hras_port", "n"], ["hrac_port", "n"], ["internal"], [(c) => c.external + (c.latched ? " (latched)" : "")],
          [(c) => yes(c.bypass)], ["age", "n"], ["idle", "n"], ["call_id"]],
  counters: [["name"], ["value", "n"]],
};
function cellClass(col, row) {
  const c = typeof col[1] === "function" ? col[1](row) : col[1];
  return ["n", "up", "down", "q", "chart"].includes(c) ? c : "";
}
function fill(id, rows) {
  const spec = cols[id];
  const trs = rows.map((row) => {
    const tr = document.createElement("tr");
    for (const col of spec) {
      const td = document.createElement("td");
      if (typeof col[2] === "function") {  // a cell made of elements (the charts)
        td.appendChild(col[2](row));
      } else {
        const v = typeof col[0] === "function" ? col[0](row) : row[col[0]];
        td.textContent = v === undefined || v === null ? "" : String(v);
      }
      const cls = cellClass(col, row);
      if (cls)
        td.className = cls;
      tr.appendChild(td);
    }
    return tr;
  });
  if (!trs.length) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = spec.length;
    td.className = "none";
    td.textContent = "none";
    tr.appendChild(td);
    trs.push(tr);
  }
  document.querySelector("#" + id + " tbody").replaceChildren(...trs);
}
function render(d) {
  document.getElementById("updated").textContent = when(d.now);
  fill("sites", d.sites);
  fill("phones", d.phones);
  fill("calls", d.calls);
  fill("counters", Object.entries(d.counters).map(([name, value]) => ({name, value})));
}
async function refresh() {
  try {
    const r = await fetch(source, {cache: "no-store", credentials: "same-origin"});
    if (!r.ok)
      throw new Error("HTTP " + r.status);
    render(await r.json());
    document.getElementById("error").textContent = "";
  } catch (e) {
    document.getElementById("error").textContent = "update failed: " + e.message;
  } finally {
    setTimeout(refresh, 1000);
  }
}
refresh();
</script>
</body>
</html>
)JS";

const char *const status_path = "/sofw/status";
const char *const json_path = "/sofw/status.json";

void no_cache(HttpAnswer &a)
{
    a.headers.emplace_back("Cache-Control", "no-store");
    a.headers.emplace_back("X-Content-Type-Options", "nosniff");
    a.headers.emplace_back("Referrer-Policy", "no-referrer");
}

HttpAnswer text_answer(unsigned status, const std::string &text)
{
    HttpAnswer a;
    a.status = status;
    a.content_type = "text/plain; charset=utf-8";
    a.body = text + "\n";
    no_cache(a);
    return a;
}

}  // namespace

std::string json_string(std::string_view s)
{
    static const char hex[] = "0123456789abcdef";
    std::string o;
    o.reserve(s.size() + 2);
    o += '"';
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            switch (c) {
            case '"': o += "\\\""; break;
            case '\\': o += "\\\\"; break;
            case '\n': o += "\\n"; break;
            case '\r': o += "\\r"; break;
            case '\t': o += "\\t"; break;
            case '\b': o += "\\b"; break;
            case '\f': o += "\\f"; break;
            default:
                // < > & too: the JSON stays inert even if something ever
                // puts it into markup.
                if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&') {
                    o += "\\u00";
                    o += hex[c >> 4];
                    o += hex[c & 15];
                } else {
                    o += char(c);
                }
            }
            i++;
            continue;
        }
        size_t n = utf8_seq(s, i);
        if (n == 0) {
            o += "\\ufffd";
            i++;
        } else if (n == 3 && c == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                   (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8) {
            o += static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
            i += 3;
        } else {
            o.append(s.substr(i, n));
            i += n;
        }
    }
    o += '"';
    return o;
}

std::string json_figure(double v)
{
    if (!std::isfinite(v) || v <= 0)
        return "0";
    const long long hundredths = std::llround(std::min(v, 1e9) * 100.0);
    std::string out = std::to_string(hundredths / 100);
    if (const long long frac = hundredths % 100) {
        out += '.';
        out += char('0' + frac / 10);
        if (frac % 10)
            out += char('0' + frac % 10);
    }
    return out;
}

std::string status_json(const StatusSnapshot &s)
{
    Json j;
    j.open('{').num("now", s.now);
    j.key("sites").open('[');
    for (auto &site : s.sites) {
        j.next_element().open('{');
        j.str("name", site.name).str("domain", site.domain).str("addr", site.addr);
        j.str("state", site.state.up ? "up" : "down").str("mode", field(site.state.mode));
        j.num("lanes", site.state.lanes);
        j.str("session", field(site.state.session)).str("hrac", field(site.state.hrac_lan));
        j.str("peer", field(site.state.peer)).num("since", site.state.since);
        j.unum("phones", site.state.phones);
        j.close('}');
    }
    j.close(']');
    j.key("phones").open('[');
    for (auto &p : s.phones) {
        j.next_element().open('{');
        j.str("site", site_name(s, p.site)).str("lan", field(p.lan)).str("endpoint", field(p.endpoint));
        j.num("idle", p.idle);
        j.close('}');
    }
    j.close(']');
    j.key("calls").open('[');
    for (auto &c : s.calls) {
        j.next_element().open('{');
        j.str("site", site_name(s, c.site)).str("call_id", field(c.call_id));
        j.str("from", field(c.from)).str("to", field(c.to));
        j.str("media", field(c.media)).num("stream", c.stream);
        j.str("internal", field(c.internal)).str("external", field(c.external));
        j.num("hras_port", c.hras_port).num("hrac_port", c.hrac_port);
        j.num("bypass", c.bypass ? 1 : 0).num("latched", c.latched ? 1 : 0);
        j.unum("packets_up", c.packets_up).unum("packets_down", c.packets_down);
        j.num("age", c.age).num("idle", c.idle);
        j.fig("loss_up", c.loss_up).fig("loss_down", c.loss_down);
        j.fig("jitter_up", c.jitter_up).fig("jitter_down", c.jitter_down);
        j.fig("late60_up", c.late60_up).fig("late60_down", c.late60_down);
        j.fig("late150_up", c.late150_up).fig("late150_down", c.late150_down);
        // the chart: the last minute, one point a second, oldest first
        const size_t i = size_t(&c - s.calls.data());
        const RtpQualityHistory none;
        const RtpQualityHistory &h = i < s.call_history.size() ? s.call_history[i] : none;
        j.key("history").open('{');
        for (auto [name, points] : {std::pair{"up", &h.up}, std::pair{"down", &h.down}}) {
            j.key(name).open('{');
            j.figs("loss", *points, &RtpQuality::Point::loss_percent);
            j.figs("jitter", *points, &RtpQuality::Point::jitter_ms);
            j.close('}');
        }
        j.close('}');
        j.close('}');
    }
    j.close(']');
    j.key("counters").open('{');
    for (auto &kv : s.counters)
        j.unum(kv.first, kv.second);
    j.close('}');
    j.close('}');
    return j.take();
}

const std::string &status_html()
{
    static const std::string page = std::string(page_head) + page_script;
    return page;
}

bool base64_decode(std::string_view in, std::string &out)
{
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z')
            return c - 'A';
        if (c >= 'a' && c <= 'z')
            return c - 'a' + 26;
        if (c >= '0' && c <= '9')
            return c - '0' + 52;
        if (c == '+')
            return 62;
        if (c == '/')
            return 63;
        return -1;
    };
    out.clear();
    if (in.size() % 4 != 0)
        return false;
    for (size_t i = 0; i < in.size(); i += 4) {
        bool last = i + 4 == in.size();
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char c = in[i + size_t(k)];
            if (c == '=' && last && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad)  // data after padding
                return false;
            v[k] = val(c);
            if (v[k] < 0)
                return false;
        }
        uint32_t n = uint32_t(v[0]) << 18 | uint32_t(v[1]) << 12 | uint32_t(v[2]) << 6 | uint32_t(v[3]);
        out += char(n >> 16);
        if (pad < 2)
            out += char((n >> 8) & 0xff);
        if (pad < 1)
            out += char(n & 0xff);
    }
    return true;
}

std::string check_status_credentials(const std::string &user, const std::string &password)
{
    if (user.empty() && password.empty())
        return "";
    if (user.empty() || password.empty())
        return "status_user and status_password must be set together";
    for (char c : user)
        if (c == ':' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            return "status_user must not contain ':' or control characters";
    for (char c : password)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            return "status_password must not contain control characters";
    if (password.size() < 8)
        return "status_password must have at least 8 characters";
    return "";
}

BasicAuth::BasicAuth(const std::string &user, const std::string &password)
{
    if (!check_status_credentials(user, password).empty() || user.empty())
        return;
    enabled_ = true;
    key_ = random_hex(32);
    expected_ = hmac_sha256_hex(key_, user + ":" + password);
}

bool BasicAuth::check(std::string_view authorization) const
{
    if (!enabled_)
        return false;
    // "Basic" 1*SP token68, the scheme case-insensitive (RFC 7617)
    size_t sp = authorization.find(' ');
    if (sp == std::string_view::npos || !iequals(authorization.substr(0, sp), "Basic"))
        return false;
    std::string_view token = authorization.substr(sp);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
        token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
        token.remove_suffix(1);
    std::string presented;
    if (token.empty() || !base64_decode(token, presented))
        return false;
    return constant_time_equal(hmac_sha256_hex(key_, presented), expected_);
}

StatusPage::StatusPage(const std::string &user, const std::string &password, SnapshotFn snapshot)
    : auth_(user, password), snapshot_(std::move(snapshot))
{}

bool StatusPage::is_status_path(std::string_view path) { return path == status_path || path == json_path; }

HttpAnswer StatusPage::answer(std::string_view method, std::string_view path, std::string_view authorization) const
{
    if (!auth_.check(authorization)) {
        HttpAnswer a = text_answer(401, "authentication required");
        a.headers.emplace_back("WWW-Authenticate", "Basic realm=\"SoFW HRAS status\", charset=\"UTF-8\"");
        return a;
    }
    if (method != "GET" && method != "HEAD") {
        HttpAnswer a = text_answer(405, "method not allowed");
        a.headers.emplace_back("Allow", "GET, HEAD");
        return a;
    }
    HttpAnswer a;
    no_cache(a);
    if (path == json_path) {
        a.content_type = "application/json";
        a.body = status_json(snapshot_ ? snapshot_() : StatusSnapshot{});
    } else {
        a.content_type = "text/html; charset=utf-8";
        a.body = status_html();
        a.headers.emplace_back("Content-Security-Policy",
                               "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
        a.headers.emplace_back("X-Frame-Options", "DENY");
    }
    return a;
}

}  // namespace sofw::hras
