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

// detectIptablesBackend, turned into skiff's policy: Legacy is fine; Nft is refused with an
// error saying what was found and what to do.
Result<BackendDecision> requireLegacyBackend(BackendProbe& probe);

}  // namespace skiff::netproxy
