#include "skiff/netproxy/proxy_rules.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "skiff/netproxy/chain_names.h"

namespace skiff::netproxy {

namespace {

constexpr const char* kServices = "KUBE-SERVICES";
constexpr const char* kExternalServices = "KUBE-EXTERNAL-SERVICES";
constexpr const char* kNodePorts = "KUBE-NODEPORTS";
constexpr const char* kPostrouting = "KUBE-POSTROUTING";
constexpr const char* kMarkMasq = "KUBE-MARK-MASQ";
constexpr const char* kForward = "KUBE-FORWARD";
constexpr const char* kProxyFirewall = "KUBE-PROXY-FIREWALL";
constexpr const char* kFirewall = "KUBE-FIREWALL";

Cidr host(Ipv4 ip) { return Cidr{ip, 32}; }

match::Comment comment(std::string text) { return match::Comment{std::move(text)}; }

target::Jump jump(std::string chain) { return target::Jump{std::move(chain)}; }

// A rule matching "-d ip -p proto --dport port" with a comment, kube-proxy's usual selector.
Rule portal(Ipv4 ip, const ServicePort& sp, std::string text, Target t) {
  Rule r;
  r.dst = host(ip);
  r.proto = sp.protocol;
  r.matches = {comment(std::move(text)), match::Port{sp.port}};
  r.target = std::move(t);
  return r;
}

JumpRule hook(std::string builtin, std::string text, std::string to, bool ct_new) {
  Rule r;
  if (ct_new) r.matches.push_back(match::Conntrack{kCtNew, false});
  if (!text.empty()) r.matches.push_back(comment(std::move(text)));
  r.target = jump(std::move(to));
  return JumpRule{std::move(builtin), std::move(r)};
}

struct Builder {
  explicit Builder(const ProxyConfig& c) : cfg(c) {}
  const ProxyConfig& cfg;
  Ruleset out;
  // Chains by name while building, so SVC/EXT chains can be filled in any order.
  std::vector<Chain>* filter = &out.filter.chains;
  std::vector<Chain>* nat = &out.nat.chains;
  bool large_cluster = false;

  // Chains by name, per table: KUBE-SERVICES is appended to for every service, so a linear
  // search would make the build quadratic in the number of chains.
  std::unordered_map<std::string, std::size_t> filter_index, nat_index;

  Chain& chain(std::vector<Chain>& table, const std::string& name) {
    auto& index = &table == filter ? filter_index : nat_index;
    auto [it, inserted] = index.try_emplace(name, table.size());
    if (inserted) table.push_back(Chain{name, {}});
    return table[it->second];
  }
  void add(std::vector<Chain>& table, const std::string& name, Rule r) {
    chain(table, name).rules.push_back(std::move(r));
  }

  void staticChains() {
    uint32_t mark = cfg.masqueradeMark();
    for (const char* c : {kServices, kExternalServices, kForward, kNodePorts, kProxyFirewall}) {
      chain(*filter, c);
    }
    if (cfg.localhost_nodeports) chain(*filter, kFirewall);
    for (const char* c : {kServices, kNodePorts, kPostrouting, kMarkMasq}) chain(*nat, c);

    // KUBE-FORWARD (reference §1.2): drop INVALID (kubernetes#74839), accept marked traffic so
    // NodePorts work under a DROP forward policy, accept replies.
    {
      Rule r;
      r.matches = {match::Conntrack{kCtInvalid, false}};
      r.target = jump("DROP");
      add(*filter, kForward, r);
      r.matches = {comment("kubernetes forwarding rules"), match::Mark{mark, mark, false}};
      r.target = jump("ACCEPT");
      add(*filter, kForward, r);
      r.matches = {comment("kubernetes forwarding conntrack rule"),
                   match::Conntrack{kCtRelated | kCtEstablished, false}};
      add(*filter, kForward, r);
    }
    if (cfg.localhost_nodeports) {
      // route_localnet opens 127/8 to the network; drop what did not come from loopback and
      // was not DNATed by us (kubernetes#90259, KEP-3178).
      Rule r;
      r.src = Cidr{{0x7f000000}, 8};
      r.src_invert = true;
      r.dst = Cidr{{0x7f000000}, 8};
      r.matches = {comment("block incoming localnet connections"),
                   match::Conntrack{kCtRelated | kCtEstablished | kCtDnat, true}};
      r.target = jump("DROP");
      add(*filter, kFirewall, r);
    }
    // KUBE-POSTROUTING / KUBE-MARK-MASQ: the 0x4000 mark plumbing.
    {
      Rule r;
      r.matches = {match::Mark{mark, mark, true}};
      r.target = jump("RETURN");
      add(*nat, kPostrouting, r);
      r.matches.clear();
      r.target = target::SetMark{mark, 0};
      add(*nat, kPostrouting, r);
      r.matches = {comment("kubernetes service traffic requiring SNAT")};
      r.target = target::Masquerade{cfg.random_fully};
      add(*nat, kPostrouting, r);
      r.matches.clear();
      r.target = target::SetMark{mark, mark};
      add(*nat, kMarkMasq, r);
    }
  }

