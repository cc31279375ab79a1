#include "sip_boundary.hpp"

#include "sip_message.hpp"
#include "sip_translate.hpp"

#include "sofw/text.hpp"

namespace sofw::hras {

SipBoundary::SipBoundary(const SiteTable &sites, TunnelServer &tunnel, SiteEndpoints &endpoints, TunnelWriter &writer,
                         MediaPlanner *media, Stats &stats)
    : sites_(sites), tunnel_(tunnel), endpoints_(endpoints), writer_(writer), media_(media), stats_(stats)
{}

void SipBoundary::from_site(size_t site, const Frame &f)
{
    if (!f.ra) {
        stats_.dbg("site '" + sites_.at(site).name + "': ignoring a SIP frame without RA header");
        return;
    }
    auto hrac = tunnel_.hrac_addr(site);
    if (!hrac)
        return;
    std::string_view text(reinterpret_cast<const char *>(f.payload.data()), f.payload.size());
    std::optional<SipMessage> msg;
    if (!sip_is_keepalive(text)) {
        msg = SipMessage::parse(std::string(text));
        if (!msg) {
            // checked before the endpoint exists: garbage must not create phones
            stats_.add(HRAS_CNT_SIP_MALFORMED);
            stats_.warn("site '" + sites_.at(site).name + "': dropped a malformed SIP message from " +
                        f.ra->to_string() + " (" + std::to_string(f.payload.size()) + " bytes)");
            return;
        }
    }
    if (!may_name_lan_phone(*f.ra)) {  // HrasProcess checked it; no endpoint may ever be made for one
        stats_.add(HRAS_CNT_RA_INVALID);
        return;
    }
    SiteEndpoints::Endpoint *ep = endpoints_.endpoint_for(site, *f.ra);
    if (!ep)
        return;
    if (!msg) {  // a keep-alive passes as it came
        endpoints_.to_kamailio(*ep, text);
        return;
    }
    translate_up(*msg, UpTranslation{*hrac, endpoints_.kamailio()});
    MediaPlan plan = media_ ? media_->up(site, ep->id, ep->real_ip, *msg) : MediaPlan{};
    if (plan.reject) {
        writer_.crossing(site, plan.controls, ep->real, *plan.reject);
        return;
    }
    writer_.controls(site, plan.controls);
    endpoints_.to_kamailio(*ep, msg->str());
}

// The source Kamailio received the message from, which the module's
// sofw_relay() wrote into X-SoFW-Source (sofw_mod.c, any it found there
// before removed). It is for HRAS only: every copy goes before the message
// goes down. A site's loopback address is no public source (a call from a
// phone of another site): 0 then, as when there is none.
in_addr_t SipBoundary::take_source(SipMessage &msg) const
{
    in_addr_t source = 0;
    const auto &headers = msg.headers();
    for (size_t i = 0; i < headers.size(); i++) {
        if (headers[i].name != source_header)
            continue;
        std::string v(trim(msg.value(i), blanks));
        msg.remove_header(i);
        if (sites_.find_by_addr(v))
            continue;
        if (in_addr_t ip = MediaEndpoint::from_text(v, 0).ip)
            source = ip;
    }
    return source;
}

void SipBoundary::from_kamailio(SiteEndpoints::Endpoint &ep, std::string_view text)
{
    auto hrac = tunnel_.hrac_addr(ep.site);
    if (!hrac) {
        stats_.add(HRAS_CNT_SIP_NO_TUNNEL);
        stats_.dbg("site '" + sites_.at(ep.site).name + "': no tunnel, dropped SIP for " + ep.real.to_string());
        return;
    }
    if (sip_is_keepalive(text)) {
        writer_.crossing(ep.site, {}, ep.real, text);
        return;
    }
    auto msg = SipMessage::parse(std::string(text));
    if (!msg) {
        stats_.add(HRAS_CNT_SIP_MALFORMED);
        stats_.warn("site '" + sites_.at(ep.site).name + "': Kamailio sent a malformed message; dropped");
        return;
    }
    translate_down(*msg, DownTranslation{endpoints_.kamailio(), *hrac, ep.loop, ep.real_sip});
    in_addr_t source = take_source(*msg);
    MediaPlan plan = media_ ? media_->down(ep.site, ep.id, *hrac, ep.real_ip, *msg, source) : MediaPlan{};
    if (plan.reject) {
        writer_.controls(ep.site, plan.controls);
        endpoints_.to_kamailio(ep, *plan.reject);  // as if the phone had answered it
        return;
    }
    writer_.crossing(ep.site, plan.controls, ep.real, msg->str());
}

}  // namespace sofw::hras
