#include "skiff/netproxy/testing/fake_iptables.h"

#include <algorithm>
#include <functional>
#include <optional>

#include <fmt/format.h>

namespace skiff::netproxy::testing {

namespace {

bool isTargetExtension(const Target& t) { return !std::holds_alternative<target::Jump>(t); }

}  // namespace

FakeIptables::FakeIptables() {
  for (const char* name : {"filter", "nat"}) {
    Table t;
    for (const auto& b : builtinChains(name)) {
      t.order.push_back(b);
      t.chains[b];
    }
    tables_[name] = std::move(t);
  }
}

const FakeIptables::Table* FakeIptables::table(std::string_view name) const {
  auto it = tables_.find(std::string(name));
  return it == tables_.end() ? nullptr : &it->second;
}

Result<void> FakeIptables::validate(const Table& t) const {
  for (const auto& [name, rules] : t.chains) {
    for (const Rule& r : rules) {
      if (isTargetExtension(r.target)) continue;
      const auto& j = std::get<target::Jump>(r.target).chain;
      if (isStandardVerdict(j)) continue;
      if (!t.hasChain(j)) {
        return Error(ErrorCode::Invalid, EINVAL,
                     fmt::format("commit: rule in '{}' jumps to missing chain '{}'", name, j));
      }
    }
  }
  return ok();
}

Result<sys::CommitStats> FakeIptables::apply(const sys::TableChange& change) {
  if (!fail_next_.empty()) {
    Error e = std::move(fail_next_.front());
    fail_next_.erase(fail_next_.begin());
    return e;
  }
  auto it = tables_.find(change.table);
  if (it == tables_.end()) {
    return Error(ErrorCode::NotFound, ENOENT,
                 fmt::format("init table '{}': no such table", change.table));
  }
  Table t = it->second;  // all-or-nothing: edit a copy
  const auto& builtins = builtinChains(change.table);
  for (const Chain& c : change.write) {
    if (std::find(builtins.begin(), builtins.end(), c.name) != builtins.end()) {
      return Error(ErrorCode::Invalid, fmt::format("write chain '{}': built-in chain", c.name));
    }
    if (!t.hasChain(c.name)) t.order.push_back(c.name);
    t.chains[c.name].clear();
  }
  for (const Chain& c : change.write) t.chains[c.name] = c.rules;
  for (const JumpRule& j : change.unhook) {
    if (!t.hasChain(j.chain)) continue;
    auto& rules = t.chains[j.chain];
    rules.erase(std::remove(rules.begin(), rules.end(), j.rule), rules.end());
  }
  for (const std::string& c : change.remove) {
    if (t.hasChain(c)) t.chains[c].clear();
  }
  for (const std::string& c : change.remove) {
    if (!t.hasChain(c)) continue;
    if (std::find(builtins.begin(), builtins.end(), c) != builtins.end()) {
      return Error(ErrorCode::Invalid, fmt::format("delete chain '{}': built-in chain", c));
    }
    for (const auto& [name, rules] : t.chains) {
      for (const Rule& r : rules) {
        if (auto* j = std::get_if<target::Jump>(&r.target); j && j->chain == c) {
          return Error(ErrorCode::Conflict, EBUSY,
                       fmt::format("delete chain '{}': still referenced from '{}'", c, name));
        }
      }
    }
    t.chains.erase(c);
    t.order.erase(std::find(t.order.begin(), t.order.end(), c));
  }
  std::map<std::string, std::size_t> position;
  for (const JumpRule& j : change.ensure) {
    if (!t.hasChain(j.chain)) {
      return Error(ErrorCode::NotFound, fmt::format("ensure rule: no chain '{}'", j.chain));
    }
    auto& rules = t.chains[j.chain];
    std::size_t pos = position[j.chain]++;
    if (std::find(rules.begin(), rules.end(), j.rule) != rules.end()) continue;
    rules.insert(rules.begin() + static_cast<long>(std::min(pos, rules.size())), j.rule);
  }
  SKIFF_TRY(validate(t));
  it->second = std::move(t);
  applied_.push_back(change);
  return sys::CommitStats{};
}

Result<std::vector<std::string>> FakeIptables::listChains(std::string_view table) {
  std::vector<std::string> out;
  const Table* t = this->table(table);
  if (!t) return out;
  const auto& builtins = builtinChains(table);
  for (const auto& [name, rules] : t->chains) {
    if (std::find(builtins.begin(), builtins.end(), name) == builtins.end()) out.push_back(name);
  }
  return out;
}

Result<std::vector<Rule>> FakeIptables::listRules(std::string_view table, std::string_view chain) {
  const Table* t = this->table(table);
  if (!t || !t->hasChain(chain)) {
    return Error(ErrorCode::NotFound, fmt::format("list chain '{}': no such chain", chain));
  }
  return t->chains.at(std::string(chain));
}

Result<void> FakeIptables::restore(std::string_view text, bool noflush) {
  auto tables = tables_;
  Table* cur = nullptr;
  std::string cur_name;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  auto fail = [&](std::string why) {
    return Error(ErrorCode::Invalid, fmt::format("restore line {}: {}", line_no, why));
  };
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '*') {
      cur_name = std::string(line.substr(1));
      auto& t = tables[cur_name];
      if (t.chains.empty()) {
        for (const auto& b : builtinChains(cur_name)) {
          t.order.push_back(b);
          t.chains[b];
        }
      }
      cur = &t;
      if (!noflush) {
        Table fresh;
        for (const auto& b : builtinChains(cur_name)) {
          fresh.order.push_back(b);
          fresh.chains[b];
        }
        *cur = std::move(fresh);
      }
      continue;
    }
    if (!cur) return fail("rule outside a table");
    if (line == "COMMIT") {
      SKIFF_TRY(validate(*cur));
      cur = nullptr;
      continue;
    }
    if (line[0] == ':') {
      auto sp = line.find(' ');
      std::string name(
          line.substr(1, sp == std::string_view::npos ? std::string_view::npos : sp - 1));
      if (!cur->hasChain(name)) cur->order.push_back(name);
      const auto& builtins = builtinChains(cur_name);
      bool builtin = std::find(builtins.begin(), builtins.end(), name) != builtins.end();
      if (!builtin || !noflush) cur->chains[name].clear();
      continue;
    }
    SKIFF_ASSIGN_OR_RETURN(auto words, splitRestoreWords(line));
    if (words.size() >= 2 && words[0] == "-X") {
      if (!cur->hasChain(words[1])) return fail(fmt::format("-X: no chain '{}'", words[1]));
      cur->chains.erase(words[1]);
      cur->order.erase(std::find(cur->order.begin(), cur->order.end(), words[1]));
      continue;
    }
    if (words.size() >= 3 && words[0] == "-A") {
      if (!cur->hasChain(words[1])) return fail(fmt::format("-A: no chain '{}'", words[1]));
      auto rest = line.substr(line.find(words[1]) + words[1].size());
      auto rule = parseRule(rest);
      if (!rule) return fail(rule.error().message());
      cur->chains[words[1]].push_back(std::move(*rule));
      continue;
    }
    return fail(fmt::format("unsupported line '{}'", line));
  }
  if (cur) return fail("missing COMMIT");
  tables_ = std::move(tables);
  return ok();
}

