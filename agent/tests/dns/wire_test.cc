#include "skiff/agent/dns/wire.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "dns_test_util.h"
#include "skiff/agent/dns/responder.h"

namespace skiff::agent::dns {
namespace {

using namespace testing;

TEST(WireTest, ReadQueryTakesThePlainShapeAndLowersTheName) {
  auto q = query("Hello.Default.svc.cluster.local.", LDNS_RR_TYPE_AAAA, 1232, 7);
  QueryView v;
  ASSERT_TRUE(readQuery(q.data(), q.size(), &v));
  EXPECT_EQ(v.canonical(), "hello.default.svc.cluster.local");
  EXPECT_EQ(v.qtype, kTypeAaaa);
  EXPECT_EQ(v.qclass, kClassIn);
  EXPECT_EQ(v.id, 7);
  EXPECT_TRUE(v.edns);
  EXPECT_EQ(v.udp_size, 1232);
  EXPECT_FALSE(v.dnssec_ok);
  EXPECT_EQ(v.question_end, 12 + 33 + 4u);
  q = query(".", LDNS_RR_TYPE_NS);
  ASSERT_TRUE(readQuery(q.data(), q.size(), &v));
  EXPECT_EQ(v.canonical(), "");
}

TEST(WireTest, ReadQueryLeavesEverythingUnusualToLdns) {
  auto base = query("a.example.", LDNS_RR_TYPE_A);
  QueryView v;
  ASSERT_TRUE(readQuery(base.data(), base.size(), &v));
  auto with = [&](auto change) {
    Bytes q = base;
    change(q);
    return readQuery(q.data(), q.size(), &v);
  };
  EXPECT_FALSE(with([](Bytes& q) { q[2] |= 0x80; }));            // a response
  EXPECT_FALSE(with([](Bytes& q) { q[2] |= 2 << 3; }));          // opcode STATUS
  EXPECT_FALSE(with([](Bytes& q) { q[5] = 2; }));                // two questions
  EXPECT_FALSE(with([](Bytes& q) { q[7] = 1; }));                // an answer record
  EXPECT_FALSE(with([](Bytes& q) { q.push_back(0); }));          // trailing byte
  EXPECT_FALSE(with([](Bytes& q) { q.resize(q.size() - 1); }));  // truncated class
  EXPECT_FALSE(with([](Bytes& q) { q[13] = '.'; }));             // a dot inside a label
  EXPECT_FALSE(with([](Bytes& q) { q[13] = 0xc3; }));            // not ASCII
  EXPECT_FALSE(with([](Bytes& q) { q[12] = 0xc0; }));            // a pointer in the question
  // An OPT of EDNS version 1 (BADVERS is ldns's business).
  auto opt = query("a.example.", LDNS_RR_TYPE_A, 1232);
  opt[opt.size() - 5] = 1;
  EXPECT_FALSE(readQuery(opt.data(), opt.size(), &v));
}

TEST(WireTest, ServiceLookupIsTheClientsQuestionPlusThePrebuiltAnswer) {
  auto idx = RecordIndex::build({service("default", "hello", "10.96.3.4")}, {}, "cluster.local");
  Responder r{ResponderOptions{}};
  auto q = query("hello.default.svc.cluster.local.", LDNS_RR_TYPE_A, 0, 0x1234);
  Outcome o = r.handle(q.data(), q.size(), *idx, false);
  Bytes want(q.begin(), q.end());
  want[2] = 0x85;  // QR AA RD
  want[3] = 0x80;  // RA
  want[7] = 1;     // ANCOUNT
  Bytes rr = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 96, 3, 4};
  want.insert(want.end(), rr.begin(), rr.end());
  EXPECT_EQ(o.wire, want);
}

// Every record kind, asked every way, through the fast path and through ldns: the same reply.
class FastPathEquivalenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<json> svcs = {
        service("default", "hello", "10.96.3.4",
                json::array({{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}},
                             {{"name", "dns"}, {"port", 53}, {"protocol", "UDP"}}})),
        service("default", "v6", "fd00::5"),
        service("db", "pg", "None"),
        service("default", "big", "None"),
        externalName("default", "ext", "hello.default.svc.cluster.local"),
    };
    std::vector<json> slices = {
        slice("db", "pg",
              json::array({endpoint("10.244.1.5", true, "pg-0"), endpoint("10.244.2.6"),
                           endpoint("fd00::10:1")}),
              json::array({{{"name", "sql"}, {"port", 5432}, {"protocol", "TCP"}}})),
        slice("default", "big", endpoints(100), json::array({{{"name", "p"}, {"port", 1}}})),
    };
    idx_ = RecordIndex::build(svcs, slices, "cluster.local");
  }
  std::shared_ptr<const RecordIndex> idx_;
};

