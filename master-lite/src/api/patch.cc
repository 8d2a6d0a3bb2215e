#include "skiff/master/api/patch.h"

#include <algorithm>
#include <set>

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

bool isDirective(const std::string& k) { return !k.empty() && k[0] == '$'; }

// A patch value being inserted where nothing existed: drop directives inside it.
json stripDirectives(const json& v) {
  if (v.is_object()) {
    json out = json::object();
    for (auto& [k, x] : v.items()) {
      if (isDirective(k)) continue;
      if (x.is_null()) continue;
      out[k] = stripDirectives(x);
    }
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& x : v) {
      if (x.is_object() && x.contains("$patch")) continue;
      out.push_back(stripDirectives(x));
    }
    return out;
  }
  return v;
}

Result<json> mergeMap(const json& orig, const json& patch, const std::string& path);

Result<json> mergeList(const json& orig, const json& patch, const std::string& path,
                       const std::string& field) {
  if (!patch.is_array())
    return Error(ErrorCode::BadRequest, "field '" + field + "' must be a list");
  // Primitive lists with strategy "merge" (finalizers, a Node's podCIDRs): union, keeping order.
  if (field == "finalizers" || field == "podCIDRs") {
    json out = orig.is_array() ? orig : json::array();
    for (const auto& v : patch) {
      if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
    }
    return out;
  }
  json first = !patch.empty() ? patch[0] : (orig.is_array() && !orig.empty() ? orig[0] : json());
  std::string key = strategicMergeKey(path, field, first);
  if (key.empty() || !orig.is_array()) return stripDirectives(patch);
  json out = orig;
  for (const auto& el : patch) {
    if (!el.is_object())
      return Error(ErrorCode::BadRequest, "list '" + field + "' elements must be objects");
    std::string directive = el.value("$patch", "");
    if (directive == "replace") {
      json rest = json::array();
      for (const auto& e : patch) {
        if (!(e.is_object() && e.contains("$patch"))) rest.push_back(stripDirectives(e));
      }
      return rest;
    }
    if (!el.contains(key)) {
      return Error(ErrorCode::BadRequest,
                   "map: " + el.dump() + " does not contain declared merge key: " + key);
    }
    auto it = std::find_if(out.begin(), out.end(), [&](const json& o) {
      return o.is_object() && o.contains(key) && o[key] == el[key];
    });
    if (directive == "delete") {
      if (it != out.end()) out.erase(it);
      continue;
    }
    if (it == out.end()) {
      out.push_back(stripDirectives(el));
    } else {
      SKIFF_ASSIGN_OR_RETURN(*it, mergeMap(*it, el, path + "/" + field));
    }
  }
  return out;
}

void applyOrder(json& list, const json& order, const std::string& key) {
  if (!list.is_array() || !order.is_array()) return;
  json sorted = json::array();
  std::vector<bool> used(list.size(), false);
  for (const auto& o : order) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (used[i]) continue;
      bool same = key.empty() ? list[i] == o
                              : (o.is_object() && list[i].is_object() && o.contains(key) &&
                                 list[i].contains(key) && list[i][key] == o[key]);
      if (same) {
        sorted.push_back(list[i]);
        used[i] = true;
        break;
      }
    }
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!used[i]) sorted.push_back(list[i]);
  }
  list = std::move(sorted);
}