std::string FakeIptables::save(std::string_view table) const {
  const Table* t = this->table(table);
  if (!t) return {};
  std::string out = fmt::format("*{}\n", table);
  const auto& builtins = builtinChains(table);
  std::vector<std::string> user;
  for (const auto& [name, r] : t->chains) {
    if (std::find(builtins.begin(), builtins.end(), name) == builtins.end()) user.push_back(name);
  }
  for (const auto& b : builtins) out += fmt::format(":{} ACCEPT [0:0]\n", b);
  for (const auto& u : user) out += fmt::format(":{} - [0:0]\n", u);
  for (const auto& b : builtins) {
    for (const Rule& r : t->chains.at(b)) out += renderAppend(b, r) + "\n";
  }
  for (const auto& u : user) {
    for (const Rule& r : t->chains.at(u)) out += renderAppend(u, r) + "\n";
  }
  out += "COMMIT\n";
  return out;
}

// ---------------------------------------------------------------------------------------------
// The tracer.

namespace {

struct PacketState {
  TracePacket pkt;
  uint32_t mark = 0;
  bool dnat = false;
  std::optional<std::string> dnat_to;
  bool masq = false;
};

struct Outcome {
  PacketState st;
  std::string verdict;  // "" = returned / fell off; ACCEPT, DROP, REJECT
};

enum class Tri { No, Yes, Maybe };

struct Tracer {
  const FakeIptables::Table& table;
  const std::set<Ipv4>& locals;
  TraceResult& result;
  int depth = 0;

  Tri matches(const Rule& r, const PacketState& s) {
    const TracePacket& p = s.pkt;
    if (r.src && (r.src->contains(p.src) == r.src_invert)) return Tri::No;
    if (r.dst && (r.dst->contains(p.dst) == r.dst_invert)) return Tri::No;
    if (r.proto && *r.proto != p.proto) return Tri::No;
    Tri out = Tri::Yes;
    for (const Match& m : r.matches) {
      if (auto* pm = std::get_if<match::Port>(&m)) {
        if (pm->dport != 0 && pm->dport != p.dport) return Tri::No;
      } else if (auto* st = std::get_if<match::Statistic>(&m)) {
        if (st->probability == 0) return Tri::No;
        if (st->probability < 0x80000000u) out = Tri::Maybe;
      } else if (auto* rc = std::get_if<match::Recent>(&m)) {
        if (!rc->set) out = Tri::Maybe;
      } else if (auto* mk = std::get_if<match::Mark>(&m)) {
        if (((s.mark & mk->mask) == mk->mark) == mk->invert) return Tri::No;
      } else if (auto* at = std::get_if<match::AddrType>(&m)) {
        bool ok = true;
        if (at->src_local) ok = ok && locals.count(p.src);
        if (at->dst_local) ok = ok && locals.count(p.dst);
        if (ok == at->invert) return Tri::No;
      } else if (auto* ct = std::get_if<match::Conntrack>(&m)) {
        uint16_t state = kCtNew | (s.dnat ? kCtDnat : 0);
        if (((state & ct->states) != 0) == ct->invert) return Tri::No;
      }
    }
    return out;
  }

