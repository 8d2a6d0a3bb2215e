#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "skiff/netproxy/proxy_rules.h"
#include "skiff/netproxy/service.h"
#include "skiff/netproxy/sys/nftables.h"

// kube-proxy's nftables mode (KEP-3866, reference/netproxy.md §4) as typed nft values: what the
// table `ip skiff` holds for a set of Services. Pure functions; the proxier (nft_proxy.cc) diffs
// their output between syncs.
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

// The static part: base chains with their hooks (kube-proxy's priorities), helper chains and the
// four verdict maps. Chains are listed in dependency order (a chain before any chain jumping
// to it).
struct Skeleton {
  std::vector<nft::ChainSpec> chains;
  std::vector<std::pair<std::string, nft::Rule>> rules;  // (chain, rule), in order
  std::vector<nft::SetSpec> maps;
};
Skeleton buildTableSkeleton(const ProxyConfig& config);

// The specs of the four maps, for element ops.
nft::SetSpec mapSpec(const std::string& name);

// The whole table for `ports` in one batch, as the proxier's first sync writes it (add, delete
// and re-add the table, then everything), e.g. for `nft -f` or golden files.
nft::Batch fullBatch(const ProxyConfig& config, const std::vector<ServicePort>& ports,
                     const EndpointMap& endpoints);

}  // namespace skiff::netproxy::nftrules