  void jumps() {
    auto& f = out.filter.jumps;
    f.push_back(hook("INPUT", "kubernetes load balancer firewall", kProxyFirewall, true));
    f.push_back(hook("INPUT", "kubernetes health check service ports", kNodePorts, false));
    f.push_back(
        hook("INPUT", "kubernetes externally-visible service portals", kExternalServices, true));
    f.push_back(hook("FORWARD", "kubernetes load balancer firewall", kProxyFirewall, true));
    f.push_back(hook("FORWARD", "kubernetes forwarding rules", kForward, false));
    f.push_back(hook("FORWARD", "kubernetes service portals", kServices, true));
    f.push_back(
        hook("FORWARD", "kubernetes externally-visible service portals", kExternalServices, true));
    f.push_back(hook("OUTPUT", "kubernetes load balancer firewall", kProxyFirewall, true));
    f.push_back(hook("OUTPUT", "kubernetes service portals", kServices, true));
    if (cfg.localhost_nodeports) {
      f.push_back(hook("INPUT", "", kFirewall, false));
      f.push_back(hook("OUTPUT", "", kFirewall, false));
    }
    auto& n = out.nat.jumps;
    n.push_back(hook("PREROUTING", "kubernetes service portals", kServices, false));
    n.push_back(hook("OUTPUT", "kubernetes service portals", kServices, false));
    n.push_back(hook("POSTROUTING", "kubernetes postrouting rules", kPostrouting, false));
  }

  void nodePortsLast() {
    // Must stay the last rule of nat KUBE-SERVICES.
    Rule r;
    if (!cfg.localhost_nodeports) {
      r.dst = Cidr{{0x7f000000}, 8};
      r.dst_invert = true;
    }
    r.matches = {comment("kubernetes service nodeports; NOTE: this must be the last rule in "
                         "this chain"),
                 match::AddrType{false, true, false}};
    r.target = jump(kNodePorts);
    add(*nat, kServices, r);
  }

  Rule maybeComment(Rule r, const std::string& text) {
    if (!large_cluster) r.matches.insert(r.matches.begin(), comment(text));
    return r;
  }

  // writeServiceToEndpointRules in proxier.go: affinity checks, then the probability cascade.
  // KUBE-SEP names by endpoint, computed once per service port (two SHA-256 per endpoint
  // otherwise).
  std::unordered_map<const Endpoint*, std::string> sep_names;
  const std::string& sepName(const std::string& svc_name, const std::string& proto,
                             const Endpoint* ep) {
    auto [it, inserted] = sep_names.try_emplace(ep);
    if (inserted) it->second = endpointChainName(svc_name, proto, ep->str());
    return it->second;
  }

