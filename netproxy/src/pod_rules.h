#pragma once

// Private to the pod network: the packet-filter half of it (masquerade of pods leaving the
// cluster CIDR, forwarding accept, hostPort DNAT), one implementation per backend so a node's pod
// rules follow the proxy mode: iptables-legacy through libiptc, or nftables in table
// `ip skiff-podnet` (no legacy rule at all on an nft host).

#include <memory>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/netproxy/pod_network.h"
#include "skiff/netproxy/sys/iptables.h"
#include "skiff/netproxy/sys/nftables.h"

namespace skiff::netproxy {

class PodRules {
 public:
  virtual ~PodRules() = default;
  // Creates/repairs the masquerade and forwarding rules and the hostPort hooks. Idempotent.
  virtual Result<void> ensure() = 0;
  // Makes sandbox `id`'s hostPort DNATs exactly `ports` (to `ip`); empty removes them. Returns
  // whether rules of `id` were removed.
  virtual Result<bool> setHostPorts(const std::string& id, const std::string& pod, Ipv4 ip,
                                    const std::vector<HostPort>& ports) = 0;
  // Removes every rule, chain and table of the pod network. Idempotent.
  virtual Result<void> cleanup() = 0;
};

std::unique_ptr<PodRules> makeIptablesPodRules(const PodNetworkConfig& config,
                                               sys::Iptables& iptables);
std::unique_ptr<PodRules> makeNftPodRules(const PodNetworkConfig& config, sys::Nftables& nft);

inline constexpr const char* kPodNftTable = "skiff-podnet";

}  // namespace skiff::netproxy
