#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/netproxy/rule.h"

namespace skiff::netproxy::sys {

// One transaction on one iptables table: everything in it reaches the kernel in a single
// replace (iptc_commit), or nothing does.
struct TableChange {
  std::string table;  // "filter", "nat"
  // Chains to (re)write: created if missing, otherwise flushed; then their rules are appended in
  // order. All of them exist before any rule is added, so rules may jump between them.
  std::vector<Chain> write;
  // Chains to remove: flushed, then deleted. A chain still referenced by a rule that survives
  // the transaction makes the whole transaction fail (the kernel would refuse it too).
  std::vector<std::string> remove;
  // Jumps from built-in chains: a rule already present (same encoding) is left alone; a missing
  // one is inserted at the position of its index among the jumps for that chain, so on a fresh
  // table they end up in the listed order. Other owners' rules are never touched.
  std::vector<JumpRule> ensure;
  // Jumps to take out of built-in chains (every rule with the same encoding); applied before
  // `remove`, so a cleanup can drop the hooks and then the chains in one transaction.
  std::vector<JumpRule> unhook;

  bool empty() const { return write.empty() && remove.empty() && ensure.empty() && unhook.empty(); }
};

// Where the time of one transaction went (reported by the benchmark and the sync log).
struct CommitStats {
  std::chrono::nanoseconds lock_wait{0};
  std::chrono::nanoseconds fetch{0};   // iptc_init: copy the table out of the kernel and parse it
  std::chrono::nanoseconds build{0};   // user-space edits of the cached table
  std::chrono::nanoseconds commit{0};  // iptc_commit: compile the blob, kernel replace, counters
};

// The iptables seam (kube-proxy's pkg/util/iptables Interface, reduced to what skiff needs).
// Methods are one library transaction each and do no policy. Not thread-safe; the proxy calls it
// from its sync loop only. Every call acts on the network namespace of the calling thread.
class Iptables {
 public:
  virtual ~Iptables() = default;

  // Applies one table transaction (see TableChange). Takes the xtables lock (/run/xtables.lock,
  // the same flock `iptables -w` uses) for the whole fetch-edit-commit. On error nothing changed.
  virtual Result<CommitStats> apply(const TableChange& change) = 0;

  // The user-defined chains of `table`. A table that does not exist yet yields an empty list and
  // is not created (so listing never loads a legacy table as a side effect, reference §6).
  virtual Result<std::vector<std::string>> listChains(std::string_view table) = 0;

  // The rules of one chain (built-in or user), in order. NotFound if the chain does not exist.
  virtual Result<std::vector<Rule>> listRules(std::string_view table, std::string_view chain) = 0;
};

struct LegacyIptablesOptions {
  std::string lock_path = "/run/xtables.lock";
  std::chrono::milliseconds lock_timeout{5000};  // like `iptables -w 5`
};

// The real seam: libiptc (iptables-legacy's x_tables), entries encoded from our typed rules.
std::unique_ptr<Iptables> makeLegacyIptables(LegacyIptablesOptions options = {});

}  // namespace skiff::netproxy::sys