  void endpointJumps(const ServicePort& sp, const std::string& svc_name,
                     const std::string& chain_name, const std::vector<const Endpoint*>& eps) {
    std::string proto(protocolName(sp.protocol));
    if (sp.affinity_client_ip) {
      for (const Endpoint* ep : eps) {
        const std::string& sep = sepName(svc_name, proto, ep);
        Rule r;
        r.matches = {match::Recent{sep, false, sp.affinity_seconds}};
        r.target = jump(sep);
        add(*nat, chain_name, maybeComment(r, svc_name));
      }
    }
    std::size_t n = eps.size();
    for (std::size_t i = 0; i < n; ++i) {
      const std::string& sep = sepName(svc_name, proto, eps[i]);
      Rule r;
      if (i < n - 1) {
        r.matches = {match::Statistic::fromProbability(1.0 / static_cast<double>(n - i))};
      }
      r.target = jump(sep);
      add(*nat, chain_name, maybeComment(r, fmt::format("{} -> {}", svc_name, eps[i]->str())));
    }
  }

  // One service port's endpoints and chains: what proxier.go's syncProxyRules works out before
  // it writes the port's rules.
  // Where a traffic policy sends a service port's packets: the service chain, or under policy
  // Local the local endpoints' chain; with nothing to reach, REJECT (no endpoints at all) or
  // DROP (none on this node).
  struct PolicyChain {
    std::string chain;
    bool has_endpoints = false;
    std::string target, comment;
  };

  struct PortPlan {
    std::string svc_name;
    std::string proto;
    std::vector<const Endpoint*> cluster_eps, local_eps, reachable;
    bool has_endpoints = false;
    std::string svc_chain, svl_chain, ext_chain;
    PolicyChain internal, external;  // where each traffic policy sends the packets
  };

  static Target verdict(const std::string& t) {
    if (t == "REJECT") return target::Reject{};
    return target::Jump{t};
  }

  void servicePort(const ServicePort& sp, const std::vector<Endpoint>* all_eps) {
    PortPlan p;
    p.svc_name = sp.id.str();
    sep_names.clear();
    p.proto = protocolName(sp.protocol);

    categorizeEndpoints(sp, all_eps, p);
    policyChains(sp, p);
    bool uses_ext_chain = p.external.has_endpoints && sp.externallyAccessible();
    if (!p.has_endpoints) ++out.services_without_endpoints;

    clusterIpRules(sp, p);
    externalEntryRules(sp, p);
    if (uses_ext_chain) externalChain(sp, p);
    endpointChains(sp, p);
  }

  // CategorizeEndpoints (pkg/proxy/topology.go): ready endpoints, or serving+terminating
  // ones when none is ready, so rolling updates do not drop connections.
  void categorizeEndpoints(const ServicePort& sp, const std::vector<Endpoint>* all_eps,
                           PortPlan& p) {
    bool uses_cluster = !sp.internal_policy_local || sp.externallyAccessible();
    bool uses_local =
        sp.internal_policy_local || (sp.external_policy_local && sp.externallyAccessible());
    std::vector<const Endpoint*> ready, fallback;
    if (all_eps) {
      for (const Endpoint& e : *all_eps) {
        if (e.ready)
          ready.push_back(&e);
        else if (e.serving && e.terminating)
          fallback.push_back(&e);
      }
    }
    const auto& usable = ready.empty() ? fallback : ready;
    std::vector<const Endpoint*>& cluster_eps = p.cluster_eps;
    std::vector<const Endpoint*>& local_eps = p.local_eps;
    if (uses_cluster) cluster_eps = usable;
    if (uses_local) {
      for (const Endpoint* e : usable) {
        if (!e->node_name.empty() && e->node_name == cfg.hostname) local_eps.push_back(e);
      }
    }
    std::vector<const Endpoint*>& reachable = p.reachable;
    reachable = cluster_eps;
    for (const Endpoint* e : local_eps) {
      if (std::find(reachable.begin(), reachable.end(), e) == reachable.end())
        reachable.push_back(e);
    }
    // CategorizeEndpoints' hasAnyEndpoints: any usable endpoint, local or not, so a Local policy
    // without a local endpoint DROPs (the service exists) instead of REJECTing.
    p.has_endpoints = !usable.empty();
  }

