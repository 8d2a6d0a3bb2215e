#include "skiff/master/selectors.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "skiff/common/enum_names.h"

namespace skiff::master {

using json = nlohmann::json;

namespace {

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Splits on commas that are not inside parentheses ("a in (x,y),b" -> "a in (x,y)", "b").
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

bool labelChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

// A qualified label key: optional DNS-subdomain prefix (<= 253) and '/', then a name of at most
// 63 characters.
bool validLabelKey(const std::string& k) {
  if (k.empty() || k.size() > 253 + 1 + 63) return false;
  return std::all_of(k.begin(), k.end(), [](char c) { return labelChar(c) || c == '/'; });
}

// A label value: empty, or at most 63 characters of [-A-Za-z0-9_.] starting and ending
// alphanumeric.
bool validLabelValue(const std::string& v) {
  if (v.empty()) return true;
  if (v.size() > 63 || !std::isalnum(static_cast<unsigned char>(v.front())) ||
      !std::isalnum(static_cast<unsigned char>(v.back()))) {
    return false;
  }
  return std::all_of(v.begin(), v.end(), labelChar);
}

bool isInteger(const std::string& v) {
  std::size_t i = (!v.empty() && v[0] == '-') ? 1 : 0;
  return i < v.size() && std::all_of(v.begin() + static_cast<long>(i), v.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c));
         });
}

Error badSelector(const std::string& text, const std::string& why) {
  return Error(ErrorCode::BadRequest,
               "unable to parse requirement: " + why + " (selector \"" + text + "\")");
}

// One string-syntax term: "k=v", "k==v", "k!=v", "k in (a,b)", "k notin (a)", "k", "!k", "k>1".
Result<LabelSelector::Requirement> parseTerm(const std::string& text, const std::string& t) {
  using Op = LabelSelector::Op;
  LabelSelector::Requirement r;
  if (t.empty()) return badSelector(text, "found '', expected: identifier");
  if (auto paren = t.find('('); paren != std::string::npos) {
    if (t.back() != ')') return badSelector(text, "found '" + t + "', expected: ')'");
    std::string head = trim(t.substr(0, paren));
    auto sp = head.find_last_of(" \t");
    if (sp == std::string::npos)
      return badSelector(text, "found '" + head + "', expected: in, notin");
    std::string op = trim(head.substr(sp + 1));
    r.key = trim(head.substr(0, sp));
    if (op == "in") {
      r.op = Op::In;
    } else if (op == "notin") {
      r.op = Op::NotIn;
    } else {
      return badSelector(text, "found '" + op + "', expected: in, notin");
    }
    for (const std::string& v : splitTerms(t.substr(paren + 1, t.size() - paren - 2))) {
      std::string tv = trim(v);
      if (!tv.empty()) r.values.push_back(tv);
    }
    if (r.values.empty())
      return badSelector(text, "for 'in', 'notin' operators, values set can't be empty");
  } else if (auto ne = t.find("!="); ne != std::string::npos) {
    r = {trim(t.substr(0, ne)), Op::NotEquals, {trim(t.substr(ne + 2))}};
  } else if (auto eq2 = t.find("=="); eq2 != std::string::npos) {
    r = {trim(t.substr(0, eq2)), Op::Equals, {trim(t.substr(eq2 + 2))}};
  } else if (auto eq = t.find('='); eq != std::string::npos) {
    r = {trim(t.substr(0, eq)), Op::Equals, {trim(t.substr(eq + 1))}};
  } else if (auto cmp = t.find_first_of("<>"); cmp != std::string::npos) {
    r = {trim(t.substr(0, cmp)),
         t[cmp] == '>' ? Op::GreaterThan : Op::LessThan,
         {trim(t.substr(cmp + 1))}};
    if (!isInteger(r.values[0])) {
      return badSelector(text, "for 'Gt', 'Lt' operators, the value must be an integer");
    }
  } else if (t[0] == '!') {
    r = {trim(t.substr(1)), Op::DoesNotExist, {}};
  } else {
    r = {t, Op::Exists, {}};
  }
  if (!validLabelKey(r.key)) return badSelector(text, "invalid label key \"" + r.key + "\"");
  if (r.op != Op::GreaterThan && r.op != Op::LessThan) {
    for (const auto& v : r.values) {
      if (!validLabelValue(v)) return badSelector(text, "invalid label value: \"" + v + "\"");
    }
  }
  return r;
}

// The string value of a dotted path as field selectors compare it.
std::string fieldValue(const json& obj, const std::string& path) {
  const json* cur = &obj;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return "";
    auto it = cur->find(part);
    if (it == cur->end()) return "";
    cur = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_boolean()) return cur->get<bool>() ? "true" : "false";
  if (cur->is_number()) return cur->dump();
  return "";
}

