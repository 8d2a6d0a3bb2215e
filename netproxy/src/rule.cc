#include "skiff/netproxy/rule.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace skiff::netproxy {

std::string_view protocolName(Protocol p) { return p == Protocol::Tcp ? "tcp" : "udp"; }

match::Statistic match::Statistic::fromProbability(double p) {
  // kube-proxy prints probabilities with "%0.10f" (proxier.go computeProbability); iptables then
  // stores lround(2^31 * p). Doing both steps keeps our kernel blob bit-identical to
  // iptables-restore of kube-proxy's text.
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0.10f", p);
  double q = std::strtod(buf, nullptr);
  return Statistic{static_cast<uint32_t>(std::lround(q * 2147483648.0))};
}

double match::Statistic::probabilityValue() const { return probability / 2147483648.0; }

bool Rule::operator==(const Rule& o) const { return render(*this) == render(o); }

bool isStandardVerdict(std::string_view t) {
  return t == "ACCEPT" || t == "DROP" || t == "RETURN" || t == "QUEUE";
}

std::string saveQuote(std::string_view value) {
  static constexpr std::string_view kNoQuote =
      "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  if (!value.empty() && value.find_first_not_of(kNoQuote) == std::string_view::npos) {
    return std::string(value);
  }
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

namespace {

std::string cidrText(const Cidr& c) { return fmt::format("{}/{}", c.network().str(), c.prefix); }

std::string statesText(uint16_t s) {
  std::string out;
  auto add = [&](uint16_t bit, const char* name) {
    if (s & bit) {
      if (!out.empty()) out += ',';
      out += name;
    }
  };
  add(kCtInvalid, "INVALID");
  add(kCtNew, "NEW");
  add(kCtRelated, "RELATED");
  add(kCtEstablished, "ESTABLISHED");
  add(1 << 8, "UNTRACKED");
  add(kCtSnat, "SNAT");
  add(kCtDnat, "DNAT");
  return out;
}

std::string markText(uint32_t v, uint32_t m) {
  return m == 0xffffffffu ? fmt::format("0x{:x}", v) : fmt::format("0x{:x}/0x{:x}", v, m);
}

struct MatchRenderer {
  const Rule& rule;
  std::string& out;
  void operator()(const match::Comment& m) { out += " -m comment --comment " + saveQuote(m.text); }
  void operator()(const match::Port& m) {
    out += fmt::format(" -m {}", rule.proto ? protocolName(*rule.proto) : "tcp");
    if (m.dport != 0) out += fmt::format(" --dport {}", m.dport);
  }
  void operator()(const match::Statistic& m) {
    out += fmt::format(" -m statistic --mode random --probability {:.11f}", m.probabilityValue());
  }
  void operator()(const match::Recent& m) {
    out += " -m recent";
    if (m.set) {
      out += " --set";
    } else {
      out += " --rcheck";
      if (m.seconds) out += fmt::format(" --seconds {}", m.seconds);
      out += " --reap";
    }
    out += fmt::format(" --name {} --mask 255.255.255.255 --rsource", m.name);
  }
  void operator()(const match::Mark& m) {
    out += fmt::format(" -m mark{} --mark {}", m.invert ? " !" : "", markText(m.mark, m.mask));
  }
  void operator()(const match::AddrType& m) {
    out += " -m addrtype";
    if (m.src_local) out += fmt::format("{} --src-type LOCAL", m.invert ? " !" : "");
    if (m.dst_local) out += fmt::format("{} --dst-type LOCAL", m.invert ? " !" : "");
  }
  void operator()(const match::Conntrack& m) {
    out += fmt::format(" -m conntrack{} --ctstate {}", m.invert ? " !" : "", statesText(m.states));
  }
};

struct TargetRenderer {
  std::string& out;
  void operator()(const target::Jump& t) { out += " -j " + t.chain; }
  void operator()(const target::SetMark& t) {
    out += fmt::format(" -j MARK --set-xmark 0x{:x}/0x{:x}", t.value, t.mask);
  }
  void operator()(const target::Masquerade& t) {
    out += t.random_fully ? " -j MASQUERADE --random-fully" : " -j MASQUERADE";
  }
  void operator()(const target::Dnat& t) {
    out += " -j DNAT --to-destination " + t.ip.str();
    if (t.port) out += fmt::format(":{}", t.port);
  }
  void operator()(const target::Reject&) {
    out += " -j REJECT --reject-with icmp-port-unreachable";
  }
};

}  // namespace

