#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/netproxy/sys/iptables.h"

namespace skiff::netproxy::testing {

// A fake of the iptables seam that keeps state the way the kernel does: tables of chains of
// typed rules. It enforces what x_tables enforces (jumps only to existing chains, no deleting a
// referenced or built-in chain) and also accepts iptables-restore text, so a test can seed it
// with rules "someone else" wrote. Modelled on kube-proxy's pkg/util/iptables/testing/fake.go.
class FakeIptables : public sys::Iptables {
 public:
  struct Table {
    std::vector<std::string> order;  // chain creation order (built-ins first)
    std::map<std::string, std::vector<Rule>> chains;
    bool hasChain(std::string_view c) const { return chains.count(std::string(c)) != 0; }
  };

  FakeIptables();

  // sys::Iptables
  Result<sys::CommitStats> apply(const sys::TableChange& change) override;
  Result<std::vector<std::string>> listChains(std::string_view table) override;
  Result<std::vector<Rule>> listRules(std::string_view table, std::string_view chain) override;

  // iptables-restore semantics: with noflush=false every table named is flushed first (all
  // chains emptied, user chains deleted) and rebuilt; with noflush=true only `:CHAIN` lines
  // create/flush chains and -X deletes them. All-or-nothing per call.
  Result<void> restore(std::string_view text, bool noflush = false);
  // iptables-save of one table, counters as [0:0] and no "#" lines.
  std::string save(std::string_view table) const;

  const Table* table(std::string_view name) const;
  // How many apply() calls, and the chains each wrote, for "only changed chains" assertions.
  const std::vector<sys::TableChange>& appliedForTest() const { return applied_; }
  void clearAppliedForTest() { applied_.clear(); }
  // Makes the next apply() fail with this error (to test "nothing half-done").
  void failNextApplyForTest(Error e) { fail_next_.emplace_back(std::move(e)); }

 private:
  Result<void> validate(const Table& t) const;
  std::map<std::string, Table> tables_;
  std::vector<sys::TableChange> applied_;
  std::vector<Error> fail_next_;
};

// Walks a packet through the fake's nat and filter tables, like kube-proxy's iptablesTracer
// (pkg/proxy/iptables/proxier_test.go). Probabilistic matches (statistic, recent --rcheck) are
// explored both ways, so `destinations` lists every endpoint the packet may reach.
struct TracePacket {
  Ipv4 src;
  Ipv4 dst;
  Protocol proto = Protocol::Tcp;
  uint16_t dport = 0;
  bool locally_generated = false;  // nat OUTPUT/filter OUTPUT instead of PREROUTING/FORWARD
};

struct TraceResult {
  std::set<std::string> destinations;  // "ip:port" DNAT targets reached (empty: not DNATed)
  std::set<std::string> verdicts;      // filter verdicts: ACCEPT, DROP, REJECT
  bool masqueraded = false;            // some path was masqueraded in POSTROUTING
  std::vector<std::string> chains;     // every chain entered, for failure messages
};

TraceResult tracePacket(const FakeIptables& ipt, const TracePacket& packet,
                        const std::set<Ipv4>& local_addresses);

}  // namespace skiff::netproxy::testing
