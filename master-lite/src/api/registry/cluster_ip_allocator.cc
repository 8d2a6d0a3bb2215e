#include "cluster_ip_allocator.h"

#include <cstdio>
#include <cstdlib>

namespace skiff::master::api {

std::string ipToString(std::uint32_t ip) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
                ip & 255);
  return buf;
}

bool parseIpv4(const std::string& s, std::uint32_t* out) {
  unsigned a, b, c, d;
  char extra;
  if (std::sscanf(s.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) != 4) return false;
  if (a > 255 || b > 255 || c > 255 || d > 255) return false;
  *out = (a << 24) | (b << 16) | (c << 8) | d;
  return true;
}

ClusterIpAllocator::ClusterIpAllocator(const std::string& cidr) {
  auto slash = cidr.find('/');
  std::uint32_t base = 0;
  int bits = 12;
  if (slash != std::string::npos && parseIpv4(cidr.substr(0, slash), &base)) {
    bits = std::atoi(cidr.c_str() + slash + 1);
  } else {
    parseIpv4("10.96.0.0", &base);
  }
  if (bits < 8 || bits > 30) bits = 12;
  std::uint32_t mask = bits == 0 ? 0 : ~0u << (32 - bits);
  base_ = base & mask;
  size_ = 1u << (32 - bits);
}

std::optional<std::uint32_t> ClusterIpAllocator::allocateNext() {
  for (std::uint32_t i = 0; i + 3 < size_; ++i) {
    std::uint32_t off = 2 + (next_ - 2 + i) % (size_ - 3);
    if (!ips_.count(base_ + off)) {
      ips_.insert(base_ + off);
      next_ = off + 1;
      return base_ + off;
    }
  }
  return std::nullopt;
}

}  // namespace skiff::master::api
