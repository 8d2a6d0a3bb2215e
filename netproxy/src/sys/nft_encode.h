#pragma once

// Private to the nftables seam: typed statements -> libnftnl expressions (nft_encode.cc).

#include <cstdint>
#include <string>
#include <vector>

#include "skiff/netproxy/sys/nftables.h"

struct nftnl_rule;
struct nftnl_set;

namespace skiff::netproxy::sys::detail {

// An anonymous constant map a rule needs (numgen ... vmap { ... }): created in the same batch
// just before the rule, referenced by its batch-local id.
struct AnonMap {
  uint32_t id = 0;
  std::vector<std::string> chains;  // element i: goto chains[i]
};

// Appends the expressions of `rule` to `r`; anonymous maps it needs get ids from `next_set_id`
// and are returned so the caller can emit them before the rule.
std::vector<AnonMap> encodeRule(nftnl_rule* r, const nft::Rule& rule, uint32_t& next_set_id);

// Fills a set object (table, family and name are set by the caller) for `spec`.
void encodeSetSpec(nftnl_set* s, const nft::SetSpec& spec);
// The anonymous numgen map: "__map%d", constant, integer key -> verdict.
void encodeAnonMap(nftnl_set* s, const AnonMap& m);

// An element's key bytes for a set of `kind`/`keys` (fields padded to 32-bit registers, network
// byte order as the packet carries them).
std::vector<uint8_t> elementKey(const nft::SetSpec& spec, const nft::Element& e);
int verdictCode(nft::stmt::VerdictKind kind);

}  // namespace skiff::netproxy::sys::detail
