// Persistent volume matching and the local-path volume (volume.h).
#include "skiff/master/volume/volume.h"

#include <algorithm>

#include "skiff/common/quantity.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/nodeinfo/node_info.h"
#include "skiff/master/selectors.h"

namespace skiff::master::volume {
namespace {

std::optional<std::int64_t> bytesAt(const json& obj, std::initializer_list<const char*> path) {
  const json& q = meta::at(obj, path);
  if (!q.is_string()) return std::nullopt;
  auto parsed = Quantity::parse(q.get<std::string>());
  if (!parsed) return std::nullopt;
  return parsed->value();
}

bool hasMode(const json& modes, const std::string& m) {
  if (!modes.is_array()) return false;
  return std::any_of(modes.begin(), modes.end(), [&](const json& x) { return x == m; });
}

std::map<std::string, std::string> labelsOf(const json& node) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : meta::at(node, {"metadata", "labels"}).items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

sched::NodeSelectorTerm parseTerm(const json& t) {
  sched::NodeSelectorTerm term;
  for (const char* kind : {"matchExpressions", "matchFields"}) {
    const json& exprs = meta::at(t, {kind});
    if (!exprs.is_array()) continue;
    for (const auto& e : exprs) {
      sched::NodeSelectorRequirement r;
      r.key = e.value("key", "");
      r.op = e.value("operator", "");
      r.field = std::string(kind) == "matchFields";
      for (const auto& v : e.value("values", json::array())) {
        if (v.is_string()) r.values.push_back(v.get<std::string>());
      }
      term.reqs.push_back(std::move(r));
    }
  }
  return term;
}

}  // namespace

std::optional<std::int64_t> claimRequest(const json& pvc) {
  return bytesAt(pvc, {"spec", "resources", "requests", "storage"});
}

std::optional<std::int64_t> volumeCapacity(const json& pv) {
  return bytesAt(pv, {"spec", "capacity", "storage"});
}

std::string claimClass(const json& pvc) {
  std::string c =
      meta::str(pvc, {"metadata", "annotations", "volume.beta.kubernetes.io/storage-class"});
  return c.empty() ? meta::str(pvc, {"spec", "storageClassName"}) : c;
}

std::string volumeClass(const json& pv) { return claimClass(pv); }

bool isDefaultClass(const json& sc) {
  return meta::str(sc, {"metadata", "annotations", kAnnDefaultClass}) == "true" ||
         meta::str(sc, {"metadata", "annotations", kAnnBetaDefaultClass}) == "true";
}

std::string defaultStorageClass(const json& classes) {
  if (!classes.is_array()) return "";
  const json* best = nullptr;
  for (const auto& sc : classes) {
    if (!isDefaultClass(sc) || !meta::at(sc, {"metadata", "deletionTimestamp"}).is_null()) continue;
    if (!best) {
      best = &sc;
      continue;
    }
    std::string a = meta::str(sc, {"metadata", "creationTimestamp"});
    std::string b = meta::str(*best, {"metadata", "creationTimestamp"});
    if (a > b ||
        (a == b && meta::str(sc, {"metadata", "name"}) < meta::str(*best, {"metadata", "name"})))
      best = &sc;
  }
  return best ? meta::str(*best, {"metadata", "name"}) : "";
}

std::string accessModesString(const json& modes) {
  std::string out;
  const std::pair<const char*, const char*> order[] = {{"ReadWriteOnce", "RWO"},
                                                       {"ReadOnlyMany", "ROX"},
                                                       {"ReadWriteMany", "RWX"},
                                                       {"ReadWriteOncePod", "RWOP"}};
  for (const auto& [mode, abbrev] : order) {
    if (hasMode(modes, mode)) out += (out.empty() ? "" : ",") + std::string(abbrev);
  }
  return out;
}

bool volumeSatisfies(const json& pv, const json& pvc) {
  if (volumeClass(pv) != claimClass(pvc)) return false;
  const json& pv_modes = meta::at(pv, {"spec", "accessModes"});
  for (const auto& m : meta::at(pvc, {"spec", "accessModes"}).is_array()
                           ? meta::at(pvc, {"spec", "accessModes"})
                           : json::array()) {
    if (!m.is_string() || !hasMode(pv_modes, m.get<std::string>())) return false;
  }
  auto want = claimRequest(pvc);
  auto have = volumeCapacity(pv);
  if (!have || (want && *have < *want)) return false;
  std::string pv_mode = meta::str(pv, {"spec", "volumeMode"});
  std::string pvc_mode = meta::str(pvc, {"spec", "volumeMode"});
  if ((pv_mode.empty() ? "Filesystem" : pv_mode) != (pvc_mode.empty() ? "Filesystem" : pvc_mode))
    return false;
  const json& sel = meta::at(pvc, {"spec", "selector"});
  if (sel.is_object()) {
    auto s = LabelSelector::fromJson(sel);
    if (!s || !s->matches(meta::at(pv, {"metadata", "labels"}))) return false;
  }
  return true;
}

bool nodeAffinityAdmits(const json& pv, const json& node) {
  const json& terms = meta::at(pv, {"spec", "nodeAffinity", "required", "nodeSelectorTerms"});
  if (!terms.is_array() || terms.empty()) return true;
  auto labels = labelsOf(node);
  std::string name = meta::str(node, {"metadata", "name"});
  return std::any_of(terms.begin(), terms.end(),
                     [&](const json& t) { return parseTerm(t).matches(name, labels); });
}

bool boundTo(const json& pv, const json& pvc) {
  const json& ref = meta::at(pv, {"spec", "claimRef"});
  if (!ref.is_object()) return false;
  if (ref.value("namespace", "") != meta::str(pvc, {"metadata", "namespace"}) ||
      ref.value("name", "") != meta::str(pvc, {"metadata", "name"}))
    return false;
  std::string uid = ref.value("uid", "");
  return uid.empty() || uid == meta::str(pvc, {"metadata", "uid"});
}

int findMatchingVolume(const std::vector<json>& pvs, const json& pvc, const json* node) {
  int best = -1;
  std::int64_t best_size = 0;
  std::string wanted = meta::str(pvc, {"spec", "volumeName"});
  for (std::size_t i = 0; i < pvs.size(); ++i) {
    const json& pv = pvs[i];
    if (!meta::at(pv, {"metadata", "deletionTimestamp"}).is_null()) continue;
    if (!wanted.empty() && meta::str(pv, {"metadata", "name"}) != wanted) continue;
    if (node && !nodeAffinityAdmits(pv, *node)) continue;
    if (!volumeSatisfies(pv, pvc)) continue;
    bool prebound = meta::at(pv, {"spec", "claimRef"}).is_object();
    if (prebound) {
      if (boundTo(pv, pvc)) return static_cast<int>(i);
      continue;
    }
    if (meta::str(pv, {"status", "phase"}) != "Available" && wanted.empty()) continue;
    std::int64_t size = volumeCapacity(pv).value_or(0);
    if (best < 0 || size < best_size) {
      best = static_cast<int>(i);
      best_size = size;
    }
  }
  return best;
}

std::string localPathDir(const std::string& root, const json& pvc) {
  return root + "/pvc-" + meta::str(pvc, {"metadata", "uid"}) + "_" +
         meta::str(pvc, {"metadata", "namespace"}) + "_" + meta::str(pvc, {"metadata", "name"});
}

json provisionLocalPathVolume(const json& pvc, const json& sc, const std::string& node,
                              const std::string& root) {
  std::string uid = meta::str(pvc, {"metadata", "uid"});
  json spec = {
      {"capacity", {{"storage", meta::at(pvc, {"spec", "resources", "requests", "storage"})}}},
      {"accessModes", meta::at(pvc, {"spec", "accessModes"})},
      {"persistentVolumeReclaimPolicy", sc.value("reclaimPolicy", "Delete")},
      {"storageClassName", meta::str(sc, {"metadata", "name"})},
      {"volumeMode", "Filesystem"},
      {"hostPath", {{"path", localPathDir(root, pvc)}, {"type", "DirectoryOrCreate"}}},
      {"claimRef",
       {{"apiVersion", "v1"},
        {"kind", "PersistentVolumeClaim"},
        {"namespace", meta::str(pvc, {"metadata", "namespace"})},
        {"name", meta::str(pvc, {"metadata", "name"})},
        {"uid", uid},
        {"resourceVersion", meta::str(pvc, {"metadata", "resourceVersion"})}}},
      {"nodeAffinity",
       {{"required",
         {{"nodeSelectorTerms",
           json::array(
               {{{"matchExpressions", json::array({{{"key", "kubernetes.io/hostname"},
                                                    {"operator", "In"},
                                                    {"values", json::array({node})}}})}}})}}}}}};
  if (sc.contains("mountOptions")) spec["mountOptions"] = sc["mountOptions"];
  return {{"apiVersion", "v1"},
          {"kind", "PersistentVolume"},
          {"metadata",
           {{"name", "pvc-" + uid},
            {"annotations", {{kAnnProvisionedBy, meta::str(sc, {"provisioner"})}}}}},
          {"spec", std::move(spec)}};
}

std::string ephemeralClaimName(const json& pod, const json& vol) {
  if (!vol.is_object() || !vol.contains("ephemeral")) return "";
  return meta::name(pod) + "-" + vol.value("name", "");
}

std::string podVolumeClaimName(const json& pod, const json& vol) {
  std::string c = meta::str(vol, {"persistentVolumeClaim", "claimName"});
  return c.empty() ? ephemeralClaimName(pod, vol) : c;
}

std::string ephemeralClaimNotForPod(const json& pod, const json& pvc) {
  const json* ref = meta::controllerRef(pvc);
  if (ref != nullptr && ref->value("uid", "") == meta::uid(pod)) return "";
  return "PVC " + meta::ns(pvc) + "/" + meta::name(pvc) + " was not created for pod " +
         meta::ns(pod) + "/" + meta::name(pod) + " (pod is not owner)";
}

std::optional<std::int64_t> localPathSpaceLeft(const std::vector<json>& pvs, const json& node) {
  auto left = bytesAt(node, {"status", "allocatable", "ephemeral-storage"});
  if (!left) return std::nullopt;
  for (const auto& pv : pvs) {
    if (meta::str(pv, {"metadata", "annotations", kAnnProvisionedBy}) != kLocalPathProvisioner ||
        !meta::at(pv, {"spec", "nodeAffinity"}).is_object() || !nodeAffinityAdmits(pv, node))
      continue;
    *left -= volumeCapacity(pv).value_or(0);
  }
  return *left;
}

}  // namespace skiff::master::volume
