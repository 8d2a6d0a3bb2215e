#include "skiff/master/api/selectors.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  std::size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Splits on commas that are not inside parentheses.
std::vector<std::string> splitTop(const std::string& s) {
  std::vector<std::string> out;
  int depth = 0;
  std::string cur;
  for (char c : s) {
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

bool validLabelKey(const std::string& k) {
  if (k.empty() || k.size() > 317) return false;
  for (char c : k) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
          c == '/')) {
      return false;
    }
  }
  return true;
}

Error badSelector(const std::string& text, const std::string& why) {
  return Error(ErrorCode::BadRequest,
               "unable to parse requirement: " + why + " (selector \"" + text + "\")");
}

std::string labelValue(const json& labels, const std::string& key, bool* present) {
  *present = false;
  if (!labels.is_object()) return "";
  auto it = labels.find(key);
  if (it == labels.end() || !it->is_string()) return "";
  *present = true;
  return it->get<std::string>();
}

}  // namespace

Result<LabelSelector> LabelSelector::parse(const std::string& text) {
  LabelSelector sel;
  if (trim(text).empty()) return sel;
  for (const std::string& raw : splitTop(text)) {
    std::string part = trim(raw);
    if (part.empty()) return badSelector(text, "found '', expected: identifier");
    LabelRequirement r;
    if (part[0] == '!') {
      r.key = trim(part.substr(1));
      r.op = LabelRequirement::Op::DoesNotExist;
    } else if (auto p = part.find("!="); p != std::string::npos) {
      r.key = trim(part.substr(0, p));
      r.op = LabelRequirement::Op::NotEquals;
      r.values = {trim(part.substr(p + 2))};
    } else if (auto p2 = part.find("=="); p2 != std::string::npos) {
      r.key = trim(part.substr(0, p2));
      r.op = LabelRequirement::Op::Equals;
      r.values = {trim(part.substr(p2 + 2))};
    } else if (auto p3 = part.find('='); p3 != std::string::npos) {
      r.key = trim(part.substr(0, p3));
      r.op = LabelRequirement::Op::Equals;
      r.values = {trim(part.substr(p3 + 1))};
    } else if (auto p4 = part.find('('); p4 != std::string::npos) {
      std::string head = trim(part.substr(0, p4));
      if (part.back() != ')') return badSelector(text, "found '" + part + "', expected: ')'");
      std::string body = part.substr(p4 + 1, part.size() - p4 - 2);
      auto sp = head.find_last_of(" \t");
      if (sp == std::string::npos) return badSelector(text, "found '" + head + "', expected: in, notin");
      std::string op = trim(head.substr(sp + 1));
      r.key = trim(head.substr(0, sp));
      if (op == "in") {
        r.op = LabelRequirement::Op::In;
      } else if (op == "notin") {
        r.op = LabelRequirement::Op::NotIn;
      } else {
        return badSelector(text, "found '" + op + "', expected: in, notin");
      }
      for (const std::string& v : splitTop(body)) r.values.push_back(trim(v));
    } else if (auto p5 = part.find_first_of("<>"); p5 != std::string::npos) {
      r.key = trim(part.substr(0, p5));
      r.op = part[p5] == '>' ? LabelRequirement::Op::GreaterThan : LabelRequirement::Op::LessThan;
      r.values = {trim(part.substr(p5 + 1))};
    } else {
      r.key = part;
      r.op = LabelRequirement::Op::Exists;
    }
    if (!validLabelKey(r.key)) return badSelector(text, "invalid label key \"" + r.key + "\"");
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

Result<LabelSelector> LabelSelector::fromObject(const json& obj) {
  LabelSelector sel;
  if (!obj.is_object()) return sel;
  if (auto ml = obj.find("matchLabels"); ml != obj.end() && ml->is_object()) {
    for (auto& [k, v] : ml->items()) {
      if (!v.is_string()) return Error(ErrorCode::Invalid, "matchLabels values must be strings");
      sel.reqs_.push_back({k, LabelRequirement::Op::Equals, {v.get<std::string>()}});
    }
  }
  if (auto me = obj.find("matchExpressions"); me != obj.end() && me->is_array()) {
    for (const auto& e : *me) {
      LabelRequirement r;
      r.key = e.value("key", "");
      std::string op = e.value("operator", "");
      if (op == "In") r.op = LabelRequirement::Op::In;
      else if (op == "NotIn") r.op = LabelRequirement::Op::NotIn;
      else if (op == "Exists") r.op = LabelRequirement::Op::Exists;
      else if (op == "DoesNotExist") r.op = LabelRequirement::Op::DoesNotExist;
      else return Error(ErrorCode::Invalid, "\"" + op + "\" is not a valid label selector operator");
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

bool LabelSelector::matches(const json& labels) const {
  for (const auto& r : reqs_) {
    bool present = false;
    std::string v = labelValue(labels, r.key, &present);
    switch (r.op) {
      case LabelRequirement::Op::Equals:
        if (!present || v != r.values[0]) return false;
        break;
      case LabelRequirement::Op::NotEquals:
        if (present && v == r.values[0]) return false;
        break;
      case LabelRequirement::Op::In:
        if (!present || std::find(r.values.begin(), r.values.end(), v) == r.values.end()) return false;
        break;
      case LabelRequirement::Op::NotIn:
        if (present && std::find(r.values.begin(), r.values.end(), v) != r.values.end()) return false;
        break;
      case LabelRequirement::Op::Exists:
        if (!present) return false;
        break;
      case LabelRequirement::Op::DoesNotExist:
        if (present) return false;
        break;
      case LabelRequirement::Op::GreaterThan:
      case LabelRequirement::Op::LessThan: {
        if (!present) return false;
        try {
          long long a = std::stoll(v), b = std::stoll(r.values[0]);
          if (r.op == LabelRequirement::Op::GreaterThan ? !(a > b) : !(a < b)) return false;
        } catch (...) {
          return false;
        }
        break;
      }
    }
  }
  return true;
}

std::string LabelSelector::toString() const {
  std::string out;
  for (const auto& r : reqs_) {
    if (!out.empty()) out += ',';
    auto joined = [&] {
      std::string s;
      for (const auto& v : r.values) s += (s.empty() ? "" : ",") + v;
      return s;
    };
    switch (r.op) {
      case LabelRequirement::Op::Equals: out += r.key + "=" + r.values[0]; break;
      case LabelRequirement::Op::NotEquals: out += r.key + "!=" + r.values[0]; break;
      case LabelRequirement::Op::In: out += r.key + " in (" + joined() + ")"; break;
      case LabelRequirement::Op::NotIn: out += r.key + " notin (" + joined() + ")"; break;
      case LabelRequirement::Op::Exists: out += r.key; break;
      case LabelRequirement::Op::DoesNotExist: out += "!" + r.key; break;
      case LabelRequirement::Op::GreaterThan: out += r.key + ">" + r.values[0]; break;
      case LabelRequirement::Op::LessThan: out += r.key + "<" + r.values[0]; break;
    }
  }
  return out;
}

std::string fieldValue(const json& obj, const std::string& path) {
  const json* cur = &obj;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
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

Result<FieldSelector> FieldSelector::parse(const std::string& text, const std::string& kind) {
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
        "regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid"}},
      {"Node", {"spec.unschedulable"}},
      {"Namespace", {"status.phase"}},
      {"Secret", {"type"}},
      {"ReplicaSet", {"status.replicas"}},
      {"ReplicationController", {"status.replicas"}},
      {"Job", {"status.successful"}},
      {"CertificateSigningRequest", {"spec.signerName"}},
  };
  FieldSelector sel;
  if (trim(text).empty()) return sel;
  for (const std::string& raw : splitTop(text)) {
    std::string part = trim(raw);
    FieldRequirement r;
    std::size_t p;
    if ((p = part.find("!=")) != std::string::npos) {
      r.field = part.substr(0, p);
      r.negate = true;
      r.value = part.substr(p + 2);
    } else if ((p = part.find("==")) != std::string::npos) {
      r.field = part.substr(0, p);
      r.value = part.substr(p + 2);
    } else if ((p = part.find('=')) != std::string::npos) {
      r.field = part.substr(0, p);
      r.value = part.substr(p + 1);
    } else {
      return Error(ErrorCode::BadRequest, "invalid selector: '" + text + "'; can't understand '" +
                                              part + "'");
    }
    r.field = trim(r.field);
    r.value = trim(r.value);
    bool ok = r.field == "metadata.name" || r.field == "metadata.namespace";
    if (!ok) {
      auto it = kSupported.find(kind);
      ok = it != kSupported.end() && it->second.count(r.field);
    }
    if (!ok) {
      return Error(ErrorCode::BadRequest, "field label not supported: " + r.field);
    }
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

bool FieldSelector::matches(const json& obj) const {
  for (const auto& r : reqs_) {
    std::string v;
    if (r.field == "source") {
      v = fieldValue(obj, "source.component");
    } else if (r.field == "status.podIPs") {
      v = fieldValue(obj, "status.podIP");
    } else {
      v = fieldValue(obj, r.field);
    }
    if (r.field == "spec.unschedulable" && v.empty()) v = "false";
    if ((v == r.value) == r.negate) return false;
  }
  return true;
}

}  // namespace skiff::master::api
