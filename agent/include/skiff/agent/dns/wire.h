#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace skiff::agent::dns {

struct NameRecords;

// The fast path's view of the wire format (issue 18's throughput goal). ldns stays the parser
// for everything unusual and the reference the fast path is tested against
// (wire_test.cc compares both on every record kind); what is here only reads the one
// shape almost every stub resolver sends, and writes the records the index holds.

// RR types and classes the fast path knows (RFC 1035, 2782, 3596, 6891).
inline constexpr std::uint16_t kTypeA = 1, kTypeNs = 2, kTypeCname = 5, kTypeSoa = 6, kTypePtr = 12,
                               kTypeTxt = 16, kTypeAaaa = 28, kTypeSrv = 33, kTypeOpt = 41,
                               kTypeAny = 255, kClassIn = 1;

// A query as stub resolvers send it: QR clear, opcode QUERY, QDCOUNT 1, no answer or authority
// records, at most one additional record that is an EDNS0 (version 0) OPT at the root, and a
// question name without compression pointers. Names are read straight from the packet.
struct QueryView {
  std::uint16_t id = 0;
  std::uint8_t flags_hi = 0, flags_lo = 0;  // header bytes 2 and 3
  std::size_t question_end = 0;             // offset just after QTYPE/QCLASS
  std::uint16_t qtype = 0, qclass = 0;
  bool edns = false, dnssec_ok = false;
  std::uint16_t udp_size = 0;  // the client's advertised EDNS0 size, as sent
  // Canonical name: lower case, dotted, no trailing dot ("" for the root). Its length in this
  // form equals the wire length of the labels before the root, so the wire offset of a
  // label-aligned suffix is 12 + its offset here.
  std::array<char, 256> name{};
  std::size_t name_len = 0;
  std::string_view canonical() const { return {name.data(), name_len}; }
};

// True when `data` is exactly such a query (trailing bytes, pointers, other sections, a label
// byte that is not plain ASCII without a dot -> false: the caller takes ldns's path).
bool readQuery(const std::uint8_t* data, std::size_t len, QueryView* q);

// Writes names with RFC 1035 4.1.4 compression against the question name (assumed at offset
// 12, as `qname` in canonical form) and every name written before. Offsets are absolute in the
// message; `base` is the offset of the first byte appended to `out`.
class NameWriter {
 public:
  NameWriter(std::string_view qname, std::size_t base);
  void write(std::vector<std::uint8_t>& out, std::string_view name);

 private:
  std::unordered_map<std::string, std::uint16_t> seen_;
  std::size_t base_;
};

// One prebuilt reply body for one (name, type): the answer records and then the additional
// records, encoded for a question at offset 12 whose name is the owner, so that answering is
// copying the client's header and question, then this. Owner names are the pointer 0xC00C, so
// the client's letter case (DNS 0x20) comes back as sent.
struct ReplyTemplate {
  std::uint16_t type = 0;
  std::uint16_t ancount = 0, arcount = 0;
  std::uint32_t answer_bytes = 0;  // body[0, answer_bytes) is the answer section
  std::vector<std::uint8_t> body;
};

// The templates of one owner name (A, AAAA, SRV, PTR; only those it has records of; a name with
// a CNAME gets none, its answers depend on the chase). `find` resolves SRV targets for the
// additional section.
using FindRecords = std::function<const NameRecords*(std::string_view)>;
std::vector<ReplyTemplate> buildTemplates(std::string_view name, const NameRecords& r,
                                          std::uint32_t ttl, const FindRecords& find);

// Appends the SOA of `domain` (a label-aligned suffix of the question name, or equal to it),
// as the authority of NXDOMAIN/NODATA replies: ns.dns.<domain> hostmaster.<domain> 1 7200 1800
// 86400 <ttl>, as CoreDNS's kubernetes plugin writes it (serial aside).
void appendSoa(std::vector<std::uint8_t>& out, std::size_t question_name_len,
               std::size_t domain_len, std::uint32_t ttl);

// Where the TTL of every record of a reply is (absolute offsets; the OPT pseudo-record's TTL
// field is not a TTL and is left out), and whether it has an OPT. False for a message that
// does not walk cleanly to its end.
struct TtlMap {
  std::vector<std::uint16_t> offsets;
  bool has_opt = false;
};
bool mapTtls(const std::uint8_t* wire, std::size_t len, TtlMap* out);

void put16(std::vector<std::uint8_t>& out, std::uint16_t v);
void put32(std::vector<std::uint8_t>& out, std::uint32_t v);
void appendRrHeader(std::vector<std::uint8_t>& out, std::uint16_t type, std::uint32_t ttl,
                    std::uint16_t rdlen);

}  // namespace skiff::agent::dns
