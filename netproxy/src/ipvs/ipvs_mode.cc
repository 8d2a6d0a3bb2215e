// IPVS proxy mode as a ServiceProxy: IpvsServiceProxy plus the nftables masquerade table.
#include "skiff/netproxy/ipvs/ipvs_mode.h"

#include <algorithm>
#include <chrono>
#include <set>

#include <fmt/format.h>

#include "skiff/common/log.h"
#include "skiff/netproxy/ipvs/ipvs_service_proxy.h"

namespace skiff::netproxy::ipvs {

namespace {

using Clock = std::chrono::steady_clock;
using skiff::log::kv;
namespace stmt = nft::stmt;
namespace op = nft::op;

constexpr const char* kClusterIps = "cluster-ips";
constexpr const char* kExternalIps = "external-ips";
constexpr const char* kNodePorts = "nodeports";
constexpr const char* kMarkForMasq = "mark-for-masquerade";
constexpr const char* kHairpin = "hairpin";
constexpr const char* kMasquerading = "masquerading";

nft::SetSpec vmap(const char* name, nft::KeyShape keys) {
  return nft::SetSpec{name, nft::SetKind::VerdictMap, keys, 0};
}

nft::Element markElement(Ipv4 ip, Protocol proto, uint16_t port) {
  nft::Element e;
  e.ip = ip;
  e.protocol = proto;
  e.port = port;
  e.verdict = stmt::Verdict{stmt::VerdictKind::Goto, kMarkForMasq};
  return e;
}

void addBase(nft::Batch& b, const char* name, const char* type, const char* hook, int prio) {
  b.ops.push_back(op::AddChain{nft::baseChain(name, type, hook, prio)});
}

// The static chains, maps and rules.
void skeleton(nft::Batch& b, const ProxyConfig& cfg) {
  for (const char* c : {kMarkForMasq, kHairpin, kMasquerading, "services"}) {
    b.ops.push_back(op::AddChain{nft::ChainSpec{c, std::nullopt}});
  }
  addBase(b, "nat-prerouting", "nat", "prerouting", -100);
  addBase(b, "nat-output", "nat", "output", -100);
  addBase(b, "nat-postrouting", "nat", "postrouting", 100);
  using nft::KeyShape;
  b.ops.push_back(op::AddSet{vmap(kClusterIps, KeyShape::AddrProtoPort)});
  b.ops.push_back(op::AddSet{vmap(kExternalIps, KeyShape::AddrProtoPort)});
  b.ops.push_back(op::AddSet{vmap(kNodePorts, KeyShape::ProtoPort)});
  uint32_t mark = cfg.masqueradeMark();
  nft::addRule(b, "nat-prerouting", {nft::jumpTo("services")});
  nft::addRule(b, "nat-output", {nft::jumpTo("services")});
  nft::addRule(b, kMarkForMasq, {stmt::MarkSet{mark, false}});
  // kube-proxy: masquerade-all marks every ClusterIP packet; otherwise those from outside the
  // cluster CIDR; without a cluster CIDR none.
  if (cfg.masquerade_all) {
    nft::addRule(b, "services", {stmt::Vmap{KeyShape::AddrProtoPort, kClusterIps}});
  } else if (cfg.cluster_cidr) {
    nft::addRule(b, "services",
                 {stmt::Addr{true, true, *cfg.cluster_cidr},
                  stmt::Vmap{KeyShape::AddrProtoPort, kClusterIps}});
  }
  nft::addRule(b, "services", {stmt::Vmap{KeyShape::AddrProtoPort, kExternalIps}});
  if (cfg.nodeport_addresses.empty()) {
    nft::addRule(b, "services",
                 {stmt::FibLocal{false}, stmt::Addr{false, true, Cidr{{0x7f000000}, 8}},
                  stmt::Vmap{KeyShape::ProtoPort, kNodePorts}});
  }
  for (const Cidr& c : cfg.nodeport_addresses) {
    nft::addRule(b, "services",
                 {stmt::Addr{false, false, c}, stmt::FibLocal{false},
                  stmt::Vmap{KeyShape::ProtoPort, kNodePorts}});
  }
  nft::addRule(b, "nat-postrouting", {nft::jumpTo(kHairpin)});
  nft::addRule(b, "nat-postrouting", {nft::jumpTo(kMasquerading)});
  nft::addRule(b, kMasquerading,
               {stmt::MarkTest{mark, false}, stmt::Verdict{stmt::VerdictKind::Return, ""}});
  nft::addRule(b, kMasquerading, {stmt::MarkSet{mark, true}});
  nft::addRule(b, kMasquerading, {stmt::Masquerade{cfg.random_fully}});
}

}  // namespace

nft::Batch masqueradeBatch(const ProxyConfig& cfg, const std::vector<ServicePort>& ports,
                           const EndpointMap& endpoints) {
  nft::Batch b;
  b.table = kMasqueradeTable;
  b.ops.push_back(op::AddTable{});
  b.ops.push_back(op::DeleteTable{});
  b.ops.push_back(op::AddTable{});
  skeleton(b, cfg);
  std::set<nft::Element> cluster, external, nodeports;
  std::set<Ipv4> hairpin;
  for (const ServicePort& sp : ports) {
    if (sp.cluster_ip.value != 0) cluster.insert(markElement(sp.cluster_ip, sp.protocol, sp.port));
    if (!sp.external_policy_local) {
      for (Ipv4 ip : sp.external_ips) external.insert(markElement(ip, sp.protocol, sp.port));
      if (sp.node_port != 0) nodeports.insert(markElement(Ipv4{}, sp.protocol, sp.node_port));
    }
    if (auto it = endpoints.find(sp.key()); it != endpoints.end()) {
      for (const Endpoint& e : it->second) hairpin.insert(e.ip);
    }
  }
  // A pod reaching itself through its Service: the reply must come back through the node.
  for (Ipv4 ip : hairpin) {
    nft::addRule(b, kHairpin,
                 {stmt::Addr{true, false, Cidr{ip, 32}}, stmt::Addr{false, false, Cidr{ip, 32}},
                  stmt::Masquerade{cfg.random_fully}});
  }
  for (auto [name, keys, elems] :
       {std::tuple{kClusterIps, nft::KeyShape::AddrProtoPort, &cluster},
        std::tuple{kExternalIps, nft::KeyShape::AddrProtoPort, &external},
        std::tuple{kNodePorts, nft::KeyShape::ProtoPort, &nodeports}}) {
    if (elems->empty()) continue;
    b.ops.push_back(op::AddElements{vmap(name, keys), {elems->begin(), elems->end()}});
  }
  return b;
}

namespace {

class IpvsModeProxy final : public ServiceProxy {
 public:
  IpvsModeProxy(ProxyConfig cfg, std::unique_ptr<IpvsKernel> kernel,
                std::unique_ptr<IpvsServiceProxy> ipvs, sys::Netlink& nl, sys::Nftables& nft)
      : cfg_(std::move(cfg)),
        kernel_(std::move(kernel)),
        ipvs_(std::move(ipvs)),
        nl_(nl),
        nft_(nft),
        log_(skiff::log::get("netproxy")) {}

