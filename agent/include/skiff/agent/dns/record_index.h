#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/agent/dns/wire.h"

namespace skiff::agent::dns {

using nlohmann::json;

struct SrvRecord {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  std::string target;  // absolute name, lower case, no trailing dot
};

// The records one owner name holds (the kubernetes/dns specification's record kinds).
struct NameRecords {
  std::vector<std::array<std::uint8_t, 4>> a;
  std::vector<std::array<std::uint8_t, 16>> aaaa;
  std::vector<SrvRecord> srv;
  std::vector<std::string> ptr;
  std::string cname;  // ExternalName Services
  std::string txt;    // dns-version.<domain>
  // Prebuilt replies (wire.h) for the types above that this name holds; filled by build().
  std::vector<ReplyTemplate> templates;
  const ReplyTemplate* replyTemplate(std::uint16_t type) const {
    for (const auto& t : templates)
      if (t.type == type) return &t;
    return nullptr;
  }
};

// An immutable snapshot of every cluster name, built from the Service and EndpointSlice informer
// caches on each change and swapped in whole (shared_ptr), so that the serving threads read it
// without a lock and a lookup is one hash probe. Names are lower case without the trailing dot.
//
// What it holds (kubernetes/dns docs/specification.md, CoreDNS's kubernetes plugin):
//   <svc>.<ns>.svc.<domain>            A/AAAA of the ClusterIP(s); of each ready endpoint when
//                                      headless; CNAME to spec.externalName for ExternalName
//   <host>.<svc>.<ns>.svc.<domain>     headless endpoints: their hostname, else their dashed IP
//   _<port>._<proto>.<svc>.<ns>.svc... SRV for each named port (target: the Service, or each
//                                      endpoint name when headless)
//   <reversed ip>.in-addr.arpa         PTR for ClusterIPs and headless endpoint addresses
//   dns-version.<domain>               TXT "1.1.0"
// Every ancestor of a record name inside <domain> is an empty non-terminal (NOERROR/NODATA).
class RecordIndex {
 public:
  // Never fails: an object without the fields a record needs is skipped (counted in skipped()).
  // `ttl` goes into the prebuilt replies (a Responder with another TTL does not use them).
  static std::shared_ptr<const RecordIndex> build(const std::vector<json>& services,
                                                  const std::vector<json>& slices,
                                                  const std::string& domain,
                                                  std::uint32_t ttl = 30);
  // nullptr when the name holds no record.
  const NameRecords* find(std::string_view name) const;
  // True when the name holds records or is an ancestor of a name that does.
  bool exists(std::string_view name) const;
  // True for <domain> and every name under it: the zone this server is authoritative for.
  bool inZone(std::string_view name) const;
  const std::string& domain() const { return domain_; }
  std::uint32_t ttl() const { return ttl_; }
  std::size_t names() const { return names_.size(); }
  std::size_t services() const { return services_; }
  std::size_t skipped() const { return skipped_; }

 private:
  NameRecords& at(const std::string& name);
  void addService(const json& svc, const std::vector<const json*>& slices);
  // Lookups by string_view without building a std::string (the serving path allocates nothing).
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::string domain_;
  std::uint32_t ttl_ = 30;
  std::unordered_map<std::string, NameRecords, NameHash, std::equal_to<>> names_;
  std::unordered_set<std::string, NameHash, std::equal_to<>> nonterminals_;
  std::size_t services_ = 0;
  std::size_t skipped_ = 0;
};

// "10.0.0.1" -> "1.0.0.10.in-addr.arpa"; "" when not an IPv4/IPv6 address.
std::string reverseName(const std::string& ip);
// Lower-cases ASCII and strips one trailing dot.
std::string canonicalName(std::string_view name);

}  // namespace skiff::agent::dns
