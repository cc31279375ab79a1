"""Random packet loss on a site firewall's WAN link, for end-to-end tests.

The kernel has no netem, so the loss is an nftables table of its own in the
firewall's namespace, beside the site's policy table: every packet entering
or leaving `wan0` is counted, and `percent` of them, picked at random
(`numgen random`), are counted again and dropped. Inbound packets are
dropped at priority raw, before conntrack sees them (as if lost on the
wire); outbound ones after NAT, just before the device. Forwarded packets
(strict firewall) and the firewall's own (a proxy on it) are both covered.

Topology.set_firewall flushes the whole ruleset, so start() goes after it.
"""

import json

TABLE = "sofw_loss"


def _ruleset(percent):
    return f"""
table inet {TABLE} {{
    counter in_seen {{ }}
    counter in_dropped {{ }}
    counter out_seen {{ }}
    counter out_dropped {{ }}
    chain wan_in {{
        type filter hook prerouting priority raw; policy accept;
        iifname "wan0" counter name "in_seen"
        iifname "wan0" numgen random mod 100 < {percent} counter name "in_dropped" drop
    }}
    chain wan_out {{
        type filter hook postrouting priority 300; policy accept;
        oifname "wan0" counter name "out_seen"
        oifname "wan0" numgen random mod 100 < {percent} counter name "out_dropped" drop
    }}
}}
"""


class WanLoss:
    """`percent` % random loss each way on `site`'s firewall WAN link."""

    def __init__(self, topo, site, percent):
        if not 0 < percent < 100 or percent != int(percent):
            raise ValueError("percent must be a whole number between 1 and 99")
        self.topo, self.ns, self.percent = topo, f"{site}-fw", int(percent)

    def start(self):
        self.topo.run(self.ns, ["nft", "-f", "-"], input=_ruleset(self.percent))
        return self

    def counters(self):
        """{"in": (seen, dropped), "out": (seen, dropped)} in packets;
        "seen" counts every packet offered to the link, dropped ones too."""
        out = self.topo.run(self.ns, ["nft", "-j", "list", "counters", "table", "inet", TABLE]).stdout
        packets = {}
        for item in json.loads(out).get("nftables", []):
            c = item.get("counter")
            if c and c.get("table") == TABLE:
                packets[c["name"]] = int(c["packets"])
        return {d: (packets[f"{d}_seen"], packets[f"{d}_dropped"]) for d in ("in", "out")}
