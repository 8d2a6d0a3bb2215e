#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/netproxy/ipv4.h"
#include "skiff/netproxy/rule.h"

// The nftables seam: a typed subset of nft's language (exactly the statements kube-proxy's
// nftables mode and skiff's pod network use, reference/netproxy.md §4), and one call that sends a
// list of changes to the kernel as a single atomic netlink batch (NFNL_MSG_BATCH_BEGIN ... END).
// The same values are encoded into libnftnl expressions by the real seam
// (src/sys/nftables_netlink.cc), interpreted by the stateful fake (testing/fake_nftables.cc) and
// rendered as `nft -f` text (nftText) for the benchmark's reference run and for reading.
namespace skiff::netproxy::nft {

enum class Family { Ip, Ip6 };
std::string_view familyName(Family f);  // "ip" / "ip6"

// The keys a named map is looked up with: `ip daddr . meta l4proto . th dport` (service-ips,
// no-endpoint-services) or `meta l4proto . th dport` (service-nodeports, no-endpoint-nodeports).
enum class KeyShape { AddrProtoPort, ProtoPort };

// ---- statements (a rule is a list of them, evaluated in order) ----
namespace stmt {
// `ip saddr|daddr [!=] 10.0.0.0/8` (a /32 prints as a bare address).
struct Addr {
  bool source = false;
  bool negate = false;
  Cidr cidr;
};
// `meta l4proto tcp` (or `tcp dport 80` with a port): kube-proxy's per-protocol match.
struct Proto {
  Protocol protocol = Protocol::Tcp;
  uint16_t dport = 0;  // 0: protocol only
};
// `meta mark & BITS ==|!= 0`.
struct MarkTest {
  uint32_t bits = 0;
  bool is_set = false;  // true: != 0
};
// `ct state new`.
struct CtNew {};
// `fib saddr|daddr type local`.
struct FibLocal {
  bool source = false;
};
// `ip saddr|daddr [!=] @set`.
struct InSet {
  bool source = false;
  bool negate = false;
  std::string set;
};
// `<keys> vmap @map` (terminal when the map holds verdicts for every key it matches).
struct Vmap {
  KeyShape keys = KeyShape::AddrProtoPort;
  std::string map;
};
// `numgen random mod N vmap { 0 : goto c0, 1 : goto c1, ... }` with an anonymous constant map.
struct NumgenVmap {
  std::vector<std::string> chains;  // N = chains.size() >= 1
};
// `meta mark set meta mark | BITS` or `... ^ BITS`.
struct MarkSet {
  uint32_t bits = 0;
  bool xor_ = false;
};
// `masquerade [fully-random]`.
struct Masquerade {
  bool fully_random = true;
};
// `meta l4proto P dnat to IP:PORT`.
struct Dnat {
  Protocol protocol = Protocol::Tcp;
  Ipv4 ip;
  uint16_t port = 0;
};
// `reject` (ICMP port-unreachable) or `reject with tcp reset` (only after a tcp match).
struct Reject {
  bool tcp_reset = false;
};
// `update @set { ip saddr }`: records the source in a dynamic set with timeouts (affinity).
struct UpdateSaddr {
  std::string set;
};
enum class VerdictKind { Accept, Drop, Return, Jump, Goto };
struct Verdict {
  VerdictKind kind = VerdictKind::Accept;
  std::string chain;  // Jump/Goto
  friend bool operator==(const Verdict&, const Verdict&) = default;
};
}  // namespace stmt

using Stmt =
    std::variant<stmt::Addr, stmt::Proto, stmt::MarkTest, stmt::CtNew, stmt::FibLocal, stmt::InSet,
                 stmt::Vmap, stmt::NumgenVmap, stmt::MarkSet, stmt::Masquerade, stmt::Dnat,
                 stmt::Reject, stmt::UpdateSaddr, stmt::Verdict>;
using Rule = std::vector<Stmt>;

// A 64-bit fingerprint of a rule's content; equal rules hash equal.
uint64_t fingerprint(const Rule& rule, uint64_t seed);

// ---- objects ----
struct BaseHook {
  std::string type;  // "filter" | "nat"
  std::string hook;  // "prerouting" | "input" | "forward" | "output" | "postrouting"
  int priority = 0;
};
struct ChainSpec {
  std::string name;
  std::optional<BaseHook> base;
};

enum class SetKind {
  VerdictMap,   // key shape -> verdict (service-ips, service-nodeports, no-endpoint-*)
  AddrSet,      // ipv4_addr (nodeport-ips)
  AffinitySet,  // ipv4_addr, flags dynamic,timeout; `timeout_s` seconds
};
struct SetSpec {
  std::string name;
  SetKind kind = SetKind::VerdictMap;
  KeyShape keys = KeyShape::AddrProtoPort;  // VerdictMap only
  uint32_t timeout_s = 0;                   // AffinitySet only
};

// A map or set element: the key fields the set's shape needs (ip for AddrProtoPort/AddrSet,
// protocol and port for the map shapes) and, in a verdict map, its verdict.
struct Element {
  Ipv4 ip;
  Protocol protocol = Protocol::Tcp;
  uint16_t port = 0;
  std::optional<stmt::Verdict> verdict;
  // Identity of the key within a set (ignores the verdict).
  friend bool operator<(const Element& a, const Element& b) {
    return std::tie(a.ip, a.protocol, a.port) < std::tie(b.ip, b.protocol, b.port);
  }
};

// ---- one change of a batch ----
namespace op {
struct AddTable {};     // create if missing (nft `add table`)
struct DeleteTable {};  // with everything in it; ENOENT if missing
struct FlushTable {};   // every rule of every chain (sets and maps keep their elements)
struct AddChain {
  ChainSpec chain;  // create if missing
};
struct FlushChain {
  std::string chain;
};
struct DeleteChain {
  std::string chain;  // with its rules; EBUSY if something still jumps to it
};
struct AddSet {
  SetSpec set;  // create if missing
};
struct FlushSet {
  std::string set;
};
struct DeleteSet {
  std::string set;
};
struct AddRule {
  std::string chain;
  Rule rule;  // appended
};
// Elements name their set by its spec (name, kind and key shape), which says how keys encode.
struct AddElements {
  SetSpec set;
  std::vector<Element> elements;  // EEXIST if a key is present with another verdict
};
struct DeleteElements {
  SetSpec set;
  std::vector<Element> elements;  // ENOENT if a key is missing
};
}  // namespace op

using Op = std::variant<op::AddTable, op::DeleteTable, op::FlushTable, op::AddChain, op::FlushChain,
                        op::DeleteChain, op::AddSet, op::FlushSet, op::DeleteSet, op::AddRule,
                        op::AddElements, op::DeleteElements>;

// Changes to one table, applied in order, all or nothing.
struct Batch {
  Family family = Family::Ip;
  std::string table;
  std::vector<Op> ops;
  bool empty() const { return ops.empty(); }
};

// Builders the rule writers (Service rules, IPVS masquerade, pod network) share.
inline stmt::Verdict jumpTo(std::string chain) {
  return {stmt::VerdictKind::Jump, std::move(chain)};
}
inline stmt::Verdict goTo(std::string chain) { return {stmt::VerdictKind::Goto, std::move(chain)}; }
inline ChainSpec baseChain(std::string name, std::string type, std::string hook, int priority) {
  return ChainSpec{std::move(name), BaseHook{std::move(type), std::move(hook), priority}};
}
inline void addRule(Batch& b, std::string chain, Rule r) {
  b.ops.push_back(op::AddRule{std::move(chain), std::move(r)});
}

// The batch as `nft -f` input (table-qualified commands, one per line).
std::string nftText(const Batch& batch);
// One rule as nft prints it inside a chain (approximately: kernel-side normalisation aside).
std::string nftText(const Rule& rule);

// The model's names for the files that build, encode or interpret batches (the rule writers, the
// netlink seam, the fake and its tracer): `using namespace nft::vocabulary;` in their anonymous
// namespace instead of the same dozen using-declarations in each.
namespace vocabulary {
using nft::addRule;
using nft::baseChain;
using nft::BaseHook;
using nft::Batch;
using nft::ChainSpec;
using nft::Element;
using nft::Family;
using nft::goTo;
using nft::jumpTo;
using nft::KeyShape;
using nft::Op;
using nft::SetKind;
using nft::SetSpec;
using nft::Stmt;
using NRule = nft::Rule;
namespace op = nft::op;
namespace stmt = nft::stmt;
}  // namespace vocabulary

}  // namespace skiff::netproxy::nft

