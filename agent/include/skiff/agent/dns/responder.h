#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "skiff/agent/dns/record_index.h"
#include "skiff/agent/dns/wire.h"

namespace skiff::agent::dns {

// What the serving loop does with one received message.
enum class Action {
  Reply,    // send `wire` back
  Forward,  // not ours: ask the upstream resolvers (through the cache)
  Drop,     // not worth an answer (shorter than a header, a response, not a query)
};

// The question of a well-formed query, as the cache and the metrics see it.
struct Question {
  std::string name;  // canonical: lower case, no trailing dot
  std::uint16_t type = 0;
  std::uint16_t klass = 1;
  std::uint16_t id = 0;
  bool edns = false;
  bool dnssec_ok = false;
  bool recursion_desired = false;
  // The largest reply the client gets: 512 without EDNS0; with it, its advertised size capped
  // at ours (ResponderOptions::edns_udp_size) and never below 512; 65535 over TCP.
  std::size_t max_reply = 512;
};

struct Outcome {
  Action action = Action::Drop;
  std::vector<std::uint8_t> wire;
  int rcode = 0;
  Question question;
};

struct ResponderOptions {
  std::uint32_t ttl = 30;  // CoreDNS kubernetes plugin's default, --cluster-dns-ttl
  // Our EDNS0 UDP payload size: advertised in replies, and the cap on a client's advertised size
  // (a UDP reply is at most min(client's, ours)). 1232 is the DNS Flag Day 2020 value that
  // BIND 9.16+ (max-udp-size), Unbound and Knot use by default: no IP fragmentation on any
  // path with a 1280-byte MTU; a larger answer gets TC and the client retries over TCP. CoreDNS
  // does not cap (it fills up to the client's size, 4096 for glibc with edns0 and dig), which
  // on a 1500-byte link means fragments, which conntrack must reassemble before the kube-dns
  // DNAT and which some paths drop.
  std::uint16_t edns_udp_size = 1232;
  // Answer the common query shapes from the index's prebuilt replies (wire.h) without ldns.
  // Off only in tests that compare both paths.
  bool fast_path = true;
};

// The reply size limit of Question::max_reply.
std::size_t replyLimit(bool tcp, bool edns, std::uint16_t advertised, std::uint16_t ours);

// The query -> answer logic, with ldns for the wire format: parses one message, answers names of
// the cluster zone from a RecordIndex (authoritative, AA set) and PTR names the index holds, and
// sends everything else to be forwarded. Malformed input never crashes: a message with a whole
// header that ldns cannot parse (truncated, compression loop, oversized label, bad counts) gets
// FORMERR; anything shorter, and any message with QR set, is dropped. Opcodes other than QUERY
// get NOTIMP; QDCOUNT != 1 gets FORMERR. Replies larger than question.max_reply lose their
// additional section first, then come back empty with TC set, so that the client retries over
// TCP. An ExternalName whose target is inside the cluster domain is followed within the answer
// (CNAME chain, at most 8 links, then the target's records), as CoreDNS's kubernetes plugin
// does. Stateless and thread-safe.
//
// The common queries (A/AAAA/SRV/PTR, class IN, one plain question, optional EDNS0 OPT) are
// answered by copying the client's header and question and the name's prebuilt reply from the
// index (wire.h), with no ldns call and one allocation; NXDOMAIN/NODATA get their SOA written
// directly; other names are sent to be forwarded without ldns. Everything else goes to ldns.
class Responder {
 public:
  explicit Responder(ResponderOptions o) : o_(o) {}
  Outcome handle(const std::uint8_t* data, std::size_t len, const RecordIndex& index,
                 bool tcp) const;
  // Busybox's nslookup (and any client that does not search names containing a dot) asks for
  // `<svc>.<ns>.` (or `<svc>.<ns>.svc.`) as is, outside the cluster zone. Once such a forwarded
  // name came back NXDOMAIN, SERVFAIL or REFUSED (or there was no upstream) and
  // `<svc>.<ns>.svc.<domain>` holds records, this is the reply: a CNAME to that name plus its
  // records (not authoritative). Forwarding first means a real outside name is never shadowed.
  // nullopt when the name is not of that shape or the Service does not exist.
  std::optional<std::vector<std::uint8_t>> searchFallback(const std::uint8_t* query,
                                                          std::size_t len, const Question& q,
                                                          const RecordIndex& index) const;
  // Rewrites an upstream reply for a client: its ID, and TTLs lowered by `age_seconds` (cache
  // hits); truncated to q.max_reply. Empty when `wire` does not parse. With `ttls` (mapTtls of
  // `wire`) and a reply that fits, by patching bytes without ldns.
  std::vector<std::uint8_t> adapt(const std::vector<std::uint8_t>& wire, const Question& q,
                                  std::uint32_t age_seconds, const TtlMap* ttls = nullptr) const;
  // A bodiless reply with `rcode` (SERVFAIL when no upstream answers).
  std::vector<std::uint8_t> errorReply(const Question& q, int rcode) const;

 private:
  // The fast path; false when the query is not one it answers (then ldns's path runs).
  bool fastHandle(const std::uint8_t* data, std::size_t len, const RecordIndex& index, bool tcp,
                  Outcome* out) const;
  ResponderOptions o_;
};

// The lowest TTL of a reply's records (answer + authority; the SOA's MINIMUM caps a negative
// reply, RFC 2308); nullopt for a reply that must not be cached (SERVFAIL, truncated, no parse).
struct CacheVerdict {
  bool cacheable = false;
  bool negative = false;
  std::uint32_t ttl = 0;
};
CacheVerdict cacheVerdict(const std::vector<std::uint8_t>& wire);

// "A", "AAAA", ... for metrics labels; "other" for the rest.
const char* typeLabel(std::uint16_t type);
const char* rcodeLabel(int rcode);

// The same labels by position, for counters kept in arrays (DnsMetrics): index
// k...Labels - 1 is "other".
constexpr std::size_t kTypeLabels = 11;
constexpr std::size_t kRcodeLabels = 7;
std::size_t typeLabelIndex(std::uint16_t type);
std::size_t rcodeLabelIndex(int rcode);
const char* typeLabelAt(std::size_t index);
const char* rcodeLabelAt(std::size_t index);

}  // namespace skiff::agent::dns
