// IPVS mode: the dummy interface's addresses around the proxier's sync.
#include "skiff/netproxy/ipvs/ipvs_service_proxy.h"

#include <set>

namespace skiff::netproxy::ipvs {

Result<std::unique_ptr<IpvsServiceProxy>> IpvsServiceProxy::create(IpvsKernel& kernel,
                                                                   sys::Netlink& nl,
                                                                   IpvsOptions opts) {
  SKIFF_ASSIGN_OR_RETURN(auto link, nl.getLink(kDummyInterface));
  if (link) {
    SKIFF_ASSIGN_OR_RETURN(auto addrs, nl.listAddresses(kDummyInterface));
    for (const Cidr& c : addrs) opts.previously_bound.push_back(c.addr);
  }
  return std::unique_ptr<IpvsServiceProxy>(new IpvsServiceProxy(nl, kernel, std::move(opts)));
}

// Addresses go on the interface before their virtual servers exist, as kube-proxy binds them
// first: a packet to a new ClusterIP is then never dropped as not-local.
Result<void> IpvsServiceProxy::bindAddresses(const std::vector<ServicePort>& services) {
  SKIFF_TRY(nl_.createDummy(kDummyInterface));
  std::set<Ipv4> want;
  for (const auto& sp : services) {
    if (sp.cluster_ip.value != 0) want.insert(sp.cluster_ip);
    want.insert(sp.external_ips.begin(), sp.external_ips.end());
  }
  for (Ipv4 ip : want) SKIFF_TRY(nl_.addAddress(kDummyInterface, Cidr{ip, 32}));
  return ok();
}

Result<void> IpvsServiceProxy::unbindUnused() {
  std::set<Ipv4> bound = proxier_.boundAddresses();
  SKIFF_ASSIGN_OR_RETURN(auto addrs, nl_.listAddresses(kDummyInterface));
  for (const Cidr& c : addrs) {
    if (!bound.count(c.addr)) SKIFF_TRY(nl_.deleteAddress(kDummyInterface, c));
  }
  return ok();
}

Result<IpvsSyncStats> IpvsServiceProxy::sync(const std::vector<ServicePort>& services,
                                             const EndpointMap& endpoints) {
  SKIFF_TRY(bindAddresses(services));
  SKIFF_ASSIGN_OR_RETURN(auto stats, proxier_.sync(services, endpoints));
  SKIFF_TRY(unbindUnused());
  return stats;
}

}  // namespace skiff::netproxy::ipvs
