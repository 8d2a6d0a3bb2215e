// DaemonSet controller (pkg/controller/daemon): one pod per eligible node. Pods carry the
// DaemonSet default tolerations and a required node affinity on metadata.name so the default
// scheduler places them (ScheduleDaemonSetPods); a ControllerRevision records each template,
// pods are labelled with its hash, and RollingUpdate replaces old pods within maxUnavailable.

#include <algorithm>
#include <map>
#include <set>

#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/event_recorder.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/options.h"
#include "util.h"
#include "workload_controller.h"

// Shared with the scheduler: the same taint/affinity logic decides eligibility.
#include "skiff/master/nodeinfo/node_info.h"

namespace skiff::master {

namespace {

constexpr const char* kRevisionHash = "controller-revision-hash";

// util.AddOrUpdateDaemonPodTolerations
json withDaemonTolerations(json tols) {
  if (!tols.is_array()) tols = json::array();
  auto add = [&](const char* key, const char* effect) {
    for (const auto& t : tols) {
      if (t.value("key", "") == key && t.value("effect", "") == effect &&
          t.value("operator", "") == "Exists") {
        return;
      }
    }
    tols.push_back({{"key", key}, {"operator", "Exists"}, {"effect", effect}});
  };
  add("node.kubernetes.io/not-ready", "NoExecute");
  add("node.kubernetes.io/unreachable", "NoExecute");
  add("node.kubernetes.io/disk-pressure", "NoSchedule");
  add("node.kubernetes.io/memory-pressure", "NoSchedule");
  add("node.kubernetes.io/pid-pressure", "NoSchedule");
  add("node.kubernetes.io/unschedulable", "NoSchedule");
  return tols;
}

class DaemonSetController : public WorkloadController {
 public:
  DaemonSetController(ApiClient& client, std::shared_ptr<Clock> clock)
      : WorkloadController("daemonset", client, std::move(clock), gvr::kDaemonSets, "DaemonSet") {}

  // Also every DaemonSet when a node's labels or taints change: where its pods belong.
  void registerHandlers(SharedInformers& inf) override {
    WorkloadController::registerHandlers(inf);
    auto all = [this](const json&) {
      for (const auto& ds : objects_->list()) queue().add(meta::key(ds));
    };
    inf.get(gvr::kNodes)
        .addEventHandlers({
            .on_add = all,
            .on_update =
                [all](const json& o, const json& n) {
                  if (meta::labels(o) != meta::labels(n) ||
                      meta::at(o, {"spec", "taints"}) != meta::at(n, {"spec", "taints"})) {
                    all(n);
                  }
                },
            .on_delete = all,
        });
  }

  Result<void> syncLive(json ds) override {
    std::string ns = meta::ns(ds);
    SKIFF_ASSIGN_OR_RETURN(std::string hash, ensureRevision(ds));
    SKIFF_ASSIGN_OR_RETURN(ObjectList nodes, client_.list(gvr::kNodes, "", ListOptions{}));
    SKIFF_ASSIGN_OR_RETURN(ObjectList pods, client_.list(gvr::kPods, ns, ListOptions{}));
    json ref = meta::makeControllerRef(ds, "apps/v1", "DaemonSet");
    SKIFF_ASSIGN_OR_RETURN(
        std::vector<json> owned,
        ctl::claimObjects(client_, gvr::kPods, ds, ref, ctl::workloadSelector(ds), pods.items));
    std::map<std::string, std::vector<json>> by_node;
    for (const auto& p : owned) {
      if (meta::isDeleting(p)) continue;
      by_node[nodeOfPod(p)].push_back(p);
    }
    std::int64_t min_ready = meta::integer(ds, {"spec", "minReadySeconds"}, 0);
    TimePoint now = clock().now();
    Status st;
    std::vector<std::pair<std::string, json>> old_pods;  // node -> old-revision pod
    int unavailable_nodes = 0;
    for (const auto& n : nodes.items) {
      std::string node = meta::name(n);
      bool should_run = shouldRun(ds, n);
      auto& mine = by_node[node];
      // Failed pods are deleted and recreated (upstream's failed-pod backoff aside).
      std::vector<json> running;
      for (const auto& p : mine) {
        if (meta::str(p, {"status", "phase"}) == "Failed") {
          SKIFF_TRY(deletePod(ds, p));
        } else {
          running.push_back(p);
        }
      }
      if (should_run) {
        st.desired++;
        if (running.empty()) {
          SKIFF_TRY(createPod(ds, ref, node, hash));
          unavailable_nodes++;
          continue;
        }
        st.current++;
        std::sort(running.begin(), running.end(), [](const json& a, const json& b) {
          return meta::str(a, {"metadata", "creationTimestamp"}) <
                 meta::str(b, {"metadata", "creationTimestamp"});
        });
        for (std::size_t i = 1; i < running.size(); ++i) SKIFF_TRY(deletePod(ds, running[i]));
        const json& p = running[0];
        bool updated = meta::str(p, {"metadata", "labels", kRevisionHash}) == hash;
        if (updated) st.updated++;
        if (ctl::isReady(p)) st.ready++;
        if (ctl::isAvailable(p, min_ready, now)) {
          st.available++;
        } else {
          unavailable_nodes++;
        }
        if (!updated) old_pods.emplace_back(node, p);
      } else {
        if (!running.empty()) st.misscheduled++;
        for (const auto& p : running) SKIFF_TRY(deletePod(ds, p));
      }
    }
    SKIFF_TRY(rollingUpdate(ds, nodes.items.size(), unavailable_nodes, old_pods, min_ready, now));
    return updateStatus(ds, st);
  }

