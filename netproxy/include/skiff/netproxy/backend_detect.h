#pragma once

#include <memory>
#include <string>

#include "skiff/common/result.h"

namespace skiff::netproxy {

// Which iptables backend owns the network namespace (reference/netproxy.md §6). libiptc drives
// only iptables-legacy; installing legacy rules next to nft ones gives two rule sets the host's
// `iptables` cannot see together, racing each other.
enum class IptablesBackend { Legacy, Nft };

// What the two backends currently hold. The real probe runs `iptables-nft-save` and
// `iptables-legacy-save`, as iptables-wrappers does (pkg/xtables/detect.go); the legacy one
// only dumps tables that already exist, so probing never creates a legacy table.
class BackendProbe {
 public:
  virtual ~BackendProbe() = default;
  // Full save output of each backend ("" when the tool is missing or the backend is empty).
  virtual Result<std::string> nftSave() = 0;
  virtual Result<std::string> legacySave() = 0;
};
std::unique_ptr<BackendProbe> makeCommandBackendProbe();

struct BackendDecision {
  IptablesBackend backend = IptablesBackend::Legacy;
  std::size_t nft_rules = 0;
  std::size_t legacy_rules = 0;
  std::string reason;  // why, for the log line
};

// iptables-wrappers' order: a KUBE-IPTABLES-HINT or KUBE-KUBELET-CANARY chain in nft, then in
// legacy; otherwise the backend with more rules ("-A" lines); a tie (including an empty
// namespace) picks legacy, the only backend libiptc can drive.
Result<BackendDecision> detectIptablesBackend(BackendProbe& probe);

// The proxy's modes (kube-proxy --proxy-mode); each is one ServiceProxy implementation.
enum class ProxyMode { Auto, Iptables, Nftables, Ipvs };
Result<ProxyMode> parseProxyMode(std::string_view text);  // "" means auto
std::string_view proxyModeName(ProxyMode mode);

struct ModeDecision {
  ProxyMode mode = ProxyMode::Nftables;  // Iptables, Nftables or Ipvs
  std::string reason;                    // why, for the start-up log line
};

// Picks the mode to run. `nf_tables` says whether the kernel answered an nf_tables request,
// `ipvs` whether the IPVS generic netlink family resolved (each an error describing why not
// otherwise; the three-argument form has not looked IPVS up).
//  - iptables: always iptables (libiptc, iptables-legacy).
//  - nftables: nftables; an error when the kernel has no nf_tables.
//  - ipvs: IPVS (masquerading through nftables) when both resolve; otherwise nftables, or
//    iptables without nf_tables, with the reason (e.g. the kernel has no IPVS).
//  - auto: nftables when the kernel has nf_tables, unless the host demonstrably uses
//    iptables-legacy: kubelet's KUBE-IPTABLES-HINT/KUBE-KUBELET-CANARY chain in legacy (and not
//    in nft), or more legacy rules than iptables-nft rules (skiff's own SKIFF-* chains are not
//    counted, so an earlier skiff run in iptables mode does not pin the host to it). An empty
//    host, or one with Docker/firewalld/ufw nft rules, gets nftables.
Result<ModeDecision> chooseProxyMode(ProxyMode requested, const Result<void>& nf_tables,
                                     const Result<void>& ipvs, BackendProbe& probe);
Result<ModeDecision> chooseProxyMode(ProxyMode requested, const Result<void>& nf_tables,
                                     BackendProbe& probe);

}  // namespace skiff::netproxy
