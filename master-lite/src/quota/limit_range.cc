// LimitRange defaults and checks (limit_range.h), after plugin/pkg/admission/limitranger/
// admission.go and pkg/apis/core/v1/defaults.go (SetDefaults_LimitRangeItem), Kubernetes 1.32.
#include "skiff/master/quota/limit_range.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "skiff/common/quantity.h"
#include "skiff/master/quota/quota.h"

namespace skiff::master::quota {
namespace {

using json = nlohmann::json;
using List = std::map<std::string, Quantity>;

List parse(const json& list) {
  List out;
  if (!list.is_object()) return out;
  for (const auto& [k, v] : list.items()) {
    if (!v.is_string()) continue;
    if (auto q = Quantity::parse(v.get<std::string>())) out[k] = *q;
  }
  return out;
}

const json& items(const json& lr) {
  static const json empty = json::array();
  auto s = lr.find("spec");
  if (s == lr.end() || !s->is_object()) return empty;
  auto l = s->find("limits");
  return l != s->end() && l->is_array() ? *l : empty;
}

const json& resources(const json& c, const char* which) {
  static const json null;
  auto r = c.find("resources");
  if (r == c.end() || !r->is_object()) return null;
  auto w = r->find(which);
  return w == r->end() ? null : *w;
}

// The amounts a bound is checked against, and what kubectl calls them ("request", "limit").
struct Amounts {
  const List& list;
  const char* what;
};

// A minimum or maximum on `name`: `must` has to carry it (requests for a minimum, limits for a
// maximum) within the bound, and `may` (null: none) has to be within it where it carries it.
std::string boundConstraint(bool minimum, const std::string& type, const std::string& name,
                            const Quantity& enforced, const Amounts& must, const Amounts* may) {
  std::string head = std::string(minimum ? "minimum " : "maximum ") + name + " usage per " + type +
                     " is " + enforced.toString();
  auto breaks = [&](const Quantity& q) {
    int c = q.compare(enforced);
    return minimum ? c < 0 : c > 0;
  };
  auto m = must.list.find(name);
  if (m == must.list.end()) return head + ".  No " + must.what + " is specified";
  if (breaks(m->second)) return head + ", but " + must.what + " is " + m->second.toString();
  if (may) {
    auto o = may->list.find(name);
    if (o != may->list.end() && breaks(o->second))
      return head + ", but " + may->what + " is " + o->second.toString();
  }
  return "";
}

std::string minConstraint(const std::string& type, const std::string& name,
                          const Quantity& enforced, const List& req, const List& lim) {
  Amounts limits{lim, "limit"};
  return boundConstraint(true, type, name, enforced, {req, "request"}, &limits);
}

std::string maxConstraint(const std::string& type, const std::string& name,
                          const Quantity& enforced, const List& req, const List& lim) {
  Amounts requests{req, "request"};
  return boundConstraint(false, type, name, enforced, {lim, "limit"}, &requests);
}

std::string maxRequestConstraint(const std::string& type, const std::string& name,
                                 const Quantity& enforced, const List& req) {
  return boundConstraint(false, type, name, enforced, {req, "request"}, nullptr);
}

std::string ratioConstraint(const std::string& type, const std::string& name,
                            const Quantity& enforced, const List& req, const List& lim) {
  auto r = req.find(name);
  auto l = lim.find(name);
  std::string head =
      name + " max limit to request ratio per " + type + " is " + enforced.toString();
  if (r == req.end() || r->second.milliValue() == 0) {
    return head + ", but no request is specified or request is 0";
  }
  if (l == lim.end() || l->second.milliValue() == 0) {
    return head + ", but no limit is specified or limit is 0";
  }
  double observed =
      static_cast<double>(l->second.milliValue()) / static_cast<double>(r->second.milliValue());
  if (observed * 1000.0 > static_cast<double>(enforced.milliValue())) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%f", observed);
    return head + ", but provided ratio is " + buf;
  }
  return "";
}

void check(const json& item, const std::string& type, const List& req, const List& lim,
           std::vector<std::string>& errs) {
  auto push = [&](std::string e) {
    if (!e.empty()) errs.push_back(std::move(e));
  };
  for (const auto& [k, v] : parse(item.value("min", json())))
    push(minConstraint(type, k, v, req, lim));
  for (const auto& [k, v] : parse(item.value("max", json())))
    push(maxConstraint(type, k, v, req, lim));
  for (const auto& [k, v] : parse(item.value("maxLimitRequestRatio", json())))
    push(ratioConstraint(type, k, v, req, lim));
}

void maxInto(List& sum, const List& other) {
  for (const auto& [k, v] : other) {
    auto it = sum.find(k);
    if (it == sum.end() || v.compare(it->second) > 0) sum[k] = v;
  }
}

}  // namespace