// The API server's field label conversions that are not plain paths.
std::string selectableFieldValue(const json& obj, const std::string& field) {
  // A core Event's source is its reporting component when it has no source
  // (pkg/registry/core/event's ToSelectableFields).
  if (field == "source") {
    std::string component = fieldValue(obj, "source.component");
    return component.empty() ? fieldValue(obj, "reportingComponent") : component;
  }
  if (field == "status.podIPs") return fieldValue(obj, "status.podIP");
  std::string v = fieldValue(obj, field);
  if (field == "spec.unschedulable" && v.empty()) return "false";
  return v;
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
    SKIFF_ASSIGN_OR_RETURN(Requirement r, parseTerm(text, trim(raw)));
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
    static const std::map<std::string, Op> kOps{{"In", Op::In},
                                                {"NotIn", Op::NotIn},
                                                {"Exists", Op::Exists},
                                                {"DoesNotExist", Op::DoesNotExist}};
    for (const auto& e : *me) {
      if (!e.is_object()) return Error(ErrorCode::Invalid, "selector.matchExpressions: bad entry");
      Requirement r;
      r.key = e.value("key", "");
      std::string op = e.value("operator", "");
      auto known = kOps.find(op);
      if (known == kOps.end()) {
        return Error(ErrorCode::Invalid, "\"" + op + "\" is not a valid label selector operator");
      }
      r.op = known->second;
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

template <typename Lookup>
bool LabelSelector::matchesWith(Lookup&& lookup) const {
  if (nothing_) return false;
  for (const auto& r : reqs_) {
    const std::string* v = lookup(r.key);
    auto listed = [&] {
      return v && std::find(r.values.begin(), r.values.end(), *v) != r.values.end();
    };
    switch (r.op) {
      case Op::Equals:
      case Op::In:
        if (!listed()) return false;
        break;
      case Op::NotEquals:
      case Op::NotIn:
        if (listed()) return false;
        break;
      case Op::Exists:
        if (!v) return false;
        break;
      case Op::DoesNotExist:
        if (v) return false;
        break;
      case Op::GreaterThan:
      case Op::LessThan: {
        if (!v || !isInteger(*v)) return false;
        long long have = 0, want = 0;
        try {
          have = std::stoll(*v);
          want = std::stoll(r.values[0]);
        } catch (const std::exception&) {  // out of range
          return false;
        }
        if (r.op == Op::GreaterThan ? !(have > want) : !(have < want)) return false;
        break;
      }
    }
  }
  return true;
}

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  return matchesWith([&](const std::string& key) -> const std::string* {
    auto it = labels.find(key);
    return it == labels.end() ? nullptr : &it->second;
  });
}

bool LabelSelector::matches(const json& labels) const {
  return matchesWith([&](const std::string& key) -> const std::string* {
    if (!labels.is_object()) return nullptr;
    auto it = labels.find(key);
    if (it == labels.end() || !it->is_string()) return nullptr;
    return it->get_ptr<const std::string*>();
  });
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
    // The operators written between a key and its one value ("app=web", "n>3").
    static constexpr EnumName<Op> kValueOperators[] = {
        {Op::Equals, "="}, {Op::NotEquals, "!="}, {Op::GreaterThan, ">"}, {Op::LessThan, "<"}};
    switch (r.op) {
      case Op::In:
        out += r.key + " in (" + joined() + ")";
        break;
      case Op::NotIn:
        out += r.key + " notin (" + joined() + ")";
        break;
      case Op::Exists:
        out += r.key;
        break;
      case Op::DoesNotExist:
        out += "!" + r.key;
        break;
      case Op::Equals:
      case Op::NotEquals:
      case Op::GreaterThan:
      case Op::LessThan:
        out += r.key + nameOf(kValueOperators, r.op, "") + r.values[0];
        break;
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
    if (std::size_t ne = t.find("!="); ne != std::string::npos) {
      term = {t.substr(0, ne), false, t.substr(ne + 2)};
    } else if (std::size_t eqeq = t.find("=="); eqeq != std::string::npos) {
      term = {t.substr(0, eqeq), true, t.substr(eqeq + 2)};
    } else if (std::size_t eq = t.find('='); eq != std::string::npos) {
      term = {t.substr(0, eq), true, t.substr(eq + 1)};
    } else {
      return Error(ErrorCode::BadRequest,
                   "invalid selector: '" + text + "'; can't understand '" + t + "'");
    }
    term.field = trim(term.field);
    term.value = trim(term.value);
    sel.terms_.push_back(std::move(term));
  }
  return sel;
}

Result<FieldSelector> FieldSelector::parseFor(const std::string& text, const std::string& kind) {
  // The fields each kind supports (the field label conversion functions of each type).
  static const std::map<std::string, std::set<std::string>> kSupported{
      {"Pod",
       {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
        "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs",
        "status.nominatedNodeName"}},
      {"Event",
       {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
        "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
        "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
        // events.k8s.io/v1 names the same fields so (its field label conversion)
        "regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
        "regarding.apiVersion", "regarding.resourceVersion", "regarding.fieldPath",
        "reportingController"}},
      {"Node", {"spec.unschedulable"}},
      {"Namespace", {"status.phase"}},
      {"Secret", {"type"}},
      {"ReplicaSet", {"status.replicas"}},
      {"ReplicationController", {"status.replicas"}},
      {"Job", {"status.successful"}},
      {"CertificateSigningRequest", {"spec.signerName"}},
  };
  SKIFF_ASSIGN_OR_RETURN(FieldSelector sel, parse(text));
  auto supported = kSupported.find(kind);
  for (const Term& t : sel.terms_) {
    if (t.field == "metadata.name" || t.field == "metadata.namespace") continue;
    if (supported == kSupported.end() || !supported->second.count(t.field)) {
      return Error(ErrorCode::BadRequest, "field label not supported: " + t.field);
    }
  }
  return sel;
}

bool FieldSelector::matches(const json& obj) const {
  return std::all_of(terms_.begin(), terms_.end(), [&](const Term& t) {
    return (selectableFieldValue(obj, t.field) == t.value) == t.equal;
  });
}

}  // namespace skiff::master
