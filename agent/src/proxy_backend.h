#pragma once

// Private to the agent: which backend the service proxy and the pod network's rules use
// (kube-proxy --proxy-mode), decided once per process from AgentConfig::proxy_mode.

#include <string>

#include "skiff/agent/agent.h"
#include "skiff/agent/config.h"
#include "skiff/common/result.h"
#include "skiff/netproxy/backend_detect.h"

namespace skiff::agent {

struct ProxyBackend {
  netproxy::ProxyMode mode = netproxy::ProxyMode::Nftables;  // Iptables or Nftables
  std::string reason;
};

// The first call decides (netproxy::chooseProxyMode against this namespace's kernel and
// iptables backends), logs the choice and its reason, and removes the other mode's proxy and
// pod network rules left by an earlier run (kube-proxy's --cleanup on a mode switch). Later calls
// return the same decision. Thread-safe.
Result<ProxyBackend> proxyBackend(const AgentConfig& cfg);

}  // namespace skiff::agent