std::string describe(const Bytes& wire) {
  auto p = parse(wire);
  if (p == nullptr) return "unparsable";
  std::string out = std::to_string(ldns_pkt_id(p.get())) + " rcode " +
                    std::to_string(ldns_pkt_get_rcode(p.get())) +
                    (ldns_pkt_qr(p.get()) ? " qr" : "") + (ldns_pkt_aa(p.get()) ? " aa" : "") +
                    (ldns_pkt_tc(p.get()) ? " tc" : "") + (ldns_pkt_rd(p.get()) ? " rd" : "") +
                    (ldns_pkt_ra(p.get()) ? " ra" : "") + (ldns_pkt_cd(p.get()) ? " cd" : "") +
                    " edns " + std::to_string(ldns_pkt_edns_udp_size(p.get())) +
                    (ldns_pkt_edns_do(p.get()) ? " do" : "") + "\n";
  for (auto s : {LDNS_SECTION_QUESTION, LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY,
                 LDNS_SECTION_ADDITIONAL}) {
    ldns_rr_list* l = ldns_pkt_get_section_clone(p.get(), s);
    char* text = ldns_rr_list2str(l);
    out += std::string(text ? text : "") + "--\n";
    free(text);
    ldns_rr_list_deep_free(l);
  }
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

TEST_F(FastPathEquivalenceTest, SameRepliesAsLdns) {
  Responder fast{ResponderOptions{}};
  Responder slow{ResponderOptions{.fast_path = false}};
  const char* names[] = {"hello.default.svc.cluster.local.",
                         "HELLO.Default.Svc.Cluster.Local.",
                         "v6.default.svc.cluster.local.",
                         "pg.db.svc.cluster.local.",
                         "pg-0.pg.db.svc.cluster.local.",
                         "10-244-2-6.pg.db.svc.cluster.local.",
                         "_sql._tcp.pg.db.svc.cluster.local.",
                         "_http._tcp.hello.default.svc.cluster.local.",
                         "_dns._udp.hello.default.svc.cluster.local.",
                         "_p._tcp.big.default.svc.cluster.local.",
                         "big.default.svc.cluster.local.",
                         "ext.default.svc.cluster.local.",
                         "nosuch.default.svc.cluster.local.",
                         "default.svc.cluster.local.",
                         "svc.cluster.local.",
                         "cluster.local.",
                         "4.3.96.10.in-addr.arpa.",
                         "5.1.244.10.in-addr.arpa.",
                         "10-244-1-7.default.pod.cluster.local.",
                         "dns-version.cluster.local.",
                         "example.com.",
                         "9.9.9.9.in-addr.arpa.",
                         "kubernetes.default."};
  ldns_rr_type types[] = {LDNS_RR_TYPE_A,   LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_SRV, LDNS_RR_TYPE_PTR,
                          LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_MX,   LDNS_RR_TYPE_ANY};
  int compared = 0;
  for (const char* name : names) {
    for (auto type : types) {
      for (int edns : {0, 1232, 4096}) {
        for (bool tcp : {false, true}) {
          auto q = query(name, type, edns, 0x4242);
          if (edns == 4096) q[3] |= 0x10;  // CD
          Outcome a = fast.handle(q.data(), q.size(), *idx_, tcp);
          Outcome b = slow.handle(q.data(), q.size(), *idx_, tcp);
          std::string what = std::string(name) + " type " + std::to_string(type) + " edns " +
                             std::to_string(edns) + (tcp ? " tcp" : " udp");
          ASSERT_EQ(a.action, b.action) << what;
          EXPECT_EQ(a.rcode, b.rcode) << what;
          EXPECT_EQ(a.question.name, b.question.name) << what;
          EXPECT_EQ(a.question.type, b.question.type) << what;
          EXPECT_EQ(a.question.max_reply, b.question.max_reply) << what;
          EXPECT_EQ(a.question.edns, b.question.edns) << what;
          EXPECT_EQ(a.question.recursion_desired, b.question.recursion_desired) << what;
          if (a.action == Action::Reply) {
            EXPECT_EQ(describe(a.wire), describe(b.wire)) << what;
            EXPECT_LE(a.wire.size(), b.wire.size()) << what;
          }
          ++compared;
        }
      }
    }
  }
  EXPECT_EQ(compared, 23 * 7 * 3 * 2);
}

TEST_F(FastPathEquivalenceTest, DnssecOkIsEchoedInTheOpt) {
  auto q = query("hello.default.svc.cluster.local.", LDNS_RR_TYPE_A, 1232);
  q[q.size() - 4] = 0x80;  // DO
  Responder r{ResponderOptions{}};
  auto p = parse(r.handle(q.data(), q.size(), *idx_, false).wire);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(ldns_pkt_edns_do(p.get()));
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 1);
}

TEST_F(FastPathEquivalenceTest, SrvTemplateCompressesTargetsAgainstTheQuestion) {
  const NameRecords* r = idx_->find("_http._tcp.hello.default.svc.cluster.local");
  ASSERT_NE(r, nullptr);
  const ReplyTemplate* t = r->replyTemplate(kTypeSrv);
  ASSERT_NE(t, nullptr);
  // One SRV (owner pointer, header, 6 fixed bytes, target = a pointer into the question) and
  // its target's A record (owner pointer): 2+10+6+2 + 2+10+4.
  EXPECT_EQ(t->ancount, 1);
  EXPECT_EQ(t->arcount, 1);
  EXPECT_EQ(t->body.size(), 20u + 16u);
  EXPECT_EQ(r->replyTemplate(kTypeA), nullptr);
}

}  // namespace
}  // namespace skiff::agent::dns
