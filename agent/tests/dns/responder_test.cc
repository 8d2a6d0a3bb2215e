#include "skiff/agent/dns/responder.h"

#include <gtest/gtest.h>

#include "dns_test_util.h"

namespace skiff::agent::dns {
namespace {

using namespace testing;

class ResponderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<json> svcs = {
        service("default", "kubernetes", "10.96.0.1"),
        service("default", "hello", "10.96.3.4",
                json::array({{{"name", "8080-8080"}, {"port", 8080}, {"protocol", "TCP"}}})),
        service("default", "big", "None"),
        externalName("default", "ext", "example.com"),
    };
    idx_ = RecordIndex::build(svcs, {slice("default", "big", endpoints(100))}, "cluster.local");
  }
  Outcome ask(const std::string& name, ldns_rr_type t, int edns = 0, bool tcp = false) {
    auto q = query(name, t, edns);
    return r_.handle(q.data(), q.size(), *idx_, tcp);
  }
  Responder r_{ResponderOptions{}};
  std::shared_ptr<const RecordIndex> idx_;
};

TEST_F(ResponderTest, ServiceFqdnAnswersClusterIpAuthoritatively) {
  Outcome o = ask("Hello.default.svc.cluster.local.", LDNS_RR_TYPE_A);
  ASSERT_EQ(o.action, Action::Reply);
  auto p = parse(o.wire);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NOERROR);
  EXPECT_TRUE(ldns_pkt_aa(p.get()));
  EXPECT_TRUE(ldns_pkt_qr(p.get()));
  EXPECT_EQ(ldns_pkt_id(p.get()), 4242);
  EXPECT_EQ(answers(p.get()), std::vector<std::string>{"10.96.3.4"});
  ldns_rr* rr = ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0);
  EXPECT_EQ(ldns_rr_ttl(rr), 30u);
  char* owner = ldns_rdf2str(ldns_rr_owner(rr));
  EXPECT_STREQ(owner, "Hello.default.svc.cluster.local.");  // the client's case, for 0x20
  free(owner);
  EXPECT_EQ(o.question.name, "hello.default.svc.cluster.local");
}

TEST_F(ResponderTest, KubernetesDefault) {
  auto p = parse(ask("kubernetes.default.svc.cluster.local.", LDNS_RR_TYPE_A).wire);
  EXPECT_EQ(answers(p.get()), std::vector<std::string>{"10.96.0.1"});
}

TEST_F(ResponderTest, MissingNameIsNxdomainWithSoa) {
  auto p = parse(ask("nosuch.default.svc.cluster.local.", LDNS_RR_TYPE_A).wire);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NXDOMAIN);
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 0);
  ASSERT_EQ(ldns_pkt_nscount(p.get()), 1);
  EXPECT_EQ(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_authority(p.get()), 0)), LDNS_RR_TYPE_SOA);
}

TEST_F(ResponderTest, OtherTypeOfExistingNameIsNodata) {
  auto p = parse(ask("hello.default.svc.cluster.local.", LDNS_RR_TYPE_AAAA).wire);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 0);
  EXPECT_EQ(ldns_pkt_nscount(p.get()), 1);
  // An empty non-terminal: NODATA too.
  p = parse(ask("default.svc.cluster.local.", LDNS_RR_TYPE_A).wire);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NOERROR);
}

TEST_F(ResponderTest, SrvForNamedPortWithTargetAddressInAdditional) {
  auto p = parse(ask("_8080-8080._tcp.hello.default.svc.cluster.local.", LDNS_RR_TYPE_SRV).wire);
  EXPECT_EQ(answers(p.get()),
            std::vector<std::string>{"0 100 8080 hello.default.svc.cluster.local."});
  EXPECT_EQ(answers(p.get(), LDNS_SECTION_ADDITIONAL), std::vector<std::string>{"10.96.3.4"});
}

TEST_F(ResponderTest, ExternalNameAnswersCname) {
  auto p = parse(ask("ext.default.svc.cluster.local.", LDNS_RR_TYPE_A).wire);
  ASSERT_EQ(ldns_pkt_ancount(p.get()), 1);
  EXPECT_EQ(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0)), LDNS_RR_TYPE_CNAME);
  EXPECT_EQ(answers(p.get()), std::vector<std::string>{"example.com."});
}

TEST_F(ResponderTest, PodRecordIsSynthesized) {
  auto p = parse(ask("10-244-1-7.default.pod.cluster.local.", LDNS_RR_TYPE_A).wire);
  EXPECT_EQ(answers(p.get()), std::vector<std::string>{"10.244.1.7"});
  p = parse(ask("10-244-1-999.default.pod.cluster.local.", LDNS_RR_TYPE_A).wire);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NXDOMAIN);
}

