// nft's text form of the seam's values (the syntax knftables writes for kube-proxy): the
// benchmark feeds it to `nft -f` as the reference, tests and logs read it.

#include <fmt/format.h>

#include "skiff/netproxy/sys/nftables.h"

namespace skiff::netproxy::nft {

namespace {

std::string cidrText(const Cidr& c) {
  Cidr n{c.network(), c.prefix};
  return c.prefix == 32 ? c.addr.str() : n.str();
}

std::string verdictText(const stmt::Verdict& v) {
  switch (v.kind) {
    case stmt::VerdictKind::Accept:
      return "accept";
    case stmt::VerdictKind::Drop:
      return "drop";
    case stmt::VerdictKind::Return:
      return "return";
    case stmt::VerdictKind::Jump:
      return "jump " + v.chain;
    case stmt::VerdictKind::Goto:
      return "goto " + v.chain;
  }
  return "";
}

std::string keysText(KeyShape k) {
  return k == KeyShape::AddrProtoPort ? "ip daddr . meta l4proto . th dport"
                                      : "meta l4proto . th dport";
}

struct StmtText {
  std::string operator()(const stmt::Addr& a) {
    return fmt::format("ip {} {}{}", a.source ? "saddr" : "daddr", a.negate ? "!= " : "",
                       cidrText(a.cidr));
  }
  std::string operator()(const stmt::Proto& p) {
    if (p.dport == 0) return fmt::format("meta l4proto {}", protocolName(p.protocol));
    return fmt::format("{} dport {}", protocolName(p.protocol), p.dport);
  }
  std::string operator()(const stmt::MarkTest& m) {
    return fmt::format("mark and {:#x} {} 0", m.bits, m.is_set ? "!=" : "==");
  }
  std::string operator()(const stmt::CtNew&) { return "ct state new"; }
  std::string operator()(const stmt::FibLocal& f) {
    return fmt::format("fib {} type local", f.source ? "saddr" : "daddr");
  }
  std::string operator()(const stmt::InSet& s) {
    return fmt::format("ip {} {}@{}", s.source ? "saddr" : "daddr", s.negate ? "!= " : "", s.set);
  }
  std::string operator()(const stmt::Vmap& v) {
    return fmt::format("{} vmap @{}", keysText(v.keys), v.map);
  }
  std::string operator()(const stmt::NumgenVmap& n) {
    std::string s = fmt::format("numgen random mod {} vmap {{ ", n.chains.size());
    for (std::size_t i = 0; i < n.chains.size(); ++i) {
      s += fmt::format("{}{} : goto {}", i ? ", " : "", i, n.chains[i]);
    }
    return s + " }";
  }
  std::string operator()(const stmt::MarkSet& m) {
    return fmt::format("mark set mark {} {:#x}", m.xor_ ? "xor" : "or", m.bits);
  }
  std::string operator()(const stmt::Masquerade& m) {
    return m.fully_random ? "masquerade fully-random" : "masquerade";
  }
  std::string operator()(const stmt::Dnat& d) {
    return fmt::format("meta l4proto {} dnat to {}:{}", protocolName(d.protocol), d.ip.str(),
                       d.port);
  }
  std::string operator()(const stmt::Reject& r) {
    return r.tcp_reset ? "reject with tcp reset" : "reject";
  }
  std::string operator()(const stmt::UpdateSaddr& u) {
    return fmt::format("update @{} {{ ip saddr }}", u.set);
  }
  std::string operator()(const stmt::Verdict& v) { return verdictText(v); }
};

std::string elementText(const SetSpec& spec, const Element& e, bool with_verdict) {
  std::string key;
  if (spec.kind != SetKind::VerdictMap) {
    key = e.ip.str();
  } else {
    if (spec.keys == KeyShape::AddrProtoPort) key = e.ip.str() + " . ";
    key += fmt::format("{} . {}", protocolName(e.protocol), e.port);
  }
  if (with_verdict && e.verdict) key += " : " + verdictText(*e.verdict);
  return key;
}

std::string setDecl(const SetSpec& s) {
  switch (s.kind) {
    case SetKind::VerdictMap:
      return fmt::format("map {{ type {} : verdict ; }}",
                         s.keys == KeyShape::AddrProtoPort ? "ipv4_addr . inet_proto . inet_service"
                                                           : "inet_proto . inet_service");
    case SetKind::AddrSet:
      return "set { type ipv4_addr ; }";
    case SetKind::AffinitySet:
      return fmt::format("set {{ type ipv4_addr ; flags dynamic,timeout ; timeout {}s ; }}",
                         s.timeout_s);
  }
  return "";
}

std::string elementsText(const char* verb, const std::string& prefix, const SetSpec& spec,
                         const std::vector<Element>& elems, bool with_verdict) {
  if (elems.empty()) return "";
  std::string s = fmt::format("{} element {} {} {{ ", verb, prefix, spec.name);
  for (std::size_t i = 0; i < elems.size(); ++i) {
    if (i) s += ", ";
    s += elementText(spec, elems[i], with_verdict);
  }
  return s + " }\n";
}

}  // namespace

std::string_view familyName(Family f) { return f == Family::Ip ? "ip" : "ip6"; }

std::string nftText(const Rule& rule) {
  std::string s;
  for (const Stmt& st : rule) {
    if (!s.empty()) s += ' ';
    s += std::visit(StmtText{}, st);
  }
  return s;
}

uint64_t fingerprint(const Rule& rule, uint64_t seed) {
  uint64_t h = seed ^ 0xcbf29ce484222325ull;
  for (unsigned char c : nftText(rule)) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string nftText(const Batch& b) {
  std::string t = fmt::format("{} {}", familyName(b.family), b.table);
  std::string out;
  for (const Op& op : b.ops) {
    if (std::holds_alternative<op::AddTable>(op)) {
      out += "add table " + t + "\n";
    } else if (std::holds_alternative<op::DeleteTable>(op)) {
      out += "delete table " + t + "\n";
    } else if (std::holds_alternative<op::FlushTable>(op)) {
      out += "flush table " + t + "\n";
    } else if (auto* c = std::get_if<op::AddChain>(&op)) {
      out += fmt::format("add chain {} {}", t, c->chain.name);
      if (c->chain.base) {
        out += fmt::format(" {{ type {} hook {} priority {} ; policy accept ; }}",
                           c->chain.base->type, c->chain.base->hook, c->chain.base->priority);
      }
      out += "\n";
    } else if (auto* fc = std::get_if<op::FlushChain>(&op)) {
      out += fmt::format("flush chain {} {}\n", t, fc->chain);
    } else if (auto* dc = std::get_if<op::DeleteChain>(&op)) {
      out += fmt::format("delete chain {} {}\n", t, dc->chain);
    } else if (auto* as = std::get_if<op::AddSet>(&op)) {
      std::string decl = setDecl(as->set);
      auto sp = decl.find(' ');
      out += fmt::format("add {} {} {} {}\n", decl.substr(0, sp), t, as->set.name,
                         decl.substr(sp + 1));
    } else if (auto* fs = std::get_if<op::FlushSet>(&op)) {
      out += fmt::format("flush set {} {}\n", t, fs->set);
    } else if (auto* ds = std::get_if<op::DeleteSet>(&op)) {
      out += fmt::format("delete set {} {}\n", t, ds->set);
    } else if (auto* r = std::get_if<op::AddRule>(&op)) {
      out += fmt::format("add rule {} {} {}\n", t, r->chain, nftText(r->rule));
    } else if (auto* ae = std::get_if<op::AddElements>(&op)) {
      out += elementsText("add", t, ae->set, ae->elements, true);
    } else if (auto* de = std::get_if<op::DeleteElements>(&op)) {
      out += elementsText("delete", t, de->set, de->elements, false);
    }
  }
  return out;
}

}  // namespace skiff::netproxy::nft
