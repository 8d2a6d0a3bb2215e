#include "skiff/netproxy/nft_rules.h"

#include <openssl/sha.h>

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "skiff/netproxy/chain_names.h"

namespace skiff::netproxy::nftrules {

namespace {

using namespace nft::vocabulary;

constexpr std::size_t kMaxName = 255;  // NFT_NAME_MAXLEN - 1

Element mapKey(Ipv4 ip, const ServicePort& sp, uint16_t port, stmt::Verdict v) {
  Element e;
  e.ip = ip;
  e.protocol = sp.protocol;
  e.port = port;
  e.verdict = std::move(v);
  return e;
}

// The nodeport dispatch rules of `services` / `endpoints-check` (kube-proxy: `fib daddr type
// local ip daddr != 127.0.0.0/8 ...`, or one rule per --nodeport-addresses prefix).
std::vector<NRule> nodePortRules(const ProxyConfig& cfg, const std::string& map) {
  std::vector<NRule> out;
  Stmt vmap = stmt::Vmap{KeyShape::ProtoPort, map};
  if (cfg.nodeport_addresses.empty()) {
    out.push_back({stmt::FibLocal{false}, stmt::Addr{false, true, Cidr{{0x7f000000}, 8}}, vmap});
  }
  for (const Cidr& c : cfg.nodeport_addresses) {
    out.push_back({stmt::Addr{false, false, c}, stmt::FibLocal{false}, vmap});
  }
  return out;
}

// CategorizeEndpoints (pkg/proxy/topology.go), as the iptables builder does it.
struct Categorized {
  std::vector<const Endpoint*> cluster, local, all;
  bool any = false;
};
Categorized categorize(const ProxyConfig& cfg, const ServicePort& sp,
                       const std::vector<Endpoint>* eps) {
  Categorized c;
  std::vector<const Endpoint*> ready, fallback;
  if (eps) {
    for (const Endpoint& e : *eps) {
      if (e.ready) {
        ready.push_back(&e);
      } else if (e.serving && e.terminating) {
        fallback.push_back(&e);
      }
    }
  }
  const auto& usable = ready.empty() ? fallback : ready;
  c.any = !usable.empty();
  bool uses_cluster = !sp.internal_policy_local || sp.externallyAccessible();
  bool uses_local =
      sp.internal_policy_local || (sp.external_policy_local && sp.externallyAccessible());
  if (uses_cluster) c.cluster = usable;
  if (uses_local) {
    for (const Endpoint* e : usable) {
      if (!e->node_name.empty() && e->node_name == cfg.hostname) c.local.push_back(e);
    }
  }
  c.all = c.cluster;
  for (const Endpoint* e : c.local) {
    if (std::find(c.all.begin(), c.all.end(), e) == c.all.end()) c.all.push_back(e);
  }
  return c;
}

// Affinity checks, then the uniform pick (kube-proxy's service/local chain tail).
void dispatch(NftChain& chain, const ServicePort& sp, const std::vector<const Endpoint*>& eps) {
  if (sp.affinity_client_ip) {
    for (const Endpoint* e : eps) {
      chain.rules.push_back(
          {stmt::InSet{true, false, affinitySet(sp, *e)}, goTo(endpointChain(sp, *e))});
    }
  }
  stmt::NumgenVmap pick;
  for (const Endpoint* e : eps) pick.chains.push_back(endpointChain(sp, *e));
  chain.rules.push_back({pick});
}

}  // namespace

std::string hashAndTruncate(std::string_view name) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  ::SHA256(reinterpret_cast<const unsigned char*>(name.data()), name.size(), digest);
  std::string out = base32Encode(digest, sizeof digest).substr(0, 8);
  out += '-';
  out.append(name);
  return out;
}

namespace {
std::string named(std::string_view prefix, std::string_view base) {
  std::string n(prefix);
  n += hashAndTruncate(base);
  if (n.size() > kMaxName) n.resize(kMaxName);
  return n;
}
std::string endpointBase(const ServicePort& sp, const Endpoint& ep) {
  return fmt::format("{}__{}/{}", servicePortBase(sp), ep.ip.str(), ep.port);
}
}  // namespace

std::string servicePortBase(const ServicePort& sp) {
  return fmt::format("{}/{}/{}/{}", sp.id.ns, sp.id.name, protocolName(sp.protocol), sp.id.port);
}
std::string serviceChain(const ServicePort& sp) { return named("service-", servicePortBase(sp)); }
std::string localChain(const ServicePort& sp) { return named("local-", servicePortBase(sp)); }
std::string externalChain(const ServicePort& sp) { return named("external-", servicePortBase(sp)); }
std::string endpointChain(const ServicePort& sp, const Endpoint& ep) {
  return named("endpoint-", endpointBase(sp, ep));
}
std::string affinitySet(const ServicePort& sp, const Endpoint& ep) {
  return named("affinity-", endpointBase(sp, ep));
}

