#include "sip_translate.hpp"

#include "sofw/text.hpp"

#include <algorithm>
#include <functional>
#include <vector>

namespace sofw::hras {
namespace {

bool is_lws(char c) { return c == ' ' || c == '\t'; }

// Splits a header value at commas that are outside quotes and <...>.
std::vector<std::string> split_elements(std::string_view v)
{
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    int angle = 0;
    for (char c : v) {
        if (c == '"')
            quoted = !quoted;
        else if (!quoted && c == '<')
            angle++;
        else if (!quoted && c == '>' && angle > 0)
            angle--;
        if (c == ',' && !quoted && angle == 0) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

std::string join_elements(const std::vector<std::string> &els)
{
    std::string r;
    for (size_t i = 0; i < els.size(); i++)
        r += (i ? "," : "") + els[i];
    return r;
}

// Locates the host[:port] of a SIP URI ("sip:user@host:port;params").
bool uri_hostport_span(std::string_view uri, size_t &start, size_t &len)
{
    auto colon = uri.find(':');
    if (colon == std::string_view::npos)
        return false;
    std::string scheme = lower(uri.substr(0, colon));
    if (scheme != "sip" && scheme != "sips")
        return false;
    size_t p = colon + 1;
    size_t end_user = uri.find_first_of(";?>", p);
    size_t at = uri.find('@', p);
    if (at != std::string_view::npos && (end_user == std::string_view::npos || at < end_user))
        p = at + 1;
    size_t e = p;
    if (e < uri.size() && uri[e] == '[') {
        e = uri.find(']', e);
        if (e == std::string_view::npos)
            return false;
        e++;
    }
    e = uri.find_first_of(";?>", e);
    if (e == std::string_view::npos)
        e = uri.size();
    start = p;
    len = e - p;
    return len > 0;
}

// Rewrites every <URI> in a Route/Record-Route value whose host:port is `from`.
std::string rewrite_route_value(std::string_view value, const HostPort &from, const HostPort &to)
{
    std::string out(value);
    size_t pos = 0;
    while ((pos = out.find('<', pos)) != std::string::npos) {
        size_t close = out.find('>', pos);
        if (close == std::string::npos)
            break;
        std::string_view uri(out.data() + pos + 1, close - pos - 1);
        size_t s, l;
        if (uri_hostport_span(uri, s, l)) {
            auto hp = HostPort::parse(std::string(uri.substr(s, l)));
            if (hp && hp->matches(from)) {
                std::string repl = to.to_string();
                out.replace(pos + 1 + s, l, repl);
                close = close - l + repl.size();
            }
        }
        pos = close + 1;
    }
    return out;
}

// One Via element: " SIP/2.0/UDP host:port;param=value;..."
struct ViaElement {
    std::string prefix;  // up to and including the whitespace before sent-by
    std::string sent_by;
    std::vector<std::pair<std::string, std::string>> params;  // name (as written), value
    std::vector<bool> has_value;
    std::string suffix;  // trailing whitespace

    static std::optional<ViaElement> parse(const std::string &el);
    std::string str() const;
    std::string *param(const char *name);
};

std::optional<ViaElement> ViaElement::parse(const std::string &el)
{
    ViaElement v;
    size_t p = 0, slashes = 0;
    while (p < el.size() && slashes < 2) {
        if (el[p] == '/')
            slashes++;
        p++;
    }
    // transport token, then LWS
    while (p < el.size() && is_lws(el[p]))
        p++;
    while (p < el.size() && !is_lws(el[p]) && el[p] != ';')
        p++;
    while (p < el.size() && is_lws(el[p]))
        p++;
    if (slashes < 2 || p >= el.size())
        return std::nullopt;
    v.prefix = el.substr(0, p);
    size_t e = p;
    if (el[e] == '[')
        e = el.find(']', e);
    if (e == std::string::npos)
        return std::nullopt;
    e = el.find_first_of("; \t", e);
    if (e == std::string::npos)
        e = el.size();
    v.sent_by = el.substr(p, e - p);
    // params: split at ';'
    size_t end = el.size();
    while (end > e && is_lws(el[end - 1]))
        end--;
    v.suffix = el.substr(end);
    std::string rest = el.substr(e, end - e);
    size_t q = 0;
    while ((q = rest.find(';', q)) != std::string::npos) {
        size_t n = rest.find(';', q + 1);
        std::string item = rest.substr(q + 1, n == std::string::npos ? std::string::npos : n - q - 1);
        auto eq = item.find('=');
        v.params.emplace_back(item.substr(0, eq), eq == std::string::npos ? "" : item.substr(eq + 1));
        v.has_value.push_back(eq != std::string::npos);
        q = n == std::string::npos ? rest.size() : n;
    }
    if (!rest.empty() && rest.find_first_not_of(" \t") != std::string::npos &&
        rest[rest.find_first_not_of(" \t")] != ';')
        return std::nullopt;
    return v;
}

std::string ViaElement::str() const
{
    std::string r = prefix + sent_by;
    for (size_t i = 0; i < params.size(); i++)
        r += ";" + params[i].first + (has_value[i] ? "=" + params[i].second : "");
    return r + suffix;
}

std::string *ViaElement::param(const char *name)
{
    for (size_t i = 0; i < params.size(); i++) {
        std::string n = params[i].first;
        n.erase(std::remove_if(n.begin(), n.end(), is_lws), n.end());
        if (lower(n) == name && has_value[i])
            return &params[i].second;
    }
    return nullptr;
}

using ViaRewrite = std::function<void(ViaElement &)>;

std::string rewrite_via_value(std::string_view value, const ViaRewrite &fn)
{
    auto els = split_elements(value);
    for (auto &el : els) {
        auto v = ViaElement::parse(el);
        if (!v)
            continue;  // leave what we cannot read as it was
        fn(*v);
        el = v->str();
    }
    return join_elements(els);
}

struct HeaderRewriters {
    ViaRewrite via;
    HostPort route_from, route_to;
};

// Rewrites the Via, Route and Record-Route values of the message in place;
// a value that comes out the same is left as it came (folding included).
void rewrite_message(SipMessage &m, const HeaderRewriters &rw)
{
    for (size_t i = 0; i < m.headers().size(); i++) {
        const std::string &name = m.headers()[i].name;
        bool is_via = name == "via";
        if (!is_via && name != "route" && name != "record-route")
            continue;
        std::string value = m.value(i);
        std::string nv =
            is_via ? rewrite_via_value(value, rw.via) : rewrite_route_value(value, rw.route_from, rw.route_to);
        if (nv != value)
            m.set_value(i, std::move(nv));
    }
}

HeaderRewriters down_rewriters(const DownTranslation &t)
{
    HeaderRewriters rw;
    rw.route_from = t.kamailio;
    rw.route_to = t.hrac;
    rw.via = [&t](ViaElement &v) {
        auto hp = HostPort::parse(v.sent_by);
        if (hp && hp->matches(t.kamailio))
            v.sent_by = t.hrac.to_string();
        // The phone's own Via: Kamailio saw the loopback endpoint as source.
        std::string *received = v.param("received");
        if (received && *received == t.phone_loop.host) {
            *received = t.phone_real.host;
            std::string *rport = v.param("rport");
            if (rport && *rport == std::to_string(t.phone_loop.effective_port()))
                *rport = std::to_string(t.phone_real.effective_port());
        }
    };
    return rw;
}

HeaderRewriters up_rewriters(const UpTranslation &t)
{
    HeaderRewriters rw;
    rw.route_from = t.hrac;
    rw.route_to = t.kamailio;
    rw.via = [&t](ViaElement &v) {
        auto hp = HostPort::parse(v.sent_by);
        if (hp && hp->matches(t.hrac))
            v.sent_by = t.kamailio.to_string();
    };
    return rw;
}

std::optional<std::string> translate_text(std::string_view msg, const HeaderRewriters &rw)
{
    if (sip_is_keepalive(msg))
        return std::string(msg);
    auto m = SipMessage::parse(std::string(msg));
    if (!m)
        return std::nullopt;
    rewrite_message(*m, rw);
    return m->str();
}

}  // namespace

void translate_down(SipMessage &msg, const DownTranslation &t) { rewrite_message(msg, down_rewriters(t)); }

void translate_up(SipMessage &msg, const UpTranslation &t) { rewrite_message(msg, up_rewriters(t)); }

std::optional<std::string> translate_down(std::string_view msg, const DownTranslation &t)
{
    return translate_text(msg, down_rewriters(t));
}

std::optional<std::string> translate_up(std::string_view msg, const UpTranslation &t)
{
    return translate_text(msg, up_rewriters(t));
}

}  // namespace sofw::hras
