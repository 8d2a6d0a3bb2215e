// kube-proxy's nftables mode over the nftables seam; see makeNftablesProxy in service_proxy.h.

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "skiff/common/log.h"
#include "skiff/netproxy/nft_rules.h"
#include "skiff/netproxy/service_proxy.h"
#include "skiff/netproxy/stale_udp.h"

namespace skiff::netproxy {

namespace {

using Clock = std::chrono::steady_clock;
using skiff::log::kv;
using namespace nftrules;

uint64_t chainFingerprint(const NftChain& c) {
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (const nft::Rule& r : c.rules) h = nft::fingerprint(r, h);
  return h ^ c.rules.size();
}

bool sameElement(const MapElement& a, const MapElement& b) {
  return a.map.name == b.map.name && !(a.element < b.element) && !(b.element < a.element) &&
         a.element.verdict == b.element.verdict;
}

// What one service port has in the kernel.
struct PortState {
  uint64_t input = 0;
  uint64_t generation = 0;
  std::size_t shard = 0;  // its Service's shard table
  std::vector<std::pair<std::string, uint64_t>> chains;
  std::vector<nft::SetSpec> sets;
  std::vector<MapElement> elements;
};

// The changes of one incremental sync, grouped so they can be emitted in a safe order.
struct Delta {
  std::vector<nft::SetSpec> add_sets;
  std::vector<std::string> add_chains;
  std::vector<MapElement> del_elements;
  std::vector<std::string> flush_chains;  // changed chains (refilled below)
  std::vector<std::string> del_chains;
  std::vector<std::string> del_sets;
  std::vector<NftChain> fill;  // new and changed chains' rules
  std::vector<MapElement> add_elements;
};

void groupElements(nft::Batch& b, std::vector<MapElement>& elems, bool add) {
  std::map<std::string, std::pair<nft::SetSpec, std::vector<nft::Element>>> by_map;
  for (MapElement& e : elems) {
    auto& slot = by_map[e.map.name];
    slot.first = e.map;
    slot.second.push_back(std::move(e.element));
  }
  for (auto& [name, v] : by_map) {
    if (add) {
      b.ops.push_back(nft::op::AddElements{std::move(v.first), std::move(v.second)});
    } else {
      b.ops.push_back(nft::op::DeleteElements{std::move(v.first), std::move(v.second)});
    }
  }
}

// Compares what a port has with what it should have now.
void diffPort(const PortState* old, PortObjects& now, Delta& d) {
  std::unordered_map<std::string, uint64_t> had;
  if (old) {
    for (const auto& [n, fp] : old->chains) had.emplace(n, fp);
  }
  std::set<std::string> keep;
  for (NftChain& c : now.chains) {
    keep.insert(c.name);
    auto it = had.find(c.name);
    if (it == had.end()) {
      d.add_chains.push_back(c.name);
      d.fill.push_back(std::move(c));
    } else if (it->second != chainFingerprint(c)) {
      d.flush_chains.push_back(c.name);
      d.fill.push_back(std::move(c));
    }
  }
  for (const auto& [n, fp] : had) {
    if (!keep.count(n)) d.del_chains.push_back(n);
  }
  std::set<std::string> want_sets;
  for (const nft::SetSpec& s : now.sets) {
    want_sets.insert(s.name);
    bool existed = old && std::any_of(old->sets.begin(), old->sets.end(), [&](const auto& o) {
                     return o.name == s.name && o.timeout_s == s.timeout_s;
                   });
    if (!existed) {
      // A changed timeout needs a new set: the old one goes first (it is unreferenced by then).
      if (old && std::any_of(old->sets.begin(), old->sets.end(),
                             [&](const auto& o) { return o.name == s.name; })) {
        d.del_sets.push_back(s.name);
      }
      d.add_sets.push_back(s);
    }
  }
  if (old) {
    for (const nft::SetSpec& s : old->sets) {
      if (!want_sets.count(s.name)) d.del_sets.push_back(s.name);
    }
    for (const MapElement& e : old->elements) {
      bool kept = std::any_of(now.elements.begin(), now.elements.end(),
                              [&](const MapElement& n) { return sameElement(e, n); });
      if (!kept) d.del_elements.push_back(e);
    }
  }
  for (const MapElement& e : now.elements) {
    bool had_it = old && std::any_of(old->elements.begin(), old->elements.end(),
                                     [&](const MapElement& o) { return sameElement(e, o); });
    if (!had_it) d.add_elements.push_back(e);
  }
}

// Everything one sync changes, per table.
struct Plan {
  Delta main;
  std::map<std::size_t, Delta> shards;
  std::vector<std::size_t> emptied;  // shards whose last Service went: their tables go
};

// Moves the elements of the main table's maps (no-endpoint-*) out of a shard's delta.
void splitMainElements(Delta& shard, Delta& main) {
  for (auto [from, to] : {std::pair{&shard.add_elements, &main.add_elements},
                          std::pair{&shard.del_elements, &main.del_elements}}) {
    auto mid = std::stable_partition(from->begin(), from->end(),
                                     [](const MapElement& e) { return !inMainTable(e.map.name); });
    to->insert(to->end(), std::make_move_iterator(mid), std::make_move_iterator(from->end()));
    from->erase(mid, from->end());
  }
}

void countDelta(const Delta& d, SyncResult& res) {
  res.chains_written += d.fill.size();
  for (const NftChain& c : d.fill) res.rules_written += c.rules.size();
  res.chains_removed += d.del_chains.size();
  res.elements_added += d.add_elements.size();
  res.elements_removed += d.del_elements.size();
}

class NftablesProxy final : public ServiceProxy {
 public:
  NftablesProxy(ProxyConfig cfg, sys::Nftables& nft, sys::Conntrack* ct, NftProxyOptions o)
      : cfg_(std::move(cfg)),
        nft_(nft),
        ct_(ct),
        opt_(std::move(o)),
        log_(skiff::log::get("netproxy")),
        shards_(opt_.shard_size) {}