TEST_F(ResponderTest, PtrForClusterIpAndDnsVersionTxt) {
  auto p = parse(ask("4.3.96.10.in-addr.arpa.", LDNS_RR_TYPE_PTR).wire);
  EXPECT_EQ(answers(p.get()), std::vector<std::string>{"hello.default.svc.cluster.local."});
  p = parse(ask("dns-version.cluster.local.", LDNS_RR_TYPE_TXT).wire);
  EXPECT_EQ(answers(p.get()), std::vector<std::string>{"\"1.1.0\""});
}

TEST_F(ResponderTest, OutsideNamesAndUnknownPtrAreForwarded) {
  EXPECT_EQ(ask("example.com.", LDNS_RR_TYPE_A).action, Action::Forward);
  EXPECT_EQ(ask("9.9.9.9.in-addr.arpa.", LDNS_RR_TYPE_PTR).action, Action::Forward);
}

TEST_F(ResponderTest, BigAnswerIsTruncatedOverUdpAndWholeOverTcpOrEdns) {
  auto p = parse(ask("big.default.svc.cluster.local.", LDNS_RR_TYPE_A).wire);
  EXPECT_TRUE(ldns_pkt_tc(p.get()));
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 0);
  Outcome tcp = ask("big.default.svc.cluster.local.", LDNS_RR_TYPE_A, 0, true);
  p = parse(tcp.wire);
  EXPECT_FALSE(ldns_pkt_tc(p.get()));
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 100);
  // A client advertising 4096 gets at most our 1232 (BIND/Unbound/Knot's cap): TC here.
  Outcome edns = ask("big.default.svc.cluster.local.", LDNS_RR_TYPE_A, 4096);
  EXPECT_EQ(edns.question.max_reply, 1232u);
  p = parse(edns.wire);
  EXPECT_TRUE(ldns_pkt_tc(p.get()));
  EXPECT_EQ(ldns_pkt_edns_udp_size(p.get()), 1232);
  // With a larger cap configured, the whole answer fits in the client's 4096.
  Responder wide(ResponderOptions{.edns_udp_size = 4096});
  auto q = query("big.default.svc.cluster.local.", LDNS_RR_TYPE_A, 4096);
  edns = wide.handle(q.data(), q.size(), *idx_, false);
  EXPECT_LE(edns.wire.size(), 4096u);
  p = parse(edns.wire);
  EXPECT_FALSE(ldns_pkt_tc(p.get()));
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 100);
  // A client advertising less than 512 still gets 512 (RFC 6891 6.2.5).
  EXPECT_EQ(ask("hello.default.svc.cluster.local.", LDNS_RR_TYPE_A, 100).question.max_reply, 512u);
}

TEST_F(ResponderTest, ExternalNameInsideTheClusterIsChasedWithinTheAnswer) {
  std::vector<json> svcs = {
      service("default", "hello", "10.96.3.4"),
      externalName("default", "alias", "hello.default.svc.cluster.local"),
      externalName("other", "alias2", "alias.default.svc.cluster.local."),
      externalName("default", "loop-a", "loop-b.default.svc.cluster.local"),
      externalName("default", "loop-b", "loop-a.default.svc.cluster.local"),
      externalName("default", "out", "example.com"),
  };
  auto idx = RecordIndex::build(svcs, {}, "cluster.local");
  auto run = [&](const std::string& name, ldns_rr_type t) {
    auto q = query(name, t);
    return parse(r_.handle(q.data(), q.size(), *idx, false).wire);
  };
  auto p = run("alias2.other.svc.cluster.local.", LDNS_RR_TYPE_A);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(answers(p.get()),
            (std::vector<std::string>{"alias.default.svc.cluster.local.",
                                      "hello.default.svc.cluster.local.", "10.96.3.4"}));
  // Asked for the CNAME itself: only it.
  p = run("alias.default.svc.cluster.local.", LDNS_RR_TYPE_CNAME);
  EXPECT_EQ(answers(p.get()), std::vector<std::string>{"hello.default.svc.cluster.local."});
  // A target outside the cluster domain is left to the client's resolver.
  p = run("out.default.svc.cluster.local.", LDNS_RR_TYPE_A);
  EXPECT_EQ(answers(p.get()), std::vector<std::string>{"example.com."});
  // A loop ends after 8 links, with an answer rather than a hang.
  p = run("loop-a.default.svc.cluster.local.", LDNS_RR_TYPE_A);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 9);
}

