#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "skiff/common/result.h"
#include "skiff/netproxy/ipv4.h"

namespace skiff::netproxy {

// Host-local style IPAM over the node's podCIDR (CNI host-local's disk backend, reference §7):
// one file per allocated address under `dir`, named after the address and holding the owner's
// sandbox id, plus `last_reserved_ip` for round-robin allocation. An flock on `dir/lock` makes
// concurrent allocators (several agent threads, a restarted agent) safe. The network address,
// the gateway (.1, the bridge) and the broadcast address are never handed out.
class Ipam {
 public:
  Ipam(Cidr range, std::string dir);

  // The address of `owner`, allocating one if it has none (idempotent, so a retried setup gets
  // the same IP). Unavailable when the range is exhausted.
  Result<Ipv4> allocate(const std::string& owner);
  // Frees the address of `owner`; false if it had none.
  Result<bool> release(const std::string& owner);
  // The address `owner` holds. An address found before is confirmed by reading its one file
  // (another Ipam over the directory may have released it); otherwise the directory is scanned,
  // every file read, as host-local's GetByID does. A pod's sync asks for its IP every time, and a
  // scan per sync made a node's worth of pods cost O(pods^2) file reads.
  Result<std::optional<Ipv4>> lookup(const std::string& owner) const;

  Ipv4 gateway() const { return {range_.network().value + 1}; }
  const Cidr& range() const { return range_; }

 private:
  Result<std::optional<Ipv4>> findLocked(const std::string& owner) const;
  void writeHint(Ipv4 ip) const;  // last_reserved_ip, under the directory lock
  Cidr range_;
  std::string dir_;
  mutable std::mutex found_mu_;
  mutable std::map<std::string, Ipv4> found_;  // owner -> address last seen holding it
};

}  // namespace skiff::netproxy
