#pragma once

// Service ClusterIPs from the service CIDR (upstream pkg/registry/core/service/ipallocator):
// the network and broadcast addresses and the first address's predecessor are never handed
// out; the first host address belongs to the `kubernetes` Service. Not thread-safe: the
// Service strategy serialises its allocators.

#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace skiff::master::api {

std::string ipToString(std::uint32_t ip);
bool parseIpv4(const std::string& s, std::uint32_t* out);

class ClusterIpAllocator {
 public:
  // `cidr` like 10.96.0.0/12; an unparsable one, or a prefix outside /8../30, falls back to
  // 10.96.0.0 or /12 as before.
  explicit ClusterIpAllocator(const std::string& cidr);

  // The first host address (the `kubernetes` Service's ClusterIP).
  std::string firstIp() const { return ipToString(base_ + 1); }
  bool inRange(std::uint32_t ip) const { return ip >= base_ && ip < base_ + size_; }
  bool allocated(std::uint32_t ip) const { return ips_.count(ip) > 0; }
  // Marks `ip` as used (an existing Service's, or one a client asked for).
  void mark(std::uint32_t ip) { ips_.insert(ip); }
  void release(std::uint32_t ip) { ips_.erase(ip); }
  // Forgets every mark (before marking what is taken afresh); the cursor stays.
  void clear() { ips_.clear(); }
  // The next free address round-robin, marked used; nullopt when the range is full.
  std::optional<std::uint32_t> allocateNext();

 private:
  std::uint32_t base_ = 0;  // network address of the service CIDR
  std::uint32_t size_ = 0;  // number of addresses
  std::uint32_t next_ = 2;  // round-robin cursor (offset)
  std::set<std::uint32_t> ips_;
};

}  // namespace skiff::master::api
