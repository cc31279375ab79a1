// hras_configure (core/hras_api.cpp), the C entry the glue hands the
// modparams to: the values the core refuses itself, whatever the glue
// checked before it. A refusal stops Kamailio at start with the text.
#include "hras.h"

#include <gtest/gtest.h>

#include <string>

namespace {

// A configuration the core accepts, limits left at their defaults (0).
hras_config valid_config()
{
    hras_config c{};
    c.tunnel_listen = "127.0.0.1:0";
    c.sip_socket = "127.0.0.1:5062";
    c.loopback_base = "127.1.0.0";
    c.keepalive_interval = 15;
    c.auth_window = 120;
    c.phone_idle_timeout = 7200;
    c.media_address = "";
    c.rtp_port_min = 20000;
    c.rtp_port_max = 20100;
    c.media_timeout = 60;
    c.tunnel_coalesce_ms = 1;
    return c;
}

// "" when accepted, else the refusal's text.
std::string configure(const hras_config &c)
{
    char err[256] = "";
    const int rc = hras_configure(&c, err, sizeof err);
    if (rc == 0)
        return "";
    return err[0] ? err : "refused without a reason";
}

}  // namespace

TEST(HrasConfigure, TunnelCoalesceMsIsZeroToTwenty)
{
    hras_config c = valid_config();
    ASSERT_EQ("", configure(c));
    c.tunnel_coalesce_ms = 0;  // a value (write at once), not "the default"
    EXPECT_EQ("", configure(c));
    c.tunnel_coalesce_ms = 20;
    EXPECT_EQ("", configure(c));
    c.tunnel_coalesce_ms = 21;
    EXPECT_EQ("tunnel_coalesce_ms must be 0..20", configure(c));
    c.tunnel_coalesce_ms = -1;
    EXPECT_EQ("tunnel_coalesce_ms must be 0..20", configure(c));
    c.tunnel_coalesce_ms = 1000;
    EXPECT_EQ("tunnel_coalesce_ms must be 0..20", configure(c));
}
