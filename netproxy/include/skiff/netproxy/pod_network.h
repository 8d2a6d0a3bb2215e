#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"
#include "skiff/netproxy/ipv4.h"
#include "skiff/netproxy/rule.h"
#include "skiff/netproxy/sys/iptables.h"
#include "skiff/netproxy/sys/netlink.h"
#include "skiff/netproxy/sys/nftables.h"

namespace skiff::netproxy {

struct PodNetworkConfig {
  std::string bridge = "skiff0";
  Cidr pod_cidr;                        // this node's spec.podCIDR
  Cidr cluster_cidr{{0x0af40000}, 16};  // 10.244.0.0/16 (--pod-network-cidr)
  std::string ipam_dir = "/var/lib/skiff/agent/ipam";
  int mtu = 1500;
};

struct HostPort {
  Protocol protocol = Protocol::Tcp;
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  // The pod's hostIP: only packets to this local address are DNATed; 0.0.0.0 (the default)
  // means every local address, as the portmap plugin treats an empty hostIP.
  Ipv4 host_ip;
};

// What the runtime hands over for one pod sandbox.
struct Sandbox {
  std::string id;          // sandbox id: [A-Za-z0-9_.-], at most 128 characters
  std::string netns_path;  // e.g. /run/netns/<id> or /proc/<pid>/ns/net
  std::string pod;         // "ns/name", for log lines and rule comments
  std::vector<HostPort> host_ports;
};

struct PodAddress {
  Ipv4 ip;
  int prefix = 24;
  Ipv4 gateway;
  std::string host_veth;
};

// Another node, for host-gw routes: its pod CIDR is reached via its InternalIP.
struct NodeRoute {
  std::string node;
  Cidr pod_cidr;
  Ipv4 internal_ip;
};

// The node's pod network, flannel host-gw style with skiff's own bridge (reference §5):
//  - bridge `skiff0` holding the first address of the podCIDR (the pods' gateway), up;
//  - per pod a veth pair made in one request (sys::VethPair): host end `sk<hash>` on the bridge,
//    up, with hairpin mode on; peer `eth0` created inside the sandbox netns, given an IPAM
//    address and a default route via the bridge; loopback up;
//  - net.ipv4.ip_forward=1 and route_localnet=1 (localhost NodePorts) in the node's namespace;
//  - nat SKIFF-POSTROUTING (from POSTROUTING): RETURN for packets kube-proxy's 0x4000 mark
//    will masquerade, RETURN pod-to-pod, MASQUERADE pods leaving the cluster CIDR (flannel's
//    FLANNEL-POSTRTG order); filter SKIFF-FORWARD (from FORWARD) accepts cluster-CIDR traffic so
//    a DROP forward policy (docker) does not cut pods off;
//  - hostPort: nat SKIFF-HOSTPORTS (from PREROUTING/OUTPUT for local destinations) DNATs
//    host_port to podIP:container_port, one rule per mapping commented with the sandbox id
//    (the portmap plugin's CNI-HOSTPORT-DNAT, flattened);
//  - routes to other nodes' pod CIDRs via their InternalIP, tagged kSkiffRouteProtocol.
// All of it lives in the namespace of `node` (the netlink/iptables seams given). Not
// thread-safe; the agent calls it from its pod workers one at a time.
class PodNetwork {
 public:
  virtual ~PodNetwork() = default;

  // Creates/repairs the bridge, sysctls and masquerade rules. Idempotent; setup calls it.
  virtual Result<void> ensureNode() = 0;

  // Wires one sandbox and returns its address. Idempotent for the same id only after a
  // teardown; a failure leaves nothing behind (no veth, no IP reserved, no rules).
  virtual Result<PodAddress> setup(const Sandbox& sandbox) = 0;

  // Removes the sandbox's veth, hostPort rules and IP. Accepts unknown ids and sandboxes whose
  // netns is already gone; returns false when there was nothing to remove.
  virtual Result<bool> teardown(const Sandbox& sandbox) = 0;

  // Makes the node's routes to other nodes' pod CIDRs exactly `nodes` (own CIDR skipped):
  // adds/replaces missing or changed routes, deletes skiff routes for nodes that are gone.
  virtual Result<void> syncNodeRoutes(const std::vector<NodeRoute>& nodes) = 0;

  // Removes the bridge, skiff's routes and chains (agent --cleanup). Idempotent.
  virtual Result<void> cleanupNode() = 0;
};

using NetlinkFactory =
    std::function<Result<std::unique_ptr<sys::Netlink>>(const std::string& netns_path)>;

// `node` and `iptables` act on the node's namespace; `pod_netlink` opens a seam inside a
// sandbox's namespace (makeLibnlNetlink in production).
std::unique_ptr<PodNetwork> makePodNetwork(PodNetworkConfig config, sys::Netlink& node,
                                           NetlinkFactory pod_netlink, sys::Iptables& iptables);
// The same with the rules in nftables (table `ip skiff-podnet`: a postrouting chain with the
// masquerade order above, a forward chain accepting cluster-CIDR traffic, and per sandbox with
// hostPorts a pair of nat base chains DNATing them), for nodes whose proxy runs in nftables mode.
std::unique_ptr<PodNetwork> makePodNetwork(PodNetworkConfig config, sys::Netlink& node,
                                           NetlinkFactory pod_netlink, sys::Nftables& nft);

// flannel host-gw: makes the routes tagged kSkiffRouteProtocol exactly one per other node's pod
// CIDR via its InternalIP (own_cidr skipped). Used by both pod network modes.
Result<void> syncHostGwRoutes(sys::Netlink& node, const Cidr& own_cidr,
                              const std::vector<NodeRoute>& nodes);

// CNI mode (reference §7): delegate pod wiring to a CNI plugin chain (the reference plugins,
// e.g. Debian containernetworking-plugins in /usr/lib/cni), for users who bring their own
// network. skiff still owns the host-gw routes.
struct CniConfig {
  std::string conf_dir = "/etc/cni/net.d";  // the first *.conflist in lexical order is used
  std::vector<std::string> bin_dirs = {"/usr/lib/cni", "/opt/cni/bin"};
  std::string cache_dir = "/var/lib/skiff/agent/cni";  // final ADD results, needed by DEL
  std::string ifname = "eth0";
  Cidr pod_cidr;  // this node's podCIDR, for syncNodeRoutes
};

// Loads and validates the network list (cniVersion, name, plugins[].type) from conf_dir.
Result<nlohmann::json> loadCniNetworkList(const std::string& conf_dir);

// `node` is used for host-gw routes only. Plugins run in the calling thread's namespaces.
Result<std::unique_ptr<PodNetwork>> makeCniPodNetwork(CniConfig config, sys::Netlink& node);

// Removes only the pod network's packet-filter rules of one backend (a mode switch, or
// `skiff-agent cleanup-proxy`): legacy SKIFF-* chains where they exist, or the nftables table
// `ip skiff-podnet`. The bridge, routes and addresses stay. Idempotent.
Result<void> cleanupPodRules(sys::Iptables& iptables);
Result<void> cleanupPodRules(sys::Nftables& nft);

// The host-side veth name for a sandbox id: "sk" + 11 hex digits of sha256(id).
std::string hostVethName(const std::string& sandbox_id);

}  // namespace skiff::netproxy
