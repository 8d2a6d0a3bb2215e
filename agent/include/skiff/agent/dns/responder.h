#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "skiff/agent/dns/record_index.h"

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
  // The largest reply the client takes: 512 without EDNS0, its advertised size (at least 512,
  // at most 65535) with it; 65535 over TCP.
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
  // Our EDNS0 UDP payload size in replies (the DNS Flag Day 2020 value).
  std::uint16_t edns_udp_size = 1232;
};

// The query -> answer logic, with ldns for the wire format: parses one message, answers names of
// the cluster zone from a RecordIndex (authoritative, AA set) and PTR names the index holds, and
// sends everything else to be forwarded. Malformed input never crashes: a message with a whole
// header that ldns cannot parse (truncated, compression loop, oversized label, bad counts) gets
// FORMERR; anything shorter, and any message with QR set, is dropped. Opcodes other than QUERY
// get NOTIMP; QDCOUNT != 1 gets FORMERR. Replies larger than question.max_reply lose their
// additional section first, then come back empty with TC set, so that the client retries over
// TCP. Stateless and thread-safe.
class Responder {
 public:
  explicit Responder(ResponderOptions o) : o_(o) {}
  Outcome handle(const std::uint8_t* data, std::size_t len, const RecordIndex& index,
                 bool tcp) const;
  // Rewrites an upstream reply for a client: its ID, and TTLs lowered by `age_seconds` (cache
  // hits); truncated to q.max_reply. Empty when `wire` does not parse.
  std::vector<std::uint8_t> adapt(const std::vector<std::uint8_t>& wire, const Question& q,
                                  std::uint32_t age_seconds) const;
  // A bodiless reply with `rcode` (SERVFAIL when no upstream answers).
  std::vector<std::uint8_t> errorReply(const Question& q, int rcode) const;

 private:
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

}  // namespace skiff::agent::dns
