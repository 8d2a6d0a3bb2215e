#include "skiff/netproxy/testing/fake_nftables.h"

#include <errno.h>

#include <algorithm>

#include <fmt/format.h>

namespace skiff::netproxy::testing {

namespace {

using namespace nft::vocabulary;
using Table = FakeNftables::Table;

Error fail(ErrorCode code, int e, std::size_t index, const std::string& what) {
  return Error(code, e, fmt::format("op {} ({}): {}", index, what, std::strerror(e)));
}

// Chains a rule can pass control to, and sets it reads or writes.
void references(const NRule& rule, std::vector<std::string>* chains,
                std::vector<std::string>* sets) {
  for (const Stmt& s : rule) {
    if (auto* v = std::get_if<stmt::Verdict>(&s); v && !v->chain.empty())
      chains->push_back(v->chain);
    if (auto* n = std::get_if<stmt::NumgenVmap>(&s)) {
      chains->insert(chains->end(), n->chains.begin(), n->chains.end());
    }
    if (auto* m = std::get_if<stmt::Vmap>(&s)) sets->push_back(m->map);
    if (auto* i = std::get_if<stmt::InSet>(&s)) sets->push_back(i->set);
    if (auto* u = std::get_if<stmt::UpdateSaddr>(&s)) sets->push_back(u->set);
  }
}

bool chainReferenced(const Table& t, const std::string& name) {
  for (const auto& [cn, c] : t.chains) {
    if (cn == name) continue;
    for (const NRule& r : c.rules) {
      std::vector<std::string> chains, sets;
      references(r, &chains, &sets);
      if (std::find(chains.begin(), chains.end(), name) != chains.end()) return true;
    }
  }
  for (const auto& [sn, s] : t.sets) {
    for (const auto& [k, v] : s.elements) {
      if (v && v->chain == name) return true;
    }
  }
  return false;
}

bool setReferenced(const Table& t, const std::string& name) {
  for (const auto& [cn, c] : t.chains) {
    for (const NRule& r : c.rules) {
      std::vector<std::string> chains, sets;
      references(r, &chains, &sets);
      if (std::find(sets.begin(), sets.end(), name) != sets.end()) return true;
    }
  }
  return false;
}

struct Applier {
  std::optional<Table>& table;  // nullopt: the table does not exist
  std::size_t index = 0;

  Result<void> need() {
    if (!table) return fail(ErrorCode::NotFound, ENOENT, index, "table");
    return ok();
  }
  // The table's chain or set `name`, from `objects` (table->chains or table->sets).
  template <typename M>
  Result<typename M::mapped_type*> find(M& objects, const std::string& kind,
                                        const std::string& name) {
    auto it = objects.find(name);
    if (it == objects.end()) return fail(ErrorCode::NotFound, ENOENT, index, kind + " " + name);
    return &it->second;
  }
  // Deletes the chain or set `name` (it exists) unless a rule or map element still refers to it.
  template <typename M>
  Result<void> erase(M& objects, const std::string& kind, const std::string& name,
                     bool referenced) {
    if (referenced) return fail(ErrorCode::Internal, EBUSY, index, "delete " + kind + " " + name);
    objects.erase(name);
    return ok();
  }
  Result<FakeNftables::Chain*> chain(const std::string& name) {
    SKIFF_TRY(need());
    return find(table->chains, "chain", name);
  }
  Result<FakeNftables::Set*> set(const std::string& name) {
    SKIFF_TRY(need());
    return find(table->sets, "set", name);
  }

