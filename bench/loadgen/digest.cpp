#include "digest.hpp"

#include <nettle/md5.h>

#include <cctype>
#include <cstdio>

namespace loadgen {
namespace {

// key=value or key="value" items of a challenge, one at a time.
bool next_param(const std::string &s, size_t &p, std::string &key, std::string &val)
{
    while (p < s.size() && (s[p] == ',' || isspace(static_cast<unsigned char>(s[p]))))
        p++;
    size_t k = p;
    while (p < s.size() && s[p] != '=' && s[p] != ',')
        p++;
    if (p >= s.size() || s[p] != '=')
        return false;
    key.clear();
    for (size_t i = k; i < p; i++)
        if (!isspace(static_cast<unsigned char>(s[i])))
            key += char(tolower(static_cast<unsigned char>(s[i])));
    p++;
    val.clear();
    if (p < s.size() && s[p] == '"') {
        p++;
        while (p < s.size() && s[p] != '"') {
            if (s[p] == '\\' && p + 1 < s.size())
                p++;
            val += s[p++];
        }
        if (p >= s.size())
            return false;  // unterminated quote
        p++;
    } else {
        while (p < s.size() && s[p] != ',')
            val += s[p++];
        while (!val.empty() && isspace(static_cast<unsigned char>(val.back())))
            val.pop_back();
    }
    return true;
}

}  // namespace

std::string md5_hex(const std::string &s)
{
    md5_ctx ctx;
    uint8_t d[MD5_DIGEST_SIZE];
    md5_init(&ctx);
    md5_update(&ctx, s.size(), reinterpret_cast<const uint8_t *>(s.data()));
    md5_digest(&ctx, sizeof d, d);
    std::string out;
    char hex[3];
    for (uint8_t b : d) {
        snprintf(hex, sizeof hex, "%02x", b);
        out += hex;
    }
    return out;
}

std::optional<Challenge> parse_challenge(const std::string &value)
{
    size_t p = 0;
    while (p < value.size() && isspace(static_cast<unsigned char>(value[p])))
        p++;
    if (value.size() < p + 7)
        return std::nullopt;
    std::string scheme;
    for (size_t i = p; i < p + 6; i++)
        scheme += char(tolower(static_cast<unsigned char>(value[i])));
    if (scheme != "digest" || !isspace(static_cast<unsigned char>(value[p + 6])))
        return std::nullopt;
    p += 7;
    Challenge ch;
    std::string k, v;
    while (next_param(value, p, k, v)) {
        if (k == "realm")
            ch.realm = v;
        else if (k == "nonce")
            ch.nonce = v;
        else if (k == "opaque")
            ch.opaque = v;
        else if (k == "algorithm")
            ch.algorithm = v;
        else if (k == "qop") {
            // a list: "auth,auth-int"
            size_t q = 0;
            while (q <= v.size()) {
                size_t c = v.find(',', q);
                std::string item = v.substr(q, c == std::string::npos ? std::string::npos : c - q);
                while (!item.empty() && isspace(static_cast<unsigned char>(item.front())))
                    item.erase(0, 1);
                while (!item.empty() && isspace(static_cast<unsigned char>(item.back())))
                    item.pop_back();
                if (item == "auth")
                    ch.qop_auth = true;
                q = c == std::string::npos ? v.size() + 1 : c + 1;
            }
        }
    }
    if (ch.realm.empty() || ch.nonce.empty())
        return std::nullopt;
    if (!ch.algorithm.empty() && ch.algorithm != "MD5" && ch.algorithm != "md5")
        return std::nullopt;
    return ch;
}

std::string digest_answer(const Challenge &ch, const std::string &user, const std::string &password,
                          const std::string &method, const std::string &uri, uint32_t nc, const std::string &cnonce)
{
    std::string ha1 = md5_hex(user + ":" + ch.realm + ":" + password);
    std::string ha2 = md5_hex(method + ":" + uri);
    char ncs[9];
    snprintf(ncs, sizeof ncs, "%08x", nc);
    std::string response = ch.qop_auth ? md5_hex(ha1 + ":" + ch.nonce + ":" + ncs + ":" + cnonce + ":auth:" + ha2)
                                       : md5_hex(ha1 + ":" + ch.nonce + ":" + ha2);
    std::string v = "Digest username=\"" + user + "\", realm=\"" + ch.realm + "\", nonce=\"" + ch.nonce +
                    "\", uri=\"" + uri + "\", response=\"" + response + "\", algorithm=MD5";
    if (ch.qop_auth)
        v += std::string(", qop=auth, nc=") + ncs + ", cnonce=\"" + cnonce + "\"";
    if (!ch.opaque.empty())
        v += ", opaque=\"" + ch.opaque + "\"";
    return v;
}

}  // namespace loadgen
