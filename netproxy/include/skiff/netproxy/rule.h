#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/netproxy/ipv4.h"

namespace skiff::netproxy {

// A typed iptables rule: exactly the matches and targets kube-proxy's iptables mode and skiff's
// pod network use. The same value is
//  - encoded into an ipt_entry by the libiptc writer (src/sys/iptables_legacy.cc),
//  - rendered as the line `iptables-legacy-save` prints for that entry (render()), which is also
//    valid iptables-restore input, and
//  - parsed back from such a line (parseRule()) by the fake and by tests.
// Matches keep their order: the kernel evaluates them in order and iptables-save prints them in
// order, after the ip header fields (-s -d -i -o -p).

enum class Protocol { Tcp, Udp };
std::string_view protocolName(Protocol p);  // "tcp" / "udp"

namespace match {
struct Comment {
  std::string text;  // at most 255 bytes (xt_comment_info)
};
// `-m tcp|udp [--dport N]`: the protocol follows the rule's -p. port 0 means "any" (kube-proxy's
// `-m tcp -p tcp` on DNAT rules).
struct Port {
  uint16_t dport = 0;
};
// `-m statistic --mode random --probability P`; P is stored as the kernel does (P * 2^31, rounded).
struct Statistic {
  uint32_t probability = 0;
  static Statistic fromProbability(double p);
  double probabilityValue() const;
};
// `-m recent`: kube-proxy's ClientIP affinity. `set` records the source in list `name`;
// otherwise --rcheck --seconds N --reap.
struct Recent {
  std::string name;
  bool set = false;
  uint32_t seconds = 0;
};
struct Mark {
  uint32_t mark = 0;
  uint32_t mask = 0;
  bool invert = false;
};
// `-m addrtype --src-type LOCAL` / `--dst-type LOCAL` (only LOCAL is used).
struct AddrType {
  bool src_local = false;
  bool dst_local = false;
  bool invert = false;
};
// `-m conntrack [!] --ctstate S[,S...]` with the state bits of xt_conntrack (XT_CONNTRACK_STATE_*).
struct Conntrack {
  uint16_t states = 0;
  bool invert = false;
};
}  // namespace match

using Match = std::variant<match::Comment, match::Port, match::Statistic, match::Recent,
                           match::Mark, match::AddrType, match::Conntrack>;

// Conntrack state bits, as the kernel's xt_conntrack defines them.
inline constexpr uint16_t kCtInvalid = 1 << 0;
inline constexpr uint16_t kCtEstablished = 1 << 1;
inline constexpr uint16_t kCtRelated = 1 << 2;
inline constexpr uint16_t kCtNew = 1 << 3;
inline constexpr uint16_t kCtSnat = 1 << 6;
inline constexpr uint16_t kCtDnat = 1 << 7;

namespace target {
// -j <chain> or a standard verdict (ACCEPT, DROP, RETURN).
struct Jump {
  std::string chain;
};
// MARK revision 2: --set-xmark value/mask (--or-mark X is X/X, --xor-mark X is X/0).
struct SetMark {
  uint32_t value = 0;
  uint32_t mask = 0;
};
struct Masquerade {
  bool random_fully = false;
};
struct Dnat {
  Ipv4 ip;
  uint16_t port = 0;
};
// REJECT --reject-with icmp-port-unreachable (what a closed port answers: "connection refused").
struct Reject {};
}  // namespace target

using Target =
    std::variant<target::Jump, target::SetMark, target::Masquerade, target::Dnat, target::Reject>;

struct Rule {
  std::optional<Cidr> src;
  bool src_invert = false;
  std::optional<Cidr> dst;
  bool dst_invert = false;
  std::optional<Protocol> proto;
  std::vector<Match> matches;
  Target target = target::Jump{"ACCEPT"};

  bool operator==(const Rule&) const;
};

bool isStandardVerdict(std::string_view target);  // ACCEPT DROP RETURN QUEUE

// The rule as `iptables-legacy-save` prints it, without the leading "-A CHAIN ".
std::string render(const Rule& rule);
// "-A <chain> <render(rule)>".
std::string renderAppend(std::string_view chain, const Rule& rule);

// Parses the part after "-A CHAIN " in the iptables-save dialect render() produces (and the
// common restore spellings kube-proxy writes: "-m tcp -p tcp", --or-mark, --xor-mark, bare
// addresses without /32). Unknown options are an error naming them.
Result<Rule> parseRule(std::string_view text);

// Splits an iptables-restore line into words, honouring "..." quotes and \" escapes.
Result<std::vector<std::string>> splitRestoreWords(std::string_view line);

// xtables_save_string: bare if only [A-Za-z0-9_-], otherwise double-quoted with \ escapes.
std::string saveQuote(std::string_view value);

}  // namespace skiff::netproxy

namespace skiff::netproxy {

// A user-defined chain and its complete contents, in order.
struct Chain {
  std::string name;
  std::vector<Rule> rules;
};

// A rule that must exist in a built-in chain (PREROUTING, INPUT, ...) to hook our chains in.
// kube-proxy ensures these one by one (-C then -I); they are never flushed.
struct JumpRule {
  std::string chain;
  Rule rule;
};

// The built-in chains of a table, in the order iptables-save lists them.
const std::vector<std::string>& builtinChains(std::string_view table);

}  // namespace skiff::netproxy

namespace skiff::netproxy {
// A 64-bit fingerprint of a rule's content (FNV-1a over its fields, no rendering): equal rules
// hash equal; used to detect changed chains between syncs without keeping the rules.
uint64_t ruleFingerprint(const Rule& rule, uint64_t seed);
}  // namespace skiff::netproxy
