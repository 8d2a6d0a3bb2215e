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

TEST(BackendDetectTest, EmptyNamespaceUsesLegacyAndSaysSo) {
  FakeProbe p("", "");
  auto d = requireLegacyBackend(p);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->backend, IptablesBackend::Legacy);
  EXPECT_NE(d->reason.find("no iptables rules"), std::string::npos);
}

TEST(BackendDetectTest, NftOnlyRulesAreRefusedWithAClearMessage) {
  FakeProbe p(kRules, "");
  auto d = requireLegacyBackend(p);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().is(ErrorCode::Unsupported));
  EXPECT_NE(d.error().message().find("iptables-nft holds 2 rules"), std::string::npos);
  EXPECT_NE(d.error().message().find("update-alternatives"), std::string::npos);
}

TEST(BackendDetectTest, KubeletHintWinsOverRuleCounts) {
  FakeProbe nft_hint(kHint, kRules);
  EXPECT_EQ(detectIptablesBackend(nft_hint)->backend, IptablesBackend::Nft);
  FakeProbe legacy_hint(kRules, kHint);
  EXPECT_EQ(detectIptablesBackend(legacy_hint)->backend, IptablesBackend::Legacy);
}

TEST(BackendDetectTest, MoreLegacyRulesMeansLegacy) {
  FakeProbe p("", kRules);
  auto d = requireLegacyBackend(p);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->legacy_rules, 2u);
}

}  // namespace
}  // namespace skiff::netproxy
