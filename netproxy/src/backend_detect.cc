#include "skiff/netproxy/backend_detect.h"

#include <fmt/format.h>

#include "skiff/common/enum_names.h"
#include "skiff/common/run_command.h"

namespace skiff::netproxy {

namespace {

struct SaveSummary {
  std::size_t rules = 0;
  bool hint = false;
};

SaveSummary summarize(const std::string& save, bool skip_skiff = false) {
  SaveSummary s;
  std::size_t pos = 0;
  while (pos < save.size()) {
    auto nl = save.find('\n', pos);
    std::string_view line(save.data() + pos, (nl == std::string::npos ? save.size() : nl) - pos);
    pos = nl == std::string::npos ? save.size() : nl + 1;
    if (line.substr(0, 1) == "-" &&
        !(skip_skiff && line.find(" SKIFF-") != std::string_view::npos)) {
      ++s.rules;
    }
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

// The --proxy-mode values, read by the flag parser and written in logs and metrics.
constexpr EnumName<ProxyMode> kProxyModes[] = {{ProxyMode::Auto, "auto"},
                                               {ProxyMode::Iptables, "iptables"},
                                               {ProxyMode::Nftables, "nftables"},
                                               {ProxyMode::Ipvs, "ipvs"}};

Result<ProxyMode> parseProxyMode(std::string_view text) {
  if (text.empty()) return ProxyMode::Auto;
  ProxyMode mode;
  if (valueOf(kProxyModes, text, mode)) return mode;
  return Error(
      ErrorCode::Invalid,
      fmt::format("invalid proxy mode '{}': must be iptables, nftables, ipvs or auto", text));
}

std::string_view proxyModeName(ProxyMode mode) { return nameOf(kProxyModes, mode, "auto"); }

Result<ModeDecision> chooseProxyMode(ProxyMode requested, const Result<void>& nf_tables,
                                     BackendProbe& probe) {
  return chooseProxyMode(
      requested, nf_tables,
      Error(ErrorCode::NotFound, "the IPVS generic netlink family was not looked up"), probe);
}

Result<ModeDecision> chooseProxyMode(ProxyMode requested, const Result<void>& nf_tables,
                                     const Result<void>& ipvs, BackendProbe& probe) {
  std::string no_nft = nf_tables ? "" : nf_tables.error().message();
  switch (requested) {
    case ProxyMode::Iptables:
      return ModeDecision{ProxyMode::Iptables, "--proxy-mode iptables"};
    case ProxyMode::Nftables:
      if (!nf_tables) {
        return Error(ErrorCode::Unavailable,
                     fmt::format("use nftables proxy mode: the kernel has no nf_tables ({}); "
                                 "use --proxy-mode iptables",
                                 no_nft));
      }
      return ModeDecision{ProxyMode::Nftables, "--proxy-mode nftables"};
    case ProxyMode::Ipvs:
      if (ipvs && nf_tables) {
        return ModeDecision{ProxyMode::Ipvs,
                            "--proxy-mode ipvs: the kernel's IPVS generic netlink family "
                            "resolved (masquerading through nftables)"};
      }
      if (ipvs) {
        return ModeDecision{ProxyMode::Iptables,
                            fmt::format("--proxy-mode ipvs: the kernel has IPVS but no nf_tables "
                                        "({}) for its masquerade rules; falling back to iptables",
                                        no_nft)};
      }
      if (!nf_tables) {
        return ModeDecision{ProxyMode::Iptables,
                            fmt::format("--proxy-mode ipvs: the kernel has no IPVS ({}) and no "
                                        "nf_tables ({}); falling back to iptables",
                                        ipvs.error().message(), no_nft)};
      }
      return ModeDecision{ProxyMode::Nftables,
                          fmt::format("--proxy-mode ipvs: the kernel has no IPVS ({}); falling "
                                      "back to nftables",
                                      ipvs.error().message())};
    case ProxyMode::Auto:
      break;
  }
  if (!nf_tables) {
    return ModeDecision{ProxyMode::Iptables,
                        fmt::format("auto: the kernel has no nf_tables ({})", no_nft)};
  }
  SKIFF_ASSIGN_OR_RETURN(std::string nft, probe.nftSave());
  SKIFF_ASSIGN_OR_RETURN(std::string legacy, probe.legacySave());
  SaveSummary n = summarize(nft, true), l = summarize(legacy, true);
  if (l.hint && !n.hint) {
    return ModeDecision{ProxyMode::Iptables,
                        "auto: kubelet's KUBE-IPTABLES-HINT/KUBE-KUBELET-CANARY chain is in "
                        "iptables-legacy"};
  }
  if (l.rules > n.rules) {
    return ModeDecision{ProxyMode::Iptables,
                        fmt::format("auto: the host uses iptables-legacy ({} legacy rules, {} "
                                    "iptables-nft rules)",
                                    l.rules, n.rules)};
  }
  return ModeDecision{ProxyMode::Nftables,
                      fmt::format("auto: the kernel has nf_tables and the host is not "
                                  "iptables-legacy ({} legacy rules, {} iptables-nft rules)",
                                  l.rules, n.rules)};
}

}  // namespace skiff::netproxy
