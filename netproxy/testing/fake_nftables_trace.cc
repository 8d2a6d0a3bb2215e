// FakeNftables' packet tracer: evaluates the typed rules the way nf_tables does (jump returns,
// goto does not, a verdict map miss falls through, nat statements and accept end the base chain,
// drop and reject end the packet).

#include <algorithm>
#include <tuple>

#include "skiff/netproxy/testing/fake_nftables.h"

namespace skiff::netproxy::testing {

namespace {

using namespace nft::vocabulary;
using Outcome = FakeNftables::Outcome;
using Packet = FakeNftables::Packet;

enum class Flow { Continue, Accept, Stop };

struct Tracer {
  const FakeNftables::Table& t;
  Packet p;
  Outcome& o;
  int depth = 0;

  std::optional<stmt::Verdict> lookup(const std::string& map, KeyShape keys) const {
    auto it = t.sets.find(map);
    if (it == t.sets.end()) return std::nullopt;
    Element e;
    e.ip = keys == KeyShape::AddrProtoPort ? p.daddr : Ipv4{};
    e.protocol = p.protocol;
    e.port = p.dport;
    auto el = it->second.elements.find(e);
    if (el == it->second.elements.end() || !el->second) return std::nullopt;
    return el->second;
  }
  bool inSet(const std::string& name, Ipv4 ip) const {
    auto it = t.sets.find(name);
    if (it == t.sets.end()) return false;
    Element e;
    e.ip = ip;
    return it->second.elements.count(e) > 0;
  }

  // Applies a verdict from inside chain evaluation. Returns nullopt to continue the chain.
  std::optional<Flow> verdict(const stmt::Verdict& v) {
    switch (v.kind) {
      case stmt::VerdictKind::Accept:
        return Flow::Accept;
      case stmt::VerdictKind::Drop:
        o.verdict = Outcome::Verdict::Drop;
        return Flow::Stop;
      case stmt::VerdictKind::Return:
        return Flow::Continue;
      case stmt::VerdictKind::Jump: {
        Flow f = run(v.chain);
        if (f == Flow::Continue) return std::nullopt;
        return f;
      }
      case stmt::VerdictKind::Goto:
        return run(v.chain);
    }
    return std::nullopt;
  }

  // nullopt: the rule did not match (next rule); otherwise how the chain ends.
  std::optional<Flow> rule(const NRule& r) {
    for (const Stmt& s : r) {
      if (auto* a = std::get_if<stmt::Addr>(&s)) {
        bool m = a->cidr.contains(a->source ? p.saddr : p.daddr);
        if (m == a->negate) return std::nullopt;
      } else if (auto* pr = std::get_if<stmt::Proto>(&s)) {
        if (pr->protocol != p.protocol || (pr->dport != 0 && pr->dport != p.dport)) {
          return std::nullopt;
        }
      } else if (auto* mt = std::get_if<stmt::MarkTest>(&s)) {
        if (((p.mark & mt->bits) != 0) != mt->is_set) return std::nullopt;
      } else if (std::holds_alternative<stmt::CtNew>(s)) {
        // Every traced packet is the first of its connection.
      } else if (auto* f = std::get_if<stmt::FibLocal>(&s)) {
        if (!p.local_addresses.count(f->source ? p.saddr : p.daddr)) return std::nullopt;
      } else if (auto* is = std::get_if<stmt::InSet>(&s)) {
        if (inSet(is->set, is->source ? p.saddr : p.daddr) == is->negate) return std::nullopt;
      } else if (auto* vm = std::get_if<stmt::Vmap>(&s)) {
        auto v = lookup(vm->map, vm->keys);
        if (!v) return std::nullopt;
        return verdict(*v);
      } else if (auto* ng = std::get_if<stmt::NumgenVmap>(&s)) {
        return verdict(
            stmt::Verdict{stmt::VerdictKind::Goto, ng->chains[p.random % ng->chains.size()]});
      } else if (auto* ms = std::get_if<stmt::MarkSet>(&s)) {
        p.mark = ms->xor_ ? p.mark ^ ms->bits : p.mark | ms->bits;
        o.mark = p.mark;
      } else if (std::holds_alternative<stmt::Masquerade>(s)) {
        o.masquerade = true;
        return Flow::Accept;
      } else if (auto* d = std::get_if<stmt::Dnat>(&s)) {
        if (d->protocol != p.protocol) return std::nullopt;
        o.dnat = std::make_pair(d->ip, d->port);
        return Flow::Accept;
      } else if (std::holds_alternative<stmt::Reject>(s)) {
        o.verdict = Outcome::Verdict::Reject;
        return Flow::Stop;
      } else if (auto* u = std::get_if<stmt::UpdateSaddr>(&s)) {
        o.affinity_updates.push_back(u->set);
      } else if (auto* v = std::get_if<stmt::Verdict>(&s)) {
        return verdict(*v);
      }
    }
    return std::nullopt;
  }

  Flow run(const std::string& chain) {
    auto it = t.chains.find(chain);
    if (it == t.chains.end() || ++depth > 64) return Flow::Continue;
    o.chains.push_back(chain);
    for (const NRule& r : it->second.rules) {
      if (auto f = rule(r)) {
        --depth;
        return *f;
      }
    }
    --depth;
    return Flow::Continue;
  }
};

}  // namespace

FakeNftables::Outcome FakeNftables::trace(Family family, const std::string& name,
                                          const std::string& type, const std::string& hook,
                                          const Packet& p) const {
  Outcome o;
  o.mark = p.mark;
  const Table* t = table(family, name);
  if (!t) return o;
  std::vector<const Chain*> base;
  for (const auto& [n, c] : t->chains) {
    if (c.spec.base && c.spec.base->type == type && c.spec.base->hook == hook) base.push_back(&c);
  }
  std::sort(base.begin(), base.end(), [](const Chain* a, const Chain* b) {
    return a->spec.base->priority < b->spec.base->priority;
  });
  Packet cur = p;
  for (const Chain* c : base) {
    Tracer tr{*t, cur, o};
    if (tr.run(c->spec.name) == Flow::Stop) break;
    cur.mark = tr.p.mark;
  }
  return o;
}

FakeNftables::Outcome FakeNftables::traceAll(Family family, const std::string& type,
                                             const std::string& hook, const Packet& p) const {
  Outcome o;
  o.mark = p.mark;
  struct Base {
    int priority;
    const std::string* table_name;
    const Table* table;
    const Chain* chain;
  };
  std::vector<Base> base;
  for (const auto& [key, t] : tables_) {
    if (key.first != family) continue;
    for (const auto& [n, c] : t.chains) {
      if (c.spec.base && c.spec.base->type == type && c.spec.base->hook == hook) {
        base.push_back(Base{c.spec.base->priority, &key.second, &t, &c});
      }
    }
  }
  std::stable_sort(base.begin(), base.end(), [](const Base& a, const Base& b) {
    return std::tie(a.priority, *a.table_name) < std::tie(b.priority, *b.table_name);
  });
  Packet cur = p;
  for (const Base& b : base) {
    Tracer tr{*b.table, cur, o};
    if (tr.run(b.chain->spec.name) == Flow::Stop) break;
    cur.mark = tr.p.mark;
    // nf_nat: a connection whose destination was translated skips later nat chains of the hook.
    if (type == "nat" && (o.dnat || o.masquerade)) break;
  }
  return o;
}

}  // namespace skiff::netproxy::testing