  // The chains internal and external traffic go to, and what they meet when there is no
  // endpoint to go to (REJECT; DROP when only the local ones are missing).
  void policyChains(const ServicePort& sp, PortPlan& p) {
    p.svc_chain = serviceChainName(p.svc_name, p.proto);
    p.svl_chain = localChainName(p.svc_name, p.proto);
    p.ext_chain = externalChainName(p.svc_name, p.proto);
    p.internal = policyChain(sp.internal_policy_local, p);
    p.external = policyChain(sp.external_policy_local, p);
  }

  static PolicyChain policyChain(bool policy_local, const PortPlan& p) {
    PolicyChain c{p.svc_chain, p.has_endpoints, "REJECT",
                  fmt::format("{} has no endpoints", p.svc_name)};
    if (policy_local) {
      c.chain = p.svl_chain;
      if (p.local_eps.empty()) c.has_endpoints = false;
    }
    if (p.has_endpoints && policy_local && !c.has_endpoints) {
      c.target = "DROP";
      c.comment = fmt::format("{} has no local endpoints", p.svc_name);
    }
    return c;
  }

  // ClusterIP.
  void clusterIpRules(const ServicePort& sp, const PortPlan& p) {
    const std::string& svc_name = p.svc_name;
    const std::string& internal_chain = p.internal.chain;
    if (p.internal.has_endpoints) {
      Rule masq = portal(sp.cluster_ip, sp, svc_name + " cluster IP", jump(kMarkMasq));
      if (cfg.masquerade_all) {
        add(*nat, internal_chain, masq);
      } else if (cfg.cluster_cidr) {
        masq.src = cfg.cluster_cidr;
        masq.src_invert = true;
        add(*nat, internal_chain, masq);
      }
      add(*nat, kServices,
          portal(sp.cluster_ip, sp, svc_name + " cluster IP", jump(internal_chain)));
    } else {
      add(*filter, kServices,
          portal(sp.cluster_ip, sp, p.internal.comment, verdict(p.internal.target)));
    }
  }

  // externalIPs, NodePort and the health check node port: the ways in from outside the cluster.
  void externalEntryRules(const ServicePort& sp, const PortPlan& p) {
    const std::string& svc_name = p.svc_name;
    const std::string& ext_chain = p.ext_chain;
    const bool has_external = p.external.has_endpoints;
    const std::string& external_comment = p.external.comment;
    const std::string& external_target = p.external.target;
    // externalIPs.
    for (Ipv4 ip : sp.external_ips) {
      if (has_external) {
        add(*nat, kServices, portal(ip, sp, svc_name + " external IP", jump(ext_chain)));
      } else {
        add(*filter, kExternalServices, portal(ip, sp, external_comment, verdict(external_target)));
      }
    }
    // NodePort: on every local address (addrtype LOCAL), including 127.0.0.1.
    if (sp.node_port != 0) {
      Rule r;
      r.proto = sp.protocol;
      if (has_external) {
        r.matches = {comment(svc_name), match::Port{sp.node_port}};
        r.target = jump(ext_chain);
        add(*nat, kNodePorts, r);
      } else {
        r.matches = {comment(external_comment), match::AddrType{false, true, false},
                     match::Port{sp.node_port}};
        r.target = verdict(external_target);
        add(*filter, kExternalServices, r);
      }
    }
    if (sp.health_check_node_port != 0) {
      Rule r;
      r.proto = Protocol::Tcp;
      r.matches = {comment(svc_name + " health check node port"),
                   match::Port{sp.health_check_node_port}};
      r.target = jump("ACCEPT");
      add(*filter, kNodePorts, r);
    }
  }