SetSpec mapSpec(const std::string& name) {
  SetSpec s;
  s.name = name;
  s.kind = SetKind::VerdictMap;
  bool nodeports = name == kServiceNodePorts || name == kNoEndpointNodePorts;
  s.keys = nodeports ? KeyShape::ProtoPort : KeyShape::AddrProtoPort;
  return s;
}

PortObjects buildPortObjects(const ProxyConfig& cfg, const ServicePort& sp,
                             const std::vector<Endpoint>* eps) {
  PortObjects out;
  Categorized c = categorize(cfg, sp, eps);
  const std::string svc = serviceChain(sp), local = localChain(sp), ext = externalChain(sp);

  bool has_internal = c.any && (!sp.internal_policy_local || !c.local.empty());
  bool has_external = c.any && (!sp.external_policy_local || !c.local.empty());
  // A Local policy without a local endpoint drops (the service exists elsewhere); a service
  // without any endpoint rejects (kube-proxy's no-endpoint maps).
  stmt::Verdict internal_none =
      c.any ? stmt::Verdict{stmt::VerdictKind::Drop, ""} : goTo(kRejectChain);
  const stmt::Verdict& external_none = internal_none;

  if (!c.cluster.empty()) {
    NftChain ch{svc, {}};
    NRule masq = {stmt::Addr{false, false, Cidr{sp.cluster_ip, 32}},
                  stmt::Proto{sp.protocol, sp.port}};
    if (cfg.masquerade_all) {
      masq.push_back(jumpTo(kMarkForMasq));
      ch.rules.push_back(std::move(masq));
    } else if (cfg.cluster_cidr) {
      masq.push_back(stmt::Addr{true, true, *cfg.cluster_cidr});
      masq.push_back(jumpTo(kMarkForMasq));
      ch.rules.push_back(std::move(masq));
    }
    dispatch(ch, sp, c.cluster);
    out.chains.push_back(std::move(ch));
  }
  if (!c.local.empty()) {
    NftChain ch{local, {}};
    dispatch(ch, sp, c.local);
    out.chains.push_back(std::move(ch));
  }
  if (has_external && sp.externallyAccessible()) {
    NftChain ch{ext, {}};
    if (!sp.external_policy_local) {
      ch.rules.push_back({jumpTo(kMarkForMasq)});
      ch.rules.push_back({goTo(svc)});
    } else {
      // Pods and the node itself reach every endpoint, as if they had gone out to the load
      // balancer and come back; outside clients reach only this node's endpoints, unmasqueraded.
      if (cfg.cluster_cidr)
        ch.rules.push_back({stmt::Addr{true, false, *cfg.cluster_cidr}, goTo(svc)});
      ch.rules.push_back({stmt::FibLocal{true}, jumpTo(kMarkForMasq)});
      ch.rules.push_back({stmt::FibLocal{true}, goTo(svc)});
      ch.rules.push_back({goTo(local)});
    }
    out.chains.push_back(std::move(ch));
  }
  for (const Endpoint* e : c.all) {
    NftChain ch{endpointChain(sp, *e), {}};
    ch.rules.push_back({stmt::Addr{true, false, Cidr{e->ip, 32}}, jumpTo(kMarkForMasq)});
    if (sp.affinity_client_ip) {
      std::string set = affinitySet(sp, *e);
      ch.rules.push_back({stmt::UpdateSaddr{set}});
      SetSpec s;
      s.name = set;
      s.kind = SetKind::AffinitySet;
      s.timeout_s = sp.affinity_seconds;
      out.sets.push_back(std::move(s));
    }
    ch.rules.push_back({stmt::Dnat{sp.protocol, e->ip, e->port}});
    out.chains.push_back(std::move(ch));
  }

  auto element = [&](const char* map, Ipv4 ip, uint16_t port, stmt::Verdict v) {
    out.elements.push_back({mapSpec(map), mapKey(ip, sp, port, std::move(v))});
  };
  const std::string& internal_chain = sp.internal_policy_local ? local : svc;
  if (has_internal) {
    element(kServiceIps, sp.cluster_ip, sp.port, goTo(internal_chain));
  } else {
    element(kNoEndpointServices, sp.cluster_ip, sp.port, internal_none);
  }
  std::vector<Ipv4> outside = sp.external_ips;
  outside.insert(outside.end(), sp.load_balancer_ips.begin(), sp.load_balancer_ips.end());
  for (Ipv4 ip : outside) {
    if (has_external) {
      element(kServiceIps, ip, sp.port, goTo(ext));
    } else {
      element(kNoEndpointServices, ip, sp.port, external_none);
    }
  }
  if (sp.node_port != 0) {
    if (has_external) {
      element(kServiceNodePorts, Ipv4{}, sp.node_port, goTo(ext));
    } else {
      element(kNoEndpointNodePorts, Ipv4{}, sp.node_port, external_none);
    }
  }
  return out;
}

