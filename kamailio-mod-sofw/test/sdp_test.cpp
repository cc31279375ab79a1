// The SDP rewriter. The corpus in sdp-corpus/ states, for bodies modelled on
// what real UAs send, the input, the targets (MANIFEST) and the exact output,
// side by side; the tests below add what sdp_parse must see and the cases
// that are easier to state inline.
#include "core/multipart.hpp"
#include "core/sdp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <dirent.h>
#include <fstream>
#include <map>
#include <sstream>
#include "text_util.hpp"

using namespace sofw::hras;

using sofw::test::crlf;

namespace {

std::string corpus_dir()
{
    std::string f = __FILE__;
    return f.substr(0, f.rfind('/') + 1) + "sdp-corpus";
}

std::string read_file(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string corpus_file(const std::string &name) { return read_file(corpus_dir() + "/" + name); }

// "ADDR:PORT/RTCP" or "-"
SdpTarget parse_target(const std::string &s)
{
    SdpTarget t;
    if (s == "-")
        return t;
    auto colon = s.rfind(':');
    auto slash = s.find('/', colon);
    t.addr = s.substr(0, colon);
    t.port = uint16_t(std::stoi(s.substr(colon + 1, slash - colon - 1)));
    t.rtcp_port = uint16_t(std::stoi(s.substr(slash + 1)));
    return t;
}

struct Case {
    std::string name;
    std::vector<SdpTarget> targets;
};

std::vector<Case> manifest()
{
    std::vector<Case> cases;
    std::istringstream in(corpus_file("MANIFEST"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        std::istringstream ls(line);
        Case c;
        ls >> c.name;
        std::string t;
        while (ls >> t)
            c.targets.push_back(parse_target(t));
        cases.push_back(c);
    }
    return cases;
}

std::vector<std::string> case_names()
{
    std::vector<std::string> names;
    for (const auto &c : manifest())
        names.push_back(c.name);
    return names;
}

const Case &find_case(const std::string &name)
{
    static const std::vector<Case> cases = manifest();
    auto it = std::find_if(cases.begin(), cases.end(), [&](const Case &c) { return c.name == name; });
    if (it == cases.end())
        throw std::runtime_error("no such corpus case: " + name);
    return *it;
}

SdpInfo parse_ok(const std::string &body)
{
    auto info = sdp_parse(body);
    if (!info)
        throw std::runtime_error("does not parse");
    return *info;
}

}  // namespace

// --- The corpus: input, targets, expected output -----------------------------

class SdpCorpus : public testing::TestWithParam<std::string> {};

TEST_P(SdpCorpus, RewritesToExpectedOutput)
{
    const Case &c = find_case(GetParam());
    std::string in = corpus_file(c.name + ".in.sdp");
    std::string want = corpus_file(c.name + ".out.sdp");
    ASSERT_FALSE(in.empty());
    ASSERT_FALSE(want.empty());
    auto out = sdp_rewrite(in, c.targets);
    ASSERT_TRUE(out);
    EXPECT_EQ(want, *out);
}

TEST_P(SdpCorpus, RewritingTwiceChangesNothingMore)
{
    const Case &c = find_case(GetParam());
    std::string want = corpus_file(c.name + ".out.sdp");
    auto again = sdp_rewrite(want, c.targets);
    ASSERT_TRUE(again);
    EXPECT_EQ(want, *again);
}

TEST_P(SdpCorpus, OutputSendsEveryRewrittenStreamToItsTarget)
{
    const Case &c = find_case(GetParam());
    SdpInfo before = parse_ok(corpus_file(c.name + ".in.sdp"));
    SdpInfo after = parse_ok(corpus_file(c.name + ".out.sdp"));
    ASSERT_EQ(before.streams.size(), after.streams.size());
    for (size_t i = 0; i < after.streams.size(); i++) {
        SCOPED_TRACE("m= line " + std::to_string(i));
        const SdpStream &b = before.streams[i], &a = after.streams[i];
        EXPECT_EQ(b.media, a.media);
        bool rewritten = b.port != 0 && i < c.targets.size() && c.targets[i].port != 0;
        if (!rewritten) {
            EXPECT_EQ(b.port, a.port);
            if (b.port != 0) {  // a disabled stream's inherited address means nothing
                EXPECT_EQ(b.addr, a.addr);
            }
            EXPECT_EQ(b.rtcp_port, a.rtcp_port);
            continue;
        }
        const SdpTarget &t = c.targets[i];
        EXPECT_EQ(t.port, a.port);
        EXPECT_EQ(b.hold_zero ? "0.0.0.0" : t.addr, a.addr);
        EXPECT_FALSE(a.ipv6);
        EXPECT_EQ(b.hold_zero, a.hold_zero);
        EXPECT_EQ(b.rtcp_mux, a.rtcp_mux);
        EXPECT_EQ(b.rtcp_explicit, a.rtcp_explicit);
        EXPECT_EQ(b.rtcp_explicit ? t.rtcp_port : t.port + 1, a.rtcp_port);
    }
}

INSTANTIATE_TEST_SUITE_P(SdpCorpus, SdpCorpus, testing::ValuesIn(case_names()),
                         [](const testing::TestParamInfo<std::string> &p) {
                             std::string n = p.param;
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

TEST(SdpCorpusFiles, EveryInputHasTargetsAndAnExpectedOutput)
{
    std::vector<std::string> inputs;
    DIR *d = opendir(corpus_dir().c_str());
    ASSERT_NE(nullptr, d) << corpus_dir();
    while (auto *e = readdir(d)) {
        std::string n = e->d_name;
        const std::string suffix = ".in.sdp";
        if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
            inputs.push_back(n.substr(0, n.size() - suffix.size()));
    }
    closedir(d);
    std::sort(inputs.begin(), inputs.end());
    auto names = case_names();
    std::sort(names.begin(), names.end());
    EXPECT_GE(names.size(), 13u);
    EXPECT_EQ(inputs, names);
    for (const auto &n : names)
        EXPECT_FALSE(corpus_file(n + ".out.sdp").empty()) << n;
}

TEST(SdpCorpusFiles, LineEndingsAreAsStated)
{
    for (const auto &n : case_names()) {
        for (const char *ext : {".in.sdp", ".out.sdp"}) {
            std::string body = corpus_file(n + ext);
            bool has_cr = body.find('\r') != std::string::npos;
            EXPECT_EQ(n != "lf-only", has_cr) << n << ext;
            EXPECT_EQ('\n', body.back()) << n << ext;
        }
    }
}

// --- What sdp_parse sees ----------------------------------------------------

TEST(SdpParse, BaresipAudioInheritsSessionConnection)
{
    SdpInfo i = parse_ok(corpus_file("baresip-audio.in.sdp"));
    ASSERT_EQ(1u, i.streams.size());
    const SdpStream &s = i.streams[0];
    EXPECT_EQ("audio", s.media);
    EXPECT_EQ(27470, s.port);
    EXPECT_EQ("192.168.1.10", s.addr);
    EXPECT_FALSE(s.ipv6);
    EXPECT_EQ(27471, s.rtcp_port);
    EXPECT_FALSE(s.rtcp_explicit);
    EXPECT_FALSE(s.rtcp_mux);
    EXPECT_FALSE(s.hold_zero);
}

TEST(SdpParse, LinphoneExplicitRtcpPorts)
{
    SdpInfo i = parse_ok(corpus_file("linphone-audio-video.in.sdp"));
    ASSERT_EQ(2u, i.streams.size());
    EXPECT_EQ("audio", i.streams[0].media);
    EXPECT_EQ(7078, i.streams[0].port);
    EXPECT_EQ(7079, i.streams[0].rtcp_port);
    EXPECT_TRUE(i.streams[0].rtcp_explicit);
    EXPECT_EQ("video", i.streams[1].media);
    EXPECT_EQ(9078, i.streams[1].port);
    EXPECT_EQ(9079, i.streams[1].rtcp_port);
    EXPECT_TRUE(i.streams[1].rtcp_explicit);
    EXPECT_EQ("198.51.100.21", i.streams[1].addr);
}

TEST(SdpParse, WebrtcMuxAndMediaLevelConnection)
{
    SdpInfo i = parse_ok(corpus_file("webrtc-bundle.in.sdp"));
    ASSERT_EQ(2u, i.streams.size());
    for (const auto &s : i.streams) {
        EXPECT_EQ(54400, s.port);
        EXPECT_EQ("198.51.100.40", s.addr);
        EXPECT_TRUE(s.rtcp_mux);
        EXPECT_TRUE(s.rtcp_explicit);
        EXPECT_EQ(9, s.rtcp_port);  // a=rtcp:9 IN IP4 0.0.0.0, as browsers write it with mux
        EXPECT_FALSE(s.hold_zero);
    }
}

TEST(SdpParse, EachStreamItsOwnConnection)
{
    SdpInfo i = parse_ok(corpus_file("audio-video-media-c.in.sdp"));
    ASSERT_EQ(2u, i.streams.size());
    EXPECT_EQ("198.51.100.61", i.streams[0].addr);
    EXPECT_EQ(20001, i.streams[0].rtcp_port);
    EXPECT_EQ("198.51.100.62", i.streams[1].addr);
    EXPECT_EQ(30001, i.streams[1].rtcp_port);
}

TEST(SdpParse, HoldWithZeroAddress)
{
    SdpInfo i = parse_ok(corpus_file("hold-zero-inactive.in.sdp"));
    ASSERT_EQ(1u, i.streams.size());
    EXPECT_EQ("0.0.0.0", i.streams[0].addr);
    EXPECT_TRUE(i.streams[0].hold_zero);
    EXPECT_EQ(16450, i.streams[0].port);

    SdpInfo s = parse_ok(corpus_file("hold-sendonly.in.sdp"));
    EXPECT_FALSE(s.streams[0].hold_zero);  // sendonly hold keeps its address
}

TEST(SdpParse, Ipv6Connection)
{
    SdpInfo i = parse_ok(corpus_file("baresip-ipv6.in.sdp"));
    ASSERT_EQ(1u, i.streams.size());
    EXPECT_EQ("2001:db8:85a3::8a2e:370:7334", i.streams[0].addr);
    EXPECT_TRUE(i.streams[0].ipv6);
    EXPECT_EQ(31217, i.streams[0].rtcp_port);
}

TEST(SdpParse, DisabledStream)
{
    SdpInfo i = parse_ok(corpus_file("asterisk-video-rejected.in.sdp"));
    ASSERT_EQ(2u, i.streams.size());
    EXPECT_EQ(17752, i.streams[0].port);
    EXPECT_EQ("video", i.streams[1].media);
    EXPECT_EQ(0, i.streams[1].port);
    EXPECT_EQ(0, i.streams[1].rtcp_port);
}

TEST(SdpParse, LfOnly)
{
    SdpInfo i = parse_ok(corpus_file("lf-only.in.sdp"));
    ASSERT_EQ(1u, i.streams.size());
    EXPECT_EQ(6000, i.streams[0].port);
    EXPECT_EQ("192.168.1.12", i.streams[0].addr);
}

TEST(SdpParse, ClockRateOfTheFirstFormat)
{
    // Its own rtpmap: Opus at 48 kHz, and for video, VP8 at 90 kHz (the
    // other m-line's rtpmap of the same payload type does not count).
    SdpInfo l = parse_ok(corpus_file("linphone-audio-video.in.sdp"));
    ASSERT_EQ(2u, l.streams.size());
    EXPECT_EQ(48000u, l.streams[0].clock_rate);
    EXPECT_EQ(90000u, l.streams[1].clock_rate);
    // A static payload type without rtpmap: RFC 3551's rate.
    auto first = [](const std::string &formats, const std::string &attrs = "") {
        return parse_ok(crlf("v=0\no=- 1 1 IN IP4 192.168.1.10\ns=-\nc=IN IP4 192.168.1.10\nt=0 0\n"
                             "m=audio 49170 RTP/AVP " +
                             formats + "\n" + attrs))
            .streams[0]
            .clock_rate;
    };
    EXPECT_EQ(8000u, first("0 8"));
    EXPECT_EQ(8000u, first("9"));  // G.722's RTP clock
    EXPECT_EQ(16000u, first("6"));
    EXPECT_EQ(44100u, first("10"));
    EXPECT_EQ(90000u, first("34"));
    EXPECT_EQ(0u, first("96")) << "dynamic, no rtpmap: not known";
    EXPECT_EQ(0u, first("19")) << "reserved";
    EXPECT_EQ(16000u, first("96 0", "a=rtpmap:0 PCMU/8000\na=rtpmap:96 speex/16000\n"));
    EXPECT_EQ(48000u, first("111", "a=rtpmap:111 opus/48000/2\n"));
    // An rtpmap that does not read right informs nothing, and is no error.
    EXPECT_EQ(0u, first("96", "a=rtpmap:96 speex\n"));
    EXPECT_EQ(0u, first("96", "a=rtpmap:96 speex/\n"));
    EXPECT_EQ(0u, first("96", "a=rtpmap:96 speex/-1\n"));
    EXPECT_EQ(0u, first("96", "a=rtpmap:96 speex/99999999\n"));
    EXPECT_EQ(0u, first("96", "a=rtpmap:96\n"));
    EXPECT_EQ(0u, first("96", "a=rtpmap:x speex/16000\n"));
    EXPECT_EQ(8000u, first("0", "a=rtpmap:0 PCMU/x\n")) << "then the static rate";
    EXPECT_EQ(0u, first("webrtc-datachannel"));
}

TEST(SdpParse, MulticastTtlIsNotPartOfTheAddress)
{
    SdpInfo i = parse_ok(crlf("v=0\no=- 1 1 IN IP4 192.168.1.10\ns=-\nc=IN IP4 224.2.1.1/127\nt=0 0\n"
                              "m=audio 49170 RTP/AVP 0\n"));
    EXPECT_EQ("224.2.1.1", i.streams[0].addr);
}

TEST(SdpParse, RefusesWhatIsNotSdp)
{
    const std::string head = "v=0\r\no=- 1 1 IN IP4 192.168.1.10\r\ns=-\r\nc=IN IP4 192.168.1.10\r\nt=0 0\r\n";
    const std::vector<std::string> bad = {
        "",
        "\r\n",
        "hello world",
        "<?xml version=\"1.0\"?>\r\n<presence/>\r\n",
        "v=1\r\nm=audio 4000 RTP/AVP 0\r\n",                            // not version 0
        "o=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\nm=audio 4000 RTP/AVP 0\r\n",  // v= not first
        head,                                                           // no m=
        head + "m=aud",                                                 // truncated m=
        head + "m=audio 4000",                                          // truncated m=
        head + "m=audio 4000 RTP/AVP",                                  // no formats
        head + "m=audio 70000 RTP/AVP 0\r\n",                           // port out of range
        head + "m=audio -1 RTP/AVP 0\r\n",
        head + "m=audio x RTP/AVP 0\r\n",
        head + "m=audio 4000 RTP/AVP 0\r\nc=IN IP4\r\n",          // truncated c=
        head + "m=audio 4000 RTP/AVP 0\r\nc=IN IPX 1.2.3.4\r\n",  // unknown address type
        head + "m=audio 4000 RTP/AVP 0\r\na=rtcp:abc\r\n",        // bad a=rtcp
        head + "m=audio 4000 RTP/AVP 0\r\na=rtcp:4001 IN IP4\r\n",
        head + "m=audio 4000 RTP/AVP 0\r\nthis is not a line\r\n",  // garbage line
        head + "m=audio 4000 RTP/AVP 0\r\n\x01\x02\x03\r\n",
        "v=0\r\no=- 1 1\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",  // short o=
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",       // no c= at all
    };
    for (const auto &b : bad) {
        SCOPED_TRACE(b);
        EXPECT_FALSE(sdp_parse(b));
        EXPECT_FALSE(sdp_rewrite(b, {{"203.0.113.10", 30000, 30001}}));
    }
}

TEST(SdpParse, TruncatedCorpusBodies)
{
    // A body cut anywhere before its first complete m= line does not parse.
    std::string in = corpus_file("baresip-audio.in.sdp");
    size_t first_format = in.find("m=audio 27470 RTP/AVP ") + 22;  // m= needs a format
    ASSERT_GT(first_format, 22u);
    for (size_t n = 0; n <= first_format; n++) {
        SCOPED_TRACE(n);
        EXPECT_FALSE(sdp_parse(in.substr(0, n)));
        EXPECT_FALSE(sdp_rewrite(in.substr(0, n), {{"203.0.113.10", 30000, 30001}}));
    }
}

TEST(SdpParse, DisabledStreamNeedsNoConnection)
{
    SdpInfo i = parse_ok(crlf("v=0\no=- 1 1 IN IP4 192.168.1.10\ns=-\nt=0 0\n"
                              "m=audio 4000 RTP/AVP 0\nc=IN IP4 192.168.1.10\n"
                              "m=video 0 RTP/AVP 96\n"));
    ASSERT_EQ(2u, i.streams.size());
    EXPECT_EQ("", i.streams[1].addr);
}

// --- Rewriting: cases stated inline ------------------------------------------

TEST(SdpRewrite, NoTargetsGiveTheBodyBackUnchanged)
{
    std::string in = corpus_file("linphone-audio-video.in.sdp");
    EXPECT_EQ(in, sdp_rewrite(in, {}).value());
    EXPECT_EQ(in, sdp_rewrite(in, {{"192.168.1.2", 0, 0}, {"192.168.1.2", 0, 0}}).value());
}

TEST(SdpRewrite, MissingTargetLeavesLaterStreamsAlone)
{
    std::string in = corpus_file("audio-video-media-c.in.sdp");
    std::string out = sdp_rewrite(in, {{"192.168.1.2", 40040, 40041}}).value();
    EXPECT_NE(std::string::npos, out.find("m=video 30000 RTP/AVP 109 34\r\nc=IN IP4 198.51.100.62\r\n"));
    EXPECT_NE(std::string::npos, out.find("a=rtcp:30001 IN IP4 198.51.100.62\r\n"));
    EXPECT_NE(std::string::npos, out.find("m=audio 40040 RTP/AVP 9 0 8 101\r\nc=IN IP4 192.168.1.2\r\n"));
}

TEST(SdpRewrite, LastLineWithoutLineEnding)
{
    std::string in = "v=0\r\no=- 1 2 IN IP4 192.168.1.10\r\ns=-\r\nc=IN IP4 192.168.1.10\r\nt=0 0\r\n"
                     "m=audio 4000 RTP/AVP 0";
    std::string want = "v=0\r\no=- 1 2 IN IP4 203.0.113.10\r\ns=-\r\nc=IN IP4 203.0.113.10\r\nt=0 0\r\n"
                       "m=audio 30000 RTP/AVP 0";
    EXPECT_EQ(want, sdp_rewrite(in, {{"203.0.113.10", 30000, 30001}}).value());

    // A c= inserted after that last line does not end with one either.
    std::string two = "v=0\r\no=- 1 2 IN IP4 192.168.1.10\r\ns=-\r\nc=IN IP4 192.168.1.10\r\nt=0 0\r\n"
                      "m=audio 4000 RTP/AVP 0\r\nm=video 4002 RTP/AVP 96";
    std::string want_two = "v=0\r\no=- 1 2 IN IP4 203.0.113.10\r\ns=-\r\nc=IN IP4 203.0.113.10\r\nt=0 0\r\n"
                           "m=audio 30000 RTP/AVP 0\r\nm=video 30002 RTP/AVP 96\r\nc=IN IP4 203.0.113.11";
    EXPECT_EQ(want_two, sdp_rewrite(two, {{"203.0.113.10", 30000, 30001}, {"203.0.113.11", 30002, 30003}}).value());
}

TEST(SdpRewrite, MixedLineEndingsAreKeptLineByLine)
{
    std::string in = "v=0\r\no=- 1 2 IN IP4 192.168.1.10\ns=-\r\nc=IN IP4 192.168.1.10\nt=0 0\r\n"
                     "m=audio 4000 RTP/AVP 0\n";
    std::string want = "v=0\r\no=- 1 2 IN IP4 203.0.113.10\ns=-\r\nc=IN IP4 203.0.113.10\nt=0 0\r\n"
                       "m=audio 30000 RTP/AVP 0\n";
    EXPECT_EQ(want, sdp_rewrite(in, {{"203.0.113.10", 30000, 30001}}).value());
}

TEST(SdpRewrite, HoldOnMediaLevelKeepsZeroAddressAndZeroRtcpAddress)
{
    std::string in = crlf("v=0\no=- 5 6 IN IP4 192.168.1.10\ns=-\nc=IN IP4 192.168.1.10\nt=0 0\n"
                          "m=audio 4000 RTP/AVP 0\nc=IN IP4 0.0.0.0\na=rtcp:4001 IN IP4 0.0.0.0\na=sendonly\n"
                          "m=video 4002 RTP/AVP 96\na=rtcp:4003 IN IP4 192.168.1.10\n");
    std::string want = crlf("v=0\no=- 5 6 IN IP4 203.0.113.10\ns=-\nc=IN IP4 203.0.113.10\nt=0 0\n"
                            "m=audio 30000 RTP/AVP 0\nc=IN IP4 0.0.0.0\na=rtcp:30001 IN IP4 0.0.0.0\na=sendonly\n"
                            "m=video 30002 RTP/AVP 96\na=rtcp:30003 IN IP4 203.0.113.10\n");
    std::vector<SdpTarget> t = {{"203.0.113.10", 30000, 30001}, {"203.0.113.10", 30002, 30003}};
    EXPECT_EQ(want, sdp_rewrite(in, t).value());
    EXPECT_EQ(want, sdp_rewrite(want, t).value());
}

TEST(SdpRewrite, SessionHoldIsNotUndoneByDifferentTargets)
{
    // Both streams inherit c=0.0.0.0: no media-level c= may be inserted,
    // even though the second target address differs from the first.
    std::string in = crlf("v=0\no=- 5 6 IN IP4 198.51.100.50\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\n"
                          "m=audio 4000 RTP/AVP 0\na=inactive\nm=video 4002 RTP/AVP 96\na=inactive\n");
    std::string want = crlf("v=0\no=- 5 6 IN IP4 192.168.1.2\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\n"
                            "m=audio 40000 RTP/AVP 0\na=inactive\nm=video 40002 RTP/AVP 96\na=inactive\n");
    EXPECT_EQ(want, sdp_rewrite(in, {{"192.168.1.2", 40000, 40001}, {"192.168.1.3", 40002, 40003}}).value());
}

TEST(SdpRewrite, RtcpPortDefaultsWhenTargetGivesNone)
{
    std::string in = crlf("v=0\no=- 1 2 IN IP4 192.168.1.10\ns=-\nc=IN IP4 192.168.1.10\nt=0 0\n"
                          "m=audio 4000 RTP/AVP 0\na=rtcp:4001\n"
                          "m=audio 4002 RTP/AVP 0\na=rtcp:4002\na=rtcp-mux\n");
    std::string want = crlf("v=0\no=- 1 2 IN IP4 203.0.113.10\ns=-\nc=IN IP4 203.0.113.10\nt=0 0\n"
                            "m=audio 30000 RTP/AVP 0\na=rtcp:30001\n"
                            "m=audio 30002 RTP/AVP 0\na=rtcp:30002\na=rtcp-mux\n");
    EXPECT_EQ(want, sdp_rewrite(in, {{"203.0.113.10", 30000, 0}, {"203.0.113.10", 30002, 0}}).value());
}

TEST(SdpRewrite, Ipv6RtcpAddressAndMediaConnectionBecomeIpv4)
{
    std::string in = crlf("v=0\no=- 1 2 IN IP6 2001:db8::5\ns=-\nt=0 0\n"
                          "m=audio 4000 RTP/AVP 0\nc=IN IP6 2001:db8::5\na=rtcp:4001 IN IP6 2001:db8::5\n");
    std::string want = crlf("v=0\no=- 1 2 IN IP4 192.168.1.2\ns=-\nt=0 0\n"
                            "m=audio 40000 RTP/AVP 0\nc=IN IP4 192.168.1.2\na=rtcp:40001 IN IP4 192.168.1.2\n");
    EXPECT_EQ(want, sdp_rewrite(in, {{"192.168.1.2", 40000, 40001}}).value());
}

TEST(SdpRewrite, PortCountAndRemoteCandidatesAndSessionCandidates)
{
    std::string in = crlf("v=0\no=- 1 2 IN IP4 192.168.1.10\ns=-\nc=IN IP4 192.168.1.10\nt=0 0\n"
                          "a=ice-lite\na=candidate:1 1 UDP 2130706431 192.168.1.10 4000 typ host\n"
                          "m=audio 4000/2 RTP/AVP 0\n"
                          "a=ice-ufrag:F7gI\na=ice-pwd:x9cml/YzichV2+XlhiMu8g\n"
                          "a=remote-candidates:1 192.168.1.20 5000\n");
    std::string want = crlf("v=0\no=- 1 2 IN IP4 203.0.113.10\ns=-\nc=IN IP4 203.0.113.10\nt=0 0\n"
                            "a=ice-lite\n"
                            "m=audio 30000/2 RTP/AVP 0\n"
                            "a=ice-ufrag:F7gI\na=ice-pwd:x9cml/YzichV2+XlhiMu8g\n");
    EXPECT_EQ(want, sdp_rewrite(in, {{"203.0.113.10", 30000, 30001}}).value());
}

TEST(SdpRewrite, CandidatesOfAnUntouchedStreamStay)
{
    std::string in =
        crlf("v=0\no=- 1 2 IN IP4 192.168.1.10\ns=-\nt=0 0\n"
             "m=audio 4000 RTP/AVP 0\nc=IN IP4 192.168.1.10\na=candidate:1 1 UDP 1 192.168.1.10 4000 typ host\n"
             "m=video 4002 RTP/AVP 96\nc=IN IP4 192.168.1.10\na=candidate:1 1 UDP 1 192.168.1.10 4002 typ host\n");
    std::string want =
        crlf("v=0\no=- 1 2 IN IP4 203.0.113.10\ns=-\nt=0 0\n"
             "m=audio 30000 RTP/AVP 0\nc=IN IP4 203.0.113.10\n"
             "m=video 4002 RTP/AVP 96\nc=IN IP4 192.168.1.10\na=candidate:1 1 UDP 1 192.168.1.10 4002 typ host\n");
    EXPECT_EQ(want, sdp_rewrite(in, {{"203.0.113.10", 30000, 30001}}).value());
}

TEST(SdpRewrite, DisabledStreamIsNotTheSessionTarget)
{
    // The first m= line is disabled: the session address comes from the
    // first stream actually rewritten.
    std::string in = crlf("v=0\no=- 1 2 IN IP4 198.51.100.70\ns=-\nc=IN IP4 198.51.100.70\nt=0 0\n"
                          "m=video 0 RTP/AVP 96\nm=audio 17752 RTP/AVP 0\n");
    std::string want = crlf("v=0\no=- 1 2 IN IP4 192.168.1.2\ns=-\nc=IN IP4 192.168.1.2\nt=0 0\n"
                            "m=video 0 RTP/AVP 96\nm=audio 40000 RTP/AVP 0\n");
    EXPECT_EQ(want, sdp_rewrite(in, {{"192.168.1.9", 40010, 40011}, {"192.168.1.2", 40000, 40001}}).value());
}

TEST(SdpMultipart, TheOneSdpPartIsFoundAndRewrittenTheRestKept)
{
    const std::string sdp = "v=0\r\nc=IN IP4 192.168.1.10\r\nm=audio 4000 RTP/AVP 0\r\n";
    const std::string body = "preamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\ncontent-type: "
                             "Application/SDP;x=y\r\n\r\n" +
                             sdp + "\r\n--b--\r\nepilogue";
    auto part = find_sdp("multipart/mixed; boundary=b", body);
    ASSERT_TRUE(part);
    EXPECT_EQ(sdp, part->sdp);
    auto b = SdpBody::parse("multipart/mixed; boundary=b", body);
    ASSERT_TRUE(b);
    std::string out = b->rewrite({{"203.0.113.5", 30000, 0}});
    std::string want = body;
    want.replace(want.find("192.168.1.10"), 12, "203.0.113.5");
    want.replace(want.find("4000"), 4, "30000");
    EXPECT_EQ(want, out);
    EXPECT_TRUE(find_sdp("application/sdp", sdp));
}

TEST(SdpMultipart, WhatCannotBeReadWholeIsNotUnderstood)
{
    const std::string part = "--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4 RTP/AVP 0\r\n";
    EXPECT_FALSE(find_sdp("multipart/mixed; boundary=b", part)) << "no closing delimiter: cut off";
    EXPECT_FALSE(find_sdp("multipart/mixed", part + "--b--\r\n")) << "no boundary";
    EXPECT_FALSE(find_sdp("multipart/mixed; boundary=\"\"", part + "--b--\r\n"));
    EXPECT_FALSE(find_sdp("multipart/mixed; boundary=b", part + part + "--b--\r\n")) << "two SDPs: which one?";
    EXPECT_FALSE(find_sdp("multipart/related; boundary=b", part + "--b--\r\n")) << "not a type we read";
    EXPECT_FALSE(find_sdp("text/plain", part));
    std::string many;
    for (size_t i = 0; i < multipart_max_parts; i++)
        many += "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n";
    EXPECT_TRUE(find_sdp("multipart/mixed; boundary=b", many + part + "--b--\r\n").has_value() == false)
        << "more parts than multipart_max_parts";
    EXPECT_TRUE(find_sdp("multipart/mixed; boundary=b", part + "--b--\r\n"));
    EXPECT_FALSE(find_sdp("multipart/mixed; boundary=b", "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n"))
        << "no SDP part";
}
