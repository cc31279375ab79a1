// HRAC's only look into SIP (peek_sip): start line, CSeq and expiries of a
// datagram from the LAN or from HRAS. A request must name a method, a
// response a status in 100..699.
#include "fuzz_check.hpp"
#include "sip_peek.hpp"

using namespace hrac;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    auto p = peek_sip(data, size);
    if (!p)
        return 0;
    if (p->request)
        FUZZ_CHECK(!p->method.empty());
    else
        FUZZ_CHECK(p->status >= 100 && p->status <= 699);
    return 0;
}
