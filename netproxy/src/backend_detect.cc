#include "skiff/netproxy/backend_detect.h"

#include <fmt/format.h>

#include "skiff/common/run_command.h"

namespace skiff::netproxy {

namespace {

struct SaveSummary {
  std::size_t rules = 0;
  bool hint = false;
};

SaveSummary summarize(const std::string& save) {
  SaveSummary s;
  std::size_t pos = 0;
  while (pos < save.size()) {
    auto nl = save.find('\n', pos);
    std::string_view line(save.data() + pos, (nl == std::string::npos ? save.size() : nl) - pos);
    pos = nl == std::string::npos ? save.size() : nl + 1;
    if (line.substr(0, 1) == "-") ++s.rules;
    if (line.rfind(":KUBE-IPTABLES-HINT ", 0) == 0 || line.rfind(":KUBE-KUBELET-CANARY ", 0) == 0) {
      s.hint = true;
    }
  }
  return s;
}

class CommandProbe final : public BackendProbe {
 public:
  Result<std::string> nftSave() override { return save("iptables-nft-save"); }
  Result<std::string> legacySave() override { return save("iptables-legacy-save"); }

 private:
  static Result<std::string> save(const char* tool) {
    SKIFF_ASSIGN_OR_RETURN(RunResult r, runCommand({tool}));
    if (r.exit_code == 127) return std::string();  // tool not installed: nothing there
    if (r.exit_code != 0) {
      return Error(ErrorCode::Internal, fmt::format("run '{}': exit code {}", tool, r.exit_code));
    }
    return r.out;
  }
};

}  // namespace

std::unique_ptr<BackendProbe> makeCommandBackendProbe() { return std::make_unique<CommandProbe>(); }

Result<BackendDecision> detectIptablesBackend(BackendProbe& probe) {
  SKIFF_ASSIGN_OR_RETURN(std::string nft, probe.nftSave());
  SKIFF_ASSIGN_OR_RETURN(std::string legacy, probe.legacySave());
  SaveSummary n = summarize(nft), l = summarize(legacy);
  BackendDecision d;
  d.nft_rules = n.rules;
  d.legacy_rules = l.rules;
  if (n.hint) {
    d.backend = IptablesBackend::Nft;
    d.reason = "kubelet's KUBE-IPTABLES-HINT/KUBE-KUBELET-CANARY chain is in iptables-nft";
  } else if (l.hint) {
    d.backend = IptablesBackend::Legacy;
    d.reason = "kubelet's KUBE-IPTABLES-HINT/KUBE-KUBELET-CANARY chain is in iptables-legacy";
  } else if (n.rules > l.rules) {
    d.backend = IptablesBackend::Nft;
    d.reason = fmt::format("iptables-nft holds {} rules, iptables-legacy {}", n.rules, l.rules);
  } else if (l.rules == 0) {
    d.backend = IptablesBackend::Legacy;
    d.reason = "no iptables rules in this network namespace; using iptables-legacy";
  } else {
    d.backend = IptablesBackend::Legacy;
    d.reason = fmt::format("iptables-legacy holds {} rules, iptables-nft {}", l.rules, n.rules);
  }
  return d;
}

Result<BackendDecision> requireLegacyBackend(BackendProbe& probe) {
  SKIFF_ASSIGN_OR_RETURN(BackendDecision d, detectIptablesBackend(probe));
  if (d.backend == IptablesBackend::Nft) {
    return Error(ErrorCode::Unsupported,
                 fmt::format("detect iptables backend: this host uses iptables-nft ({}), but "
                             "skiff's proxy programs iptables-legacy through libiptc; its rules "
                             "would be invisible to the host's iptables and race with them. "
                             "Switch the host to legacy (update-alternatives --set iptables "
                             "/usr/sbin/iptables-legacy, then flush the nft rules) or run the "
                             "proxy where iptables-legacy is in use",
                             d.reason));
  }
  return d;
}

}  // namespace skiff::netproxy
