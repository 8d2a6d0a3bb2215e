#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "skiff/netproxy/service.h"
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
  std::size_t stateBytes() const;

 private:
  std::map<std::string, std::pair<Ipv4, std::set<Ipv4>>> udp_endpoints_;
};

}  // namespace skiff::netproxy
