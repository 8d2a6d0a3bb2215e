#include "skiff/netproxy/ipv4.h"

#include <arpa/inet.h>

#include <charconv>

#include <fmt/format.h>

namespace skiff::netproxy {

Result<Ipv4> Ipv4::parse(std::string_view text) {
  // inet_pton rejects leading zeros, ranges and trailing junk, which is what we want for API
  // input ("01.2.3.4" is not an address Kubernetes accepts either).
  std::string s(text);
  in_addr a{};
  if (s.empty() || s.size() > 15 || ::inet_pton(AF_INET, s.c_str(), &a) != 1) {
    return Error(ErrorCode::Invalid, fmt::format("parse IPv4 address '{}': not a dotted quad", s));
  }
  return Ipv4{ntohl(a.s_addr)};
}

std::string Ipv4::str() const {
  return fmt::format("{}.{}.{}.{}", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff,
                     value & 0xff);
}

Result<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  SKIFF_ASSIGN_OR_RETURN(Ipv4 ip, Ipv4::parse(text.substr(0, slash)));
  int prefix = 32;
  if (slash != std::string_view::npos) {
    auto p = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || prefix < 0 || prefix > 32) {
      return Error(ErrorCode::Invalid,
                   fmt::format("parse CIDR '{}': prefix length must be 0-32", text));
    }
  }
  return Cidr{ip, prefix};
}

std::string Cidr::str() const { return fmt::format("{}/{}", addr.str(), prefix); }

}  // namespace skiff::netproxy
