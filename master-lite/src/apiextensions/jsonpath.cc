// The JSONPath subset printer columns use (k8s.io/client-go/util/jsonpath): `.a.b`, `['a.b']`,
// `[0]`, `[*]`, `[?(@.type=="Ready")]`, optionally inside `{...}`.
#include <cctype>

#include "skiff/master/apiextensions/apiextensions.h"

namespace skiff::master::apiextensions {
namespace {

struct Step {
  enum Kind { Field, Index, All, Filter } kind = Field;
  std::string name;  // field, or the filter's key
  long index = 0;
  json value;  // the filter's value
};

// "@.type==\"Ready\"" -> key "type", value "Ready"
bool parseFilter(const std::string& f, Step& s) {
  auto eq = f.find("==");
  if (f.rfind("@.", 0) != 0 || eq == std::string::npos) return false;
  s.kind = Step::Filter;
  s.name = f.substr(2, eq - 2);
  std::string v = f.substr(eq + 2);
  while (!v.empty() && v.front() == ' ') v.erase(v.begin());
  while (!v.empty() && s.name.back() == ' ') s.name.pop_back();
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'')) {
    s.value = v.substr(1, v.size() - 2);
  } else {
    s.value = json::parse(v, nullptr, false);
    if (s.value.is_discarded()) s.value = v;
  }
  return true;
}

bool parse(std::string p, std::vector<Step>& out) {
  if (!p.empty() && p.front() == '{' && p.back() == '}') p = p.substr(1, p.size() - 2);
  if (!p.empty() && p.front() == '$') p.erase(p.begin());
  std::size_t i = 0;
  while (i < p.size()) {
    if (p[i] == '.') {
      std::size_t j = i + 1;
      while (j < p.size() && p[j] != '.' && p[j] != '[') ++j;
      if (j > i + 1) {
        Step s;
        s.name = p.substr(i + 1, j - i - 1);
        out.push_back(std::move(s));
      }
      i = j;
    } else if (p[i] == '[') {
      std::size_t j = p.find(']', i);
      if (j == std::string::npos) return false;
      std::string in = p.substr(i + 1, j - i - 1);
      Step s;
      if (in == "*") {
        s.kind = Step::All;
      } else if (!in.empty() && (in.front() == '\'' || in.front() == '"')) {
        s.name = in.substr(1, in.size() - 2);
      } else if (in.rfind("?(", 0) == 0 && in.back() == ')') {
        if (!parseFilter(in.substr(2, in.size() - 3), s)) return false;
      } else if (!in.empty() && (std::isdigit(static_cast<unsigned char>(in[0])) || in[0] == '-')) {
        s.kind = Step::Index;
        s.index = std::stol(in);
      } else {
        return false;
      }
      out.push_back(std::move(s));
      i = j + 1;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

std::vector<json> evalJsonPath(const std::string& path, const json& obj) {
  std::vector<Step> steps;
  if (!parse(path, steps)) return {};
  std::vector<const json*> cur{&obj};
  for (const auto& s : steps) {
    std::vector<const json*> next;
    for (const json* v : cur) {
      if (s.kind == Step::Field && v->is_object() && v->contains(s.name)) {
        next.push_back(&(*v)[s.name]);
      } else if (s.kind == Step::Index && v->is_array()) {
        long n = static_cast<long>(v->size());
        long i = s.index < 0 ? n + s.index : s.index;
        if (i >= 0 && i < n) next.push_back(&(*v)[static_cast<std::size_t>(i)]);
      } else if (s.kind == Step::All && (v->is_array() || v->is_object())) {
        for (const auto& x : *v) next.push_back(&x);
      } else if (s.kind == Step::Filter && v->is_array()) {
        for (const auto& x : *v) {
          if (x.is_object() && x.contains(s.name) && x[s.name] == s.value) next.push_back(&x);
        }
      }
    }
    cur = std::move(next);
  }
  std::vector<json> out;
  out.reserve(cur.size());
  for (const json* v : cur) out.push_back(*v);
  return out;
}

}  // namespace skiff::master::apiextensions