std::string render(const Rule& r) {
  std::string out;
  if (r.src) out += fmt::format("{}-s {}", r.src_invert ? " ! " : " ", cidrText(*r.src));
  if (r.dst) out += fmt::format("{}-d {}", r.dst_invert ? " ! " : " ", cidrText(*r.dst));
  if (r.proto) out += fmt::format(" -p {}", protocolName(*r.proto));
  for (const auto& m : r.matches) std::visit(MatchRenderer{r, out}, m);
  std::visit(TargetRenderer{out}, r.target);
  if (!out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

std::string renderAppend(std::string_view chain, const Rule& rule) {
  return fmt::format("-A {} {}", chain, render(rule));
}

Result<std::vector<std::string>> splitRestoreWords(std::string_view line) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    std::string w;
    if (line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        char c = line[i++];
        if (c == '\\' && i < line.size()) {
          w += line[i++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          w += c;
        }
      }
      if (!closed) {
        return Error(ErrorCode::Invalid, fmt::format("parse rule '{}': unterminated quote", line));
      }
    } else {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') w += line[i++];
    }
    words.push_back(std::move(w));
  }
  return words;
}

namespace {

Result<uint32_t> parseU32(std::string_view s, std::string_view what) {
  std::string t(s);
  char* end = nullptr;
  errno = 0;
  unsigned long v = std::strtoul(t.c_str(), &end, 0);
  if (t.empty() || *end != '\0' || errno != 0 || v > 0xffffffffUL) {
    return Error(ErrorCode::Invalid, fmt::format("parse {} '{}': not a number", what, s));
  }
  return static_cast<uint32_t>(v);
}

Result<std::pair<uint32_t, uint32_t>> parseMarkMask(std::string_view s) {
  auto slash = s.find('/');
  SKIFF_ASSIGN_OR_RETURN(uint32_t v, parseU32(s.substr(0, slash), "mark"));
  uint32_t m = 0xffffffffu;
  if (slash != std::string_view::npos) {
    SKIFF_ASSIGN_OR_RETURN(m, parseU32(s.substr(slash + 1), "mark mask"));
  }
  return std::pair{v, m};
}

Result<uint16_t> parseStates(std::string_view s) {
  uint16_t out = 0;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    auto comma = s.find(',', pos);
    auto name =
        s.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (name == "INVALID")
      out |= kCtInvalid;
    else if (name == "NEW")
      out |= kCtNew;
    else if (name == "RELATED")
      out |= kCtRelated;
    else if (name == "ESTABLISHED")
      out |= kCtEstablished;
    else if (name == "UNTRACKED")
      out |= 1 << 8;
    else if (name == "SNAT")
      out |= kCtSnat;
    else if (name == "DNAT")
      out |= kCtDnat;
    else
      return Error(ErrorCode::Invalid, fmt::format("parse ctstate '{}': unknown state", name));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

// parseRule's state while it walks the words of one rule, one method per kind of word.
struct RuleParser {
  RuleParser(std::string_view rule_text, std::vector<std::string> words)
      : text(rule_text), w(std::move(words)) {}

  std::string_view text;
  std::vector<std::string> w;
  Rule r;
  bool have_target = false;
  std::string module;  // the -m currently taking options

  Result<std::string> need(std::size_t i) const {
    if (i + 1 >= w.size()) {
      return Error(ErrorCode::Invalid,
                   fmt::format("parse rule '{}': '{}' needs a value", text, w[i]));
    }
    return w[i + 1];
  }
  Error bad(const std::string& what) const {
    return Error(ErrorCode::Invalid, fmt::format("parse rule '{}': unsupported {}", text, what));
  }

  // One word (and the value it takes) of the rule; t is w[i], inv whether a "!" preceded it.
  Result<void> word(const std::string& t, bool inv, std::size_t& i) {
    if (t == "-s" || t == "--source" || t == "-d" || t == "--destination") {
      SKIFF_ASSIGN_OR_RETURN(auto v, need(i));
      ++i;
      SKIFF_ASSIGN_OR_RETURN(Cidr c, Cidr::parse(v));
      if (t[1] == 's' || t == "--source") {
        r.src = c;
        r.src_invert = inv;
      } else {
        r.dst = c;
        r.dst_invert = inv;
      }
    } else if (t == "-p" || t == "--protocol") {
      SKIFF_ASSIGN_OR_RETURN(auto v, need(i));
      ++i;
      if (v == "tcp")
        r.proto = Protocol::Tcp;
      else if (v == "udp")
        r.proto = Protocol::Udp;
      else
        return bad("protocol '" + v + "'");
    } else if (t == "-m" || t == "--match") {
      return matchModule(i);
    } else if (t == "-j" || t == "--jump") {
      return jumpTarget(i);
    } else if (t.rfind("--", 0) == 0) {
      return option(t, inv, i);
    } else {
      return bad("word '" + t + "'");
    }
    return ok();
  }

  // -m NAME: the match whose options follow.
  Result<void> matchModule(std::size_t& i) {
    SKIFF_ASSIGN_OR_RETURN(module, need(i));
    ++i;
    if (module == "comment")
      r.matches.push_back(match::Comment{});
    else if (module == "tcp" || module == "udp")
      r.matches.push_back(match::Port{});
    else if (module == "statistic")
      r.matches.push_back(match::Statistic{});
    else if (module == "recent")
      r.matches.push_back(match::Recent{});
    else if (module == "mark")
      r.matches.push_back(match::Mark{});
    else if (module == "addrtype")
      r.matches.push_back(match::AddrType{});
    else if (module == "conntrack")
      r.matches.push_back(match::Conntrack{});
    else
      return bad("match '" + module + "'");
    return ok();
  }

  // -j TARGET: the target whose options follow.
  Result<void> jumpTarget(std::size_t& i) {
    SKIFF_ASSIGN_OR_RETURN(auto v, need(i));
    ++i;
    module = "-j " + v;
    have_target = true;
    if (v == "MARK")
      r.target = target::SetMark{};
    else if (v == "MASQUERADE")
      r.target = target::Masquerade{};
    else if (v == "DNAT")
      r.target = target::Dnat{};
    else if (v == "REJECT")
      r.target = target::Reject{};
    else
      r.target = target::Jump{v};
    return ok();
  }

  // An option of the current match or target.
  Result<void> option(const std::string& t, bool inv, std::size_t& i) {
    auto* m = r.matches.empty() || module.rfind("-j ", 0) == 0 ? nullptr : &r.matches.back();
    SKIFF_ASSIGN_OR_RETURN(bool taken, matchOption(m, t, inv, i));
    if (taken) return ok();
    return targetOption(t, i);
  }

  // An option of match m (null when a target takes the options); false when m takes no
  // option t.
  Result<bool> matchOption(Match* m, const std::string& t, bool inv, std::size_t& i) {
    auto value = [&]() { return need(i); };
    if (m && std::holds_alternative<match::Comment>(*m) && t == "--comment") {
      SKIFF_ASSIGN_OR_RETURN(std::get<match::Comment>(*m).text, value());
      ++i;
    } else if (m && std::holds_alternative<match::Port>(*m) && t == "--dport") {
      SKIFF_ASSIGN_OR_RETURN(auto v, value());
      ++i;
      SKIFF_ASSIGN_OR_RETURN(uint32_t p, parseU32(v, "port"));
      if (p == 0 || p > 65535 || inv) return bad("--dport '" + v + "'");
      std::get<match::Port>(*m).dport = static_cast<uint16_t>(p);
    } else if (m && std::holds_alternative<match::Statistic>(*m)) {
      SKIFF_TRY(statisticOption(std::get<match::Statistic>(*m), t, i));
    } else if (m && std::holds_alternative<match::Recent>(*m)) {
      SKIFF_TRY(recentOption(std::get<match::Recent>(*m), t, i));
    } else if (m && std::holds_alternative<match::Mark>(*m) && t == "--mark") {
      SKIFF_ASSIGN_OR_RETURN(auto v, value());
      ++i;
      SKIFF_ASSIGN_OR_RETURN(auto mm, parseMarkMask(v));
      std::get<match::Mark>(*m) = match::Mark{mm.first, mm.second, inv};
    } else if (m && std::holds_alternative<match::AddrType>(*m) &&
               (t == "--src-type" || t == "--dst-type")) {
      SKIFF_ASSIGN_OR_RETURN(auto v, value());
      ++i;
      if (v != "LOCAL") return bad("address type '" + v + "'");
      auto& a = std::get<match::AddrType>(*m);
      (t == "--src-type" ? a.src_local : a.dst_local) = true;
      a.invert = a.invert || inv;
    } else if (m && std::holds_alternative<match::Conntrack>(*m) &&
               (t == "--ctstate" || t == "--state")) {
      SKIFF_ASSIGN_OR_RETURN(auto v, value());
      ++i;
      SKIFF_ASSIGN_OR_RETURN(uint16_t s, parseStates(v));
      std::get<match::Conntrack>(*m) = match::Conntrack{s, inv};
    } else {
      return false;
    }
    return true;
  }

  // -m statistic: --mode random, --probability P.
  Result<void> statisticOption(match::Statistic& st, const std::string& t, std::size_t& i) {
    SKIFF_ASSIGN_OR_RETURN(auto v, need(i));
    ++i;
    if (t == "--mode" && v == "random") return ok();
    if (t != "--probability") return bad("statistic option '" + t + "'");
    char* end = nullptr;
    double p = std::strtod(v.c_str(), &end);
    if (*end != '\0' || !(p >= 0.0 && p <= 1.0)) return bad("probability '" + v + "'");
    st.probability = static_cast<uint32_t>(std::lround(p * 2147483648.0));
    return ok();
  }

  // -m recent: --set, --rcheck, --reap, --rsource, --name N, --seconds S, --mask 255.255.255.255.
  Result<void> recentOption(match::Recent& rc, const std::string& t, std::size_t& i) {
    auto value = [&]() { return need(i); };
    if (t == "--set")
      rc.set = true;
    else if (t == "--rcheck" || t == "--reap" || t == "--rsource") {
    } else if (t == "--name" || t == "--seconds" || t == "--mask") {
      SKIFF_ASSIGN_OR_RETURN(auto v, value());
      ++i;
      if (t == "--name")
        rc.name = v;
      else if (t == "--seconds") {
        SKIFF_ASSIGN_OR_RETURN(rc.seconds, parseU32(v, "seconds"));
      } else if (v != "255.255.255.255")
        return bad("recent mask '" + v + "'");
    } else
      return bad("recent option '" + t + "'");
    return ok();
  }

  // An option of the -j target (MARK, MASQUERADE, DNAT, REJECT).
  Result<void> targetOption(const std::string& t, std::size_t& i) {
    auto value = [&]() { return need(i); };
    if (have_target && std::holds_alternative<target::SetMark>(r.target)) {
      SKIFF_ASSIGN_OR_RETURN(auto v, value());
      ++i;
      SKIFF_ASSIGN_OR_RETURN(auto mm, parseMarkMask(v));
      auto& sm = std::get<target::SetMark>(r.target);
      if (t == "--set-xmark")
        sm = {mm.first, mm.second};
      else if (t == "--or-mark")
        sm = {mm.first, mm.first};
      else if (t == "--xor-mark")
        sm = {mm.first, 0};
      else
        return bad("MARK option '" + t + "'");
    } else if (have_target && std::holds_alternative<target::Masquerade>(r.target) &&
               t == "--random-fully") {
      std::get<target::Masquerade>(r.target).random_fully = true;
    } else if (have_target && std::holds_alternative<target::Dnat>(r.target) &&
               t == "--to-destination") {
      SKIFF_ASSIGN_OR_RETURN(auto v, value());
      ++i;
      auto colon = v.find(':');
      SKIFF_ASSIGN_OR_RETURN(Ipv4 ip, Ipv4::parse(v.substr(0, colon)));
      uint32_t port = 0;
      if (colon != std::string::npos) {
        SKIFF_ASSIGN_OR_RETURN(port, parseU32(v.substr(colon + 1), "port"));
        if (port == 0 || port > 65535) return bad("DNAT port '" + v + "'");
      }
      std::get<target::Dnat>(r.target) = {ip, static_cast<uint16_t>(port)};
    } else if (have_target && std::holds_alternative<target::Reject>(r.target) &&
               t == "--reject-with") {
      SKIFF_ASSIGN_OR_RETURN(auto v, value());
      ++i;
      if (v != "icmp-port-unreachable") return bad("reject type '" + v + "'");
    } else {
      return bad("option '" + t + "'");
    }
    return ok();
  }
};

}  // namespace

Result<Rule> parseRule(std::string_view text) {
  SKIFF_ASSIGN_OR_RETURN(auto w, splitRestoreWords(text));
  RuleParser p(text, std::move(w));
  bool bang = false;
  for (std::size_t i = 0; i < p.w.size(); ++i) {
    const std::string& t = p.w[i];
    if (t == "!") {
      bang = true;
      continue;
    }
    bool inv = std::exchange(bang, false);
    SKIFF_TRY(p.word(t, inv, i));
  }
  if (!p.have_target) return Error(ErrorCode::Invalid, fmt::format("parse rule '{}': no -j", text));
  return std::move(p.r);
}

}  // namespace skiff::netproxy

