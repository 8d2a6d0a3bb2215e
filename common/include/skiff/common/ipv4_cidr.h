#pragma once

// Well-known addresses inside an IPv4 CIDR: the pod network's gateway (.1 of the node's podCIDR)
// and the cluster DNS Service's IP (.10 of the service CIDR).

#include <cstdint>
#include <optional>
#include <string>

namespace skiff {

// The address `offset` places after the network address of `cidr` ("10.96.0.0/12", 10 ->
// "10.96.0.10"); nullopt unless `cidr` is an IPv4 address with a prefix of 1 to `max_bits`.
std::optional<std::string> ipv4CidrAddress(const std::string& cidr, std::uint32_t offset,
                                           int max_bits);

}  // namespace skiff
