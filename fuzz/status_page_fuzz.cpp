// The status page's request handling: a method, a path and an
// Authorization header value from the input go to StatusPage::answer
// (HTTP Basic against admin / the configured password, then the page or
// status.json); the snapshot it renders carries text from the input too,
// as site names, phone addresses, From and To of calls come from outside.
// status.json must always be valid UTF-8 with no raw control character and
// no '<' (it may end up in a page), and the calls' quality figures and
// chart series plain non-negative numbers whatever bits the rows held; the
// right credentials must be accepted, and anything else refused with 401.
#include "core/status_page.hpp"
#include "fuzz_check.hpp"

#include <cstring>
#include <functional>
#include <string>

using namespace sofw::hras;

namespace {

const std::string user = "admin";
const std::string password = "status-secret";
const std::string good_auth = "Basic YWRtaW46c3RhdHVzLXNlY3JldA==";  // admin:status-secret

bool valid_utf8(const std::string &s)
{
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;
        if (n == 9 || i + n >= s.size())
            return false;
        for (size_t k = 1; k <= n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2)
                return false;
        i += n + 1;
    }
    return true;
}

void copy(char *dst, size_t cap, const std::string &s)
{
    std::strncpy(dst, s.c_str(), cap - 1);
    dst[cap - 1] = '\0';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzedDataProvider in(data, size);
    const std::string method = in.ConsumeRandomLengthString(8);
    const std::string path = in.ConsumeRandomLengthString(40);
    const std::string authorization = in.ConsumeRandomLengthString(200);

    static StatusSnapshot snap;
    snap = StatusSnapshot{};
    snap.now = in.ConsumeIntegral<long>();
    for (int i = in.ConsumeIntegralInRange(0, 3); i > 0; --i) {
        StatusSnapshot::SiteView v;
        v.name = in.ConsumeRandomLengthString(40);
        v.domain = in.ConsumeRandomLengthString(40);
        v.addr = in.ConsumeRandomLengthString(20);
        v.state.up = in.ConsumeBool();
        copy(v.state.mode, sizeof v.state.mode, in.ConsumeRandomLengthString(8));
        copy(v.state.session, sizeof v.state.session, in.ConsumeRandomLengthString(40));
        copy(v.state.hrac_lan, sizeof v.state.hrac_lan, in.ConsumeRandomLengthString(64));
        copy(v.state.peer, sizeof v.state.peer, in.ConsumeRandomLengthString(64));
        v.state.since = in.ConsumeIntegral<long>();
        v.state.phones = in.ConsumeIntegral<unsigned long>();
        snap.sites.push_back(v);
    }
    for (int i = in.ConsumeIntegralInRange(0, 3); i > 0; --i) {
        hras_phone_row p{};
        p.site = in.ConsumeIntegral<int>();
        copy(p.lan, sizeof p.lan, in.ConsumeRandomLengthString(64));
        copy(p.endpoint, sizeof p.endpoint, in.ConsumeRandomLengthString(64));
        p.idle = in.ConsumeIntegral<long>();
        snap.phones.push_back(p);
    }
    for (int i = in.ConsumeIntegralInRange(0, 3); i > 0; --i) {
        hras_rat_row r{};
        r.site = in.ConsumeIntegral<int>();
        copy(r.call_id, sizeof r.call_id, in.ConsumeRandomLengthString(128));
        copy(r.from, sizeof r.from, in.ConsumeRandomLengthString(128));
        copy(r.to, sizeof r.to, in.ConsumeRandomLengthString(128));
        copy(r.media, sizeof r.media, in.ConsumeRandomLengthString(16));
        copy(r.internal, sizeof r.internal, in.ConsumeRandomLengthString(64));
        copy(r.external, sizeof r.external, in.ConsumeRandomLengthString(64));
        r.stream = in.ConsumeIntegral<int>();
        r.hras_port = in.ConsumeIntegral<int>();
        r.hrac_port = in.ConsumeIntegral<int>();
        r.packets_up = in.ConsumeIntegral<unsigned long>();
        r.age = in.ConsumeIntegral<long>();
        // quality figures and their history: any bit pattern (NaN, infinities)
        for (double *v : {&r.loss_up, &r.loss_down, &r.jitter_up, &r.jitter_down, &r.late60_up, &r.late60_down,
                          &r.late150_up, &r.late150_down}) {
            const uint64_t bits = in.ConsumeIntegral<uint64_t>();
            std::memcpy(v, &bits, sizeof *v);
        }
        snap.calls.push_back(r);
        RtpQualityHistory h;
        for (int k = in.ConsumeIntegralInRange(0, 70); k > 0; --k) {
            RtpQuality::Point p;
            const uint32_t a = in.ConsumeIntegral<uint32_t>(), b = in.ConsumeIntegral<uint32_t>();
            std::memcpy(&p.loss_percent, &a, sizeof a);
            std::memcpy(&p.jitter_ms, &b, sizeof b);
            (k & 1 ? h.up : h.down).push_back(p);
        }
        if (in.ConsumeBool())  // a snapshot may have rows without history
            snap.call_history.push_back(h);
    }
    snap.counters.emplace_back(in.ConsumeRandomLengthString(30), in.ConsumeIntegral<uint64_t>());
    const std::string rest = in.ConsumeRemainingBytesAsString();

    static const StatusPage page(user, password, [] { return snap; });
    FUZZ_CHECK(page.enabled());
    const HttpAnswer a = page.answer(method, path, authorization);
    const bool get = method == "GET" || method == "HEAD";
    if (a.status == 200)
        FUZZ_CHECK(get);
    FUZZ_CHECK(a.status == 200 || a.status == 401 || a.status == 405);
    if (authorization == good_auth)
        FUZZ_CHECK(a.status != 401);

    const HttpAnswer ok = page.answer("GET", "/sofw/status.json", good_auth);
    FUZZ_CHECK(ok.status == 200);
    FUZZ_CHECK(valid_utf8(ok.body));
    for (char c : ok.body)
        FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != '<');
    // Figures are plain non-negative numbers, whatever the rows held. (A
    // key's quotes cannot come from a value, where they are escaped; a
    // counter's name is a key, but its value a number too.)
    for (const char *k : {"\"loss_up\":", "\"loss_down\":", "\"jitter_up\":", "\"jitter_down\":",
                          "\"late60_up\":", "\"late60_down\":", "\"late150_up\":", "\"late150_down\":"}) {
        size_t n = 0;
        for (size_t at = ok.body.find(k); at != std::string::npos; at = ok.body.find(k, at + 1), n++) {
            const char c = ok.body[at + std::strlen(k)];
            FUZZ_CHECK(c >= '0' && c <= '9');
        }
        FUZZ_CHECK(n >= snap.calls.size());
    }
    for (const char *k : {"\"loss\":[", "\"jitter\":["})
        for (size_t at = ok.body.find(k); at != std::string::npos; at = ok.body.find(k, at + 1))
            for (size_t i = at + std::strlen(k); ok.body[i] != ']'; i++)
                FUZZ_CHECK((ok.body[i] >= '0' && ok.body[i] <= '9') || ok.body[i] == '.' || ok.body[i] == ',');

    const std::string j = json_string(rest);
    FUZZ_CHECK(valid_utf8(j) && j.size() >= 2 && j.front() == '"' && j.back() == '"');
    std::string decoded;
    (void)base64_decode(rest, decoded);
    (void)check_status_credentials(rest, authorization);

    double d;
    const uint64_t bits = std::hash<std::string>{}(rest);
    std::memcpy(&d, &bits, sizeof d);
    for (double v : {d, -d, d * 1e300, double(snap.now)}) {
        const std::string f = json_figure(v);
        FUZZ_CHECK(!f.empty() && f.size() <= 13);
        for (char c : f)
            FUZZ_CHECK((c >= '0' && c <= '9') || c == '.');
    }
    return 0;
}
