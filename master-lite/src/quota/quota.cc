// ResourceQuota arithmetic (quota.h), after k8s.io/apiserver/pkg/quota/v1/resources.go and
// pkg/quota/v1/evaluator/core/{pods,services,persistent_volume_claims}.go of Kubernetes 1.32.
#include "skiff/master/quota/quota.h"

#include <algorithm>
#include <set>

#include "skiff/common/pod_resources.h"
#include "skiff/master/json_at.h"

namespace skiff::master::quota {
namespace {

std::string text(const json& obj, std::initializer_list<const char*> path) {
  const json& v = jsonAt(obj, path);
  return v.is_string() ? v.get<std::string>() : "";
}

Quantity one() { return Quantity::fromInt(1); }

// A milli amount of `name` as a Quantity: cpu in DecimalSI ("500m"), everything else BinarySI
// ("64Mi"), as the pod's own quantities are written in practice.
Quantity fromMilli(const std::string& name, std::int64_t milli) {
  if (name == "cpu") return Quantity::fromMilli(milli, Quantity::Format::DecimalSI);
  if (milli % 1000 == 0) return Quantity::fromInt(milli / 1000, Quantity::Format::BinarySI);
  return Quantity::fromMilli(milli, Quantity::Format::DecimalSI);
}

bool isTerminal(const json& pod) {
  const json& phase = jsonAt(pod, {"status", "phase"});
  return phase == "Succeeded" || phase == "Failed";
}

// The pod's limits: the sum of the containers', each init container's taken when larger.
MilliResourceList podLimits(const json& pod) {
  MilliResourceList sum;
  const json& cs = jsonAt(pod, {"spec", "containers"});
  for (const auto& c : cs.is_array() ? cs : json::array()) {
    for (const auto& [k, v] : containerLimits(c)) sum[k] += v;
  }
  const json& ics = jsonAt(pod, {"spec", "initContainers"});
  for (const auto& c : ics.is_array() ? ics : json::array()) {
    for (const auto& [k, v] : containerLimits(c)) sum[k] = std::max(sum[k], v);
  }
  return sum;
}

bool isComputeName(const std::string& n) {
  return n == "cpu" || n == "memory" || n == "ephemeral-storage" || n.rfind("hugepages-", 0) == 0 ||
         n.find('/') != std::string::npos;
}

// podComputeUsageHelper: pods=1 and requests.*/limits.* of the given lists.
ResourceList computeUsage(const MilliResourceList& requests, const MilliResourceList& limits) {
  ResourceList out{{"pods", one()}};
  for (const auto& [k, v] : requests) {
    if (!isComputeName(k)) continue;
    Quantity q = fromMilli(k, v);
    out["requests." + k] = q;
    if (k == "cpu" || k == "memory" || k == "ephemeral-storage") out[k] = q;
  }
  for (const auto& [k, v] : limits) {
    if (k == "cpu" || k == "memory" || k == "ephemeral-storage")
      out["limits." + k] = fromMilli(k, v);
  }
  return out;
}

ResourceList podUsage(const json& pod) {
  const json& deleting = jsonAt(pod, {"metadata", "deletionTimestamp"});
  if (isTerminal(pod) ||
      (deleting.is_string() && !deleting.get_ref<const std::string&>().empty())) {
    return {{"count/pods", one()}};
  }
  // computeUsage never lists count/pods: adding it is inserting it.
  ResourceList out = computeUsage(podRequests(pod), podLimits(pod));
  out.emplace("count/pods", one());
  return out;
}

ResourceList serviceUsage(const json& svc) {
  ResourceList out{{"services", one()}, {"count/services", one()}};
  std::string type = text(svc, {"spec", "type"});
  const json& ports = jsonAt(svc, {"spec", "ports"});
  std::int64_t n = ports.is_array() ? static_cast<std::int64_t>(ports.size()) : 0;
  if (type == "NodePort") out["services.nodeports"] = Quantity::fromInt(n);
  if (type == "LoadBalancer") {
    out["services.loadbalancers"] = one();
    bool alloc = !jsonAt(svc, {"spec", "allocateLoadBalancerNodePorts"}).is_boolean() ||
                 jsonAt(svc, {"spec", "allocateLoadBalancerNodePorts"}).get<bool>();
    out["services.nodeports"] = Quantity::fromInt(alloc ? n : 0);
  }
  return out;
}

ResourceList pvcUsage(const json& pvc) {
  ResourceList out{{"persistentvolumeclaims", one()}, {"count/persistentvolumeclaims", one()}};
  std::string sc = text(pvc, {"spec", "storageClassName"});
  std::string prefix = sc.empty() ? "" : sc + ".storageclass.storage.k8s.io/";
  if (!sc.empty()) out[prefix + "persistentvolumeclaims"] = one();
  auto req = Quantity::parse(text(pvc, {"spec", "resources", "requests", "storage"}));
  if (req) {
    out["requests.storage"] = *req;
    if (!sc.empty()) out[prefix + "requests.storage"] = *req;
  }
  return out;
}

std::string countName(const std::string& group, const std::string& resource) {
  return "count/" + resource + (group.empty() ? "" : "." + group);
}

bool isPodResource(const std::string& n) {
  static const std::set<std::string> names{"pods",
                                           "count/pods",
                                           "cpu",
                                           "memory",
                                           "ephemeral-storage",
                                           "requests.cpu",
                                           "requests.memory",
                                           "requests.ephemeral-storage",
                                           "limits.cpu",
                                           "limits.memory",
                                           "limits.ephemeral-storage"};
  return names.count(n) || n.rfind("requests.hugepages-", 0) == 0 ||
         (n.rfind("requests.", 0) == 0 && n.find('/') != std::string::npos);
}

bool isBestEffort(const json& pod) { return podQosClass(pod) == QosClass::BestEffort; }

bool scopeMatches(const std::string& scope, const std::string& op, const json& values,
                  const json& pod) {
  bool has = false;
  if (scope == "Terminating") has = jsonAt(pod, {"spec", "activeDeadlineSeconds"}).is_number();
  if (scope == "NotTerminating") has = !jsonAt(pod, {"spec", "activeDeadlineSeconds"}).is_number();
  if (scope == "BestEffort") has = isBestEffort(pod);
  if (scope == "NotBestEffort") has = !isBestEffort(pod);
  if (scope == "PriorityClass") {
    std::string pc = text(pod, {"spec", "priorityClassName"});
    bool listed = false;
    for (const auto& v : values.is_array() ? values : json::array()) {
      listed = listed || (v.is_string() && v.get<std::string>() == pc);
    }
    if (op == "In") return !pc.empty() && listed;
    if (op == "NotIn") return !pc.empty() && !listed;
    if (op == "Exists") return !pc.empty();
    if (op == "DoesNotExist") return pc.empty();
    return false;
  }
  if (scope == "CrossNamespacePodAffinity") return op == "DoesNotExist";
  return op == "DoesNotExist" || op == "NotIn" ? !has : has;
}

// a with b folded in name by name: `op(a's, b's)` where a has the name (a's kept when that
// overflows), `alone(b's)` where it does not.
template <typename Alone>
ResourceList combine(const ResourceList& a, const ResourceList& b,
                     Result<Quantity> (Quantity::*op)(const Quantity&) const, Alone alone) {
  ResourceList out = a;
  for (const auto& [k, v] : b) {
    auto it = out.find(k);
    if (it == out.end()) {
      out[k] = alone(v);
    } else if (auto s = (it->second.*op)(v)) {
      it->second = *s;
    }
  }
  return out;
}

}  // namespace

ResourceList parseList(const json& list) {
  ResourceList out;
  if (!list.is_object()) return out;
  for (const auto& [k, v] : list.items()) {
    auto q = v.is_string() ? Quantity::parse(v.get<std::string>())
                           : (v.is_number_integer()
                                  ? Result<Quantity>(Quantity::fromInt(v.get<std::int64_t>()))
                                  : Result<Quantity>(Error(ErrorCode::Invalid, "")));
    if (q) out[k] = *q;
  }
  return out;
}

json toJson(const ResourceList& list) {
  json out = json::object();
  for (const auto& [k, v] : list) out[k] = v.toString();
  return out;
}

std::string toJsonText(const ResourceList& list) {
  // Resource names are qualified names and quantities are [0-9.a-zA-Z+-]: nothing in them
  // needs escaping, so each is written between quotes as it is. A name that would need it (never
  // stored: validation refuses it) takes json's own escaping.
  auto plain = [](const std::string& s) {
    return std::none_of(s.begin(), s.end(), [](unsigned char c) {
      return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
    });
  };
  std::string out = "{";
  for (const auto& [k, v] : list) {
    if (out.size() > 1) out += ',';
    if (plain(k)) {
      out += '"';
      out += k;
      out += '"';
    } else {
      out += json(k).dump(-1, ' ', false, json::error_handler_t::replace);
    }
    out += ":\"";
    out += v.toString();
    out += '"';
  }
  out += '}';
  return out;
}

ResourceList add(const ResourceList& a, const ResourceList& b) {
  return combine(a, b, &Quantity::add, [](const Quantity& v) { return v; });
}

ResourceList subtract(const ResourceList& a, const ResourceList& b) {
  return combine(a, b, &Quantity::sub, [](const Quantity& v) { return v.negated(); });
}

ResourceList mask(const ResourceList& list, const std::vector<std::string>& keep) {
  ResourceList out;
  for (const auto& n : keep) {
    auto it = list.find(n);
    if (it != list.end()) out[n] = it->second;
  }
  return out;
}

bool isZero(const ResourceList& list) {
  return std::all_of(list.begin(), list.end(), [](const auto& kv) { return kv.second.isZero(); });
}

std::vector<std::string> exceeded(const ResourceList& a, const ResourceList& b) {
  std::vector<std::string> out;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it != b.end() && v.compare(it->second) > 0) out.push_back(k);
  }
  return out;
}

