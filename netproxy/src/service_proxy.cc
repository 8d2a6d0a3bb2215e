#include "skiff/netproxy/service_proxy.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "skiff/common/log.h"
#include "skiff/netproxy/stale_udp.h"

namespace skiff::netproxy {

namespace {

using Clock = std::chrono::steady_clock;
using skiff::log::kv;

// A 64-bit fingerprint per chain is all the state kept between syncs (the rules themselves are
// rebuilt every time, as kube-proxy does).
uint64_t fingerprint(const Chain& c) {
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (const Rule& r : c.rules) h = ruleFingerprint(r, h);
  return h ^ c.rules.size();
}

bool ownedServiceChain(std::string_view name) {
  for (std::string_view p : {"KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-FW-", "KUBE-SEP-"}) {
    if (name.substr(0, p.size()) == p) return true;
  }
  return false;
}

class IptablesProxy final : public ServiceProxy {
 public:
  IptablesProxy(ProxyConfig cfg, sys::Iptables& ipt, sys::Conntrack* ct)
      : cfg_(std::move(cfg)), ipt_(ipt), ct_(ct), log_(skiff::log::get("netproxy")) {}

  // netproxy::ServiceProxy
  Result<SyncResult> sync(const std::vector<ServicePort>& ports, const EndpointMap& eps) override {
    auto start = Clock::now();
    SyncResult res;
    res.service_ports = ports.size();
    bool full = !synced_;
    res.full = full;
    if (full) cache_.clear();

    // Desired state: shared chains in full, per-port chains as (name -> fingerprint) plus the
    // content of those whose port inputs changed (ports whose Service and endpoints are as last
    // time reuse their cached shared rules and fingerprints: kube-proxy's partial sync).
    Ruleset rules = buildSkeleton(cfg_);
    bool large = largeClusterMode(cfg_, eps);
    // Per-port chains that were rebuilt (content needed), and chains that no port produces any
    // more. Both are derived from the ports whose inputs changed, so an unchanged cluster of
    // 10,000 services costs a hash lookup per port, not a pass over 60,000 chain names.
    std::vector<Chain> changed_nat;
    std::vector<std::string> removed_nat;
    uint64_t gen = ++generation_;
    for (const ServicePort* sp : sortedPorts(ports)) {
      auto it = eps.find(sp->key());
      const std::vector<Endpoint>* list = it == eps.end() ? nullptr : &it->second;
      uint64_t input = servicePortInputHash(*sp, list, large);
      auto [cached, fresh] = cache_.try_emplace(sp->key());
      CachedPort& c = cached->second;
      if (fresh || c.input != input) {
        ServicePortRules r = buildServicePortRules(cfg_, *sp, list, large);
        std::vector<std::pair<std::string, uint64_t>> chains;
        for (Chain& ch : r.nat_chains) {
          chains.emplace_back(ch.name, fingerprint(ch));
          changed_nat.push_back(std::move(ch));
        }
        for (const auto& [old, fp] : c.chains) {
          bool kept = std::any_of(chains.begin(), chains.end(),
                                  [&](const auto& n) { return n.first == old; });
          if (!kept) removed_nat.push_back(old);
        }
        c.input = input;
        c.filter_shared = std::move(r.filter_shared);
        c.nat_shared = std::move(r.nat_shared);
        c.chains = std::move(chains);
      }
      c.generation = gen;
      appendShared(rules, c.filter_shared, c.nat_shared);
    }
    for (auto it = cache_.begin(); it != cache_.end();) {
      if (it->second.generation == gen) {
        ++it;
        continue;
      }
      for (const auto& [name, fp] : it->second.chains) removed_nat.push_back(name);
      it = cache_.erase(it);
    }
    finishRuleset(cfg_, rules);

    sys::TableChange filter = diff(rules.filter, {}, {}, state_["filter"], full);
    sys::TableChange nat =
        diff(rules.nat, std::move(changed_nat), std::move(removed_nat), state_["nat"], full);
    if (full) {
      // Stale per-service chains from an earlier run (agent restart, crash).
      for (sys::TableChange* t : {&filter, &nat}) {
        auto existing = ipt_.listChains(t->table);
        if (!existing) {
          return std::move(existing).error().wrap("list chains");
        }
        std::set<std::string> wanted;
        for (const Chain& c : t->write) wanted.insert(c.name);
        for (const std::string& c : *existing) {
          if (ownedServiceChain(c) && !wanted.count(c)) t->remove.push_back(c);
        }
      }
    }
    res.build = Clock::now() - start;
    for (sys::TableChange* t : {&filter, &nat}) {
      res.chains_written += t->write.size();
      res.chains_removed += t->remove.size();
      for (const Chain& c : t->write) res.rules_written += c.rules.size();
    }
    // filter first: it never refers to nat chains, and a REJECT for a service that just lost
    // its endpoints should be in place before its DNAT chains go (reference §6 f).
    for (sys::TableChange* t : {&filter, &nat}) {
      if (t->empty()) continue;
      auto stats = ipt_.apply(*t);
      if (!stats) {
        synced_ = false;  // the next sync rewrites everything
        state_.clear();
        return std::move(stats).error().wrap(fmt::format("sync table '{}'", t->table));
      }
      (t == &filter ? res.filter : res.nat) = *stats;
      commitState(*t);
    }
    synced_ = true;
    res.conntrack_deleted = udp_.update(ports, eps, ct_);
    auto dur = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    SKIFF_LOG_INFO(log_, "Synced proxy rules", kv("full", full ? "true" : "false"),
                   kv("servicePorts", res.service_ports), kv("chainsWritten", res.chains_written),
                   kv("rulesWritten", res.rules_written), kv("chainsRemoved", res.chains_removed),
                   kv("durationMs", dur));
    return res;
  }

