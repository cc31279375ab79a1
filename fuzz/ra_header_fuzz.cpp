// The RA header, binary (RaHeader::decode, from every frame) and as text
// (RaHeader::parse, settings and tests): whatever decodes must encode back
// to a header that decodes the same, and whatever parses must print as
// text that parses to the same endpoint.
#include "fuzz_check.hpp"
#include "sofw/ra_header.hpp"

#include <string>

using namespace sofw;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (auto h = RaHeader::decode(data, size)) {
        FUZZ_CHECK(h->valid());
        FUZZ_CHECK(h->encoded_size() == size);
        uint8_t buf[RaHeader::v6_size];
        h->encode(buf);
        auto again = RaHeader::decode(buf, h->encoded_size());
        FUZZ_CHECK(again && again->same_endpoint(*h) && again->relay_port == h->relay_port);
        auto text = RaHeader::parse(h->to_string());
        FUZZ_CHECK(text);
        text->transport = h->transport;  // the text form does not carry it
        FUZZ_CHECK(text->same_endpoint(*h));
    }

    const std::string s(reinterpret_cast<const char *>(data), size);
    if (auto h = RaHeader::parse(s)) {
        FUZZ_CHECK(h->valid());
        auto again = RaHeader::parse(h->to_string());
        FUZZ_CHECK(again && again->same_endpoint(*h));
        FUZZ_CHECK(again->to_string() == h->to_string());
    }
    return 0;
}
