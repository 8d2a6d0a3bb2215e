#include "skiff/netproxy/rule.h"

#include <gtest/gtest.h>

namespace skiff::netproxy {
namespace {

// Lines exactly as iptables-legacy-save 1.8.9 prints kube-proxy's rules.
const char* kSaveLines[] = {
    "-d 10.96.0.10/32 -p tcp -m comment --comment \"ns1/svc1:p80 cluster IP\" -m tcp --dport 80 "
    "-j KUBE-SVC-XPGD46QRK7WJZT7O",
    "! -s 10.244.0.0/16 -d 10.96.0.10/32 -p tcp -m comment --comment \"ns1/svc1:p80 cluster IP\" "
    "-m tcp --dport 80 -j KUBE-MARK-MASQ",
    "-m comment --comment \"ns1/svc1:p80 -> 10.180.0.1:80\" -m statistic --mode random "
    "--probability 0.33333333349 -j KUBE-SEP-SXIVWICOYRO3J4NJ",
    "-m comment --comment \"ns1/svc1:p80\" -m recent --rcheck --seconds 10800 --reap --name "
    "KUBE-SEP-SXIVWICOYRO3J4NJ --mask 255.255.255.255 --rsource -j KUBE-SEP-SXIVWICOYRO3J4NJ",
    "-p tcp -m comment --comment \"ns1/svc1:p80\" -m tcp -m recent --set --name "
    "KUBE-SEP-SXIVWICOYRO3J4NJ --mask 255.255.255.255 --rsource -j DNAT --to-destination "
    "10.180.0.1:80",
    "-m mark ! --mark 0x4000/0x4000 -j RETURN",
    "-j MARK --set-xmark 0x4000/0x0",
    "-m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE "
    "--random-fully",
    "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment \"block incoming localnet "
    "connections\" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP",
    "-p udp -m comment --comment \"ns1/dns:dns has no endpoints\" -m addrtype --dst-type LOCAL -m "
    "udp --dport 30053 -j REJECT --reject-with icmp-port-unreachable",
    "-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ",
    "-m comment --comment kubernetes-plain -j ACCEPT",
};

TEST(RuleTest, SaveLinesRoundTrip) {
  for (const char* line : kSaveLines) {
    auto r = parseRule(line);
    ASSERT_TRUE(r) << line << ": " << r.error().message();
    EXPECT_EQ(render(*r), line);
  }
}

TEST(RuleTest, AcceptsKubeProxyRestoreSpellings) {
  auto r = parseRule(
      "-m comment --comment \"ns1/svc1:p80 cluster IP\" -m tcp -p tcp -d 10.96.0.10 --dport 80 -j "
      "KUBE-SVC-XPGD46QRK7WJZT7O");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(render(*r),
            "-d 10.96.0.10/32 -p tcp -m comment --comment \"ns1/svc1:p80 cluster IP\" -m tcp "
            "--dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O");
  auto m = parseRule("-j MARK --or-mark 0x4000");
  ASSERT_TRUE(m);
  EXPECT_EQ(render(*m), "-j MARK --set-xmark 0x4000/0x4000");
}

TEST(RuleTest, ProbabilityUsesKubeProxyPrecision) {
  // kube-proxy prints "%0.10f" -> 0.3333333333; iptables stores lround(2^31 * p) and prints 11
  // digits, which is the 0.33333333349 every kube-proxy node shows.
  EXPECT_EQ(match::Statistic::fromProbability(1.0 / 3).probability, 715827883u);
  EXPECT_EQ(match::Statistic::fromProbability(0.5).probability, 1u << 30);
}

TEST(RuleTest, RejectsWhatItCannotEncode) {
  for (const char* rule :
       {"-m set --match-set X src -j ACCEPT", "-p sctp -j ACCEPT", "-m tcp --dport 70000 -j ACCEPT",
        "-m comment --comment \"unterminated -j ACCEPT", "-d 10.0.0.300 -j ACCEPT",
        "-d 10.0.0.1" /* no target */}) {
    EXPECT_FALSE(parseRule(rule)) << rule;
  }
}

TEST(RuleTest, QuotesLikeXtablesSaveString) {
  EXPECT_EQ(saveQuote("abc-_09"), "abc-_09");
  EXPECT_EQ(saveQuote("ns/svc"), "\"ns/svc\"");
  EXPECT_EQ(saveQuote("a\"b"), "\"a\\\"b\"");
}

}  // namespace
}  // namespace skiff::netproxy