  Result<void> operator()(const op::AddTable&) {
    if (!table) table.emplace();
    return ok();
  }
  Result<void> operator()(const op::DeleteTable&) {
    SKIFF_TRY(need());
    table.reset();
    return ok();
  }
  Result<void> operator()(const op::FlushTable&) {
    SKIFF_TRY(need());
    for (auto& [n, c] : table->chains) c.rules.clear();
    return ok();
  }
  Result<void> operator()(const op::AddChain& o) {
    SKIFF_TRY(need());
    table->chains.try_emplace(o.chain.name, FakeNftables::Chain{o.chain, {}});
    return ok();
  }
  Result<void> operator()(const op::FlushChain& o) {
    SKIFF_ASSIGN_OR_RETURN(auto* c, chain(o.chain));
    c->rules.clear();
    return ok();
  }
  Result<void> operator()(const op::DeleteChain& o) {
    SKIFF_TRY(chain(o.chain));
    return erase(table->chains, "chain", o.chain, chainReferenced(*table, o.chain));
  }
  Result<void> operator()(const op::AddSet& o) {
    SKIFF_TRY(need());
    table->sets.try_emplace(o.set.name, FakeNftables::Set{o.set, {}});
    return ok();
  }
  Result<void> operator()(const op::FlushSet& o) {
    SKIFF_ASSIGN_OR_RETURN(auto* s, set(o.set));
    s->elements.clear();
    return ok();
  }
  Result<void> operator()(const op::DeleteSet& o) {
    SKIFF_TRY(set(o.set));
    return erase(table->sets, "set", o.set, setReferenced(*table, o.set));
  }
  Result<void> operator()(const op::AddRule& o) {
    SKIFF_ASSIGN_OR_RETURN(auto* c, chain(o.chain));
    std::vector<std::string> chains, sets;
    references(o.rule, &chains, &sets);
    for (const auto& n : chains) SKIFF_TRY(chain(n));
    for (const auto& n : sets) SKIFF_TRY(set(n));
    c->rules.push_back(o.rule);
    return ok();
  }
  Result<void> operator()(const op::AddElements& o) {
    SKIFF_ASSIGN_OR_RETURN(auto* s, set(o.set.name));
    for (const Element& e : o.elements) {
      if (e.verdict && !e.verdict->chain.empty()) SKIFF_TRY(chain(e.verdict->chain));
      auto [it, fresh] = s->elements.try_emplace(e, e.verdict);
      if (!fresh && it->second != e.verdict) {
        return fail(ErrorCode::AlreadyExists, EEXIST, index, "add element to " + o.set.name);
      }
    }
    return ok();
  }
  Result<void> operator()(const op::DeleteElements& o) {
    SKIFF_ASSIGN_OR_RETURN(auto* s, set(o.set.name));
    for (const Element& e : o.elements) {
      if (s->elements.erase(e) == 0) {
        return fail(ErrorCode::NotFound, ENOENT, index, "delete element from " + o.set.name);
      }
    }
    return ok();
  }
};

}  // namespace

Result<sys::NftStats> FakeNftables::apply(const Batch& batch) { return applyAll({batch}); }

Result<sys::NftStats> FakeNftables::applyAll(const std::vector<Batch>& batches) {
  if (fail_next_) {
    Error e = std::move(*fail_next_);
    fail_next_.reset();
    return e;
  }
  // Every table the transaction touches, copied; swapped in only if every op succeeded.
  std::map<std::pair<Family, std::string>, std::optional<Table>> work;
  std::vector<Batch> applied;
  sys::NftStats st;
  for (const Batch& batch : batches) {
    if (batch.empty()) continue;
    auto key = std::make_pair(batch.family, batch.table);
    auto [slot, fresh] = work.try_emplace(key);
    if (fresh) {
      if (auto it = tables_.find(key); it != tables_.end()) slot->second = it->second;
    }
    Applier a{slot->second};
    for (std::size_t i = 0; i < batch.ops.size(); ++i) {
      a.index = i;
      if (auto r = std::visit(a, batch.ops[i]); !r) {
        return std::move(r).error().wrap(
            fmt::format("nftables batch on table '{} {}'", familyName(batch.family), batch.table));
      }
    }
    st.messages += batch.ops.size();
    applied.push_back(batch);
  }
  for (auto& [key, t] : work) {
    if (t) {
      tables_[key] = std::move(*t);
    } else {
      tables_.erase(key);
    }
  }
  if (!applied.empty()) {
    batches_.insert(batches_.end(), applied.begin(), applied.end());
    transactions_.push_back(std::move(applied));
  }
  return st;
}

Result<std::vector<std::string>> FakeNftables::listTables(Family family) {
  std::vector<std::string> out;
  for (const auto& [k, t] : tables_) {
    if (k.first == family) out.push_back(k.second);
  }
  return out;
}

std::vector<std::string> FakeNftables::tableNames(Family family) const {
  std::vector<std::string> out;
  for (const auto& [k, t] : tables_) {
    if (k.first == family) out.push_back(k.second);
  }
  return out;
}

const FakeNftables::Table* FakeNftables::table(Family family, const std::string& name) const {
  auto it = tables_.find({family, name});
  return it == tables_.end() ? nullptr : &it->second;
}

std::string FakeNftables::dump(Family family, const std::string& name) const {
  const Table* t = table(family, name);
  if (!t) return "";
  std::string out = fmt::format("table {} {} {{\n", familyName(family), name);
  for (const auto& [sn, s] : t->sets) {
    out += fmt::format("\tset {} {{\n", sn);
    for (const auto& [e, v] : s.elements) {
      std::string key = s.spec.kind == SetKind::VerdictMap
                            ? (s.spec.keys == KeyShape::AddrProtoPort ? e.ip.str() + " . " : "") +
                                  fmt::format("{} . {}", protocolName(e.protocol), e.port)
                            : e.ip.str();
      NRule r;
      if (v) r.push_back(*v);
      out += "\t\t" + key + (v ? " : " + nft::nftText(r) : "") + "\n";
    }
    out += "\t}\n";
  }
  for (const auto& [cn, c] : t->chains) {
    out += fmt::format("\tchain {} {{\n", cn);
    if (c.spec.base) {
      out += fmt::format("\t\ttype {} hook {} priority {}\n", c.spec.base->type, c.spec.base->hook,
                         c.spec.base->priority);
    }
    for (const NRule& r : c.rules) out += "\t\t" + nft::nftText(r) + "\n";
    out += "\t}\n";
  }
  return out + "}\n";
}

}  // namespace skiff::netproxy::testing
