#include <algorithm>

#include <fmt/format.h>

#include "pod_rules.h"

namespace skiff::netproxy {

namespace {

constexpr const char* kPostrouting = "SKIFF-POSTROUTING";
constexpr const char* kForward = "SKIFF-FORWARD";
constexpr const char* kHostPorts = "SKIFF-HOSTPORTS";
constexpr uint32_t kMasqMark = 0x4000;  // kube-proxy's bit; flannel RETURNs on it too

Rule jumpRule(std::string comment, std::string to) {
  Rule r;
  r.matches = {match::Comment{std::move(comment)}};
  r.target = target::Jump{std::move(to)};
  return r;
}

// nat SKIFF-POSTROUTING, filter SKIFF-FORWARD and nat SKIFF-HOSTPORTS in iptables-legacy.
class IptablesPodRules final : public PodRules {
 public:
  IptablesPodRules(const PodNetworkConfig& cfg, sys::Iptables& ipt) : cfg_(cfg), ipt_(ipt) {}

  // netproxy::PodRules
  Result<void> ensure() override {
    SKIFF_TRY(ipt_.apply(natChange()));
    SKIFF_TRY(ipt_.apply(filterChange()));
    return ok();
  }
  Result<bool> setHostPorts(const std::string& id, const std::string& pod, Ipv4 ip,
                            const std::vector<HostPort>& ports) override {
    return writeHostPorts(id, pod, ip, ports);
  }
  Result<void> cleanup() override {
    // Only tables that hold our chains are touched: opening a legacy table creates it, and a
    // cleanup on an nftables host must not leave empty legacy tables behind.
    auto has = [&](const char* table, std::initializer_list<const char*> names) -> Result<bool> {
      SKIFF_ASSIGN_OR_RETURN(auto chains, ipt_.listChains(table));
      return std::any_of(names.begin(), names.end(), [&](const char* n) {
        return std::find(chains.begin(), chains.end(), n) != chains.end();
      });
    };
    SKIFF_ASSIGN_OR_RETURN(bool nat_ours, has("nat", {kPostrouting, kHostPorts}));
    SKIFF_ASSIGN_OR_RETURN(bool filter_ours, has("filter", {kForward}));
    if (!nat_ours && !filter_ours) return ok();
    sys::TableChange nat = natChange();
    nat.unhook = nat.ensure;
    nat.ensure.clear();
    nat.remove = {kPostrouting, kHostPorts};
    nat.write.clear();
    SKIFF_TRY(ipt_.apply(nat));
    sys::TableChange filter = filterChange();
    filter.unhook = filter.ensure;
    filter.ensure.clear();
    filter.remove = {kForward};
    filter.write.clear();
    SKIFF_TRY(ipt_.apply(filter));
    return ok();
  }

 private:
  sys::TableChange natChange() {
    sys::TableChange t;
    t.table = "nat";
    std::vector<Rule> rules;
    Rule r;
    r.matches = {match::Comment{"kube-proxy will masquerade"},
                 match::Mark{kMasqMark, kMasqMark, false}};
    r.target = target::Jump{"RETURN"};
    rules.push_back(r);
    r = Rule{};
    r.src = cfg_.cluster_cidr;
    r.dst = cfg_.cluster_cidr;
    r.matches = {match::Comment{"pod to pod"}};
    r.target = target::Jump{"RETURN"};
    rules.push_back(r);
    r = Rule{};
    r.src = cfg_.cluster_cidr;
    r.dst = Cidr{{0xe0000000}, 4};
    r.dst_invert = true;
    r.matches = {match::Comment{"pods leaving the cluster"}};
    r.target = target::Masquerade{true};
    rules.push_back(r);
    t.write = {Chain{kPostrouting, rules}};
    // SKIFF-HOSTPORTS is created if missing but its rules are owned by writeHostPorts.
    if (!hostports_ready_) {
      auto existing = ipt_.listChains("nat");
      bool have =
          existing && std::find(existing->begin(), existing->end(), kHostPorts) != existing->end();
      if (!have) t.write.push_back(Chain{kHostPorts, {}});
      hostports_ready_ = true;
    }
    t.ensure = {JumpRule{"POSTROUTING", jumpRule("skiff pod masquerade", kPostrouting)}};
    Rule hp;
    hp.matches = {match::Comment{"skiff hostports"}, match::AddrType{false, true, false}};
    hp.target = target::Jump{kHostPorts};
    t.ensure.push_back(JumpRule{"PREROUTING", hp});
    t.ensure.push_back(JumpRule{"OUTPUT", hp});
    return t;
  }

  sys::TableChange filterChange() {
    sys::TableChange t;
    t.table = "filter";
    Rule a;
    a.src = cfg_.cluster_cidr;
    a.target = target::Jump{"ACCEPT"};
    Rule b;
    b.dst = cfg_.cluster_cidr;
    b.target = target::Jump{"ACCEPT"};
    t.write = {Chain{kForward, {a, b}}};
    t.ensure = {JumpRule{"FORWARD", jumpRule("skiff pod forwarding", kForward)}};
    return t;
  }

  // Rewrites SKIFF-HOSTPORTS without the rules of sandbox `id`, plus `ports` for it (when
  // non-empty). Returns whether any rule of `id` was removed.
  Result<bool> writeHostPorts(const std::string& id, const std::string& pod, Ipv4 ip,
                              const std::vector<HostPort>& ports) {
    auto current = ipt_.listRules("nat", kHostPorts);
    if (!current) {
      if (current.error().is(ErrorCode::NotFound) && ports.empty()) return false;
      return std::move(current).error();
    }
    std::string tag = "skiff hostport " + id;
    std::vector<Rule> keep;
    bool removed = false;
    for (const Rule& r : *current) {
      bool mine = !r.matches.empty() && std::holds_alternative<match::Comment>(r.matches[0]) &&
                  std::get<match::Comment>(r.matches[0]).text.rfind(tag + " ", 0) == 0;
      if (mine)
        removed = true;
      else
        keep.push_back(r);
    }
    if (!removed && ports.empty()) return false;
    for (const HostPort& p : ports) {
      if (p.host_port == 0 || p.container_port == 0) {
        return Error(ErrorCode::Invalid,
                     fmt::format("hostPort of pod '{}': ports must be 1-65535", pod));
      }
      Rule r;
      r.proto = p.protocol;
      if (p.host_ip.value != 0) r.dst = Cidr{p.host_ip, 32};  // -d hostIP/32: that address only
      r.matches = {match::Comment{fmt::format("{} {}", tag, pod)}, match::Port{p.host_port}};
      r.target = target::Dnat{ip, p.container_port};
      keep.push_back(r);
    }
    sys::TableChange t;
    t.table = "nat";
    t.write = {Chain{kHostPorts, keep}};
    SKIFF_TRY(ipt_.apply(t));
    return removed;
  }

  PodNetworkConfig cfg_;
  sys::Iptables& ipt_;
  bool hostports_ready_ = false;
};

}  // namespace

std::unique_ptr<PodRules> makeIptablesPodRules(const PodNetworkConfig& config,
                                               sys::Iptables& iptables) {
  return std::make_unique<IptablesPodRules>(config, iptables);
}

}  // namespace skiff::netproxy
