#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "skiff/common/result.h"

namespace skiff::netproxy {

// An IPv4 address in host byte order. skiff's proxy and pod network are IPv4-only for now
// (kube-proxy runs one proxier per family; the IPv6 one is a later issue).
struct Ipv4 {
  uint32_t value = 0;

  static Result<Ipv4> parse(std::string_view text);
  std::string str() const;
  friend auto operator<=>(const Ipv4&, const Ipv4&) = default;
};

// An IPv4 prefix such as 10.244.1.0/24. `parse` accepts a bare address as /32.
struct Cidr {
  Ipv4 addr;
  int prefix = 32;

  static Result<Cidr> parse(std::string_view text);
  uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  Ipv4 network() const { return {addr.value & mask()}; }
  Ipv4 broadcast() const { return {network().value | ~mask()}; }
  bool contains(Ipv4 ip) const { return (ip.value & mask()) == network().value; }
  // "10.244.1.0/24" (the address as given, which for routes is the network).
  std::string str() const;
  friend auto operator<=>(const Cidr&, const Cidr&) = default;
};

}  // namespace skiff::netproxy
