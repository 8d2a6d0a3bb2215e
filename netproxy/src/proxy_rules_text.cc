// The rulesets of proxy_rules.h as iptables-restore input and iptables-save output.
#include <algorithm>

#include <fmt/format.h>

#include "skiff/netproxy/proxy_rules.h"
#include "skiff/netproxy/rule.h"

namespace skiff::netproxy {

namespace {
void appendChains(std::string& out, const std::vector<Chain>& chains) {
  for (const Chain& c : chains) out += fmt::format(":{} - [0:0]\n", c.name);
  for (const Chain& c : chains) {
    for (const Rule& r : c.rules) {
      out += renderAppend(c.name, r);
      out += '\n';
    }
  }
}
}  // namespace

std::string renderRestoreFull(const Ruleset& rules) {
  std::string out;
  for (const TableRules* t : {&rules.filter, &rules.nat}) {
    out += "*" + t->name + "\n";
    appendChains(out, t->chains);
    for (const JumpRule& j : t->jumps) out += renderAppend(j.chain, j.rule) + "\n";
    out += "COMMIT\n";
  }
  return out;
}

std::string renderRestoreNoflush(const std::vector<sys::TableChange>& changes) {
  std::string out;
  for (const sys::TableChange& t : changes) {
    out += "*" + t.table + "\n";
    appendChains(out, t.write);
    for (const std::string& c : t.remove) out += fmt::format(":{} - [0:0]\n", c);
    for (const std::string& c : t.remove) out += fmt::format("-X {}\n", c);
    out += "COMMIT\n";
  }
  return out;
}

std::string renderSave(const TableRules& table) {
  std::string out = "*" + table.name + "\n";
  const auto& builtins = builtinChains(table.name);
  for (const std::string& b : builtins) out += fmt::format(":{} ACCEPT [0:0]\n", b);
  std::vector<const Chain*> sorted;
  for (const Chain& c : table.chains) sorted.push_back(&c);
  // libiptc keeps user chains sorted by name (strcmp), and iptables-save lists them that way.
  std::sort(sorted.begin(), sorted.end(),
            [](const Chain* a, const Chain* b) { return a->name < b->name; });
  for (const Chain* c : sorted) out += fmt::format(":{} - [0:0]\n", c->name);
  for (const std::string& b : builtins) {
    for (const JumpRule& j : table.jumps) {
      if (j.chain == b) out += renderAppend(b, j.rule) + "\n";
    }
  }
  for (const Chain* c : sorted) {
    for (const Rule& r : c->rules) out += renderAppend(c->name, r) + "\n";
  }
  out += "COMMIT\n";
  return out;
}

}  // namespace skiff::netproxy