TEST_F(ResponderTest, SearchFallbackAnswersServiceDotNamespaceAskedAsIs) {
  auto fallback = [&](const std::string& name, ldns_rr_type t) {
    auto q = query(name, t);
    Outcome o = r_.handle(q.data(), q.size(), *idx_, false);
    EXPECT_EQ(o.action, Action::Forward) << name;  // always forwarded first
    return r_.searchFallback(q.data(), q.size(), o.question, *idx_);
  };
  auto wire = fallback("Kubernetes.Default.", LDNS_RR_TYPE_A);
  ASSERT_TRUE(wire);
  auto p = parse(*wire);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(ldns_pkt_id(p.get()), 4242);
  EXPECT_FALSE(ldns_pkt_aa(p.get()));  // not our zone
  EXPECT_EQ(answers(p.get()),
            (std::vector<std::string>{"kubernetes.default.svc.cluster.local.", "10.96.0.1"}));
  char* owner = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0)));
  EXPECT_STREQ(owner, "Kubernetes.Default.");
  free(owner);
  p = parse(*fallback("hello.default.svc.", LDNS_RR_TYPE_A));
  EXPECT_EQ(answers(p.get()),
            (std::vector<std::string>{"hello.default.svc.cluster.local.", "10.96.3.4"}));
  // No AAAA at the target: the CNAME and the zone's SOA (NODATA).
  p = parse(*fallback("kubernetes.default.", LDNS_RR_TYPE_AAAA));
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 1);
  EXPECT_EQ(ldns_pkt_nscount(p.get()), 1);
  // Not a Service, or not of the shape: nothing.
  EXPECT_FALSE(fallback("nosuch.default.", LDNS_RR_TYPE_A));
  EXPECT_FALSE(fallback("kubernetes.", LDNS_RR_TYPE_A));
  EXPECT_FALSE(fallback("a.kubernetes.default.", LDNS_RR_TYPE_A));
  EXPECT_FALSE(fallback("example.com.", LDNS_RR_TYPE_A));
}

TEST_F(ResponderTest, NonInternetClassIsRefused) {
  auto q = query("hello.default.svc.cluster.local.", LDNS_RR_TYPE_A, 0, 7, LDNS_RR_CLASS_CH);
  auto p = parse(r_.handle(q.data(), q.size(), *idx_, false).wire);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_REFUSED);
}

TEST_F(ResponderTest, OpcodeOtherThanQueryIsNotImp) {
  auto q = query("hello.default.svc.cluster.local.", LDNS_RR_TYPE_A);
  q[2] = static_cast<std::uint8_t>((q[2] & 0x87) | (4 << 3));  // NOTIFY
  Outcome o = r_.handle(q.data(), q.size(), *idx_, false);
  EXPECT_EQ(o.rcode, LDNS_RCODE_NOTIMPL);
}

TEST_F(ResponderTest, AdaptRewritesIdAndAgesTtls) {
  auto reply = ask("hello.default.svc.cluster.local.", LDNS_RR_TYPE_A, 1232).wire;
  Question q;
  q.id = 99;
  q.edns = true;
  q.max_reply = 1232;
  auto p = parse(r_.adapt(reply, q, 12));
  EXPECT_EQ(ldns_pkt_id(p.get()), 99);
  EXPECT_EQ(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0)), 18u);
  // The same by patching bytes (a cache hit): every TTL but the OPT's, ID, nothing else.
  TtlMap ttls;
  ASSERT_TRUE(mapTtls(reply.data(), reply.size(), &ttls));
  EXPECT_TRUE(ttls.has_opt);
  EXPECT_EQ(ttls.offsets.size(), 1u);
  auto patched = r_.adapt(reply, q, 12, &ttls);
  EXPECT_EQ(patched.size(), reply.size());
  p = parse(patched);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ldns_pkt_id(p.get()), 99);
  EXPECT_EQ(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0)), 18u);
  EXPECT_EQ(ldns_pkt_edns_udp_size(p.get()), 1232);
  p = parse(r_.adapt(reply, q, 100, &ttls));  // older than its TTL: 0, never wrapped
  EXPECT_EQ(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0)), 0u);
  // An NXDOMAIN with its SOA (compressed names in the authority section) maps too.
  auto nx = ask("nosuch.default.svc.cluster.local.", LDNS_RR_TYPE_A).wire;
  ASSERT_TRUE(mapTtls(nx.data(), nx.size(), &ttls));
  EXPECT_FALSE(ttls.has_opt);
  EXPECT_EQ(ttls.offsets.size(), 1u);
  nx.push_back(0);  // a trailing byte: not walked cleanly
  EXPECT_FALSE(mapTtls(nx.data(), nx.size(), &ttls));
}

TEST_F(ResponderTest, CacheVerdicts) {
  auto pos = cacheVerdict(ask("hello.default.svc.cluster.local.", LDNS_RR_TYPE_A).wire);
  EXPECT_TRUE(pos.cacheable);
  EXPECT_FALSE(pos.negative);
  EXPECT_EQ(pos.ttl, 30u);
  auto neg = cacheVerdict(ask("nosuch.default.svc.cluster.local.", LDNS_RR_TYPE_A).wire);
  EXPECT_TRUE(neg.cacheable);
  EXPECT_TRUE(neg.negative);
  Question q;
  q.name = "x.example";
  q.type = 1;
  EXPECT_FALSE(cacheVerdict(r_.errorReply(q, LDNS_RCODE_SERVFAIL)).cacheable);
}

}  // namespace
}  // namespace skiff::agent::dns