  // netproxy::ServiceProxy
  Result<SyncResult> sync(const std::vector<ServicePort>& ports, const EndpointMap& eps) override {
    bool full = fullDue();
    Visit v;
    v.walk = true;
    if (full) {
      v.order = sortedPorts(ports);
    } else {
      v.order.reserve(ports.size());
      for (const ServicePort& sp : ports) v.order.push_back(&sp);
    }
    return run(v, eps, full, [&] { return udp_.update(ports, eps, ct_); });
  }

  // An incremental sync visits the changed Services' ports and, of what it programmed before,
  // only those Services' ports: its cost follows the change, not the cluster.
  Result<SyncResult> syncChanges(const ServiceView& view, const ServiceChanges& changes) override {
    if (changes.all || fullDue()) return sync(view.allPorts(), view.endpoints);
    Visit v;
    for (const std::string& service : changes.services) {
      auto now = view.ports.find(service);
      if (now != view.ports.end()) {
        for (const ServicePort& sp : now->second) v.order.push_back(&sp);
      }
      auto had = keys_of_.find(service);
      if (had == keys_of_.end()) continue;
      for (const std::string& key : had->second) {
        bool kept = now != view.ports.end() &&
                    std::any_of(now->second.begin(), now->second.end(), [&](const ServicePort& sp) {
                      sp.keyInto(key_);
                      return key_ == key;
                    });
        if (!kept) v.gone.push_back(key);
      }
    }
    return run(v, view.endpoints, false,
               [&] { return udp_.updateServices(changes.services, view, ct_); });
  }

  Result<void> cleanup() override {
    SKIFF_ASSIGN_OR_RETURN(auto tables, nft_.listTables(opt_.family));
    clearState();
    shards_.clear();
    tables_.clear();
    synced_ = false;
    std::vector<nft::Batch> batches;
    for (const std::string& t : tables) {
      if (t == opt_.table || shardOf(opt_.table, t)) {
        batches.push_back(newBatch(t));
        batches.back().ops.push_back(nft::op::DeleteTable{});
      }
    }
    if (batches.empty()) return ok();
    SKIFF_TRY(nft_.applyAll(batches));
    SKIFF_LOG_INFO(log_, "Removed proxy rules",
                   kv("table", fmt::format("{} {}", nft::familyName(opt_.family), opt_.table)),
                   kv("tables", batches.size()));
    return ok();
  }

