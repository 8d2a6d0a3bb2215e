#pragma once

// The IPVS mode's sync as kube-proxy does it: the dummy interface skiff-ipvs0 holds every
// ClusterIP and external IP as a /32 (so the node accepts packets to them and IPVS sees them in
// LOCAL_IN), the proxier programs the virtual and real servers, and addresses no Service uses
// any more are removed from the interface once their virtual servers are gone.

#include <memory>

#include "skiff/common/result.h"
#include "skiff/netproxy/ipvs/ipvs_proxier.h"
#include "skiff/netproxy/sys/netlink.h"

namespace skiff::netproxy::ipvs {

inline constexpr const char* kDummyInterface = "skiff-ipvs0";

class IpvsServiceProxy {
 public:
  // Reads the dummy interface's addresses (an earlier run's) so their virtual servers count as
  // ours. The interface is created on the first sync.
  static Result<std::unique_ptr<IpvsServiceProxy>> create(IpvsKernel& kernel, sys::Netlink& nl,
                                                          IpvsOptions opts);

  Result<IpvsSyncStats> sync(const std::vector<ServicePort>& services,
                             const EndpointMap& endpoints);

 private:
  IpvsServiceProxy(sys::Netlink& nl, IpvsKernel& kernel, IpvsOptions opts)
      : nl_(nl), proxier_(kernel, std::move(opts)) {}
  Result<void> bindAddresses(const std::vector<ServicePort>& services);
  Result<void> unbindUnused();

  sys::Netlink& nl_;
  IpvsProxier proxier_;
};

}  // namespace skiff::netproxy::ipvs
