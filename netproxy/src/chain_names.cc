#include "skiff/netproxy/chain_names.h"

#include <openssl/sha.h>

namespace skiff::netproxy {

std::string base32Encode(const unsigned char* data, std::size_t len) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  out.reserve((len + 4) / 5 * 8);
  uint64_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < len; ++i) {
    buffer = (buffer << 8) | data[i];
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  while (out.size() % 8 != 0) out += '=';
  return out;
}

namespace {
std::string hash16(std::string_view input) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  ::SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return base32Encode(digest, sizeof digest).substr(0, 16);
}
std::string concat(std::string_view a, std::string_view b, std::string_view c = {}) {
  std::string s;
  s.reserve(a.size() + b.size() + c.size());
  s.append(a).append(b).append(c);
  return s;
}
}  // namespace

std::string portProtoHash(std::string_view name, std::string_view protocol) {
  return hash16(concat(name, protocol));
}
std::string serviceChainName(std::string_view n, std::string_view p) {
  return "KUBE-SVC-" + portProtoHash(n, p);
}
std::string localChainName(std::string_view n, std::string_view p) {
  return "KUBE-SVL-" + portProtoHash(n, p);
}
std::string externalChainName(std::string_view n, std::string_view p) {
  return "KUBE-EXT-" + portProtoHash(n, p);
}
std::string firewallChainName(std::string_view n, std::string_view p) {
  return "KUBE-FW-" + portProtoHash(n, p);
}
std::string endpointChainName(std::string_view n, std::string_view p, std::string_view ep) {
  return "KUBE-SEP-" + hash16(concat(n, p, ep));
}

}  // namespace skiff::netproxy
