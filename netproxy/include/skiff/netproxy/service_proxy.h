#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"
#include "skiff/netproxy/proxy_rules.h"
#include "skiff/netproxy/service.h"
#include "skiff/netproxy/service_tracker.h"
#include "skiff/netproxy/sys/conntrack.h"
#include "skiff/netproxy/sys/iptables.h"
#include "skiff/netproxy/sys/nftables.h"

namespace skiff::netproxy {

struct SyncResult {
  bool full = false;  // every owned chain was (re)written
  std::size_t service_ports = 0;
  std::size_t skipped_objects = 0;  // API objects (or ports) left out, each logged with its reason
  std::size_t chains_written = 0;
  std::size_t rules_written = 0;
  std::size_t chains_removed = 0;
  std::size_t conntrack_deleted = 0;
  std::chrono::nanoseconds build{0};  // computing the desired rule set and the diff
  sys::CommitStats filter;
  sys::CommitStats nat;
  // nftables mode: map elements added/removed and the netlink batch.
  std::size_t elements_added = 0;
  std::size_t elements_removed = 0;
  std::size_t nft_tables = 0;        // tables the sync changed
  std::size_t nft_transactions = 0;  // 1, or one per table for a large full sync
  sys::NftStats nft;
};

// The service proxy of one node: one implementation per kube-proxy mode (iptables, nftables;
// IPVS would be a third), chosen once at start (proxy_mode.h). The contract below is shared; the
// iptables description is that implementation's, makeNftablesProxy documents its own.
//
// kube-proxy's iptables Proxier (syncProxyRules), driven from outside: the caller (the agent's
// informers and its BoundedFrequencyRunner) passes the complete current Services and
// EndpointSlices on each call.
//
// Every sync computes the full desired rule set (the same result as buildRuleset), compares each
// chain with what the previous successful sync wrote, and writes only chains whose content
// changed, plus deletions of chains no longer wanted, in one iptables transaction per table
// (filter, then nat). Per service port the proxy remembers a fingerprint of its inputs (the
// Service port and its endpoints), the rules it put into the shared KUBE-SERVICES/KUBE-NODEPORTS
// chains and its own chains' fingerprints, so a port whose inputs did not change is not rebuilt.
// A change to one Service among 10,000 therefore rebuilds and rewrites that Service's chains
// only (plus a shared chain if its ClusterIP/NodePort rule changed); the kernel still replaces
// the whole table blob on commit, which is the floor of any iptables-legacy update. The first sync,
// and the sync after any failure, is a full one: it writes every chain and deletes stale
// KUBE-SVC/SVL/EXT/FW/SEP chains left by an earlier run.
//
// Removed UDP endpoints get their conntrack entries deleted after the commit.
// Not thread-safe: call from one sync loop. The network namespace is the calling thread's.
class ServiceProxy {
 public:
  virtual ~ServiceProxy() = default;

  virtual Result<SyncResult> sync(const std::vector<ServicePort>& ports,
                                  const EndpointMap& endpoints) = 0;

  // The same from a ServiceView and what changed in it since the last call (ServiceTracker,
  // the agent's path). A mode that can use the changes (nftables) visits only the changed
  // Services on an incremental sync; the others sync the whole view. After a failed sync the
  // caller passes everything as changed (ServiceTracker::markAll).
  virtual Result<SyncResult> syncChanges(const ServiceView& view, const ServiceChanges& changes);

  // The same from API objects (v1 Service, discovery.k8s.io/v1 EndpointSlice as JSON). Invalid
  // objects are skipped with a logged reason; they never fail the sync. Every mode converts the
  // same way, so this is one function over the mode's sync().
  Result<SyncResult> syncObjects(const std::vector<nlohmann::json>& services,
                                 const std::vector<nlohmann::json>& endpoint_slices);

  // Removes every chain and jump rule this proxy owns (kube-proxy --cleanup). Idempotent.
  virtual Result<void> cleanup() = 0;

