#include "skiff/netproxy/backend_detect.h"

#include <gtest/gtest.h>

namespace skiff::netproxy {
namespace {

class FakeProbe : public BackendProbe {
 public:
  FakeProbe(std::string nft, std::string legacy)
      : nft_(std::move(nft)), legacy_(std::move(legacy)) {}
  Result<std::string> nftSave() override { return nft_; }
  Result<std::string> legacySave() override { return legacy_; }

 private:
  std::string nft_, legacy_;
};

const char* kRules = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n";
const char* kHint = "*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n";

const Result<void> kHasNft = ok();

TEST(ProxyModeTest, AutoOnAnEmptyHostIsNftables) {
  FakeProbe p("", "");
  auto d = chooseProxyMode(ProxyMode::Auto, kHasNft, p);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->mode, ProxyMode::Nftables);
  EXPECT_NE(d->reason.find("auto"), std::string::npos);
}

TEST(ProxyModeTest, AutoOnAnNftHostWithRulesIsNftables) {
  // Docker or ufw through iptables-nft: never refused, nftables.
  FakeProbe p(kRules, "");
  auto d = chooseProxyMode(ProxyMode::Auto, kHasNft, p);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->mode, ProxyMode::Nftables);
}

TEST(ProxyModeTest, AutoOnALegacyHostIsIptables) {
  FakeProbe rules("", kRules);
  auto d = chooseProxyMode(ProxyMode::Auto, kHasNft, rules);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->mode, ProxyMode::Iptables);
  EXPECT_NE(d->reason.find("2 legacy rules"), std::string::npos) << d->reason;
  FakeProbe hint("", kHint);
  EXPECT_EQ(chooseProxyMode(ProxyMode::Auto, kHasNft, hint)->mode, ProxyMode::Iptables);
}

TEST(ProxyModeTest, SkiffsOwnLegacyChainsDoNotPinTheHost) {
  FakeProbe p("",
              "*nat\n:SKIFF-POSTROUTING - [0:0]\n-A POSTROUTING -j SKIFF-POSTROUTING\n"
              "-A SKIFF-POSTROUTING -j MASQUERADE\nCOMMIT\n");
  EXPECT_EQ(chooseProxyMode(ProxyMode::Auto, kHasNft, p)->mode, ProxyMode::Nftables);
}

TEST(ProxyModeTest, ExplicitModesAndIpvsFallback) {
  FakeProbe p("", kRules);
  EXPECT_EQ(chooseProxyMode(ProxyMode::Nftables, kHasNft, p)->mode, ProxyMode::Nftables);
  EXPECT_EQ(chooseProxyMode(ProxyMode::Iptables, kHasNft, p)->mode, ProxyMode::Iptables);
  auto ipvs = chooseProxyMode(ProxyMode::Ipvs, kHasNft, p);
  EXPECT_EQ(ipvs->mode, ProxyMode::Nftables);
  EXPECT_NE(ipvs->reason.find("falling back to nftables"), std::string::npos);
  Result<void> no_ipvs = Error(ErrorCode::NotFound, "Object not found");
  ipvs = chooseProxyMode(ProxyMode::Ipvs, kHasNft, no_ipvs, p);
  EXPECT_EQ(ipvs->mode, ProxyMode::Nftables);
  EXPECT_EQ(ipvs->reason,
            "--proxy-mode ipvs: the kernel has no IPVS (Object not found); falling back to "
            "nftables");
  EXPECT_EQ(chooseProxyMode(ProxyMode::Ipvs, kHasNft, ok(), p)->mode, ProxyMode::Ipvs);
  Result<void> none = Error(ErrorCode::Unavailable, "open nfnetlink socket: not supported");
  auto nft = chooseProxyMode(ProxyMode::Nftables, none, p);
  ASSERT_FALSE(nft);
  EXPECT_NE(nft.error().message().find("no nf_tables"), std::string::npos);
  EXPECT_EQ(chooseProxyMode(ProxyMode::Auto, none, p)->mode, ProxyMode::Iptables);
  EXPECT_EQ(*parseProxyMode(""), ProxyMode::Auto);
  EXPECT_FALSE(parseProxyMode("userspace"));
}

TEST(BackendDetectTest, KubeletHintWinsOverRuleCounts) {
  FakeProbe nft_hint(kHint, kRules);
  EXPECT_EQ(detectIptablesBackend(nft_hint)->backend, IptablesBackend::Nft);
  FakeProbe legacy_hint(kRules, kHint);
  EXPECT_EQ(detectIptablesBackend(legacy_hint)->backend, IptablesBackend::Legacy);
}

TEST(BackendDetectTest, MoreLegacyRulesMeansLegacy) {
  FakeProbe p("", kRules);
  auto d = detectIptablesBackend(p);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->backend, IptablesBackend::Legacy);
  EXPECT_EQ(d->legacy_rules, 2u);
}

}  // namespace
}  // namespace skiff::netproxy