std::vector<std::string> names(const ResourceList& list) {
  std::vector<std::string> out;
  for (const auto& [k, _] : list) out.push_back(k);
  return out;
}

std::string prettyPrint(const ResourceList& list) {
  std::string out;
  for (const auto& [k, v] : list) out += (out.empty() ? "" : ",") + k + "=" + v.toString();
  return out;
}

ResourceList usageOf(const std::string& group, const std::string& resource, const json& obj) {
  if (group.empty() && resource == "pods") return podUsage(obj);
  if (group.empty() && resource == "services") return serviceUsage(obj);
  if (group.empty() && resource == "persistentvolumeclaims") return pvcUsage(obj);
  ResourceList out{{countName(group, resource), one()}};
  static const std::set<std::string> legacy{"configmaps", "secrets", "replicationcontrollers",
                                            "resourcequotas"};
  if (group.empty() && legacy.count(resource)) out[resource] = one();
  return out;
}

bool tracks(const std::string& group, const std::string& resource, const std::string& name) {
  if (name == countName(group, resource)) return true;
  if (!group.empty()) return false;
  if (resource == "pods") return isPodResource(name);
  if (resource == "services") {
    return name == "services" || name == "services.nodeports" || name == "services.loadbalancers";
  }
  if (resource == "persistentvolumeclaims") {
    return name == "persistentvolumeclaims" || name == "requests.storage" ||
           name.find(".storageclass.storage.k8s.io/") != std::string::npos;
  }
  return name == resource && (resource == "configmaps" || resource == "secrets" ||
                              resource == "replicationcontrollers" || resource == "resourcequotas");
}

