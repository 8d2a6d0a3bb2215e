#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "skiff/netproxy/sys/nftables.h"

namespace skiff::netproxy::testing {

// A stateful nf_tables in memory: tables, chains with their rules, sets and maps with their
// elements. apply() works on a copy and swaps it in only if every change succeeded, failing as
// the kernel does: ENOENT (NotFound) for a missing table/chain/set/element or a jump to a missing
// chain, EBUSY for deleting a chain or set something still refers to, EEXIST (AlreadyExists) for
// an element present with another verdict. A tracer answers "where does this packet go".
class FakeNftables final : public sys::Nftables {
 public:
  struct Chain {
    nft::ChainSpec spec;
    std::vector<nft::Rule> rules;
  };
  struct Set {
    nft::SetSpec spec;
    std::map<nft::Element, std::optional<nft::stmt::Verdict>> elements;
  };
  struct Table {
    std::map<std::string, Chain> chains;
    std::map<std::string, Set> sets;
  };

  // netproxy::sys::Nftables
  Result<sys::NftStats> apply(const nft::Batch& batch) override;
  Result<sys::NftStats> applyAll(const std::vector<nft::Batch>& batches) override;
  Result<std::vector<std::string>> listTables(nft::Family family) override;

  // State, for assertions. nullptr when the table does not exist.
  const Table* table(nft::Family family, const std::string& name) const;
  // Every non-empty batch applied successfully, in order (a recording, for "what did one sync
  // send"), and the same grouped by transaction (one apply/applyAll call each).
  const std::vector<nft::Batch>& batches() const { return batches_; }
  const std::vector<std::vector<nft::Batch>>& transactions() const { return transactions_; }
  void clearBatches() {
    batches_.clear();
    transactions_.clear();
  }
  // Table names of `family`, sorted.
  std::vector<std::string> tableNames(nft::Family family) const;
  // Drift, as `nft flush ruleset` would cause.
  void flushRuleset() { tables_.clear(); }
  // The next apply fails with this error (once).
  void failNextApply(Error e) { fail_next_ = std::move(e); }
  // `nft list table`-like dump: chains and sets sorted by name.
  std::string dump(nft::Family family, const std::string& name) const;

  // The packet tracer. A packet enters the base chain(s) of `hook` (nat type only for
  // prerouting/output, filter for input/forward/output) of table `name`.
  struct Packet {
    Ipv4 saddr;
    Ipv4 daddr;
    Protocol protocol = Protocol::Tcp;
    uint16_t dport = 0;
    std::set<Ipv4> local_addresses;  // what `fib ... type local` matches
    uint32_t random = 0;             // numgen random picks random % N
    uint32_t mark = 0;
  };
  struct Outcome {
    enum class Verdict { Accept, Drop, Reject } verdict = Verdict::Accept;
    std::optional<std::pair<Ipv4, uint16_t>> dnat;  // destination after the hook
    uint32_t mark = 0;
    bool masquerade = false;
    std::vector<std::string> chains;  // every chain entered, in order
    std::vector<std::string> affinity_updates;
  };
  // Runs the chains of the given base hook type ("nat" or "filter") and hook name.
  Outcome trace(nft::Family family, const std::string& name, const std::string& type,
                const std::string& hook, const Packet& p) const;
  // The same over every table of `family`: their base chains for the hook in priority order
  // (ties by table name), as the kernel runs them. As nf_nat does, once a nat chain has
  // translated the packet no further nat chain of that hook sees it; a drop or reject ends it.
  Outcome traceAll(nft::Family family, const std::string& type, const std::string& hook,
                   const Packet& p) const;

 private:
  std::map<std::pair<nft::Family, std::string>, Table> tables_;
  std::vector<nft::Batch> batches_;
  std::vector<std::vector<nft::Batch>> transactions_;
  std::optional<Error> fail_next_;
};

}  // namespace skiff::netproxy::testing
