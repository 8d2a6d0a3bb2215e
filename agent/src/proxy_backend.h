#pragma once

// Private to the agent: which backend the service proxy and the pod network's rules use
// (kube-proxy --proxy-mode), decided once per process from AgentConfig::proxy_mode.

#include <memory>
#include <string>

#include "skiff/agent/agent.h"
#include "skiff/agent/config.h"
#include "skiff/common/result.h"
#include "skiff/netproxy/backend_detect.h"
#include "skiff/netproxy/ipvs/ipvs.h"
#include "skiff/netproxy/service_proxy.h"
#include "skiff/netproxy/sys/netlink.h"

namespace skiff::agent {

struct ProxyBackend {
  // Iptables, Nftables or Ipvs. The pod network's rules use nftables in Nftables and Ipvs mode.
  netproxy::ProxyMode mode = netproxy::ProxyMode::Nftables;
  std::string reason;
};

// The choice from `proxy_mode` (as --proxy-mode) and what the kernel has: `nf_tables` whether an
// nf_tables request was answered; `genl` resolves the IPVS generic netlink family, asked only
// when IPVS is requested (null: the socket could not be opened, as a kernel without IPVS).
Result<ProxyBackend> chooseProxyBackend(const std::string& proxy_mode,
                                        const Result<void>& nf_tables,
                                        netproxy::ipvs::GenlTransport* genl,
                                        netproxy::BackendProbe& probe);

// The seams a mode's proxy works through; each must outlive it. `iptables` is used in iptables
// mode, `nftables` in nftables and IPVS mode, `netlink` and `genl` in IPVS mode.
struct ProxySeams {
  netproxy::sys::Iptables* iptables = nullptr;
  netproxy::sys::Nftables* nftables = nullptr;
  netproxy::sys::Conntrack* conntrack = nullptr;
  netproxy::sys::Netlink* netlink = nullptr;
  netproxy::ipvs::GenlTransport* genl = nullptr;
};

// The service proxy of the chosen mode (IPVS: its scheduler from cfg.ipvs_scheduler, NodePorts on
// cfg.node_ip).
Result<std::unique_ptr<netproxy::ServiceProxy>> makeModeProxy(const ProxyBackend& backend,
                                                              netproxy::ProxyConfig config,
                                                              const AgentConfig& cfg,
                                                              const ProxySeams& seams);

// The first call decides (chooseProxyBackend against this namespace's kernel and iptables
// backends), logs the choice and its reason, and removes the other modes' proxy rules left by an
// earlier run (kube-proxy's --cleanup on a mode switch; the pod network's too when leaving
// nftables). Later calls return the same decision. Thread-safe.
Result<ProxyBackend> proxyBackend(const AgentConfig& cfg);

}  // namespace skiff::agent