std::vector<std::string> matchingResources(const std::string& group, const std::string& resource,
                                           const std::vector<std::string>& hard) {
  std::vector<std::string> out;
  for (const auto& n : hard) {
    if (tracks(group, resource, n)) out.push_back(n);
  }
  return out;
}

bool matchesScopes(const json& quota, const std::string& resource, const json& obj) {
  struct Sel {
    std::string scope, op;
    json values;
  };
  std::vector<Sel> sels;
  const json& scopes = jsonAt(quota, {"spec", "scopes"});
  for (const auto& s : scopes.is_array() ? scopes : json::array()) {
    if (s.is_string()) sels.push_back({s.get<std::string>(), "Exists", json()});
  }
  const json& exprs = jsonAt(quota, {"spec", "scopeSelector", "matchExpressions"});
  for (const auto& e : exprs.is_array() ? exprs : json::array()) {
    sels.push_back({e.value("scopeName", ""), e.value("operator", ""), e.value("values", json())});
  }
  if (sels.empty()) return true;
  if (resource != "pods") return false;  // scopes select pods only
  return std::all_of(sels.begin(), sels.end(),
                     [&](const Sel& s) { return scopeMatches(s.scope, s.op, s.values, obj); });
}

namespace {

// For a name the pod evaluator validates, the resource a container must state and whether as a
// limit ("limits.cpu": cpu, limit; "memory", "requests.memory": memory, request); null for any
// other name.
const char* constrainedResource(const std::string& n, bool& limit) {
  limit = n == "limits.cpu" || n == "limits.memory";
  if (n == "cpu" || n == "requests.cpu" || n == "limits.cpu") return "cpu";
  if (n == "memory" || n == "requests.memory" || n == "limits.memory") return "memory";
  return nullptr;
}

}  // namespace

