// The libiptc writer against the real kernel, in a throwaway network namespace.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "netns_fixture.h"
#include "skiff/netproxy/backend_detect.h"
#include "skiff/netproxy/chain_names.h"
#include "skiff/netproxy/proxy_rules.h"
#include "skiff/netproxy/service_proxy.h"
#include "skiff/netproxy/sys/iptables.h"
#include "skiff/netproxy/sys/nftables.h"
#include "skiff/netproxy/testing/sample_services.h"

namespace skiff::netproxy {
namespace {

using itest::EnterNetns;
using itest::TestNetns;

std::string kernelSave(const TestNetns& ns, const char* table) {
  auto r = ns.exec(std::string("iptables-legacy-save -t ") + table);
  std::string out;
  std::istringstream in(r.out);
  std::string line;
  static const std::regex counters(R"(\[\d+:\d+\]$)");
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    out += std::regex_replace(line, counters, "[0:0]") + "\n";
  }
  return out;
}

std::string golden(const char* name) {
  std::ifstream f(testing::goldenDir() + "/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class IptablesIntegration : public itest::HostUnchangedTest {
 protected:
  IptablesIntegration() : HostUnchangedTest("CAP_NET_ADMIN") {}
};

TEST_F(IptablesIntegration, ROOT_KernelIptablesSaveMatchesGoldenRules) {
  TestNetns ns("snp-golden");
  auto g = testing::goldenScenario();
  auto ipt = sys::makeLegacyIptables();
  {
    EnterNetns in(ns.path());
    ASSERT_TRUE(in.ok());
    auto proxy = makeIptablesProxy(g.config, *ipt, nullptr);
    auto r = proxy->sync(g.ports, g.endpoints);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->full);
  }
  // The kernel's view, printed by the host's own tool, is byte-identical to the golden files:
  // our libiptc entries encode exactly what iptables-restore would have.
  EXPECT_EQ(kernelSave(ns, "nat"), golden("nat.save"));
  EXPECT_EQ(kernelSave(ns, "filter"), golden("filter.save"));
}

TEST_F(IptablesIntegration, ROOT_ProxyResyncRewritesOnlyChangedChains) {
  TestNetns ns("snp-partial");
  auto g = testing::goldenScenario();
  auto ipt = sys::makeLegacyIptables();
  EnterNetns in(ns.path());
  ASSERT_TRUE(in.ok());
  auto proxy = makeIptablesProxy(g.config, *ipt, nullptr);
  ASSERT_TRUE(proxy->sync(g.ports, g.endpoints));
  auto same = proxy->sync(g.ports, g.endpoints);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->chains_written, 0u);

  // default/web loses one endpoint: its SVC chain is rewritten, one SEP chain deleted.
  auto& web = g.endpoints[testing::clusterIpPort("default", "web", "http", "10.96.0.20", 80).key()];
  std::string gone = endpointChainName("default/web:http", "tcp", web.back().str());
  web.pop_back();
  auto r = proxy->sync(g.ports, g.endpoints);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->chains_written, 1u);
  EXPECT_EQ(r->chains_removed, 1u);
  auto chains = ipt->listChains("nat");
  ASSERT_TRUE(chains);
  EXPECT_EQ(std::count(chains->begin(), chains->end(), gone), 0);
  // What the kernel holds equals what a fresh full build renders.
  Ruleset want = buildRuleset(g.config, g.ports, g.endpoints);
  EXPECT_EQ(kernelSave(ns, "nat"), renderSave(want.nat));

  // Our jump rules decode back to what we wrote (used to find them for ensure/cleanup).
  auto pre = ipt->listRules("nat", "PREROUTING");
  ASSERT_TRUE(pre) << pre.error().message();
  ASSERT_EQ(pre->size(), 1u);
  EXPECT_EQ(render((*pre)[0]), render(want.nat.jumps[0].rule));

  ASSERT_TRUE(proxy->cleanup());
  EXPECT_TRUE(ipt->listChains("nat")->empty());
  EXPECT_TRUE(ipt->listRules("filter", "INPUT")->empty());
}

TEST_F(IptablesIntegration, ROOT_AutoProxyModeChoosesNftablesUnlessLegacyIsInUse) {
  TestNetns empty("snp-empty");
  TestNetns nft("snp-nft");
  TestNetns legacy("snp-legacy");
  ASSERT_EQ(nft.exec("iptables-nft -A INPUT -s 192.0.2.1 -j DROP").code, 0);
  ASSERT_EQ(legacy.exec("iptables-legacy -A INPUT -s 192.0.2.1 -j DROP").code, 0);
  auto probe = makeCommandBackendProbe();
  auto nfnl = sys::makeNetlinkNftables();
  auto choose = [&](TestNetns& ns) {
    EnterNetns in(ns.path());
    EXPECT_TRUE(in.ok());
    auto tables = nfnl->listTables(nft::Family::Ip);
    Result<void> has = tables ? ok() : Result<void>(tables.error());
    auto d = chooseProxyMode(ProxyMode::Auto, has, *probe);
    EXPECT_TRUE(d) << d.error().message();
    return d ? d->mode : ProxyMode::Auto;
  };
  EXPECT_EQ(choose(empty), ProxyMode::Nftables);
  EXPECT_EQ(choose(nft), ProxyMode::Nftables);
  EXPECT_EQ(choose(legacy), ProxyMode::Iptables);
  // Probing did not create legacy tables in the nft namespace.
  EXPECT_EQ(nft.exec("cat /proc/net/ip_tables_names").out, "");
}

TEST_F(IptablesIntegration, ROOT_IptablesLockIsHeldDuringCommit) {
  TestNetns ns("snp-lock");
  std::string lock = "/tmp/skiff-np-itest.lock";
  auto ipt = sys::makeLegacyIptables({lock, std::chrono::milliseconds(200)});
  // Someone else holds the lock (like `iptables -w` in flight): we wait, then give up clearly.
  auto holder = std::make_unique<itest::Background>(
      ns.name(), std::vector<std::string>{"flock", lock, "sleep", "30"});
  for (int i = 0; i < 100 && itest::sh("flock -n " + lock + " true").code == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EnterNetns in(ns.path());
  sys::TableChange t{"filter", {Chain{"KUBE-TEST", {}}}, {}, {}, {}};
  auto r = ipt->apply(t);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::Timeout)) << r.error().message();
  holder.reset();
  auto ok = ipt->apply(t);
  EXPECT_TRUE(ok) << ok.error().message();
  ::unlink(lock.c_str());
}

}  // namespace
}  // namespace skiff::netproxy