  // Approximate bytes held between syncs (the per-chain fingerprints and UDP endpoint sets).
  virtual std::size_t stateBytes() const = 0;
};

// `conntrack` may be null (no conntrack cleanup, e.g. in unit tests with only a fake iptables).
std::unique_ptr<ServiceProxy> makeIptablesProxy(ProxyConfig config, sys::Iptables& iptables,
                                                sys::Conntrack* conntrack);

// How many Services share one shard table. The kernel re-validates, on every commit that adds a
// jump or goto, all chains reachable from the base chains of each table the commit touched:
// shards bound that walk; each shard adds two base chains to the path of a new connection.
inline constexpr std::size_t kDefaultNftShardSize = 256;

struct NftProxyOptions {
  nft::Family family = nft::Family::Ip;
  std::string table = "skiff";
  // kube-proxy's --sync-period: a sync at least this long after the last full one rewrites the
  // whole table (flush and fill in one batch), repairing drift such as `nft flush ruleset`.
  std::chrono::milliseconds full_sync_period{30000};
  // Services per shard table `<table>-svc-<k>` (see makeNftablesProxy).
  std::size_t shard_size = kDefaultNftShardSize;
  // A full sync with more changes than this goes table by table instead of as one transaction
  // (see the proxy's send()); every incremental sync is one transaction.
  std::size_t max_full_sync_transaction_ops = 20000;
  std::function<std::chrono::steady_clock::time_point()> now = [] {
    return std::chrono::steady_clock::now();
  };
};

// kube-proxy's nftables Proxier (KEP-3866, reference/netproxy.md §4), sharded: base chains at
// kube-proxy's priorities, the service-ips / service-nodeports verdict maps and their
// no-endpoint twins, a chain per service port (numgen random vmap over endpoint chains) and per
// endpoint (hairpin mark + DNAT), affinity sets with timeouts.
//
// Tables: `ip skiff` holds what is global and small (the filter-side no-endpoint check with its
// maps and reject-chain, masquerade on the mark in nat postrouting). Services are spread over
// shard tables `ip skiff-svc-<k>`, each with its own nat prerouting/output base chains (dstnat)
// doing the service-ips/service-nodeports lookups for its Services, their chains and sets and its
// own mark-for-masquerade; jumps never cross tables. After one shard translated a connection,
// nf_nat runs no other nat chain of that hook, so the shards' lookups never compete. Why shards:
// a commit that adds a jump/goto makes the kernel re-validate every chain reachable from the
// base chains of each table it touched (nf_tables_validate), so with one table a one-Service
// change at 10,000 Services walks 60,000 chains; with shards it walks one shard. A new Service
// goes to the lowest shard with fewer than shard_size Services and stays there until deleted;
// a shard left empty has its table deleted; the first sync (and the one after a failed batch)
// packs Services anew in name order.
//
// Incremental by construction: per service port the proxy keeps a fingerprint of its inputs and
// of every chain, set and map element it programmed, indexed by Service. Given the changed
// Services (syncChanges, ServiceTracker's path) an incremental sync visits only their ports, old
// and new, so its user-space cost follows the change, not the cluster; given whole lists (sync)
// it looks at every port's input fingerprint. A sync rebuilds only ports whose inputs changed and
// sends ONE netlink transaction (every changed table in one BATCH_BEGIN..END) with
// exactly the changed elements, chains and sets (a full sync of a large cluster goes table by
// table, see NftProxyOptions::max_full_sync_transaction_ops), so a one-Service change among 10,000
// touches its shard's table (and the main table only if its no-endpoint entry changes). The first
// sync (and the one after a failed batch) replaces the tables (add + delete + add, which removes
// whatever an earlier run left, including shard tables it no longer has); a sync at least
// full_sync_period after the last full one flushes and refills every table in place (affinity
// sets keep their entries) and recreates tables that disappeared. Other tables are never
// touched. cleanup() deletes the main and every shard table. Not thread-safe; acts in the
// calling thread's network namespace.
std::unique_ptr<ServiceProxy> makeNftablesProxy(ProxyConfig config, sys::Nftables& nft,
                                                sys::Conntrack* conntrack,
                                                NftProxyOptions options = {});

}  // namespace skiff::netproxy