namespace skiff::netproxy::sys {

struct NftStats {
  std::size_t messages = 0;            // netlink messages in the batch (begin/end excluded)
  std::chrono::nanoseconds encode{0};  // building the messages with libnftnl
  std::chrono::nanoseconds kernel{0};  // send + wait for every ACK
};

// One method per netlink transaction, no policy. Acts on the network namespace of the calling
// thread. Implementations need not be thread-safe (the fake is not); the netlink one serializes
// its calls and keeps one socket, reopened when the caller is in another namespace.
class Nftables {
 public:
  virtual ~Nftables() = default;

  // Sends `batch` as one transaction (one mnl socket, NFNL_MSG_BATCH_BEGIN/END, an ACK requested
  // for every message). On any error the kernel applies nothing; the error names the failing
  // change by its index in batch.ops and what it was ("op 12 (add rule to chain 'services'):
  // No such file or directory").
  virtual Result<NftStats> apply(const nft::Batch& batch) = 0;

  // Changes to several tables (of any family) as ONE transaction: the batches' messages go
  // between a single BATCH_BEGIN/END in order, so the kernel applies all of them or none. Empty
  // batches are skipped. Errors name the table and the op index within its batch.
  virtual Result<NftStats> applyAll(const std::vector<nft::Batch>& batches) = 0;

  // The tables of `family` in this namespace. Unavailable when the kernel has no nf_tables.
  virtual Result<std::vector<std::string>> listTables(nft::Family family) = 0;
};

std::unique_ptr<Nftables> makeNetlinkNftables();

}  // namespace skiff::netproxy::sys