  Result<SyncResult> sync(const std::vector<ServicePort>& ports, const EndpointMap& eps) override {
    auto start = Clock::now();
    SyncResult res;
    res.service_ports = ports.size();
    auto st = ipvs_->sync(ports, eps);
    if (!st) return std::move(st).error().wrap("sync IPVS proxy rules");
    nft::Batch masq = masqueradeBatch(cfg_, ports, eps);
    std::string text = nft::nftText(masq);
    auto tables = nft_.listTables(nft::Family::Ip);
    if (!tables) return std::move(tables).error().wrap("sync IPVS masquerade rules");
    bool present = std::find(tables->begin(), tables->end(), kMasqueradeTable) != tables->end();
    res.build = Clock::now() - start;
    res.full = !present || text != last_;
    if (res.full) {
      auto applied = nft_.apply(masq);
      if (!applied) {
        last_.clear();
        return std::move(applied).error().wrap("sync IPVS masquerade rules");
      }
      res.nft = *applied;
      res.nft_tables = res.nft_transactions = 1;
      last_ = std::move(text);
    }
    auto dur = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    SKIFF_LOG_INFO(log_, "Synced proxy rules", kv("mode", "ipvs"), kv("servicePorts", ports.size()),
                   kv("servicesAdded", st->services_added),
                   kv("servicesUpdated", st->services_updated),
                   kv("servicesDeleted", st->services_deleted), kv("destsAdded", st->dests_added),
                   kv("destsDraining", st->dests_draining), kv("destsDeleted", st->dests_deleted),
                   kv("masqueradeTableWritten", res.full ? "true" : "false"),
                   kv("durationMs", fmt::format("{:.3f}", dur.count() / 1000.0)));
    return res;
  }

  // kube-proxy --cleanup for IPVS: our virtual servers (those on the dummy interface's
  // addresses and the node's NodePort addresses) go, then the interface and the masquerade table.
  Result<void> cleanup() override {
    SKIFF_TRY(ipvs_->sync({}, {}));
    SKIFF_TRY(nl_.deleteLink(kDummyInterface));
    last_.clear();
    SKIFF_TRY(cleanupMasquerade(nft_));
    SKIFF_LOG_INFO(log_, "Removed proxy rules", kv("mode", "ipvs"));
    return ok();
  }

  std::size_t stateBytes() const override { return sizeof(*this) + last_.capacity(); }

 private:
  ProxyConfig cfg_;
  std::unique_ptr<IpvsKernel> kernel_;
  std::unique_ptr<IpvsServiceProxy> ipvs_;
  sys::Netlink& nl_;
  sys::Nftables& nft_;
  std::shared_ptr<spdlog::logger> log_;
  std::string last_;  // the masquerade table as last written (its nft text)
};

}  // namespace

Result<void> cleanupMasquerade(sys::Nftables& nft) {
  SKIFF_ASSIGN_OR_RETURN(auto tables, nft.listTables(nft::Family::Ip));
  if (std::find(tables.begin(), tables.end(), kMasqueradeTable) == tables.end()) return ok();
  nft::Batch b;
  b.table = kMasqueradeTable;
  b.ops.push_back(op::DeleteTable{});
  SKIFF_TRY(nft.apply(b));
  return ok();
}

Result<std::unique_ptr<ServiceProxy>> makeIpvsProxy(ProxyConfig config, GenlTransport& genl,
                                                    sys::Netlink& nl, sys::Nftables& nft,
                                                    const IpvsModeOptions& options) {
  SKIFF_ASSIGN_OR_RETURN(auto kernel, openIpvs(genl));
  // IPVS-forwarded connections are tracked so nf_nat can masquerade them (kube-proxy sets it).
  SKIFF_TRY(nl.writeSysctl("net/ipv4/vs/conntrack", "1"));
  IpvsOptions o;
  o.scheduler = options.scheduler;
  o.node_name = config.hostname;
  o.node_ips = options.node_ips;
  SKIFF_ASSIGN_OR_RETURN(auto ipvs, IpvsServiceProxy::create(*kernel, nl, std::move(o)));
  return std::unique_ptr<ServiceProxy>(std::make_unique<IpvsModeProxy>(
      std::move(config), std::move(kernel), std::move(ipvs), nl, nft));
}

}  // namespace skiff::netproxy::ipvs
