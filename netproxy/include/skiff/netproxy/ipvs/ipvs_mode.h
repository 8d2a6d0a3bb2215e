#pragma once

// IPVS proxy mode as a ServiceProxy (kube-proxy --proxy-mode ipvs): IpvsServiceProxy programs the
// dummy interface and the virtual/real servers; masquerading is done by nftables sets instead of
// kube-proxy's ipsets and iptables rules, in a table of its own (`ip skiff-ipvs`):
//
//   map cluster-ips   (ip daddr . l4proto . dport : goto mark-for-masquerade)  every ClusterIP
//                     port; looked up for sources outside --cluster-cidr (all with
//                     --masquerade-all; none without a cluster CIDR), as KUBE-CLUSTER-IP
//   map external-ips  external IPs of Services whose externalTrafficPolicy is Cluster, always
//                     marked (KUBE-EXTERNAL-IP)
//   map nodeports     (l4proto . dport) of NodePorts with externalTrafficPolicy Cluster, on local
//                     addresses (KUBE-NODE-PORT-TCP/UDP)
//   chain hairpin     ip saddr E ip daddr E masquerade, per endpoint address (KUBE-LOOP-BACK)
//   chain masquerading  masquerade what carries the mark, clearing it (KUBE-POSTROUTING)
//
// The table is replaced in one transaction when its content changes (or it disappeared); a sync
// that changes nothing sends nothing. The kernel must also track IPVS connections for the
// masquerade to see them: the proxy sets net/ipv4/vs/conntrack=1 as kube-proxy does.

#include <memory>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/netproxy/ipvs/ipvs.h"
#include "skiff/netproxy/proxy_rules.h"
#include "skiff/netproxy/service.h"
#include "skiff/netproxy/service_proxy.h"
#include "skiff/netproxy/sys/netlink.h"
#include "skiff/netproxy/sys/nftables.h"

namespace skiff::netproxy::ipvs {

inline constexpr const char* kMasqueradeTable = "skiff-ipvs";

struct IpvsModeOptions {
  std::string scheduler = "rr";  // --ipvs-scheduler
  std::vector<Ipv4> node_ips;    // NodePort virtual servers are made on these
};

// The masquerade table for `ports`, from scratch (add, delete and re-add the table, then its
// content), as one batch.
nft::Batch masqueradeBatch(const ProxyConfig& config, const std::vector<ServicePort>& ports,
                           const EndpointMap& endpoints);

// Deletes the masquerade table if it is there (a switch to another mode).
Result<void> cleanupMasquerade(sys::Nftables& nft);

// The IPVS mode over a generic-netlink transport, the link seam (dummy interface, sysctl) and
// the nftables seam (masquerade). NotFound when the IPVS family does not resolve (the kernel has
// no IPVS): the caller falls back to another mode. The seams must outlive the proxy. cleanup()
// deletes the virtual servers it owns, the dummy interface and the masquerade table.
Result<std::unique_ptr<ServiceProxy>> makeIpvsProxy(ProxyConfig config, GenlTransport& genl,
                                                    sys::Netlink& nl, sys::Nftables& nft,
                                                    const IpvsModeOptions& options = {});

}  // namespace skiff::netproxy::ipvs