namespace {
struct Base {
  const char* name;
  const char* type;
  const char* hook;
  int priority;
};
void addBases(Skeleton& s, std::initializer_list<Base> bases) {
  for (const Base& b : bases) {
    s.chains.push_back(baseChain(b.name, b.type, b.hook, b.priority));
  }
}
}  // namespace

Skeleton buildTableSkeleton(const ProxyConfig& cfg) {
  Skeleton s;
  for (const char* c : {kMasquerading, kRejectChain, kEndpointsCheck}) {
    s.chains.push_back(ChainSpec{c, std::nullopt});
  }
  // kube-proxy's priorities: filter chains at dstnat-10 see pre-DNAT addresses; masquerade at
  // srcnat. The dstnat chains are the shards' (buildShardSkeleton).
  addBases(s, {Base{"filter-input", "filter", "input", -110},
               Base{"filter-forward", "filter", "forward", -110},
               Base{"filter-output", "filter", "output", -110},
               Base{"nat-postrouting", "nat", "postrouting", 100}});
  for (const char* m : {kNoEndpointServices, kNoEndpointNodePorts}) s.maps.push_back(mapSpec(m));
  uint32_t mark = cfg.masqueradeMark();
  auto add = [&](const char* chain, NRule r) { s.rules.emplace_back(chain, std::move(r)); };
  // reject is only valid in input/forward/output: endpoints-check is called from those hooks,
  // for new connections only.
  for (const char* c : {"filter-input", "filter-forward", "filter-output"}) {
    add(c, {stmt::CtNew{}, jumpTo(kEndpointsCheck)});
  }
  add("nat-postrouting", {jumpTo(kMasquerading)});
  add(kMasquerading, {stmt::MarkTest{mark, false}, stmt::Verdict{stmt::VerdictKind::Return, ""}});
  add(kMasquerading, {stmt::MarkSet{mark, true}});
  add(kMasquerading, {stmt::Masquerade{cfg.random_fully}});
  // TCP clients get a reset, everything else ICMP port-unreachable: both read as "connection
  // refused" at once.
  add(kRejectChain, {stmt::Proto{Protocol::Tcp, 0}, stmt::Reject{true}});
  add(kRejectChain, {stmt::Reject{false}});
  add(kEndpointsCheck, {stmt::Vmap{KeyShape::AddrProtoPort, kNoEndpointServices}});
  for (NRule& r : nodePortRules(cfg, kNoEndpointNodePorts)) add(kEndpointsCheck, std::move(r));
  return s;
}

Skeleton buildShardSkeleton(const ProxyConfig& cfg) {
  Skeleton s;
  for (const char* c : {kMarkForMasq, kServicesChain}) {
    s.chains.push_back(ChainSpec{c, std::nullopt});
  }
  addBases(s, {Base{"nat-prerouting", "nat", "prerouting", -100},
               Base{"nat-output", "nat", "output", -100}});
  for (const char* m : {kServiceIps, kServiceNodePorts}) s.maps.push_back(mapSpec(m));
  auto add = [&](const char* chain, NRule r) { s.rules.emplace_back(chain, std::move(r)); };
  add("nat-prerouting", {jumpTo(kServicesChain)});
  add("nat-output", {jumpTo(kServicesChain)});
  add(kMarkForMasq, {stmt::MarkSet{cfg.masqueradeMark(), false}});
  add(kServicesChain, {stmt::Vmap{KeyShape::AddrProtoPort, kServiceIps}});
  for (NRule& r : nodePortRules(cfg, kServiceNodePorts)) add(kServicesChain, std::move(r));
  return s;
}

bool inMainTable(const std::string& map) {
  return map == kNoEndpointServices || map == kNoEndpointNodePorts;
}

std::string shardTable(std::string_view table, std::size_t shard) {
  return fmt::format("{}-svc-{}", table, shard);
}

