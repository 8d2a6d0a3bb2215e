#include "proxy_backend.h"

#include <algorithm>
#include <mutex>
#include <optional>

#include "skiff/common/log.h"
#include "skiff/netproxy/pod_network.h"
#include "skiff/netproxy/service_proxy.h"
#include "skiff/netproxy/sys/iptables.h"
#include "skiff/netproxy/sys/netlink.h"
#include "skiff/netproxy/sys/nftables.h"

namespace skiff::agent {

namespace np = skiff::netproxy;
using skiff::log::kv;

namespace {

Result<ProxyBackend> decide(const AgentConfig& cfg) {
  SKIFF_ASSIGN_OR_RETURN(np::ProxyMode requested, np::parseProxyMode(cfg.proxy_mode));
  auto nft = np::sys::makeNetlinkNftables();
  auto tables = nft->listTables(np::nft::Family::Ip);
  Result<void> has_nft = tables ? ok() : Result<void>(tables.error());
  auto probe = np::makeCommandBackendProbe();
  SKIFF_ASSIGN_OR_RETURN(np::ModeDecision d, np::chooseProxyMode(requested, has_nft, *probe));
  return ProxyBackend{d.mode, d.reason};
}

}  // namespace

Result<void> cleanupProxyRules(bool nftables, bool iptables) {
  if (nftables) {
    auto nft = np::sys::makeNetlinkNftables();
    // `ip skiff` and its Service shard tables `ip skiff-svc-<k>` (the proxy's own cleanup).
    // No nf_tables in the kernel: nothing to remove.
    if (nft->listTables(np::nft::Family::Ip)) {
      SKIFF_TRY(np::makeNftablesProxy(np::ProxyConfig{}, *nft, nullptr)->cleanup());
    }
    SKIFF_TRY(np::cleanupPodRules(*nft));
  }
  if (iptables) {
    auto ipt = np::sys::makeLegacyIptables();
    auto proxy = np::makeIptablesProxy(np::ProxyConfig{}, *ipt, nullptr);
    SKIFF_TRY(proxy->cleanup());
    // The pod network's SKIFF-* chains (only from legacy tables that hold them).
    SKIFF_TRY(np::cleanupPodRules(*ipt));
  }
  return ok();
}

Result<ProxyBackend> proxyBackend(const AgentConfig& cfg) {
  static std::mutex mu;
  static std::optional<Result<ProxyBackend>> decided;
  std::lock_guard lk(mu);
  if (decided) return *decided;
  auto lg = skiff::log::get("agent");
  decided = decide(cfg);
  if (!*decided) {
    SKIFF_LOG_ERROR(lg, "Cannot choose a proxy mode", kv("err", decided->error().message()));
    return *decided;
  }
  const ProxyBackend& b = **decided;
  SKIFF_LOG_INFO(lg, "Using proxy mode", kv("mode", np::proxyModeName(b.mode)),
                 kv("reason", b.reason));
  bool nft = b.mode == np::ProxyMode::Nftables;
  if (auto r = cleanupProxyRules(!nft, nft); !r) {
    SKIFF_LOG_WARN(lg, "Cannot remove the other proxy mode's rules, ignoring",
                   kv("err", r.error().message()));
  }
  return *decided;
}

}  // namespace skiff::agent