 private:
  struct Status {
    std::int64_t desired = 0, current = 0, misscheduled = 0, ready = 0, available = 0, updated = 0;
  };

  static std::string nodeOfPod(const json& p) {
    std::string n = meta::str(p, {"spec", "nodeName"});
    if (!n.empty()) return n;
    // Not bound yet: the node it is pinned to through matchFields metadata.name.
    const json& terms =
        meta::at(p, {"spec", "affinity", "nodeAffinity",
                     "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"});
    if (terms.is_array()) {
      for (const auto& t : terms) {
        for (const auto& f : meta::at(t, {"matchFields"})) {
          if (f.value("key", "") == "metadata.name" && f.contains("values") &&
              f["values"].is_array() && f["values"].size() == 1) {
            return f["values"][0].get<std::string>();
          }
        }
      }
    }
    return "";
  }

  // NodeShouldRunDaemonPod: node affinity/selector and taints (NoSchedule/NoExecute) with the
  // DaemonSet's tolerations plus the defaults; unschedulable nodes are fine.
  static bool shouldRun(const json& ds, const json& node) {
    json pod = {{"metadata", json::object()}, {"spec", meta::at(ds, {"spec", "template", "spec"})}};
    pod["spec"]["tolerations"] = withDaemonTolerations(meta::at(pod, {"spec", "tolerations"}));
    sched::PodInfo info = sched::PodInfo::from(pod);
    sched::NodeInfo ni;
    ni.setNode(node);
    ni.unschedulable = false;
    for (const auto& [k, v] : info.node_selector) {
      auto it = ni.labels.find(k);
      if (it == ni.labels.end() || it->second != v) return false;
    }
    if (!info.required_terms.empty() &&
        std::none_of(
            info.required_terms.begin(), info.required_terms.end(),
            [&](const sched::NodeSelectorTerm& t) { return t.matches(ni.name, ni.labels); })) {
      return false;
    }
    for (const auto& t : ni.taints) {
      if (t.effect != "NoSchedule" && t.effect != "NoExecute") continue;
      bool ok = std::any_of(info.tolerations.begin(), info.tolerations.end(),
                            [&](const sched::Toleration& x) { return x.tolerates(t); });
      if (!ok) return false;
    }
    return true;
  }

