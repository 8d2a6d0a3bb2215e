// StatefulSet controller (pkg/controller/statefulset): pods named <set>-<ordinal> with stable
// hostnames, created in order and each only once its predecessors are Running and Ready
// (OrderedReady) or all at once (Parallel), removed from the highest ordinal down, and rolled
// to a new ControllerRevision from the highest ordinal down to spec.updateStrategy.
// rollingUpdate.partition. Each volumeClaimTemplate becomes the claim <template>-<set>-<ordinal>,
// created before its pod and kept across pod restarts; persistentVolumeClaimRetentionPolicy
// (default Retain/Retain) decides whether claims go with the set (whenDeleted: Delete, through
// an ownerReference the garbage collector follows) or with a scaled-down ordinal (whenScaled).

#include <algorithm>
#include <map>

#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/event_recorder.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/options.h"
#include "util.h"
#include "workload_controller.h"

namespace skiff::master {

namespace {

constexpr const char* kRevisionHash = "controller-revision-hash";
const GroupVersionResource kClaims{"", "v1", "persistentvolumeclaims"};

int ordinalOf(const std::string& set, const std::string& pod) {
  if (pod.size() <= set.size() + 1 || pod.compare(0, set.size() + 1, set + "-") != 0) return -1;
  std::string tail = pod.substr(set.size() + 1);
  if (tail.empty() || tail.size() > 9 ||
      !std::all_of(tail.begin(), tail.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  return std::stoi(tail);
}

// A pod's controller-revision-hash is the ControllerRevision's name ("web-5d4f8c7b9"), as
// upstream labels StatefulSet pods; pods labelled with the bare hash by older skiff versions
// count as the same revision (no restart on upgrade).
bool atRevision(const json& pod, const std::string& revision) {
  std::string label = meta::str(pod, {"metadata", "labels", kRevisionHash});
  if (label.empty()) return false;
  if (label == revision) return true;
  return revision.size() > label.size() + 1 && revision.ends_with("-" + label);
}

bool runningAndReady(const json& p) {
  return meta::str(p, {"status", "phase"}) == "Running" && ctl::isReady(p);
}

bool healthy(const json& p) { return runningAndReady(p) && !meta::isDeleting(p); }

class StatefulSetController : public WorkloadController {
 public:
  StatefulSetController(ApiClient& client, std::shared_ptr<Clock> clock)
      : WorkloadController("statefulset", client, std::move(clock), gvr::kStatefulSets,
                           "StatefulSet") {}

  Result<void> syncLive(json set) override {
    std::string ns = meta::ns(set), name = meta::name(set);
    SKIFF_ASSIGN_OR_RETURN(std::string update_rev, ensureRevision(set));
    std::string current_rev = meta::str(set, {"status", "currentRevision"});
    if (current_rev.empty()) current_rev = update_rev;

    SKIFF_ASSIGN_OR_RETURN(ObjectList pods, client_.list(gvr::kPods, ns, ListOptions{}));
    json ref = meta::makeControllerRef(set, "apps/v1", "StatefulSet");
    SKIFF_ASSIGN_OR_RETURN(
        std::vector<json> owned,
        ctl::claimObjects(client_, gvr::kPods, set, ref, ctl::workloadSelector(set), pods.items));
    std::int64_t replicas = meta::integer(set, {"spec", "replicas"}, 1);
    bool parallel = meta::str(set, {"spec", "podManagementPolicy"}) == "Parallel";
    std::map<int, json> by_ordinal;
    std::vector<json> condemned;
    for (const auto& p : owned) {
      int ord = ordinalOf(name, meta::name(p));
      if (ord < 0) continue;
      if (ord < replicas) {
        by_ordinal[ord] = p;
      } else {
        condemned.push_back(p);
      }
    }
    // Create / replace in ordinal order.
    bool blocked = false;
    for (int i = 0; i < replicas && !blocked; ++i) {
      auto it = by_ordinal.find(i);
      if (it == by_ordinal.end()) {
        SKIFF_TRY(createPod(set, ref, i, current_rev, update_rev));
        if (!parallel) blocked = true;
        continue;
      }
      const json& p = it->second;
      if (meta::str(p, {"status", "phase"}) == "Failed" && !meta::isDeleting(p)) {
        SKIFF_TRY(deletePod(set, p));
        if (!parallel) blocked = true;
        continue;
      }
      if (!parallel && !(runningAndReady(p) && !meta::isDeleting(p))) blocked = true;
    }
    // Scale down from the highest ordinal, one at a time when ordered.
    std::sort(condemned.begin(), condemned.end(), [&](const json& a, const json& b) {
      return ordinalOf(name, meta::name(a)) > ordinalOf(name, meta::name(b));
    });
    // OrderedReady halts while any pod is unhealthy; only the lowest-ordinal unhealthy pod may
    // still be removed (it is the one holding the set back).
    std::string first_unhealthy;
    for (const auto& [i, p] : by_ordinal) {
      if (first_unhealthy.empty() && !healthy(p)) first_unhealthy = meta::name(p);
    }
    for (auto it = condemned.rbegin(); it != condemned.rend() && first_unhealthy.empty(); ++it) {
      if (!healthy(*it)) first_unhealthy = meta::name(*it);
    }
    if (!blocked) {
      for (const auto& p : condemned) {
        if (meta::isDeleting(p)) {
          if (!parallel) break;
          continue;
        }
        if (!parallel && !runningAndReady(p) && meta::name(p) != first_unhealthy) break;
        SKIFF_TRY(deletePod(set, p));
        SKIFF_TRY(deleteScaledClaims(set, p));
        if (!parallel) break;
      }
    }
    // Rolling update: the highest ordinal >= partition still on an old revision goes first.
    bool on_delete = meta::str(set, {"spec", "updateStrategy", "type"}) == "OnDelete";
    std::int64_t partition =
        meta::integer(set, {"spec", "updateStrategy", "rollingUpdate", "partition"}, 0);
    bool all_ready = static_cast<std::int64_t>(by_ordinal.size()) == replicas && condemned.empty();
    for (const auto& [i, p] : by_ordinal) all_ready &= runningAndReady(p) && !meta::isDeleting(p);
    if (!on_delete && all_ready) {
      for (int i = static_cast<int>(replicas) - 1; i >= partition; --i) {
        const json& p = by_ordinal[i];
        if (!atRevision(p, update_rev)) {
          SKIFF_TRY(deletePod(set, p));
          break;
        }
      }
    }
    return updateStatus(set, by_ordinal, current_rev, update_rev, replicas, partition);
  }

 private:
  Result<std::string> ensureRevision(const json& set) {
    SKIFF_ASSIGN_OR_RETURN(ctl::TemplateRevision rev, ctl::templateRevision(client_, set));
    if (!rev.existing) {
      const json& tmpl = meta::at(set, {"spec", "template"});
      SKIFF_TRY(ctl::createRevision(client_, set, "StatefulSet", rev,
                                    meta::at(tmpl, {"metadata", "labels"}), tmpl));
    }
    return rev.name;
  }

  // createPersistentVolumeClaims: every template's claim for the ordinal, unless it exists.
  Result<void> ensureClaims(const json& set, const std::string& pod_name, json& pod) {
    const json& vcts = meta::at(set, {"spec", "volumeClaimTemplates"});
    if (!vcts.is_array()) return {};
    json& vols = pod["spec"]["volumes"];
    if (!vols.is_array()) vols = json::array();
    for (const auto& t : vcts) {
      std::string tname = meta::name(t);
      std::string claim = tname + "-" + pod_name;
      json keep = json::array();
      for (const auto& v : vols) {
        if (v.value("name", "") != tname) keep.push_back(v);
      }
      keep.push_back({{"name", tname}, {"persistentVolumeClaim", {{"claimName", claim}}}});
      vols = keep;
      auto got = client_.get(kClaims, meta::ns(set), claim);
      if (got) continue;
      if (!got.error().is(ErrorCode::NotFound)) return std::move(got).error();
      json pvc = {{"apiVersion", "v1"},
                  {"kind", "PersistentVolumeClaim"},
                  {"metadata", {{"name", claim}, {"namespace", meta::ns(set)}}},
                  {"spec", meta::at(t, {"spec"})}};
      json labels = meta::at(t, {"metadata", "labels"}).is_object()
                        ? meta::at(t, {"metadata", "labels"})
                        : json::object();
      for (const auto& [k, v] : meta::at(set, {"spec", "selector", "matchLabels"}).items())
        labels[k] = v;
      if (!labels.empty()) pvc["metadata"]["labels"] = labels;
      if (meta::at(t, {"metadata", "annotations"}).is_object())
        pvc["metadata"]["annotations"] = meta::at(t, {"metadata", "annotations"});
      if (meta::str(set, {"spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted"}) ==
          "Delete") {
        json owner = meta::makeControllerRef(set, "apps/v1", "StatefulSet");
        owner["controller"] = false;
        pvc["metadata"]["ownerReferences"] = json::array({owner});
      }
      auto made = client_.create(kClaims, meta::ns(set), pvc);
      if (!made && !made.error().is(ErrorCode::AlreadyExists)) {
        recorder_.event(set, "Warning", "FailedCreate",
                        "create Claim " + claim + " for Pod " + pod_name + " in StatefulSet " +
                            meta::name(set) + " failed error: " + made.error().message());
        return std::move(made).error();
      }
      recorder_.event(set, "Normal", "SuccessfulCreate",
                      "create Claim " + claim + " Pod " + pod_name + " in StatefulSet " +
                          meta::name(set) + " success");
    }
    return {};
  }

  // whenScaled: Delete removes a condemned ordinal's claims with its pod.
  Result<void> deleteScaledClaims(const json& set, const json& p) {
    if (meta::str(set, {"spec", "persistentVolumeClaimRetentionPolicy", "whenScaled"}) != "Delete")
      return {};
    const json& vcts = meta::at(set, {"spec", "volumeClaimTemplates"});
    for (const auto& t : vcts.is_array() ? vcts : json::array()) {
      std::string claim = meta::name(t) + "-" + meta::name(p);
      SKIFF_TRY(ctl::ignoreNotFound(client_.remove(kClaims, meta::ns(set), claim)));
    }
    return {};
  }

  // newVersionedStatefulSetPod: during a partitioned rolling update an ordinal below the
  // partition is (re)created from the current revision, so a deleted pod there comes back as
  // it was rather than jumping ahead of the rollout; the rest get the update revision.
  Result<void> createPod(const json& set, const json& ref, int ordinal,
                         const std::string& current_rev, const std::string& update_rev) {
    std::string name = meta::name(set) + "-" + std::to_string(ordinal);
    json tmpl = meta::at(set, {"spec", "template"});
    std::string revision = update_rev;
    if (current_rev != update_rev && belowPartition(set, ordinal)) {
      auto cr = client_.get(gvr::kControllerRevisions, meta::ns(set), current_rev);
      if (!cr && !cr.error().is(ErrorCode::NotFound)) return std::move(cr).error();
      const json old_tmpl = cr ? meta::at(*cr, {"data", "spec", "template"}) : json();
      if (old_tmpl.is_object()) {
        tmpl = old_tmpl;
        revision = current_rev;
      }
    }
    json pod = ctl::podFromTemplate(tmpl, ref, "");
    SKIFF_TRY(ensureClaims(set, name, pod));
    pod["metadata"].erase("generateName");
    pod["metadata"]["name"] = name;
    pod["metadata"]["labels"][kRevisionHash] = revision;
    pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] = name;
    pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] = std::to_string(ordinal);
    pod["spec"]["hostname"] = name;
    std::string svc = meta::str(set, {"spec", "serviceName"});
    if (!svc.empty()) pod["spec"]["subdomain"] = svc;
    auto r = client_.create(gvr::kPods, meta::ns(set), pod);
    if (!r) {
      if (r.error().is(ErrorCode::AlreadyExists)) return {};  // the old one is still going
      recorder_.event(set, "Warning", "FailedCreate",
                      "create Pod " + name + " in StatefulSet " + meta::name(set) +
                          " failed error: " + r.error().message());
      return std::move(r).error();
    }
    recorder_.event(set, "Normal", "SuccessfulCreate",
                    "create Pod " + name + " in StatefulSet " + meta::name(set) + " successful");
    return {};
  }

  // RollingUpdate keeps ordinals below spec.updateStrategy.rollingUpdate.partition (or, with
  // no rollingUpdate block, below status.currentReplicas) on the current revision.
  static bool belowPartition(const json& set, int ordinal) {
    if (meta::str(set, {"spec", "updateStrategy", "type"}) == "OnDelete") return false;
    const json& ru = meta::at(set, {"spec", "updateStrategy", "rollingUpdate"});
    if (ru.is_object()) return ordinal < meta::integer(ru, {"partition"}, 0);
    return ordinal < meta::integer(set, {"status", "currentReplicas"}, 0);
  }

  Result<void> deletePod(const json& set, const json& p) {
    SKIFF_TRY(removePod(p));
    recorder_.event(
        set, "Normal", "SuccessfulDelete",
        "delete Pod " + meta::name(p) + " in StatefulSet " + meta::name(set) + " successful");
    return {};
  }

  Result<void> updateStatus(const json& set, const std::map<int, json>& pods,
                            const std::string& current_rev, const std::string& update_rev,
                            std::int64_t replicas, std::int64_t partition) {
    std::int64_t n = 0, ready = 0, available = 0, updated = 0, current = 0;
    std::int64_t min_ready = meta::integer(set, {"spec", "minReadySeconds"}, 0);
    TimePoint now = clock().now();
    for (const auto& [i, p] : pods) {
      if (meta::isDeleting(p)) continue;
      ++n;
      if (ctl::isReady(p)) ++ready;
      if (ctl::isAvailable(p, min_ready, now)) ++available;
      if (atRevision(p, update_rev)) ++updated;
    }
    std::string cur = current_rev;
    // The update is done when every pod at or above the partition runs the update revision.
    if (updated == replicas && n == replicas && partition == 0) cur = update_rev;
    for (const auto& [i, p] : pods) {
      if (!meta::isDeleting(p) && atRevision(p, cur)) ++current;
    }
    json status = ctl::statusOf(set);
    json next = status;
    next["observedGeneration"] = meta::generation(set);
    next["replicas"] = n;
    next["readyReplicas"] = ready;
    next["availableReplicas"] = available;
    next["currentReplicas"] = current;
    next["updatedReplicas"] = updated;
    next["currentRevision"] = cur;
    next["updateRevision"] = update_rev;
    next["collisionCount"] = 0;
    if (next == status) return {};
    return ctl::updateStatus(client_, gvr::kStatefulSets, set, std::move(next));
  }
};

}  // namespace

const ControllerFactory newStatefulSetController = makeController<StatefulSetController>;

}  // namespace skiff::master
