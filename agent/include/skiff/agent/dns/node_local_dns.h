#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/agent/dns/dns_server.h"
#include "skiff/common/result.h"

namespace skiff::agent::dns {

struct NodeLocalDnsOptions {
  std::vector<std::string> cluster_dns;  // the kube-dns ClusterIP(s), --cluster-dns
  std::string cluster_domain = "cluster.local";
  std::uint32_t ttl = 30;
  std::string resolv_conf = "/etc/resolv.conf";
  std::uint16_t port = 53;
  int metrics_port = 9153;
};

// The cluster DNS of one node, as the agent runs it.
//
// How a query reaches it (why this design): pods sit in their own netns behind bridge skiff0 and
// send to the kube-dns ClusterIP (10.96.0.10). The agent does not bind that VIP (it is not a
// local address, and making it one on every node would hide it from the proxy's rules); instead
// the server listens on the node's pod-bridge gateway (the first address of its podCIDR) and the
// agent hands the proxy one extra EndpointSlice for kube-system/kube-dns whose only endpoint is
// that gateway address. Every node's proxy therefore DNATs 10.96.0.10:53 to *its own* server,
// so no DNS packet leaves the node and DNS keeps answering while the master is down; the
// netproxy code is unchanged (it sees an ordinary local endpoint). The bridge address is not
// routed off the node except to pods, so the forwarder is not an open resolver on the node IP.
// Same idea as NodeLocal DNSCache, minus its dummy interface and NOTRACK rules.
//
// Thread-safe: update() from the informer side, listenFor() from the node watch.
class NodeLocalDns {
 public:
  explicit NodeLocalDns(NodeLocalDnsOptions o) : o_(std::move(o)) {}
  // Starts the server on the gateway of `pod_cidr` (once; later calls with the same CIDR do
  // nothing). The upstreams come from resolv_conf, minus the cluster DNS itself (logged).
  Result<void> listenFor(const std::string& pod_cidr);
  // Rebuilds the record index from the informer caches and swaps it in.
  void update(const std::vector<nlohmann::json>& services,
              const std::vector<nlohmann::json>& slices);
  // kube-system/kube-dns's node-local endpoint for the proxy; nullopt until listening.
  std::optional<nlohmann::json> localEndpointSlice(const std::string& node_name) const;
  const DnsServer* server() const { return server_.get(); }

 private:
  NodeLocalDnsOptions o_;
  mutable std::mutex mu_;
  std::string cidr_, address_;
  std::unique_ptr<DnsServer> server_;
  std::shared_ptr<const RecordIndex> index_;
};

// The first host address of an IPv4 CIDR ("10.244.1.0/24" -> "10.244.1.1"); Invalid otherwise.
Result<std::string> gatewayOf(const std::string& cidr);

}  // namespace skiff::agent::dns
