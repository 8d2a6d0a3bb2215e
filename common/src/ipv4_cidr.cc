#include "skiff/common/ipv4_cidr.h"

#include <arpa/inet.h>

#include <cstdlib>

namespace skiff {

std::optional<std::string> ipv4CidrAddress(const std::string& cidr, std::uint32_t offset,
                                           int max_bits) {
  auto slash = cidr.find('/');
  if (slash == std::string::npos) return std::nullopt;
  int bits = std::atoi(cidr.c_str() + slash + 1);
  in_addr a{};
  if (bits < 1 || bits > max_bits || ::inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &a) != 1)
    return std::nullopt;
  std::uint32_t net = ntohl(a.s_addr) & (~0u << (32 - bits));
  in_addr out{htonl(net + offset)};
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &out, buf, sizeof buf);
  return std::string(buf);
}

}  // namespace skiff
