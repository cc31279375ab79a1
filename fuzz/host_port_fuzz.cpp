// host[:port] text (Via sent-by, URIs, X-SoFW-Lan, settings) and the strict
// port: what HostPort::parse accepts must print as text that parses to
// the same host and port.
#include "fuzz_check.hpp"
#include "sofw/host_port.hpp"
#include "sofw/text.hpp"

#include <string>

using namespace sofw;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string s(reinterpret_cast<const char *>(data), size);
    if (auto t = split_host_port(s)) {
        FUZZ_CHECK(!t->host.empty());
        FUZZ_CHECK(t->has_port || t->port.empty());
    }
    (void)parse_port(s);
    if (auto hp = HostPort::parse(s)) {
        FUZZ_CHECK(!hp->host.empty());
        auto again = HostPort::parse(hp->to_string());
        FUZZ_CHECK(again && again->matches(*hp) && again->host == hp->host);
        FUZZ_CHECK(again->effective_port() == hp->effective_port());
    }
    FUZZ_CHECK(trim(s).size() <= s.size());
    FUZZ_CHECK(lower(s).size() == s.size());
    FUZZ_CHECK(iequals(s, lower(s)));
    return 0;
}