  Result<void> cleanup() override {
    Ruleset empty = buildRuleset(cfg_, {}, {});
    for (const TableRules* want : {&empty.filter, &empty.nat}) {
      SKIFF_ASSIGN_OR_RETURN(auto existing, ipt_.listChains(want->name));
      sys::TableChange t;
      t.table = want->name;
      t.unhook = want->jumps;
      for (const std::string& c : existing) {
        if (c.rfind("KUBE-", 0) == 0) t.remove.push_back(c);
      }
      if (!t.remove.empty()) SKIFF_TRY(ipt_.apply(t));
    }
    state_.clear();
    cache_.clear();
    synced_ = false;
    return ok();
  }

  std::size_t stateBytes() const override {
    std::size_t n = sizeof(*this);
    for (const auto& [t, m] : state_) {
      for (const auto& [name, fp] : m) n += name.capacity() + sizeof(fp) + 48;
    }
    for (const auto& [k, c] : cache_) {
      n += k.capacity() + sizeof(c) + 64;
      for (const auto& [name, fp] : c.chains) n += name.capacity() + sizeof(fp) + 32;
      for (const auto* shared : {&c.filter_shared, &c.nat_shared}) {
        for (const auto& [chain, rule] : *shared) n += sizeof(rule) + 96 + render(rule).size();
      }
    }
    n += udp_.stateBytes();
    return n;
  }

 private:
  using ChainState = std::unordered_map<std::string, uint64_t>;
  // What a service port produced last time, keyed by ServicePort::key().
  struct CachedPort {
    uint64_t input = 0;
    uint64_t generation = 0;  // the sync that last saw this port
    std::vector<std::pair<std::string, Rule>> filter_shared;
    std::vector<std::pair<std::string, Rule>> nat_shared;
    std::vector<std::pair<std::string, uint64_t>> chains;  // own chains and their fingerprints
  };

  // What to write: shared chains (in `want`) whose fingerprint changed, rebuilt per-port chains
  // whose content differs from what we last wrote; what to delete: per-port chains no port
  // produces any more (a full sync finds stale chains from the kernel instead).
  sys::TableChange diff(const TableRules& want, std::vector<Chain> changed,
                        std::vector<std::string> removed, const ChainState& have, bool full) {
    sys::TableChange t;
    t.table = want.name;
    t.ensure = want.jumps;  // cheap to re-check; restores hooks after someone flushed a built-in
    for (const Chain& c : want.chains) {
      auto it = have.find(c.name);
      if (full || it == have.end() || it->second != fingerprint(c)) t.write.push_back(c);
    }
    for (Chain& c : changed) {
      auto it = have.find(c.name);
      if (full || it == have.end() || it->second != fingerprint(c)) t.write.push_back(std::move(c));
    }
    if (!full) {
      for (std::string& name : removed) {
        if (have.count(name)) t.remove.push_back(std::move(name));
      }
      std::sort(t.remove.begin(), t.remove.end());
      t.remove.erase(std::unique(t.remove.begin(), t.remove.end()), t.remove.end());
    }
    return t;
  }

  void commitState(const sys::TableChange& t) {
    ChainState& s = state_[t.table];
    for (const std::string& c : t.remove) s.erase(c);
    for (const Chain& c : t.write) s[c.name] = fingerprint(c);
  }

  ProxyConfig cfg_;
  sys::Iptables& ipt_;
  sys::Conntrack* ct_;
  std::shared_ptr<spdlog::logger> log_;
  bool synced_ = false;
  std::map<std::string, ChainState> state_;
  std::unordered_map<std::string, CachedPort> cache_;
  uint64_t generation_ = 0;
  StaleUdpTracker udp_;
};

}  // namespace

std::unique_ptr<ServiceProxy> makeIptablesProxy(ProxyConfig config, sys::Iptables& iptables,
                                                sys::Conntrack* conntrack) {
  return std::make_unique<IptablesProxy>(std::move(config), iptables, conntrack);
}

Result<SyncResult> ServiceProxy::syncChanges(const ServiceView& view, const ServiceChanges&) {
  return sync(view.allPorts(), view.endpoints);
}

Result<SyncResult> ServiceProxy::syncObjects(const std::vector<nlohmann::json>& services,
                                             const std::vector<nlohmann::json>& slices) {
  auto lg = skiff::log::get("netproxy");
  ConvertedServices svcs = servicesFromJson(services);
  ConvertedEndpoints eps = endpointsFromJson(slices);
  for (const Skipped& s : svcs.skipped) {
    SKIFF_LOG_WARN(lg, "Skipping service, ignoring", skiff::log::kv("service", s.object),
                   skiff::log::kv("reason", s.reason));
  }
  for (const Skipped& s : eps.skipped) {
    SKIFF_LOG_WARN(lg, "Skipping endpoint slice, ignoring",
                   skiff::log::kv("endpointSlice", s.object), skiff::log::kv("reason", s.reason));
  }
  SKIFF_ASSIGN_OR_RETURN(SyncResult res, sync(svcs.ports, eps.endpoints));
  res.skipped_objects = svcs.skipped.size() + eps.skipped.size();
  return res;
}

}  // namespace skiff::netproxy