  std::size_t stateBytes() const override {
    std::size_t n = sizeof(*this);
    for (const auto& [k, s] : state_) {
      n += 2 * k.capacity() + sizeof(s) + 64 + 48;  // and its Service's shard entry
      for (const auto& [name, fp] : s.chains) n += name.capacity() + sizeof(fp) + 32;
      for (const auto& set : s.sets) n += sizeof(set) + set.name.capacity();
      for (const auto& e : s.elements) {
        n += sizeof(e) + e.map.name.capacity() +
             (e.element.verdict ? e.element.verdict->chain.capacity() : 0);
      }
    }
    for (const auto& [service, keys] : keys_of_) {
      n += service.capacity() + 64;
      // NOLINTNEXTLINE(bugprone-sizeof-container): the string object itself, plus its buffer.
      for (const std::string& k : keys) n += k.capacity() + sizeof(k);
    }
    return n + udp_.stateBytes();
  }

 private:
  bool fullDue() const { return !synced_ || opt_.now() - last_full_ >= opt_.full_sync_period; }

  // What a sync visits: `order` holds every port (walk: the gone ones are found by walking the
  // state) or the changed Services' ports (`gone` names their ports that went away).
  struct Visit {
    std::vector<const ServicePort*> order;
    bool walk = false;
    std::vector<std::string> gone;
  };

  Result<SyncResult> run(Visit& v, const EndpointMap& eps, bool full,
                         const std::function<std::size_t()>& update_udp) {
    auto start = Clock::now();
    SyncResult res;
    bool fresh = !synced_;
    res.full = full;
    std::vector<std::string> existing;  // on a full sync: the tables there are now
    if (full) {
      auto tables = nft_.listTables(opt_.family);
      if (!tables) return std::move(tables).error().wrap("sync nftables proxy rules");
      existing = std::move(*tables);
    }
    if (fresh) shards_.clear();  // the first sync packs the Services anew
    Plan plan;
    std::unordered_map<std::string, PortState> next_state;
    planPorts(v, eps, full, plan, next_state);
    planRemovals(fresh, full, v.gone, next_state, plan);
    for (auto& [k, d] : plan.shards) splitMainElements(d, plan.main);
    countDelta(plan.main, res);
    for (const auto& [k, d] : plan.shards) countDelta(d, res);
    std::vector<nft::Batch> batches = emitPlan(plan, fresh, full, existing);
    res.build = Clock::now() - start;
    for (const nft::Batch& b : batches) res.nft_tables += b.empty() ? 0 : 1;

    auto applied = res.nft_tables == 0 ? Result<sys::NftStats>(sys::NftStats{})
                                       : send(batches, full, res.nft_transactions);
    if (!applied) {
      synced_ = false;  // the next sync replaces the tables
      clearState();
      return std::move(applied).error().wrap("sync nftables proxy rules");
    }
    res.nft = *applied;
    for (auto& [k, s] : next_state) remember(k, std::move(s));
    res.service_ports = v.walk ? v.order.size() : state_.size();
    tables_.clear();
    for (std::size_t k : shards_.shards()) tables_.insert(k);
    synced_ = true;
    if (full) last_full_ = opt_.now();
    res.conntrack_deleted = update_udp();
    auto dur = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    SKIFF_LOG_INFO(log_, "Synced proxy rules", kv("mode", "nftables"),
                   kv("full", full ? "true" : "false"), kv("servicePorts", res.service_ports),
                   kv("shards", shards_.shards().size()), kv("tablesChanged", res.nft_tables),
                   kv("transactions", res.nft_transactions),
                   kv("chainsWritten", res.chains_written), kv("rulesWritten", res.rules_written),
                   kv("chainsRemoved", res.chains_removed), kv("elementsAdded", res.elements_added),
                   kv("elementsRemoved", res.elements_removed), kv("messages", res.nft.messages),
                   kv("durationMs", fmt::format("{:.3f}", dur.count() / 1000.0)));
    return res;
  }