std::optional<std::size_t> shardOf(std::string_view table, std::string_view name) {
  std::string prefix = fmt::format("{}-svc-", table);
  if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view digits = name.substr(prefix.size());
  if (digits.size() > 6 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  std::size_t n = 0;
  for (char ch : digits) {
    if (ch < '0' || ch > '9') return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(ch - '0');
  }
  return n;
}

std::size_t ShardAssignment::assign(const std::string& service) {
  if (auto it = of_.find(service); it != of_.end()) return it->second.shard;
  std::size_t k = 0;
  while (k < count_.size() && count_[k] >= size_) ++k;
  if (k == count_.size()) count_.push_back(0);
  ++count_[k];
  of_.emplace(service, Entry{k, 0});
  return k;
}

std::optional<std::size_t> ShardAssignment::find(const std::string& service) const {
  auto it = of_.find(service);
  if (it == of_.end()) return std::nullopt;
  return it->second.shard;
}

void ShardAssignment::drop(std::size_t shard) {
  --count_[shard];
  while (!count_.empty() && count_.back() == 0) count_.pop_back();
}

bool ShardAssignment::release(const std::string& service) {
  auto it = of_.find(service);
  if (it == of_.end()) return false;
  std::size_t k = it->second.shard;
  of_.erase(it);
  drop(k);
  return services(k) == 0;
}

std::size_t ShardAssignment::assignPort(std::string_view service) {
  std::string name(service);
  std::size_t k = assign(name);
  ++of_.find(name)->second.ports;
  return k;
}

bool ShardAssignment::releasePort(std::string_view service) {
  auto it = of_.find(std::string(service));
  if (it == of_.end()) return false;
  if (it->second.ports > 1) {
    --it->second.ports;
    return false;
  }
  std::size_t k = it->second.shard;
  of_.erase(it);
  drop(k);
  return services(k) == 0;
}

std::size_t ShardAssignment::services(std::size_t shard) const {
  return shard < count_.size() ? count_[shard] : 0;
}

std::vector<std::size_t> ShardAssignment::shards() const {
  std::vector<std::size_t> out;
  for (std::size_t k = 0; k < count_.size(); ++k) {
    if (count_[k] > 0) out.push_back(k);
  }
  return out;
}

namespace {
// One table created from scratch: add, delete and re-add it (drops whatever was there), then its
// static objects.
Batch freshTable(std::string name, const Skeleton& sk) {
  Batch b;
  b.table = std::move(name);
  b.ops.push_back(op::AddTable{});
  b.ops.push_back(op::DeleteTable{});
  b.ops.push_back(op::AddTable{});
  for (const ChainSpec& c : sk.chains) b.ops.push_back(op::AddChain{c});
  for (const SetSpec& m : sk.maps) b.ops.push_back(op::AddSet{m});
  return b;
}
void addRules(Batch& b, const Skeleton& sk) {
  for (const auto& [chain, rule] : sk.rules) b.ops.push_back(op::AddRule{chain, rule});
}
void addElements(Batch& b, std::map<std::string, op::AddElements>& elems) {
  for (auto& [name, ae] : elems) b.ops.push_back(std::move(ae));
}
}  // namespace

std::vector<Batch> fullBatches(const ProxyConfig& cfg, const std::vector<ServicePort>& ports,
                               const EndpointMap& endpoints, std::size_t shard_size) {
  Skeleton main_sk = buildTableSkeleton(cfg), shard_sk = buildShardSkeleton(cfg);
  std::vector<Batch> out{freshTable(kTable, main_sk)};
  addRules(out[0], main_sk);
  std::map<std::string, op::AddElements> main_elems;
  ShardAssignment shards(shard_size);
  std::vector<std::map<std::string, op::AddElements>> shard_elems;
  for (const ServicePort* sp : sortedPorts(ports)) {
    std::size_t k = shards.assign(serviceOf(*sp));
    if (k + 1 >= out.size()) {
      out.push_back(freshTable(shardTable(kTable, k), shard_sk));
      addRules(out.back(), shard_sk);
      shard_elems.emplace_back();
    }
    Batch& b = out[k + 1];
    auto it = endpoints.find(sp->key());
    PortObjects o = buildPortObjects(cfg, *sp, it == endpoints.end() ? nullptr : &it->second);
    for (const NftChain& c : o.chains) b.ops.push_back(op::AddChain{ChainSpec{c.name, {}}});
    for (const SetSpec& s : o.sets) b.ops.push_back(op::AddSet{s});
    // Endpoint chains come last in `chains` but exist by now: rules can go in any order.
    for (const NftChain& c : o.chains) {
      for (const NRule& r : c.rules) b.ops.push_back(op::AddRule{c.name, r});
    }
    for (const MapElement& e : o.elements) {
      auto& ae = inMainTable(e.map.name) ? main_elems[e.map.name] : shard_elems[k][e.map.name];
      ae.set = e.map;
      ae.elements.push_back(e.element);
    }
  }
  addElements(out[0], main_elems);
  for (std::size_t k = 0; k < shard_elems.size(); ++k) addElements(out[k + 1], shard_elems[k]);
  return out;
}

}  // namespace skiff::netproxy::nftrules