std::string podConstraints(const json& pod, const std::vector<std::string>& required) {
  // The usual answer first, with nothing allocated: every container states what is required.
  bool satisfied = true;
  for (const char* list : {"containers", "initContainers"}) {
    const json& cs = jsonAt(pod, {"spec", list});
    if (!satisfied || !cs.is_array()) continue;
    for (const auto& c : cs) {
      const json& r = jsonAt(c, {"resources", "requests"});
      const json& l = jsonAt(c, {"resources", "limits"});
      for (const auto& n : required) {
        bool limit = false;
        const char* k = constrainedResource(n, limit);
        if (k == nullptr) continue;
        const json& stated = limit ? l : r;
        if (!stated.is_object() || !stated.contains(k)) satisfied = false;
      }
    }
  }
  if (satisfied) return "";
  // Something is missing: upstream's message, container by container.
  static const std::set<std::string> validation{
      "requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory"};
  std::set<std::string> req;
  for (const auto& n : required) {
    if (validation.count(n)) req.insert(n);
  }
  if (req.empty()) return "";
  std::map<std::string, std::set<std::string>> missing;
  auto check = [&](const json& c) {
    const json& r = jsonAt(c, {"resources", "requests"});
    const json& l = jsonAt(c, {"resources", "limits"});
    // What the container's usage would list (computeUsage): requests.cpu and cpu from a cpu
    // request, limits.cpu from a cpu limit; memory alike.
    auto has = [&](const std::string& n) {
      bool limit = n.rfind("limits.", 0) == 0;
      const json& list = limit ? l : r;
      std::string k = n.substr(n.find('.') == std::string::npos ? 0 : n.find('.') + 1);
      return list.is_object() && list.contains(k);
    };
    for (const auto& n : req) {
      if (!has(n)) missing[n].insert(c.value("name", ""));
    }
  };
  for (const char* list : {"containers", "initContainers"}) {
    const json& cs = jsonAt(pod, {"spec", list});
    for (const auto& c : cs.is_array() ? cs : json::array()) check(c);
  }
  if (missing.empty()) return "";
  std::string out;
  for (const auto& [res, cs] : missing) {
    std::string names;
    for (const auto& c : cs) names += (names.empty() ? "" : ",") + c;
    out += (out.empty() ? "" : "; ") + res + " for: " + names;
  }
  return "must specify " + out;
}

bool handlesUpdate(const std::string& group, const std::string& resource) {
  return group.empty() && (resource == "services" || resource == "persistentvolumeclaims");
}

ResourceList requestDelta(const std::string& group, const std::string& resource, const json& obj,
                          const json* old) {
  return requestDelta(group, resource, usageOf(group, resource, obj), old);
}

ResourceList requestDelta(const std::string& group, const std::string& resource, ResourceList delta,
                          const json* old) {
  const json& rv = old ? jsonAt(*old, {"metadata", "resourceVersion"}) : json();
  if (old && rv.is_string() && !rv.get<std::string>().empty()) {
    // quota.SubtractWithNonNegativeResult: a shrink or a removal charges nothing.
    ResourceList prev = usageOf(group, resource, *old);
    for (auto& [k, v] : delta) {
      auto it = prev.find(k);
      if (it == prev.end()) continue;
      if (auto d = v.sub(it->second)) v = *d;
    }
  }
  // quota.RemoveZeros, and negative results as zero.
  std::erase_if(delta, [](const auto& kv) { return kv.second.sign() <= 0; });
  return delta;
}

std::vector<std::string> negative(const ResourceList& list) {
  std::vector<std::string> out;
  for (const auto& [k, v] : list) {
    if (v.sign() < 0) out.push_back(k);
  }
  return out;
}

Charge charge(const std::string& quota_name, const json& quota, const ResourceList& delta) {
  return charge(quota_name, parseList(jsonAt(quota, {"status", "hard"})),
                parseList(jsonAt(quota, {"status", "used"})), delta);
}

Charge charge(const std::string& quota_name, const ResourceList& hard, const ResourceList& used,
              const ResourceList& delta) {
  // What follows in one pass, for the usual answer (it fits): used + the delta's names that
  // the quota limits, none over its hard limit.
  ResourceList sum = used;
  bool fits = true;
  for (const auto& [k, v] : delta) {
    auto h = hard.find(k);
    if (h == hard.end()) continue;
    auto [it, added] = sum.try_emplace(k, v);
    if (!added) {
      if (auto s = it->second.add(v)) it->second = *s;
    }
    if (it->second.compare(h->second) > 0) {
      fits = false;
      break;
    }
  }
  if (fits) return {std::move(sum), ""};
  // Refused: upstream's computation, for its message.
  ResourceList requested = mask(delta, names(hard));
  ResourceList next = add(used, requested);
  ResourceList masked = mask(next, names(requested));
  std::vector<std::string> over = exceeded(masked, hard);
  if (!over.empty()) {
    return {used, "exceeded quota: " + quota_name +
                      ", requested: " + prettyPrint(mask(requested, over)) +
                      ", used: " + prettyPrint(mask(used, over)) +
                      ", limited: " + prettyPrint(mask(hard, over))};
  }
  return {next, ""};
}

}  // namespace skiff::master::quota