  // One transaction for every table, except for a full sync larger than
  // opt_.max_full_sync_transaction_ops: the kernel's cost per anonymous map (numgen) grows with
  // the length of the transaction it is in (__nft_set_trans_bind walks the whole transaction on
  // every bind), so such a sync sends each table as its own transaction, the shards first and
  // the main table last. Each table still changes atomically, so every Service's translation is
  // either the old or the new one at any moment. A failure part way leaves the next sync a
  // fresh one, which replaces every table.
  Result<sys::NftStats> send(const std::vector<nft::Batch>& batches, bool full,
                             std::size_t& transactions) {
    std::size_t ops = 0;
    for (const nft::Batch& b : batches) ops += b.ops.size();
    if (!full || ops <= opt_.max_full_sync_transaction_ops) {
      transactions = 1;
      return nft_.applyAll(batches);
    }
    sys::NftStats total;
    for (std::size_t i = 1; i <= batches.size(); ++i) {
      const nft::Batch& b = batches[i % batches.size()];  // batches[0] is the main table
      if (b.empty()) continue;
      SKIFF_ASSIGN_OR_RETURN(sys::NftStats st, nft_.apply(b));
      ++transactions;
      total.messages += st.messages;
      total.encode += st.encode;
      total.kernel += st.kernel;
    }
    return total;
  }

  nft::Batch newBatch(std::string table) const {
    nft::Batch b;
    b.family = opt_.family;
    b.table = std::move(table);
    return b;
  }

  // A port to rebuild, with its inputs and what it had (null: new).
  struct Todo {
    const ServicePort* sp;
    const std::vector<Endpoint>* endpoints;
    uint64_t input;
    const PortState* old;
  };

  // Rebuilds the ports whose inputs changed (every port on a full sync) into their shards'
  // deltas. A full sync goes in (name, protocol) order, so chains are created in the order a full
  // rule set lists them and a fresh sync packs Services into shards in name order; an
  // incremental one takes the ports as they come (sorting 10,000 names costs milliseconds).
  // Per unchanged port the work is one key, one endpoint lookup, the input hash and one state
  // lookup (which marks it current): nothing else walks every port or Service.
  void planPorts(Visit& v, const EndpointMap& eps, bool full, Plan& plan,
                 std::unordered_map<std::string, PortState>& next_state) {
    uint64_t gen = ++generation_;
    std::vector<Todo> todo;
    std::size_t kept = 0;  // ports of state_ this sync has (each counted once)
    for (const ServicePort* sp : v.order) {
      sp->keyInto(key_);
      auto it = eps.find(key_);
      const std::vector<Endpoint>* list = it == eps.end() ? nullptr : &it->second;
      uint64_t input = servicePortInputHash(*sp, list, false);
      auto st = state_.find(key_);
      if (st != state_.end() && st->second.generation != gen) {
        st->second.generation = gen;  // kept or replaced, not removed
        ++kept;
      }
      if (!full && st != state_.end() && st->second.input == input) continue;
      todo.push_back({sp, list, input, st == state_.end() ? nullptr : &st->second});
    }
    // When every port of state_ is still here (most syncs), the walk over all of state_ for the
    // gone ones is skipped.
    if (v.walk && kept != state_.size()) {
      for (const auto& [key, st] : state_) {
        if (st.generation != gen) v.gone.push_back(key);
      }
    }
    // Gone ports leave their Services' shards first, so new Services can fill the room; a shard
    // left empty loses its table (unless a new Service of this sync moves in).
    for (const std::string& key : v.gone) {
      if (shards_.releasePort(serviceOfKey(key))) plan.emptied.push_back(state_.at(key).shard);
    }
    for (const Todo& t : todo) {
      std::size_t shard = t.old ? t.old->shard : shards_.assignPort(serviceOf(*t.sp));
      PortObjects now = buildPortObjects(cfg_, *t.sp, t.endpoints);
      PortState ns;
      ns.input = t.input;
      ns.generation = gen;
      ns.shard = shard;
      for (const NftChain& c : now.chains) ns.chains.emplace_back(c.name, chainFingerprint(c));
      ns.sets = now.sets;
      ns.elements = now.elements;
      // A full sync rewrites everything: the delta is the whole desired state.
      diffPort(full ? nullptr : t.old, now, plan.shards[shard]);
      next_state[t.sp->key()] = std::move(ns);
    }
  }

