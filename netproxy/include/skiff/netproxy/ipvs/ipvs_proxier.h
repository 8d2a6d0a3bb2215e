#pragma once

// The IPVS proxy mode's kernel half (kube-proxy's pkg/proxy/ipvs/proxier.go syncProxyRules and
// graceful_termination.go): one virtual server per (ClusterIP | external IP | node address for
// NodePorts, port, protocol), real servers per ready endpoint, and removal that drains first
// (weight 0 until the real server has no connections left). The addresses it serves must be
// held by the dummy interface skiff-ipvs0 (boundAddresses()), and masquerading is done by the
// nftables side; both are the caller's.

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/netproxy/ipvs/ipvs.h"
#include "skiff/netproxy/service.h"

namespace skiff::netproxy::ipvs {

struct IpvsOptions {
  std::string scheduler = "rr";  // --ipvs-scheduler
  std::string node_name;         // for externalTrafficPolicy/internalTrafficPolicy Local
  std::vector<Ipv4> node_ips;    // NodePorts are served on these (--nodeport-addresses)
  // Virtual servers on these addresses were made by an earlier run (the dummy interface's
  // addresses at start): they are ours to update or delete.
  std::vector<Ipv4> previously_bound;
};

struct IpvsSyncStats {
  int services_added = 0, services_updated = 0, services_deleted = 0;
  int dests_added = 0, dests_updated = 0, dests_draining = 0, dests_deleted = 0;
};

class IpvsProxier {
 public:
  IpvsProxier(IpvsKernel& kernel, IpvsOptions opts);

  // Brings the kernel's virtual servers in line with the Services and endpoints. Virtual
  // servers that are not ours (other addresses) are never touched. Stops at the first kernel
  // error; the next sync starts again from what the kernel has.
  Result<IpvsSyncStats> sync(const std::vector<ServicePort>& services,
                             const EndpointMap& endpoints);

  // ClusterIPs and external IPs the dummy interface must hold after the last sync.
  std::set<Ipv4> boundAddresses() const { return bound_; }

 private:
  struct Desired {
    VirtualServer vs;
    std::vector<RealServer> dests;
  };
  std::vector<Desired> desiredState(const std::vector<ServicePort>& services,
                                    const EndpointMap& endpoints) const;
  bool ours(const VirtualServer& vs) const;
  Result<void> syncDestinations(const Desired& d, bool is_new, IpvsSyncStats& st);

  IpvsKernel& kernel_;
  IpvsOptions opts_;
  std::set<Ipv4> bound_;
  std::set<Ipv4> node_ips_;
};

}  // namespace skiff::netproxy::ipvs
