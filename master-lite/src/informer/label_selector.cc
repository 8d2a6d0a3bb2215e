#include "skiff/master/informer/label_selector.h"

#include <algorithm>
#include <cctype>

namespace skiff::master {

namespace {

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Splits on commas that are not inside parentheses.
std::vector<std::string> splitTerms(const std::string& text) {
  std::vector<std::string> out;
  int depth = 0;
  std::string cur;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

bool validKey(const std::string& k) {
  if (k.empty() || k.size() > 316) return false;
  for (char c : k) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
          c == '/')) {
      return false;
    }
  }
  return true;
}

Error badSelector(const std::string& text, const std::string& why) {
  return Error(ErrorCode::BadRequest, "unable to parse requirement '" + text + "': " + why);
}

}  // namespace

LabelSelector LabelSelector::nothing() {
  LabelSelector s;
  s.nothing_ = true;
  return s;
}

Result<LabelSelector> LabelSelector::parse(const std::string& text) {
  LabelSelector sel;
  if (trim(text).empty()) return sel;
  for (const std::string& raw : splitTerms(text)) {
    std::string t = trim(raw);
    if (t.empty()) return badSelector(text, "empty requirement");
    Requirement r;
    // Set-based: "key in (a,b)" / "key notin (a,b)".
    auto paren = t.find('(');
    if (paren != std::string::npos) {
      if (t.back() != ')') return badSelector(t, "missing ')'");
      std::string head = trim(t.substr(0, paren));
      std::string inner = t.substr(paren + 1, t.size() - paren - 2);
      auto sp = head.find_last_of(" \t");
      if (sp == std::string::npos) return badSelector(t, "expected 'in' or 'notin'");
      std::string op = trim(head.substr(sp + 1));
      r.key = trim(head.substr(0, sp));
      if (op == "in") {
        r.op = Op::In;
      } else if (op == "notin") {
        r.op = Op::NotIn;
      } else {
        return badSelector(t, "unknown operator '" + op + "'");
      }
      for (const std::string& v : splitTerms(inner)) {
        std::string tv = trim(v);
        if (!tv.empty()) r.values.push_back(tv);
      }
    } else if (auto ne = t.find("!="); ne != std::string::npos) {
      r.key = trim(t.substr(0, ne));
      r.op = Op::NotEquals;
      r.values = {trim(t.substr(ne + 2))};
    } else if (auto eq2 = t.find("=="); eq2 != std::string::npos) {
      r.key = trim(t.substr(0, eq2));
      r.op = Op::Equals;
      r.values = {trim(t.substr(eq2 + 2))};
    } else if (auto eq = t.find('='); eq != std::string::npos) {
      r.key = trim(t.substr(0, eq));
      r.op = Op::Equals;
      r.values = {trim(t.substr(eq + 1))};
    } else if (t[0] == '!') {
      r.key = trim(t.substr(1));
      r.op = Op::DoesNotExist;
    } else {
      r.key = t;
      r.op = Op::Exists;
    }
    if (!validKey(r.key)) return badSelector(t, "invalid label key '" + r.key + "'");
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

Result<LabelSelector> LabelSelector::fromJson(const json& selector) {
  if (selector.is_null()) return nothing();
  if (!selector.is_object()) return Error(ErrorCode::Invalid, "selector: must be an object");
  LabelSelector sel;
  if (auto ml = selector.find("matchLabels"); ml != selector.end() && ml->is_object()) {
    for (auto it = ml->begin(); it != ml->end(); ++it) {
      if (!it.value().is_string()) {
        return Error(ErrorCode::Invalid, "selector.matchLabels: values must be strings");
      }
      sel.reqs_.push_back({it.key(), Op::Equals, {it.value().get<std::string>()}});
    }
  }
  if (auto me = selector.find("matchExpressions"); me != selector.end() && me->is_array()) {
    for (const auto& e : *me) {
      if (!e.is_object()) return Error(ErrorCode::Invalid, "selector.matchExpressions: bad entry");
      Requirement r;
      r.key = e.value("key", "");
      std::string op = e.value("operator", "");
      if (op == "In") {
        r.op = Op::In;
      } else if (op == "NotIn") {
        r.op = Op::NotIn;
      } else if (op == "Exists") {
        r.op = Op::Exists;
      } else if (op == "DoesNotExist") {
        r.op = Op::DoesNotExist;
      } else {
        return Error(ErrorCode::Invalid, "selector.matchExpressions: '" + op +
                                             "' is not a valid label selector operator");
      }
      if (auto vs = e.find("values"); vs != e.end() && vs->is_array()) {
        for (const auto& v : *vs) {
          if (v.is_string()) r.values.push_back(v.get<std::string>());
        }
      }
      sel.reqs_.push_back(std::move(r));
    }
  }
  return sel;
}

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  if (nothing_) return false;
  for (const auto& r : reqs_) {
    auto it = labels.find(r.key);
    bool has = it != labels.end();
    switch (r.op) {
      case Op::Equals:
        if (!has || it->second != r.values[0]) return false;
        break;
      case Op::NotEquals:
        if (has && it->second == r.values[0]) return false;
        break;
      case Op::In:
        if (!has || std::find(r.values.begin(), r.values.end(), it->second) == r.values.end()) {
          return false;
        }
        break;
      case Op::NotIn:
        if (has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end()) {
          return false;
        }
        break;
      case Op::Exists:
        if (!has) return false;
        break;
      case Op::DoesNotExist:
        if (has) return false;
        break;
    }
  }
  return true;
}

std::string LabelSelector::toString() const {
  std::string out;
  for (const auto& r : reqs_) {
    if (!out.empty()) out += ",";
    auto joined = [&] {
      std::vector<std::string> v = r.values;
      std::sort(v.begin(), v.end());
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
      return s;
    };
    switch (r.op) {
      case Op::Equals: out += r.key + "=" + r.values[0]; break;
      case Op::NotEquals: out += r.key + "!=" + r.values[0]; break;
      case Op::In: out += r.key + " in (" + joined() + ")"; break;
      case Op::NotIn: out += r.key + " notin (" + joined() + ")"; break;
      case Op::Exists: out += r.key; break;
      case Op::DoesNotExist: out += "!" + r.key; break;
    }
  }
  return out;
}

Result<FieldSelector> FieldSelector::parse(const std::string& text) {
  FieldSelector sel;
  if (trim(text).empty()) return sel;
  for (const std::string& raw : splitTerms(text)) {
    std::string t = trim(raw);
    Term term;
    std::string lhs;
    if (auto ne = t.find("!="); ne != std::string::npos) {
      lhs = t.substr(0, ne);
      term.equal = false;
      term.value = t.substr(ne + 2);
    } else if (auto eq2 = t.find("=="); eq2 != std::string::npos) {
      lhs = t.substr(0, eq2);
      term.equal = true;
      term.value = t.substr(eq2 + 2);
    } else if (auto eq = t.find('='); eq != std::string::npos) {
      lhs = t.substr(0, eq);
      term.equal = true;
      term.value = t.substr(eq + 1);
    } else {
      return Error(ErrorCode::BadRequest, "invalid field selector: '" + t + "'");
    }
    lhs = trim(lhs);
    std::size_t start = 0;
    while (true) {
      auto dot = lhs.find('.', start);
      term.path.push_back(lhs.substr(start, dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    sel.terms_.push_back(std::move(term));
  }
  return sel;
}

bool FieldSelector::matches(const json& obj) const {
  for (const auto& t : terms_) {
    const json* cur = &obj;
    for (const auto& p : t.path) {
      if (!cur->is_object()) {
        cur = nullptr;
        break;
      }
      auto it = cur->find(p);
      if (it == cur->end()) {
        cur = nullptr;
        break;
      }
      cur = &*it;
    }
    std::string v;
    if (cur != nullptr) {
      if (cur->is_string()) {
        v = cur->get<std::string>();
      } else if (cur->is_boolean()) {
        v = cur->get<bool>() ? "true" : "false";
      } else if (cur->is_number()) {
        v = cur->dump();
      }
    }
    if ((v == t.value) != t.equal) return false;
  }
  return true;
}

}  // namespace skiff::master