  // Ports that are gone (and, on a full sync, every old object no longer wanted).
  void planRemovals(bool fresh, bool full, const std::vector<std::string>& gone,
                    const std::unordered_map<std::string, PortState>& next_state, Plan& plan) {
    if (!full) {
      for (const std::string& key : gone) {
        auto it = state_.find(key);
        Delta& d = plan.shards[it->second.shard];
        for (const auto& [n, fp] : it->second.chains) d.del_chains.push_back(n);
        for (const auto& s : it->second.sets) d.del_sets.push_back(s.name);
        d.del_elements.insert(d.del_elements.end(), it->second.elements.begin(),
                              it->second.elements.end());
        forget(it);
      }
      return;
    }
    std::set<std::string> wanted_chains, wanted_sets;
    for (const auto& [k, s] : next_state) {
      for (const auto& [n, fp] : s.chains) wanted_chains.insert(n);
      for (const auto& set : s.sets) wanted_sets.insert(set.name);
    }
    for (auto it = state_.begin(); it != state_.end();) {
      if (!fresh) {
        Delta& d = plan.shards[it->second.shard];
        for (const auto& [n, fp] : it->second.chains) {
          if (!wanted_chains.count(n)) d.del_chains.push_back(n);
        }
        for (const auto& s : it->second.sets) {
          if (!wanted_sets.count(s.name)) d.del_sets.push_back(s.name);
        }
      }
      it = forget(it);
    }
  }

  // state_ with its by-Service index (keys_of_), which an incremental sync of a changed Service
  // reads to find the ports it had.
  void remember(const std::string& key, PortState s) {
    auto [it, added] = state_.insert_or_assign(key, std::move(s));
    if (added) keys_of_[std::string(serviceOfKey(key))].push_back(key);
  }
  std::unordered_map<std::string, PortState>::iterator forget(
      std::unordered_map<std::string, PortState>::iterator it) {
    auto of = keys_of_.find(std::string(serviceOfKey(it->first)));
    if (of != keys_of_.end()) {
      std::erase(of->second, it->first);
      if (of->second.empty()) keys_of_.erase(of);
    }
    return state_.erase(it);
  }
  void clearState() {
    state_.clear();
    keys_of_.clear();
  }

  // One batch per table: the main table, each shard with changes (all of them on a full sync),
  // emptied shards' deletions and, on a full sync, the deletion of shard tables nobody owns
  // (left by an earlier run).
  std::vector<nft::Batch> emitPlan(Plan& plan, bool fresh, bool full,
                                   const std::vector<std::string>& existing) {
    std::vector<nft::Batch> out;
    out.push_back(newBatch(opt_.table));
    if (full) prologue(out.back(), buildTableSkeleton(cfg_), fresh);
    emitDelta(out.back(), plan.main, full);
    std::set<std::size_t> active;
    for (std::size_t k : shards_.shards()) active.insert(k);
    std::set<std::size_t> todo = active;
    if (!full) {
      todo.clear();
      for (const auto& [k, d] : plan.shards) todo.insert(k);
    }
    std::optional<Skeleton> sk;  // built only when a shard table is (re)written whole
    for (std::size_t k : todo) {
      if (!active.count(k)) continue;  // emptied: deleted below
      out.push_back(newBatch(shardTable(opt_.table, k)));
      // A shard opened by this sync gets its table created from scratch.
      bool created = !tables_.count(k);
      if (full || created) {
        if (!sk) sk = buildShardSkeleton(cfg_);
        prologue(out.back(), *sk, fresh || created);
      }
      emitDelta(out.back(), plan.shards[k], full);
    }
    std::set<std::string> gone;
    for (std::size_t k : plan.emptied) {
      if (active.count(k)) continue;
      gone.insert(shardTable(opt_.table, k));
      out.push_back(newBatch(shardTable(opt_.table, k)));
      out.back().ops.push_back(nft::op::AddTable{});  // it may have drifted away
      out.back().ops.push_back(nft::op::DeleteTable{});
    }
    for (const std::string& t : existing) {
      auto k = shardOf(opt_.table, t);
      if (!k || active.count(*k) || gone.count(t)) continue;
      out.push_back(newBatch(t));
      out.back().ops.push_back(nft::op::DeleteTable{});
    }
    return out;
  }

