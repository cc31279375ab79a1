// The HRAS status page for admins, served by the tunnel server (the relay
// process has the live data): GET /sofw/status is a small self-contained
// HTML page whose script fetches GET /sofw/status.json every second and
// renders it (sites and their tunnels, phones, calls = RAT rows with their
// media quality and a chart of its last minute, counters).
// Both need HTTP Basic credentials (modparams status_user and
// status_password), checked in constant time; without them configured the
// paths do not exist. Nothing here touches sockets: the server hands in the
// request and sends back the answer.
#pragma once
#include "../hras.h"
#include "rtp_quality.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sofw::hras {

// What the page shows, collected by the relay process per request.
struct StatusSnapshot {
    struct SiteView {
        std::string name, domain, addr;
        hras_site_state state{};
    };
    long now = 0;  // unix time
    std::vector<SiteView> sites;
    std::vector<hras_phone_row> phones;
    std::vector<hras_rat_row> calls;
    // calls[i]'s quality over the last minute, one point a second, where
    // the snapshot has it (the relay process); else none.
    std::vector<RtpQualityHistory> call_history;
    std::vector<std::pair<std::string, uint64_t>> counters;  // in display order
};

// s as a JSON string literal (quotes included). Control characters, quote,
// backslash, <, >, & and the JS line separators are escaped; bytes that are
// not valid UTF-8 become U+FFFD, so the result is always valid UTF-8 JSON.
std::string json_string(std::string_view s);
// v as a JSON number with at most two decimals ("0", "12.5", "0.04");
// anything not finite or below 0 is 0, anything above 1e9 is 1e9.
std::string json_figure(double v);
std::string status_json(const StatusSnapshot &s);
// The page itself: static, no external resources, renders only through
// textContent (never as markup).
const std::string &status_html();

// HTTP Basic authentication against one configured user. The comparison
// runs over HMACs (under a random per-process key) of the presented and the
// configured "user:password", so neither their content nor their length
// shows in its timing.
class BasicAuth {
public:
    BasicAuth(const std::string &user, const std::string &password);
    bool enabled() const { return enabled_; }
    // authorization: the Authorization header's value ("" when absent).
    bool check(std::string_view authorization) const;

private:
    bool enabled_ = false;
    std::string key_;
    std::string expected_;  // HMAC of "user:password"
};

// "" if the pair is usable (both empty = page off), else why not.
std::string check_status_credentials(const std::string &user, const std::string &password);
// Strict base64 (RFC 4648, padding required); false on anything else.
bool base64_decode(std::string_view in, std::string &out);

struct HttpAnswer {
    unsigned status = 200;
    std::string content_type;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

class StatusPage {
public:
    using SnapshotFn = std::function<StatusSnapshot()>;
    StatusPage(const std::string &user, const std::string &password, SnapshotFn snapshot);

    bool enabled() const { return auth_.enabled(); }
    static bool is_status_path(std::string_view path);
    // The answer to method + path (one of is_status_path) with the given
    // Authorization header.
    HttpAnswer answer(std::string_view method, std::string_view path, std::string_view authorization) const;

private:
    BasicAuth auth_;
    SnapshotFn snapshot_;
};

}  // namespace sofw::hras