  // KUBE-EXT-*.
  void externalChain(const ServicePort& sp, const PortPlan& p) {
    const std::string& svc_name = p.svc_name;
    const std::string& ext_chain = p.ext_chain;
    const std::string& svc_chain = p.svc_chain;
    chain(*nat, ext_chain);
    if (!sp.external_policy_local) {
      Rule r;
      r.matches = {comment("masquerade traffic for " + svc_name + " external destinations")};
      r.target = jump(kMarkMasq);
      add(*nat, ext_chain, r);
    } else {
      if (cfg.cluster_cidr) {
        // Pods reaching a Local service's external address behave as if they went out to
        // the load balancer and came back: short-circuit them to the cluster chain.
        Rule r;
        r.src = cfg.cluster_cidr;
        r.matches = {comment("pod traffic for " + svc_name + " external destinations")};
        r.target = jump(svc_chain);
        add(*nat, ext_chain, r);
      }
      Rule r;
      r.matches = {comment("masquerade LOCAL traffic for " + svc_name + " external destinations"),
                   match::AddrType{true, false, false}};
      r.target = jump(kMarkMasq);
      add(*nat, ext_chain, r);
      r.matches = {comment("route LOCAL traffic for " + svc_name + " external destinations"),
                   match::AddrType{true, false, false}};
      r.target = jump(svc_chain);
      add(*nat, ext_chain, r);
    }
    Rule r;
    r.target = jump(p.external.chain);
    add(*nat, ext_chain, r);
  }