  std::vector<Outcome> run(const std::string& chain, std::size_t idx, PacketState st) {
    if (idx == 0) result.chains.push_back(chain);
    if (depth >= 64) return {{st, "DROP"}};  // a loop: the kernel refuses these anyway
    ++depth;
    std::vector<Outcome> outs;
    const auto& rules = table.chains.at(chain);
    for (std::size_t i = idx; i < rules.size(); ++i) {
      const Rule& r = rules[i];
      Tri m = matches(r, st);
      if (m == Tri::No) continue;
      if (m == Tri::Maybe) {
        auto rest = run(chain, i + 1, st);
        outs.insert(outs.end(), rest.begin(), rest.end());
      }
      // Take the rule.
      if (auto* j = std::get_if<target::Jump>(&r.target)) {
        if (j->chain == "RETURN") {
          outs.push_back({st, ""});
        } else if (isStandardVerdict(j->chain)) {
          outs.push_back({st, j->chain});
        } else if (table.hasChain(j->chain)) {
          for (Outcome& o : run(j->chain, 0, st)) {
            if (o.verdict.empty()) {
              auto rest = run(chain, i + 1, o.st);
              outs.insert(outs.end(), rest.begin(), rest.end());
            } else {
              outs.push_back(std::move(o));
            }
          }
        }
      } else if (auto* sm = std::get_if<target::SetMark>(&r.target)) {
        PacketState next = st;
        next.mark = (next.mark & ~sm->mask) ^ sm->value;
        auto rest = run(chain, i + 1, next);
        outs.insert(outs.end(), rest.begin(), rest.end());
      } else if (auto* d = std::get_if<target::Dnat>(&r.target)) {
        PacketState next = st;
        next.dnat = true;
        next.dnat_to = fmt::format("{}:{}", d->ip.str(), d->port ? d->port : st.pkt.dport);
        next.pkt.dst = d->ip;
        if (d->port) next.pkt.dport = d->port;
        outs.push_back({next, "ACCEPT"});
      } else if (std::holds_alternative<target::Masquerade>(r.target)) {
        PacketState next = st;
        next.masq = true;
        outs.push_back({next, "ACCEPT"});
      } else if (std::holds_alternative<target::Reject>(r.target)) {
        outs.push_back({st, "REJECT"});
      }
      --depth;
      return outs;
    }
    outs.push_back({st, ""});
    --depth;
    return outs;
  }
};

}  // namespace

TraceResult tracePacket(const FakeIptables& ipt, const TracePacket& packet,
                        const std::set<Ipv4>& locals) {
  TraceResult res;
  const auto* nat = ipt.table("nat");
  const auto* filter = ipt.table("filter");
  PacketState start;
  start.pkt = packet;
  std::vector<Outcome> after_nat{{start, ""}};
  if (nat) {
    Tracer t{*nat, locals, res};
    after_nat = t.run(packet.locally_generated ? "OUTPUT" : "PREROUTING", 0, start);
  }
  for (const Outcome& n : after_nat) {
    if (n.st.dnat_to) res.destinations.insert(*n.st.dnat_to);
    std::string fchain = packet.locally_generated          ? "OUTPUT"
                         : locals.count(n.st.pkt.dst) != 0 ? "INPUT"
                                                           : "FORWARD";
    std::vector<Outcome> after_filter{{n.st, ""}};
    if (filter) {
      Tracer t{*filter, locals, res};
      after_filter = t.run(fchain, 0, n.st);
    }
    for (const Outcome& f : after_filter) {
      std::string v = f.verdict.empty() ? "ACCEPT" : f.verdict;
      res.verdicts.insert(v);
      if (v != "ACCEPT" || !nat) continue;
      if (fchain == "INPUT") continue;  // delivered locally: no POSTROUTING
      Tracer t{*nat, locals, res};
      for (const Outcome& p : t.run("POSTROUTING", 0, f.st)) {
        if (p.st.masq) res.masqueraded = true;
      }
    }
  }
  return res;
}

}  // namespace skiff::netproxy::testing