Result<json> mergeMap(const json& orig, const json& patch, const std::string& path) {
  if (!patch.is_object()) return stripDirectives(patch);
  std::string directive = patch.value("$patch", "");
  if (directive == "replace") return stripDirectives(patch);
  if (directive == "delete") return json();
  json out = orig.is_object() ? orig : json::object();
  const json* retain = nullptr;
  std::vector<std::pair<std::string, const json*>> orders;
  for (auto& [k, v] : patch.items()) {
    if (k == "$patch") continue;
    if (k == "$retainKeys") {
      retain = &v;
      continue;
    }
    if (k.rfind("$setElementOrder/", 0) == 0) {
      orders.emplace_back(k.substr(17), &v);
      continue;
    }
    if (k.rfind("$deleteFromPrimitiveList/", 0) == 0) {
      std::string list = k.substr(25);
      if (out.contains(list) && out[list].is_array() && v.is_array()) {
        json kept = json::array();
        for (const auto& x : out[list]) {
          if (std::find(v.begin(), v.end(), x) == v.end()) kept.push_back(x);
        }
        out[list] = std::move(kept);
      }
      continue;
    }
    if (isDirective(k)) continue;
    if (v.is_null()) {
      out.erase(k);
    } else if (v.is_object()) {
      json cur = out.contains(k) ? out[k] : json();
      SKIFF_ASSIGN_OR_RETURN(json merged, mergeMap(cur, v, path + "/" + k));
      if (merged.is_null()) {
        out.erase(k);
      } else {
        out[k] = std::move(merged);
      }
    } else if (v.is_array()) {
      json cur = out.contains(k) ? out[k] : json();
      SKIFF_ASSIGN_OR_RETURN(out[k], mergeList(cur, v, path, k));
    } else {
      out[k] = v;
    }
  }
  if (retain && retain->is_array()) {
    std::set<std::string> keep;
    for (const auto& k : *retain) {
      if (k.is_string()) keep.insert(k.get<std::string>());
    }
    for (auto it = out.begin(); it != out.end();) {
      if (!keep.count(it.key())) {
        it = out.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& [list, order] : orders) {
    if (!out.contains(list)) continue;
    json first = out[list].is_array() && !out[list].empty() ? out[list][0] : json();
    applyOrder(out[list], *order, strategicMergeKey(path, list, first));
  }
  return out;
}

}  // namespace

std::string strategicMergeKey(const std::string& path, const std::string& field,
                              const json& first) {
  // The patchMergeKey tags of k8s.io/api's types, by field name (where one name carries two
  // keys, below, the path or the element tells them apart).
  if (field == "containers" || field == "initContainers" || field == "ephemeralContainers" ||
      field == "env" || field == "volumes" || field == "imagePullSecrets" ||
      field == "resourceClaims" || field == "schedulingGates" || field == "secrets" ||
      field == "webhooks" || field == "matchConditions" || field == "variables" ||
      field == "drivers" || field == "allocatedResourcesStatus") {
    return "name";
  }
  if (field == "podIPs" || field == "hostIPs") return "ip";
  if (field == "ports") {
    if (first.is_object() && first.contains("containerPort")) return "containerPort";
    // Endpoints subsets' ports are atomic; Service ports merge on port.
    if (path.find("subsets") != std::string::npos) return "";
    if (path.find("ontainers") != std::string::npos) return "containerPort";
    return "port";
  }
  if (field == "volumeMounts") return "mountPath";
  if (field == "volumeDevices") return "devicePath";
  if (field == "conditions") return "type";
  if (field == "addresses" && path.find("subsets") == std::string::npos) return "type";
  if (field == "ownerReferences") return "uid";
  if (field == "hostAliases") return "ip";
  if (field == "topologySpreadConstraints") return "topologyKey";
  return "";
}

Result<json> applyJsonPatch(const json& doc, const json& patch) {
  if (!patch.is_array()) {
    return Error(ErrorCode::BadRequest, "json patch must be a list of operations");
  }
  try {
    return doc.patch(patch);
  } catch (const std::exception& e) {
    return Error(
        ErrorCode::Invalid,
        std::string("the server rejected our request due to an error in our request: ") + e.what());
  }
}

Result<json> applyMergePatch(const json& doc, const json& patch) {
  if (!patch.is_object()) return Error(ErrorCode::BadRequest, "merge patch must be an object");
  json out = doc;
  out.merge_patch(patch);
  return out;
}

Result<json> applyStrategicMergePatch(const json& doc, const json& patch) {
  if (!patch.is_object()) {
    return Error(ErrorCode::BadRequest, "strategic merge patch must be an object");
  }
  return mergeMap(doc, patch, "");
}

}  // namespace skiff::master::api
