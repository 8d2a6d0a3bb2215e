#pragma once

#include <optional>
#include <string>
#include <vector>

#include "skiff/netproxy/rule.h"
#include "skiff/netproxy/service.h"
#include "skiff/netproxy/sys/iptables.h"

namespace skiff::netproxy {

// How this node's proxy is configured (kube-proxy's KubeProxyConfiguration, iptables mode).
struct ProxyConfig {
  std::string hostname;              // this node's name: endpoints with this nodeName are local
  std::optional<Cidr> cluster_cidr;  // local-traffic detector (--cluster-cidr), 10.244.0.0/16
  int masquerade_bit = 14;           // --iptables-masquerade-bit: mark 0x4000
  bool masquerade_all = false;       // --masquerade-all
  bool localhost_nodeports = true;   // iptables.localhostNodePorts (needs route_localnet=1)
  bool random_fully = true;          // MASQUERADE --random-fully (kernel >= 3.14)
  // Above this many endpoints in total, per-endpoint comments are dropped (kube-proxy's
  // largeClusterEndpointsThreshold), shrinking the rule set by up to 40 %.
  std::size_t large_cluster_endpoints = 1000;
  // --nodeport-addresses (nftables mode): NodePorts answer on local addresses inside these
  // prefixes; empty means every local address except 127.0.0.0/8 (`fib daddr type local`).
  std::vector<Cidr> nodeport_addresses;

  uint32_t masqueradeMark() const { return 1u << masquerade_bit; }
};

// The complete desired state of the chains the proxy owns in one table.
struct TableRules {
  std::string name;
  std::vector<JumpRule> jumps;  // hooks in built-in chains
  std::vector<Chain> chains;    // owned chains, static ones first, then per service port
};

struct Ruleset {
  TableRules filter{"filter", {}, {}};
  TableRules nat{"nat", {}, {}};
  std::size_t services_without_endpoints = 0;
  std::size_t endpoint_chains = 0;
};

// Computes kube-proxy's iptables-mode layout (reference/netproxy.md §1) for `ports` and
// `endpoints`: KUBE-SERVICES, KUBE-SVC-*, KUBE-SVL-*, KUBE-EXT-*, KUBE-SEP-*, KUBE-NODEPORTS,
// KUBE-POSTROUTING, KUBE-MARK-MASQ in nat; KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-FORWARD,
// KUBE-NODEPORTS, KUBE-PROXY-FIREWALL (and KUBE-FIREWALL with localhost NodePorts) in filter.
// Pure: same input, same output (ports are processed in (name, protocol) order).
Ruleset buildRuleset(const ProxyConfig& config, const std::vector<ServicePort>& ports,
                     const EndpointMap& endpoints);

// ---- Incremental building blocks (buildRuleset composes them), so the proxy can reuse the
// output of service ports whose inputs did not change since the last sync.

// What one service port contributes.
struct ServicePortRules {
  std::vector<std::pair<std::string, Rule>> filter_shared;  // into KUBE-SERVICES etc. (filter)
  std::vector<std::pair<std::string, Rule>> nat_shared;     // into KUBE-SERVICES/KUBE-NODEPORTS
  std::vector<Chain> nat_chains;                            // its own KUBE-SVC/SVL/EXT/SEP chains
  bool has_endpoints = false;
};

// kube-proxy's large-cluster mode: more than config.large_cluster_endpoints endpoints in total.
bool largeClusterMode(const ProxyConfig& config, const EndpointMap& endpoints);
// The ports in the order buildRuleset processes them ((name, protocol)).
std::vector<const ServicePort*> sortedPorts(const std::vector<ServicePort>& ports);
// Static chains and jumps, without any service.
Ruleset buildSkeleton(const ProxyConfig& config);
ServicePortRules buildServicePortRules(const ProxyConfig& config, const ServicePort& port,
                                       const std::vector<Endpoint>* endpoints, bool large_cluster);
// Appends `rules`' shared rules to their chains in `set` (chains must exist in the skeleton).
void appendShared(Ruleset& set, const std::vector<std::pair<std::string, Rule>>& filter,
                  const std::vector<std::pair<std::string, Rule>>& nat);
// Adds the rules that must come after every service (the KUBE-NODEPORTS jump).
void finishRuleset(const ProxyConfig& config, Ruleset& set);
// A fingerprint of everything buildServicePortRules reads for one port.
uint64_t servicePortInputHash(const ServicePort& port, const std::vector<Endpoint>* endpoints,
                              bool large_cluster);

// The whole rule set as iptables-restore input (tables filter then nat, `:CHAIN - [0:0]` lines,
// then rules; jumps as -A lines in built-in chains), for a flushing restore into an empty table.
std::string renderRestoreFull(const Ruleset& rules);

// Transactions as `iptables-restore --noflush` input: the written chains in full, removed chains
// as -X after a flush. (Jumps are not expressible without owning built-in chains, so they are
// left out, as kube-proxy does.)
std::string renderRestoreNoflush(const std::vector<sys::TableChange>& changes);

// What `iptables-legacy-save -t <table>` prints after the rule set was applied to an empty
// table, minus the "#" lines and with counters as [0:0]: the golden format.
std::string renderSave(const TableRules& table);

}  // namespace skiff::netproxy
