#include "proxy_backend.h"

#include <algorithm>
#include <mutex>
#include <optional>

#include "skiff/common/log.h"
#include "skiff/netproxy/ipvs/ipvs_mode.h"
#include "skiff/netproxy/ipvs/ipvs_service_proxy.h"
#include "skiff/netproxy/pod_network.h"
#include "skiff/netproxy/sys/iptables.h"
#include "skiff/netproxy/sys/nftables.h"

namespace skiff::agent {

namespace np = skiff::netproxy;
using skiff::log::kv;

Result<ProxyBackend> chooseProxyBackend(const std::string& proxy_mode,
                                        const Result<void>& nf_tables,
                                        np::ipvs::GenlTransport* genl, np::BackendProbe& probe) {
  SKIFF_ASSIGN_OR_RETURN(np::ProxyMode requested, np::parseProxyMode(proxy_mode));
  Result<void> ipvs = Error(ErrorCode::NotFound, "cannot open a generic netlink socket");
  if (requested == np::ProxyMode::Ipvs && genl != nullptr) {
    auto family = genl->resolveFamily();
    ipvs = family ? ok() : Result<void>(family.error());
  }
  SKIFF_ASSIGN_OR_RETURN(np::ModeDecision d,
                         np::chooseProxyMode(requested, nf_tables, ipvs, probe));
  return ProxyBackend{d.mode, d.reason};
}

Result<std::unique_ptr<np::ServiceProxy>> makeModeProxy(const ProxyBackend& backend,
                                                        np::ProxyConfig c, const AgentConfig& cfg,
                                                        const ProxySeams& s) {
  switch (backend.mode) {
    case np::ProxyMode::Ipvs: {
      if (!s.genl || !s.netlink || !s.nftables) {
        return Error(ErrorCode::Internal, "IPVS proxy mode needs netlink and nftables seams");
      }
      np::ipvs::IpvsModeOptions o;
      o.scheduler = cfg.ipvs_scheduler;
      if (auto ip = np::Ipv4::parse(cfg.node_ip)) o.node_ips.push_back(*ip);
      return np::ipvs::makeIpvsProxy(std::move(c), *s.genl, *s.netlink, *s.nftables, o);
    }
    case np::ProxyMode::Nftables: {
      if (!s.nftables) return Error(ErrorCode::Internal, "nftables proxy mode needs nftables");
      np::NftProxyOptions o;
      o.full_sync_period = cfg.proxy_sync_period;
      return np::makeNftablesProxy(std::move(c), *s.nftables, s.conntrack, o);
    }
    default:
      if (!s.iptables) return Error(ErrorCode::Internal, "iptables proxy mode needs iptables");
      // TODO(agent): pass the conntrack seam (UDP endpoint cleanup) in iptables mode too.
      return np::makeIptablesProxy(std::move(c), *s.iptables, nullptr);
  }
}

namespace {

Result<ProxyBackend> decide(const AgentConfig& cfg) {
  auto nft = np::sys::makeNetlinkNftables();
  auto tables = nft->listTables(np::nft::Family::Ip);
  Result<void> has_nft = tables ? ok() : Result<void>(tables.error());
  auto probe = np::makeCommandBackendProbe();
  auto genl = np::ipvs::openGenlSocket();
  return chooseProxyBackend(cfg.proxy_mode, has_nft, genl ? genl->get() : nullptr, *probe);
}

// nftables mode's tables: `ip skiff` and its Service shard tables `ip skiff-svc-<k>` (the
// proxy's own cleanup). No nf_tables in the kernel: nothing to remove.
Result<void> cleanupNftablesProxy(np::sys::Nftables& nft) {
  if (!nft.listTables(np::nft::Family::Ip)) return ok();
  return np::makeNftablesProxy(np::ProxyConfig{}, nft, nullptr)->cleanup();
}

// IPVS mode's virtual servers (when the kernel has IPVS), its dummy interface and its masquerade
// table.
Result<void> cleanupIpvs(np::sys::Nftables& nft) {
  if (!nft.listTables(np::nft::Family::Ip)) return ok();
  auto genl = np::ipvs::openGenlSocket();
  SKIFF_ASSIGN_OR_RETURN(auto nl, np::sys::makeLibnlNetlink(""));
  if (genl && (*genl)->resolveFamily()) {
    SKIFF_ASSIGN_OR_RETURN(auto proxy, np::ipvs::makeIpvsProxy({}, **genl, *nl, nft));
    return proxy->cleanup();
  }
  SKIFF_TRY(nl->deleteLink(np::ipvs::kDummyInterface));
  return np::ipvs::cleanupMasquerade(nft);
}

Result<void> cleanupIptables() {
  auto ipt = np::sys::makeLegacyIptables();
  SKIFF_TRY(np::makeIptablesProxy(np::ProxyConfig{}, *ipt, nullptr)->cleanup());
  // The pod network's SKIFF-* chains (only from legacy tables that hold them).
  return np::cleanupPodRules(*ipt);
}

// What a mode switch removes: every other mode's service rules, and the pod network's nftables
// rules when leaving nftables for iptables.
Result<void> cleanupOtherModes(np::ProxyMode mode) {
  auto nft = np::sys::makeNetlinkNftables();
  switch (mode) {
    case np::ProxyMode::Nftables:
      SKIFF_TRY(cleanupIpvs(*nft));
      return cleanupIptables();
    case np::ProxyMode::Ipvs:
      SKIFF_TRY(cleanupNftablesProxy(*nft));
      return cleanupIptables();
    default:
      return cleanupProxyRules(true, false);
  }
}

}  // namespace

Result<void> cleanupProxyRules(bool nftables, bool iptables) {
  if (nftables) {
    auto nft = np::sys::makeNetlinkNftables();
    SKIFF_TRY(cleanupNftablesProxy(*nft));
    SKIFF_TRY(cleanupIpvs(*nft));
    SKIFF_TRY(np::cleanupPodRules(*nft));
  }
  if (iptables) SKIFF_TRY(cleanupIptables());
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
  if (auto r = cleanupOtherModes(b.mode); !r) {
    SKIFF_LOG_WARN(lg, "Cannot remove the other proxy mode's rules, ignoring",
                   kv("err", r.error().message()));
  }
  return *decided;
}

}  // namespace skiff::agent
