#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/netproxy/ipv4.h"

namespace skiff::netproxy::sys {

struct LinkInfo {
  std::string name;
  int index = 0;
  std::string kind;  // "bridge", "veth", "" for others
  bool up = false;
  int master = 0;  // ifindex of the bridge, 0 if none
};

struct Route {
  Cidr dst;                     // 0.0.0.0/0 for the default route
  std::optional<Ipv4> gateway;  // none: directly connected
  std::string dev;              // output link; may be empty with a gateway
  int protocol = 0;             // rtm_protocol (skiff tags its own routes, see kSkiffRouteProtocol)
  friend bool operator==(const Route&, const Route&) = default;
};

// A veth pair made by one RTM_NEWLINK, already where and how it is used: the peer is born in
// its namespace under its final name, this end already in its bridge and up. Moving a link to
// another namespace afterwards costs an RCU barrier under the kernel's global rtnl lock (about
// 15 ms, during which every other link, address and namespace change on the node waits) and
// renaming one an expedited RCU sync; with pods starting in parallel that serialised them.
struct VethPair {
  std::string name;        // the end in this namespace
  std::string peer;        // the other end's name, inside peer_netns
  std::string peer_netns;  // path of the peer's network namespace (e.g. /run/netns/x); "" = here
  std::string master;      // bridge this end joins; "" = none
  int mtu = 0;             // both ends; 0 = the kernel's default
  bool up = false;         // bring this end up (the peer stays down)
};

// rtm_protocol value on routes skiff installs, so syncNodeRoutes can find (and only touch) its
// own routes (reference §5). Unassigned in /etc/iproute2/rt_protos.
inline constexpr int kSkiffRouteProtocol = 0x5c;

// The rtnetlink seam (libnl-3 route), bound to one network namespace, modelled on Mesos'
// routing/link.hpp and kube-proxy's ipvs netlink interface: one kernel request per method,
// no policy. "Ensure"-style methods return false when the object already existed / was already
// gone; errors carry errno and name the object.
class Netlink {
 public:
  virtual ~Netlink() = default;

  virtual Result<std::optional<LinkInfo>> getLink(const std::string& name) = 0;
  // Creates a bridge; false if a link with that name already exists.
  virtual Result<bool> createBridge(const std::string& name) = 0;
  // Creates a dummy link (left down: its addresses are local all the same, which is what the
  // IPVS mode needs of skiff-ipvs0); false if a link with that name already exists.
  virtual Result<bool> createDummy(const std::string& name) = 0;
  // Creates a veth pair as one request; nothing is left behind if it fails. AlreadyExists if
  // either name is taken in its namespace, NotFound if the peer's namespace or the bridge is.
  virtual Result<void> createVeth(const VethPair& pair) = 0;
  // Deletes a link (for a veth, both ends); false if it did not exist.
  virtual Result<bool> deleteLink(const std::string& name) = 0;
  virtual Result<void> setUp(const std::string& name) = 0;
  // Bridge port hairpin mode (IFLA_BRPORT_MODE): a pod can reach itself through a Service.
  virtual Result<void> setHairpin(const std::string& name, bool on) = 0;
  // false if the address was already there.
  virtual Result<bool> addAddress(const std::string& name, const Cidr& address) = 0;
  virtual Result<std::vector<Cidr>> listAddresses(const std::string& name) = 0;
  // false if the address was not there.
  virtual Result<bool> deleteAddress(const std::string& name, const Cidr& address) = 0;
  // Adds or replaces the route to route.dst in the main table (NLM_F_REPLACE).
  virtual Result<void> replaceRoute(const Route& route) = 0;
  // false if no such route.
  virtual Result<bool> deleteRoute(const Route& route) = 0;
  // IPv4 routes of the main table with rtm_protocol == protocol (any protocol if < 0).
  virtual Result<std::vector<Route>> listRoutes(int protocol) = 0;
  // Writes /proc/sys/<key> as seen from this namespace, e.g. "net/ipv4/ip_forward" = "1".
  virtual Result<void> writeSysctl(const std::string& key, const std::string& value) = 0;
};

// libnl-3 route implementation. With an empty path it works in the calling thread's network
// namespace; otherwise its socket is opened inside `netns_path`.
Result<std::unique_ptr<Netlink>> makeLibnlNetlink(const std::string& netns_path = "");

}  // namespace skiff::netproxy::sys
