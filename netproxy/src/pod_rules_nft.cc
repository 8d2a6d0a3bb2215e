// The pod network's rules in nftables: table `ip skiff-podnet`, flannel's FLANNEL-POSTRTG order
// (reference §5) and one pair of nat base chains per sandbox with hostPorts (the portmap
// plugin's DNAT), so a sandbox's rules are added and removed by name without listing anything.

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "pod_rules.h"

namespace skiff::netproxy {

namespace {

namespace stmt = nft::stmt;
using nft::Stmt;

constexpr uint32_t kMasqMark = 0x4000;  // kube-proxy's bit: the proxy masquerades those

class NftPodRules final : public PodRules {
 public:
  NftPodRules(const PodNetworkConfig& cfg, sys::Nftables& nft) : cfg_(cfg), nft_(nft) {}

  // netproxy::PodRules
  Result<void> ensure() override {
    nft::Batch b = batch();
    b.ops.push_back(nft::op::AddTable{});
    // After the proxy's masquerading chain (srcnat): marked packets are the proxy's.
    b.ops.push_back(nft::op::AddChain{nft::baseChain("postrouting", "nat", "postrouting", 110)});
    b.ops.push_back(nft::op::AddChain{nft::baseChain("forward", "filter", "forward", 0)});
    b.ops.push_back(nft::op::FlushChain{"postrouting"});
    b.ops.push_back(nft::op::FlushChain{"forward"});
    const Cidr& cc = cfg_.cluster_cidr;
    auto ret = stmt::Verdict{stmt::VerdictKind::Return, ""};
    auto accept = stmt::Verdict{stmt::VerdictKind::Accept, ""};
    nft::addRule(b, "postrouting", {stmt::MarkTest{kMasqMark, true}, ret});
    nft::addRule(b, "postrouting",
                 {stmt::Addr{true, false, cc}, stmt::Addr{false, false, cc}, ret});
    nft::addRule(b, "postrouting",
                 {stmt::Addr{true, false, cc}, stmt::Addr{false, true, Cidr{{0xe0000000}, 4}},
                  stmt::Masquerade{true}});
    nft::addRule(b, "forward", {stmt::Addr{true, false, cc}, accept});
    nft::addRule(b, "forward", {stmt::Addr{false, false, cc}, accept});
    SKIFF_TRY(nft_.apply(b));
    return ok();
  }

  Result<bool> setHostPorts(const std::string& id, const std::string& pod, Ipv4 ip,
                            const std::vector<HostPort>& ports) override {
    for (const HostPort& p : ports) {
      if (p.host_port == 0 || p.container_port == 0) {
        return Error(ErrorCode::Invalid,
                     fmt::format("hostPort of pod '{}': ports must be 1-65535", pod));
      }
    }
    nft::Batch b = batch();
    b.ops.push_back(nft::op::AddTable{});
    std::string pre = "hostports-" + id + "-prerouting", out = "hostports-" + id + "-output";
    // Add-then-delete makes removal idempotent within one atomic batch.
    for (const std::string& c : {pre, out}) {
      b.ops.push_back(nft::op::AddChain{nft::ChainSpec{c, {}}});
      b.ops.push_back(nft::op::DeleteChain{c});
    }
    if (!ports.empty()) {
      b.ops.push_back(nft::op::AddChain{nft::baseChain(pre, "nat", "prerouting", -100)});
      b.ops.push_back(nft::op::AddChain{nft::baseChain(out, "nat", "output", -100)});
      for (const HostPort& p : ports) {
        for (const std::string& c : {pre, out}) {
          nft::Rule r{stmt::FibLocal{false}};
          // A hostIP narrows the mapping to that address, so pods can share a hostPort on
          // different addresses of the node (127.0.0.1 and the node IP, say).
          if (p.host_ip.value != 0) r.push_back(stmt::Addr{false, false, Cidr{p.host_ip, 32}});
          r.push_back(stmt::Proto{p.protocol, p.host_port});
          r.push_back(stmt::Dnat{p.protocol, ip, p.container_port});
          nft::addRule(b, c, std::move(r));
        }
      }
    }
    SKIFF_TRY(nft_.apply(b));
    bool had = known_.erase(id) > 0;
    if (!ports.empty()) known_.insert(id);
    return had;
  }

  Result<void> cleanup() override {
    SKIFF_ASSIGN_OR_RETURN(auto tables, nft_.listTables(nft::Family::Ip));
    known_.clear();
    if (std::find(tables.begin(), tables.end(), kPodNftTable) == tables.end()) return ok();
    nft::Batch b = batch();
    b.ops.push_back(nft::op::DeleteTable{});
    SKIFF_TRY(nft_.apply(b));
    return ok();
  }

 private:
  static nft::Batch batch() {
    nft::Batch b;
    b.table = kPodNftTable;
    return b;
  }

  PodNetworkConfig cfg_;
  sys::Nftables& nft_;
  std::set<std::string> known_;
};

}  // namespace

std::unique_ptr<PodRules> makeNftPodRules(const PodNetworkConfig& config, sys::Nftables& nft) {
  return std::make_unique<NftPodRules>(config, nft);
}

}  // namespace skiff::netproxy