namespace skiff::netproxy {
const std::vector<std::string>& builtinChains(std::string_view table) {
  static const std::vector<std::string> kFilter{"INPUT", "FORWARD", "OUTPUT"};
  static const std::vector<std::string> kNat{"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"};
  static const std::vector<std::string> kMangle{"PREROUTING", "INPUT", "FORWARD", "OUTPUT",
                                                "POSTROUTING"};
  static const std::vector<std::string> kRaw{"PREROUTING", "OUTPUT"};
  static const std::vector<std::string> kNone;
  if (table == "filter") return kFilter;
  if (table == "nat") return kNat;
  if (table == "mangle") return kMangle;
  if (table == "raw") return kRaw;
  return kNone;
}
}  // namespace skiff::netproxy

namespace skiff::netproxy {
namespace {
struct Fnv {
  uint64_t h;
  void bytes(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) {
      h ^= b[i];
      h *= 1099511628211ull;
    }
  }
  void u64(uint64_t v) { bytes(&v, sizeof v); }
  void str(const std::string& s) {
    u64(s.size());
    bytes(s.data(), s.size());
  }
};
}  // namespace

uint64_t ruleFingerprint(const Rule& r, uint64_t seed) {
  Fnv f{seed ^ 1469598103934665603ull};
  f.u64(r.src ? (uint64_t{r.src->network().value} << 8 | static_cast<uint64_t>(r.src->prefix))
              : ~0ull);
  f.u64(r.src_invert);
  f.u64(r.dst ? (uint64_t{r.dst->network().value} << 8 | static_cast<uint64_t>(r.dst->prefix))
              : ~0ull);
  f.u64(r.dst_invert);
  f.u64(r.proto ? static_cast<uint64_t>(*r.proto) : 9);
  for (const Match& m : r.matches) {
    f.u64(m.index());
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, match::Comment>)
            f.str(v.text);
          else if constexpr (std::is_same_v<T, match::Port>)
            f.u64(v.dport);
          else if constexpr (std::is_same_v<T, match::Statistic>)
            f.u64(v.probability);
          else if constexpr (std::is_same_v<T, match::Recent>) {
            f.str(v.name);
            f.u64(v.set);
            f.u64(v.seconds);
          } else if constexpr (std::is_same_v<T, match::Mark>) {
            f.u64(v.mark);
            f.u64(v.mask);
            f.u64(v.invert);
          } else if constexpr (std::is_same_v<T, match::AddrType>) {
            f.u64(v.src_local | v.dst_local << 1 | v.invert << 2);
          } else if constexpr (std::is_same_v<T, match::Conntrack>) {
            f.u64(v.states | v.invert << 16);
          }
        },
        m);
  }
  f.u64(100 + r.target.index());
  std::visit(
      [&](const auto& t) {
        using T = std::decay_t<decltype(t)>;
        if constexpr (std::is_same_v<T, target::Jump>)
          f.str(t.chain);
        else if constexpr (std::is_same_v<T, target::SetMark>) {
          f.u64(t.value);
          f.u64(t.mask);
        } else if constexpr (std::is_same_v<T, target::Masquerade>)
          f.u64(t.random_fully);
        else if constexpr (std::is_same_v<T, target::Dnat>) {
          f.u64(t.ip.value);
          f.u64(t.port);
        }
      },
      r.target);
  return f.h;
}
}  // namespace skiff::netproxy
