// Which proxy HRAC predicts libcurl will use: a server URL, a proxy
// setting and the proxy variables of the environment from the input (each
// a NUL-terminated piece, in this order: server, proxy, no_proxy,
// https_proxy, http_proxy, all_proxy, no_proxy of the environment), then
// choose_proxy, no_proxy_matches, url_authority, url_host and describe on
// them.
#include "fuzz_check.hpp"
#include "proxy_choice.hpp"

#include <map>
#include <string>
#include <vector>

using namespace hrac;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string input(reinterpret_cast<const char *>(data), size);
    std::vector<std::string> piece;
    for (size_t at = 0; piece.size() < 8;) {
        const size_t nul = input.find('\0', at);
        piece.push_back(input.substr(at, nul == std::string::npos ? std::string::npos : nul - at));
        if (nul == std::string::npos)
            break;
        at = nul + 1;
    }
    piece.resize(8);

    Config c;
    c.server = piece[0];
    c.proxy = piece[1];
    c.proxy_from_environment = piece[1].empty();
    c.no_proxy_set = !piece[2].empty();
    c.no_proxy = piece[2];
    const std::map<std::string, size_t> env = {{"https_proxy", 3}, {"HTTPS_PROXY", 3}, {"http_proxy", 4},
                                               {"all_proxy", 5},   {"ALL_PROXY", 5},   {"no_proxy", 6},
                                               {"NO_PROXY", 6}};
    auto getenv = [&](const char *name) -> const char * {
        auto it = env.find(name);
        return it == env.end() || piece[it->second].empty() ? nullptr : piece[it->second].c_str();
    };

    const ProxyChoice choice = choose_proxy(c, getenv);
    const std::string text = describe(choice);
    FUZZ_CHECK(!text.empty());
    for (size_t i = 1; i < 7; ++i) {
        (void)no_proxy_matches(piece[i], piece[2]);
        (void)url_authority(piece[i]);
        (void)url_host(piece[i]);
        (void)redact_url(piece[i]);
    }
    const std::string host = url_host(c.server);
    (void)no_proxy_matches(host, piece[2]);
    return 0;
}
