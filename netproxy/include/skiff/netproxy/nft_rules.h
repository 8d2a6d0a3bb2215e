#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "skiff/netproxy/proxy_rules.h"
#include "skiff/netproxy/service.h"
#include "skiff/netproxy/sys/nftables.h"

// kube-proxy's nftables mode (KEP-3866, reference/netproxy.md §4) as typed nft values: what the
// tables `ip skiff` and `ip skiff-svc-<k>` hold for a set of Services. Pure functions; the proxier
// (nft_proxy.cc) diffs their output between syncs.
namespace skiff::netproxy::nftrules {

inline constexpr const char* kTable = "skiff";

// Static objects' names (kube-proxy's).
inline constexpr const char* kServiceIps = "service-ips";
inline constexpr const char* kServiceNodePorts = "service-nodeports";
inline constexpr const char* kNoEndpointServices = "no-endpoint-services";
inline constexpr const char* kNoEndpointNodePorts = "no-endpoint-nodeports";
inline constexpr const char* kServicesChain = "services";
inline constexpr const char* kEndpointsCheck = "endpoints-check";
inline constexpr const char* kMarkForMasq = "mark-for-masquerade";
inline constexpr const char* kMasquerading = "masquerading";
inline constexpr const char* kRejectChain = "reject-chain";

// "<first 8 base32 chars of sha256(name)>-<name>", cut to nf_tables' 255-byte name limit
// (kube-proxy's hashAndTruncate). "ns1/svc1/tcp/p80" -> "ULMVA6XW-ns1/svc1/tcp/p80".
std::string hashAndTruncate(std::string_view name);

// "ns/svc/proto/portName", the base of a service port's chain names.
std::string servicePortBase(const ServicePort& sp);
std::string serviceChain(const ServicePort& sp);   // service-<H8>-ns/svc/tcp/port
std::string localChain(const ServicePort& sp);     // local-...
std::string externalChain(const ServicePort& sp);  // external-...
// endpoint-<H8>-ns/svc/tcp/port__ip/port and affinity-<H8>-... (the same hash).
std::string endpointChain(const ServicePort& sp, const Endpoint& ep);
std::string affinitySet(const ServicePort& sp, const Endpoint& ep);

struct NftChain {
  std::string name;
  std::vector<nft::Rule> rules;
};
struct MapElement {
  nft::SetSpec map;
  nft::Element element;
};

// Everything one service port contributes to the table.
struct PortObjects {
  std::vector<NftChain> chains;      // service-/local-/external- chains, then endpoint chains
  std::vector<nft::SetSpec> sets;    // affinity sets (ClientIP)
  std::vector<MapElement> elements;  // into service-ips, service-nodeports, no-endpoint-*
};

PortObjects buildPortObjects(const ProxyConfig& config, const ServicePort& sp,
                             const std::vector<Endpoint>* endpoints);

// The static part of a table: base chains with their hooks (kube-proxy's priorities), helper
// chains and maps. Chains are listed in dependency order (a chain before any chain jumping to
// it).
struct Skeleton {
  std::vector<nft::ChainSpec> chains;
  std::vector<std::pair<std::string, nft::Rule>> rules;  // (chain, rule), in order
  std::vector<nft::SetSpec> maps;
};

// Services are sharded across tables (see makeNftablesProxy): the main table `ip skiff` holds
// what every packet needs and is small (the filter-side no-endpoint check with its two maps and
// reject-chain, masquerade on the mark in nat postrouting); each shard table `ip skiff-svc-<k>`
// holds the translation of its Services (nat prerouting/output at dstnat jumping to `services`,
// the service-ips and service-nodeports maps, per-service and per-endpoint chains, affinity
// sets, its own mark-for-masquerade). Jumps never cross tables.
Skeleton buildTableSkeleton(const ProxyConfig& config);
Skeleton buildShardSkeleton(const ProxyConfig& config);

// True for the maps that live in the main table (no-endpoint-services, no-endpoint-nodeports);
// the others are a shard's.
bool inMainTable(const std::string& map);

// "<table>-svc-<k>", and back (nullopt for any other name, e.g. "skiff-podnet").
std::string shardTable(std::string_view table, std::size_t shard);
std::optional<std::size_t> shardOf(std::string_view table, std::string_view name);

// Which shard each Service lives in. A new Service goes to the lowest shard with fewer than
// `shard_size` Services, and stays there until released, so a change to one Service only ever
// touches its own shard's table.
class ShardAssignment {
 public:
  explicit ShardAssignment(std::size_t shard_size) : size_(shard_size == 0 ? 1 : shard_size) {}
  std::size_t assign(const std::string& service);
  std::optional<std::size_t> find(const std::string& service) const;
  // Forgets `service`; true when its shard is left empty (its table should go).
  bool release(const std::string& service);
  // Per service port, for the proxier: assignPort places the port's Service (as assign) and
  // counts the port; releasePort uncounts it and releases the Service with its last port
  // (true: its shard is left empty). No sync has to visit every Service to find the gone ones.
  std::size_t assignPort(std::string_view service);
  bool releasePort(std::string_view service);
  std::size_t services(std::size_t shard) const;
  std::vector<std::size_t> shards() const;  // the non-empty ones, ascending
  void clear() {
    of_.clear();
    count_.clear();
  }

 private:
  struct Entry {
    std::size_t shard = 0;
    std::size_t ports = 0;  // counted by assignPort
  };
  void drop(std::size_t shard);  // one Service fewer in `shard`
  std::size_t size_;
  std::unordered_map<std::string, Entry> of_;
  std::vector<std::size_t> count_;
};

// The specs of the four maps, for element ops.
nft::SetSpec mapSpec(const std::string& name);

// Every table for `ports` from scratch (the main table first, then the shards in order), as the
// proxier's first sync writes them with the same shard size, e.g. for `nft -f` or golden files.
std::vector<nft::Batch> fullBatches(const ProxyConfig& config,
                                    const std::vector<ServicePort>& ports,
                                    const EndpointMap& endpoints, std::size_t shard_size);

}  // namespace skiff::netproxy::nftrules
