#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "skiff/netproxy/service.h"
#include "skiff/netproxy/service_tracker.h"
#include "skiff/netproxy/sys/conntrack.h"

namespace skiff::netproxy {

// kube-proxy's stale-UDP cleanup, shared by every proxy mode: remembers each UDP service port's
// usable endpoints, and after a sync deletes the conntrack entries of endpoints that went away
// (a UDP "connection" would otherwise keep sending to a dead pod). Not thread-safe.
class StaleUdpTracker {
 public:
  // Records the current endpoints and, if `ct` is not null, deletes entries (orig dst =
  // ClusterIP, reply src = removed endpoint) for endpoints gone since the last call. Failures are
  // logged and ignored. Returns the number of entries deleted.
  std::size_t update(const std::vector<ServicePort>& ports, const EndpointMap& eps,
                     sys::Conntrack* ct);
  // The same for the named Services ("ns/name") only, from `view`; the others stay as they were.
  std::size_t updateServices(const std::set<std::string>& services, const ServiceView& view,
                             sys::Conntrack* ct);
  std::size_t stateBytes() const;

 private:
  // Per UDP port key: the ClusterIP and the endpoints that may receive traffic.
  using Entries = std::map<std::string, std::pair<Ipv4, std::set<Ipv4>>>;
  static void add(const ServicePort& sp, const EndpointMap& eps, Entries& into);
  // Deletes the entries of endpoints `old` had and `now` (null: the port is gone) has not.
  static std::size_t deleteGone(const std::string& key, const Entries::mapped_type& old,
                                const Entries::mapped_type* now, sys::Conntrack* ct);
  Entries udp_endpoints_;
};

}  // namespace skiff::netproxy
