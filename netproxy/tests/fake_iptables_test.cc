#include "skiff/netproxy/testing/fake_iptables.h"
#include "skiff/netproxy/testing/sample_services.h"

#include <gtest/gtest.h>

namespace skiff::netproxy::testing {
namespace {

const char* kNat = R"(*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-A - [0:0]
:KUBE-SEP-1 - [0:0]
:KUBE-SEP-2 - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "kube-system/dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-A
-A KUBE-SVC-A -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-1
-A KUBE-SVC-A -j KUBE-SEP-2
-A KUBE-SEP-1 -p udp -m udp -j DNAT --to-destination 10.244.0.5:53
-A KUBE-SEP-2 -p udp -m udp -j DNAT --to-destination 10.244.1.7:53
COMMIT
)";

TEST(FakeIptablesTest, RestoreThenSaveRoundTrips) {
  FakeIptables ipt;
  ASSERT_TRUE(ipt.restore(kNat));
  std::string saved = ipt.save("nat");
  FakeIptables again;
  ASSERT_TRUE(again.restore(saved));
  EXPECT_EQ(again.save("nat"), saved);
  EXPECT_NE(saved.find(":KUBE-SEP-1 - [0:0]"), std::string::npos);
}

TEST(FakeIptablesTest, TracerFindsEveryEndpoint) {
  FakeIptables ipt;
  ASSERT_TRUE(ipt.restore(kNat));
  auto r = tracePacket(ipt, {ip("10.244.0.9"), ip("10.96.0.10"), Protocol::Udp, 53}, {});
  EXPECT_EQ(r.destinations, (std::set<std::string>{"10.244.0.5:53", "10.244.1.7:53"}));
  EXPECT_EQ(r.verdicts, (std::set<std::string>{"ACCEPT"}));
  auto miss = tracePacket(ipt, {ip("10.244.0.9"), ip("10.96.0.10"), Protocol::Tcp, 53}, {});
  EXPECT_TRUE(miss.destinations.empty());
}

TEST(FakeIptablesTest, RefusesDanglingJumpsAndKeepsOldState) {
  FakeIptables ipt;
  ASSERT_TRUE(ipt.restore(kNat));
  std::string before = ipt.save("nat");
  EXPECT_FALSE(ipt.restore("*nat\n:X - [0:0]\n-A X -j KUBE-MISSING\nCOMMIT\n", true));
  EXPECT_EQ(ipt.save("nat"), before);
  sys::TableChange t{"nat", {Chain{"Y", {*parseRule("-j NOPE")}}}, {}, {}, {}};
  EXPECT_FALSE(ipt.apply(t));
  EXPECT_EQ(ipt.save("nat"), before);
}

TEST(FakeIptablesTest, ApplyRefusesDeletingReferencedChain) {
  FakeIptables ipt;
  ASSERT_TRUE(ipt.restore(kNat));
  sys::TableChange del{"nat", {}, {"KUBE-SEP-1"}, {}, {}};
  auto r = ipt.apply(del);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::Conflict));
  // Rewriting the referrer in the same transaction makes the delete legal.
  sys::TableChange ok{
      "nat", {Chain{"KUBE-SVC-A", {*parseRule("-j KUBE-SEP-2")}}}, {"KUBE-SEP-1"}, {}, {}};
  ASSERT_TRUE(ipt.apply(ok));
  EXPECT_FALSE(ipt.table("nat")->hasChain("KUBE-SEP-1"));
}

TEST(FakeIptablesTest, EnsureIsIdempotentAndOrdered) {
  FakeIptables ipt;
  sys::TableChange t;
  t.table = "filter";
  t.write = {Chain{"A", {}}, Chain{"B", {}}};
  t.ensure = {JumpRule{"INPUT", *parseRule("-j A")}, JumpRule{"INPUT", *parseRule("-j B")}};
  ASSERT_TRUE(ipt.apply(t));
  ASSERT_TRUE(ipt.apply(t));
  auto rules = *ipt.listRules("filter", "INPUT");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(render(rules[0]), "-j A");
  EXPECT_EQ(render(rules[1]), "-j B");
  sys::TableChange undo{"filter", {}, {"A", "B"}, {}, t.ensure};
  ASSERT_TRUE(ipt.apply(undo));
  EXPECT_TRUE(ipt.listRules("filter", "INPUT")->empty());
  EXPECT_TRUE(ipt.listChains("filter")->empty());
}

TEST(FakeIptablesTest, TracerFollowsMarksIntoPostrouting) {
  FakeIptables ipt;
  ASSERT_TRUE(ipt.restore(R"(*nat
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
-A PREROUTING -s 192.168.0.0/16 -j KUBE-MARK-MASQ
-A POSTROUTING -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MASQUERADE
COMMIT
)"));
  EXPECT_TRUE(
      tracePacket(ipt, {ip("192.168.1.1"), ip("8.8.8.8"), Protocol::Tcp, 1}, {}).masqueraded);
  EXPECT_FALSE(tracePacket(ipt, {ip("10.0.0.1"), ip("8.8.8.8"), Protocol::Tcp, 1}, {}).masqueraded);
}

}  // namespace
}  // namespace skiff::netproxy::testing