  Result<std::string> ensureRevision(const json& ds) {
    SKIFF_ASSIGN_OR_RETURN(ctl::TemplateRevision rev, ctl::templateRevision(client_, ds));
    if (const auto& mine = rev.existing) {
      if (mine->value("revision", 0) < rev.max_revision) {
        json up = *mine;
        up["revision"] = rev.max_revision + 1;
        SKIFF_TRY(client_.update(gvr::kControllerRevisions, meta::ns(ds), up));
      }
      return rev.hash;
    }
    json tmpl = meta::at(ds, {"spec", "template"});
    json labels = meta::at(tmpl, {"metadata", "labels"}).is_object() ? tmpl["metadata"]["labels"]
                                                                     : json::object();
    labels[kRevisionHash] = rev.hash;
    // daemon.Match's form: the template as a Go client encodes it, replacing the whole.
    json patch_tmpl = ctl::goTemplateForm(tmpl);
    patch_tmpl["$patch"] = "replace";
    SKIFF_TRY(ctl::createRevision(client_, ds, "DaemonSet", rev, std::move(labels),
                                  std::move(patch_tmpl)));
    return rev.hash;
  }

  Result<void> createPod(const json& ds, const json& ref, const std::string& node,
                         const std::string& hash) {
    json tmpl = meta::at(ds, {"spec", "template"});
    json pod = ctl::podFromTemplate(tmpl, ref, meta::name(ds) + "-");
    pod["metadata"]["labels"][kRevisionHash] = hash;
    pod["metadata"]["labels"]["pod-template-generation"] = std::to_string(meta::generation(ds));
    pod["spec"]["tolerations"] = withDaemonTolerations(meta::at(pod, {"spec", "tolerations"}));
    // ReplaceDaemonSetPodNodeNameNodeAffinity: pin to the node through matchFields.
    pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = {
        {"nodeSelectorTerms",
         json::array({{{"matchFields", json::array({{{"key", "metadata.name"},
                                                     {"operator", "In"},
                                                     {"values", json::array({node})}}})}}})}};
    return createPodFor(ds, pod);
  }

  Result<void> deletePod(const json& ds, const json& p) {
    SKIFF_TRY(removePod(p));
    recorder_.event(ds, "Normal", "SuccessfulDelete", "Deleted pod: " + meta::name(p));
    return {};
  }

  // rollingUpdate: delete old-revision pods, unavailable ones first, while the number of
  // nodes without an available daemon pod stays within maxUnavailable.
  Result<void> rollingUpdate(const json& ds, std::size_t num_nodes, int unavailable,
                             const std::vector<std::pair<std::string, json>>& old_pods,
                             std::int64_t min_ready, TimePoint now) {
    if (meta::str(ds, {"spec", "updateStrategy", "type"}) == "OnDelete") return {};
    json mu = meta::at(ds, {"spec", "updateStrategy", "rollingUpdate", "maxUnavailable"});
    if (mu.is_null()) mu = 1;
    SKIFF_ASSIGN_OR_RETURN(std::int64_t max_unavailable,
                           ctl::scaledValue(mu, static_cast<std::int64_t>(num_nodes), true));
    if (max_unavailable < 1) max_unavailable = 1;
    std::int64_t budget = max_unavailable - unavailable;
    for (const auto& [node, p] : old_pods) {
      if (!ctl::isAvailable(p, min_ready, now)) SKIFF_TRY(deletePod(ds, p));  // already counted
    }
    for (const auto& [node, p] : old_pods) {
      if (budget <= 0) break;
      if (!ctl::isAvailable(p, min_ready, now)) continue;
      SKIFF_TRY(deletePod(ds, p));
      --budget;
    }
    return {};
  }

  Result<void> updateStatus(const json& ds, const Status& s) {
    json status = ctl::statusOf(ds);
    json next = status;
    next["desiredNumberScheduled"] = s.desired;
    next["currentNumberScheduled"] = s.current;
    next["numberMisscheduled"] = s.misscheduled;
    next["numberReady"] = s.ready;
    next["numberAvailable"] = s.available;
    next["updatedNumberScheduled"] = s.updated;
    std::int64_t unavailable = s.desired - s.available;
    if (unavailable > 0) {
      next["numberUnavailable"] = unavailable;
    } else {
      next.erase("numberUnavailable");
    }
    next["observedGeneration"] = meta::generation(ds);
    if (next == status) return {};
    return ctl::updateStatus(client_, gvr::kDaemonSets, ds, std::move(next));
  }
};

}  // namespace

const ControllerFactory newDaemonSetController = makeController<DaemonSetController>;

}  // namespace skiff::master