void defaultLimitRangeItem(json& item) {
  if (!item.is_object() || item.value("type", "") != "Container") return;
  if (!item.contains("default") || !item["default"].is_object()) item["default"] = json::object();
  if (!item.contains("defaultRequest") || !item["defaultRequest"].is_object())
    item["defaultRequest"] = json::object();
  auto fill = [](json& into, const json& from) {
    if (!from.is_object()) return;
    for (const auto& [k, v] : from.items()) {
      if (!into.contains(k)) into[k] = v;
    }
  };
  fill(item["default"], item.value("max", json()));
  fill(item["defaultRequest"], item["default"]);
  fill(item["defaultRequest"], item.value("min", json()));
  if (item["default"].empty()) item.erase("default");
  if (item["defaultRequest"].empty()) item.erase("defaultRequest");
}

std::vector<std::string> applyContainerDefaults(const json& limit_range, json& pod) {
  json limits = json::object(), requests = json::object();
  for (json item : items(limit_range)) {
    defaultLimitRangeItem(item);
    if (item.value("type", "") != "Container") continue;
    const json defaults = item.value("default", json::object());
    for (const auto& [k, v] : defaults.items()) limits[k] = v;
    const json default_requests = item.value("defaultRequest", json::object());
    for (const auto& [k, v] : default_requests.items()) requests[k] = v;
  }
  std::vector<std::string> set;
  if (limits.empty() && requests.empty()) return set;
  auto merge = [&](json& c, const char* prefix) {
    if (!c.is_object()) return;
    json& res = c["resources"];
    if (!res.is_object()) res = json::object();
    std::vector<std::string> set_req, set_lim;
    for (auto [which, defs, out] : {std::tuple<const char*, const json*, std::vector<std::string>*>{
                                        "limits", &limits, &set_lim},
                                    {"requests", &requests, &set_req}}) {
      for (const auto& [k, v] : defs->items()) {
        if (res.contains(which) && res[which].is_object() && res[which].contains(k)) continue;
        res[which][k] = v;
        out->push_back(k);
      }
    }
    std::string name = c.value("name", "");
    if (!set_req.empty()) {
      std::string j;
      for (const auto& s : set_req) j += (j.empty() ? "" : ", ") + s;
      set.push_back(j + " request for " + prefix + " " + name);
    }
    if (!set_lim.empty()) {
      std::string j;
      for (const auto& s : set_lim) j += (j.empty() ? "" : ", ") + s;
      set.push_back(j + " limit for " + prefix + " " + name);
    }
  };
  if (pod["spec"]["containers"].is_array()) {
    for (auto& c : pod["spec"]["containers"]) merge(c, "container");
  }
  if (pod["spec"].contains("initContainers") && pod["spec"]["initContainers"].is_array()) {
    for (auto& c : pod["spec"]["initContainers"]) merge(c, "init container");
  }
  if (!set.empty()) {
    std::string v = "LimitRanger plugin set: ";
    for (std::size_t i = 0; i < set.size(); ++i) v += (i ? "; " : "") + set[i];
    pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"] = v;
  }
  return set;
}

std::vector<std::string> validatePod(const json& limit_range, const json& pod) {
  std::vector<std::string> errs;
  const json& spec = pod.value("spec", json::object());
  const json cs = spec.value("containers", json::array());
  const json ics = spec.value("initContainers", json::array());
  for (json item : items(limit_range)) {
    defaultLimitRangeItem(item);
    std::string type = item.value("type", "");
    if (type == "Container") {
      for (const json* list : {&cs, &ics}) {
        for (const auto& c : *list) {
          check(item, type, parse(resources(c, "requests")), parse(resources(c, "limits")), errs);
        }
      }
    } else if (type == "Pod") {
      List req, lim;
      for (const auto& c : cs) {
        req = add(req, parse(resources(c, "requests")));
        lim = add(lim, parse(resources(c, "limits")));
      }
      for (const auto& c : ics) {
        maxInto(req, parse(resources(c, "requests")));
        maxInto(lim, parse(resources(c, "limits")));
      }
      check(item, type, req, lim, errs);
    }
  }
  return errs;
}

std::vector<std::string> validatePvc(const json& limit_range, const json& pvc) {
  std::vector<std::string> errs;
  List req;
  if (pvc.contains("spec") && pvc["spec"].is_object())
    req = parse(resources(pvc["spec"], "requests"));
  for (const auto& item : items(limit_range)) {
    std::string type = item.value("type", "");
    if (type != "PersistentVolumeClaim") continue;
    for (const auto& [k, v] : parse(item.value("min", json()))) {
      std::string e = minConstraint(type, k, v, req, {});
      if (!e.empty()) errs.push_back(e);
    }
    for (const auto& [k, v] : parse(item.value("max", json()))) {
      std::string e = maxRequestConstraint(type, k, v, req);
      if (!e.empty()) errs.push_back(e);
    }
  }
  return errs;
}

std::string aggregate(const std::vector<std::string>& messages) {
  std::vector<std::string> uniq;
  std::set<std::string> seen;
  for (const auto& m : messages) {
    if (seen.insert(m).second) uniq.push_back(m);
  }
  if (uniq.size() == 1) return uniq[0];
  std::string out = "[";
  for (std::size_t i = 0; i < uniq.size(); ++i) out += (i ? ", " : "") + uniq[i];
  return out + "]";
}

}  // namespace skiff::master::quota