  // KUBE-SVC-* and KUBE-SVL-* (jumps to the endpoints), then one KUBE-SEP-* per endpoint.
  void endpointChains(const ServicePort& sp, const PortPlan& p) {
    const std::string& svc_name = p.svc_name;
    const std::string& proto = p.proto;
    if (!p.cluster_eps.empty()) {
      chain(*nat, p.svc_chain);
      endpointJumps(sp, svc_name, p.svc_chain, p.cluster_eps);
    }
    if (!p.local_eps.empty()) {
      chain(*nat, p.svl_chain);
      endpointJumps(sp, svc_name, p.svl_chain, p.local_eps);
    }
    // KUBE-SEP-*: hairpin masquerade, then DNAT (recording the client for affinity).
    for (const Endpoint* ep : p.reachable) {
      std::string sep = sepName(svc_name, proto, ep);
      chain(*nat, sep);
      ++out.endpoint_chains;
      Rule hairpin;
      hairpin.src = host(ep->ip);
      hairpin.target = jump(kMarkMasq);
      add(*nat, sep, maybeComment(hairpin, svc_name));
      Rule dnat;
      dnat.proto = sp.protocol;
      dnat.matches = {match::Port{0}};
      if (sp.affinity_client_ip) dnat.matches.push_back(match::Recent{sep, true, 0});
      dnat.target = target::Dnat{ep->ip, ep->port};
      add(*nat, sep, maybeComment(dnat, svc_name));
    }
  }
};

}  // namespace

bool largeClusterMode(const ProxyConfig& config, const EndpointMap& endpoints) {
  std::size_t total = 0;
  for (const auto& [k, v] : endpoints) total += v.size();
  return total > config.large_cluster_endpoints;
}

std::vector<const ServicePort*> sortedPorts(const std::vector<ServicePort>& ports) {
  std::vector<const ServicePort*> sorted;
  sorted.reserve(ports.size());
  for (const auto& p : ports) sorted.push_back(&p);
  std::sort(sorted.begin(), sorted.end(), [](const ServicePort* a, const ServicePort* b) {
    return std::tie(a->id, a->protocol) < std::tie(b->id, b->protocol);
  });
  return sorted;
}

Ruleset buildSkeleton(const ProxyConfig& config) {
  Builder b(config);
  b.staticChains();
  b.jumps();
  return std::move(b.out);
}

ServicePortRules buildServicePortRules(const ProxyConfig& config, const ServicePort& port,
                                       const std::vector<Endpoint>* endpoints, bool large_cluster) {
  Builder b(config);
  b.large_cluster = large_cluster;
  b.servicePort(port, endpoints);
  ServicePortRules out;
  out.has_endpoints = b.out.services_without_endpoints == 0;
  for (Chain& c : b.out.filter.chains) {
    for (Rule& r : c.rules) out.filter_shared.emplace_back(c.name, std::move(r));
  }
  for (Chain& c : b.out.nat.chains) {
    if (c.name == kServices || c.name == kNodePorts) {
      for (Rule& r : c.rules) out.nat_shared.emplace_back(c.name, std::move(r));
    } else {
      out.nat_chains.push_back(std::move(c));
    }
  }
  return out;
}

void appendShared(Ruleset& set, const std::vector<std::pair<std::string, Rule>>& filter,
                  const std::vector<std::pair<std::string, Rule>>& nat) {
  for (auto [table, rules] : {std::pair{&set.filter, &filter}, std::pair{&set.nat, &nat}}) {
    for (const auto& [chain, rule] : *rules) {
      // Shared chains are the static ones at the front; there are fewer than ten.
      auto it = std::find_if(table->chains.begin(), table->chains.end(),
                             [&](const Chain& c) { return c.name == chain; });
      if (it == table->chains.end()) {
        table->chains.push_back(Chain{chain, {}});
        it = table->chains.end() - 1;
      }
      it->rules.push_back(rule);
    }
  }
}

void finishRuleset(const ProxyConfig& config, Ruleset& set) {
  Builder b(config);
  b.nodePortsLast();
  appendShared(set, {}, {{kServices, b.out.nat.chains[0].rules[0]}});
}

uint64_t servicePortInputHash(const ServicePort& p, const std::vector<Endpoint>* eps,
                              bool large_cluster) {
  // A multiply-xorshift hash, 8 bytes a step, over every field buildServicePortRules reads
  // (called for every port on every sync: at 10,000 ports a byte-wise hash costs milliseconds).
  uint64_t h = 1469598103934665603ull;
  auto num = [&h](uint64_t v) {
    h = (h ^ v) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
  };
  auto str = [&num](const std::string& s) {
    num(s.size());
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      num(w);
    }
    uint64_t tail = 0;
    std::memcpy(&tail, s.data() + i, s.size() - i);
    num(tail);
  };
  str(p.id.ns);
  str(p.id.name);
  str(p.id.port);
  num(static_cast<uint64_t>(p.protocol));
  num(p.cluster_ip.value);
  num(p.port);
  num(p.node_port);
  num(p.affinity_client_ip);
  num(p.affinity_seconds);
  num(p.external_policy_local);
  num(p.internal_policy_local);
  num(p.health_check_node_port);
  num(large_cluster);
  num(p.external_ips.size());
  for (Ipv4 ip : p.external_ips) num(ip.value);
  num(p.load_balancer_ips.size());
  for (Ipv4 ip : p.load_balancer_ips) num(ip.value);
  if (eps) {
    num(eps->size());
    for (const Endpoint& e : *eps) {
      num(uint64_t{e.ip.value} << 16 | e.port);
      num(uint64_t{e.ready} | uint64_t{e.serving} << 1 | uint64_t{e.terminating} << 2);
      str(e.node_name);
    }
  } else {
    num(~0ull);
  }
  return h;
}

Ruleset buildRuleset(const ProxyConfig& config, const std::vector<ServicePort>& ports,
                     const EndpointMap& endpoints) {
  Ruleset out = buildSkeleton(config);
  bool large = largeClusterMode(config, endpoints);
  for (const ServicePort* sp : sortedPorts(ports)) {
    auto it = endpoints.find(sp->key());
    ServicePortRules r =
        buildServicePortRules(config, *sp, it == endpoints.end() ? nullptr : &it->second, large);
    appendShared(out, r.filter_shared, r.nat_shared);
    if (!r.has_endpoints) ++out.services_without_endpoints;
    for (Chain& c : r.nat_chains) {
      if (c.name.rfind("KUBE-SEP-", 0) == 0) ++out.endpoint_chains;
      out.nat.chains.push_back(std::move(c));
    }
  }
  finishRuleset(config, out);
  return out;
}

}  // namespace skiff::netproxy