  // A full sync of one table: (re)create it and its static objects, then empty every chain and
  // map so the delta (which on a full sync is the whole desired state) fills them again. A fresh
  // sync replaces the table outright instead, which also drops objects an earlier run left.
  static void prologue(nft::Batch& b, const Skeleton& sk, bool fresh) {
    b.ops.push_back(nft::op::AddTable{});
    if (fresh) {
      b.ops.push_back(nft::op::DeleteTable{});
      b.ops.push_back(nft::op::AddTable{});
    }
    for (const nft::ChainSpec& c : sk.chains) b.ops.push_back(nft::op::AddChain{c});
    for (const nft::SetSpec& m : sk.maps) b.ops.push_back(nft::op::AddSet{m});
    if (!fresh) {
      b.ops.push_back(nft::op::FlushTable{});
      for (const nft::SetSpec& m : sk.maps) b.ops.push_back(nft::op::FlushSet{m.name});
    }
    for (const auto& [chain, rule] : sk.rules) b.ops.push_back(nft::op::AddRule{chain, rule});
  }

  // Order matters to the kernel: sets and chains exist before rules use them; elements and
  // rules that refer to a chain go before the chain is deleted; a chain is emptied before it is
  // deleted, so chains being deleted together never hold each other busy.
  static void emitDelta(nft::Batch& b, Delta& d, bool full) {
    for (nft::SetSpec& s : d.add_sets) {
      if (std::find(d.del_sets.begin(), d.del_sets.end(), s.name) != d.del_sets.end()) continue;
      b.ops.push_back(nft::op::AddSet{s});
    }
    for (std::string& c : d.add_chains) b.ops.push_back(nft::op::AddChain{nft::ChainSpec{c, {}}});
    if (!full) groupElements(b, d.del_elements, false);
    for (std::string& c : d.flush_chains) b.ops.push_back(nft::op::FlushChain{c});
    for (std::string& c : d.del_chains) b.ops.push_back(nft::op::FlushChain{c});
    for (std::string& c : d.del_chains) b.ops.push_back(nft::op::DeleteChain{c});
    for (std::string& s : d.del_sets) b.ops.push_back(nft::op::DeleteSet{s});
    for (nft::SetSpec& s : d.add_sets) {
      if (std::find(d.del_sets.begin(), d.del_sets.end(), s.name) != d.del_sets.end()) {
        b.ops.push_back(nft::op::AddSet{s});  // recreated with its new timeout
      }
    }
    for (NftChain& c : d.fill) {
      for (nft::Rule& r : c.rules) b.ops.push_back(nft::op::AddRule{c.name, std::move(r)});
    }
    groupElements(b, d.add_elements, true);
  }

  ProxyConfig cfg_;
  sys::Nftables& nft_;
  sys::Conntrack* ct_;
  NftProxyOptions opt_;
  std::shared_ptr<spdlog::logger> log_;
  bool synced_ = false;
  Clock::time_point last_full_{};
  uint64_t generation_ = 0;
  std::unordered_map<std::string, PortState> state_;                   // by port key
  std::unordered_map<std::string, std::vector<std::string>> keys_of_;  // Service -> its keys
  ShardAssignment shards_;
  std::set<std::size_t> tables_;  // shards whose tables the last successful sync left in place
  std::string key_;               // planPorts' key buffer
  StaleUdpTracker udp_;
};

}  // namespace

std::unique_ptr<ServiceProxy> makeNftablesProxy(ProxyConfig config, sys::Nftables& nft,
                                                sys::Conntrack* conntrack,
                                                NftProxyOptions options) {
  return std::make_unique<NftablesProxy>(std::move(config), nft, conntrack, std::move(options));
}

}  // namespace skiff::netproxy
