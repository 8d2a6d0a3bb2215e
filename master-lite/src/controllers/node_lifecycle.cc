// Node lifecycle (pkg/controller/nodelifecycle) and the NoExecute taint manager
// (pkg/controller/tainteviction).
//
// Monitor: every node-monitor-period, a node whose Lease in kube-node-lease (or Ready
// heartbeat) has not changed for node-monitor-grace-period gets all its conditions set to
// Unknown ("Kubelet stopped posting node status.") and its pods marked not Ready. Taints follow
// the conditions (TaintNodesByCondition + taint-based eviction): Ready=False ->
// node.kubernetes.io/not-ready, Ready=Unknown -> node.kubernetes.io/unreachable, each with
// NoSchedule and NoExecute; memory/disk/pid pressure and unschedulable -> NoSchedule.
//
// Taint manager: pods on a node with NoExecute taints they do not tolerate are deleted at once;
// tolerated with tolerationSeconds, when the smallest such period since the taint's timeAdded
// runs out.

#include <map>
#include <mutex>

#include "skiff/common/log.h"
#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/event_recorder.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/options.h"
#include "util.h"

namespace skiff::master {

namespace {

constexpr const char* kNotReady = "node.kubernetes.io/not-ready";
constexpr const char* kUnreachable = "node.kubernetes.io/unreachable";

// The taints this controller owns; others (user taints) are left alone.
bool managedTaint(const json& t) {
  std::string k = t.value("key", "");
  return k == kNotReady || k == kUnreachable || k == "node.kubernetes.io/memory-pressure" ||
         k == "node.kubernetes.io/disk-pressure" || k == "node.kubernetes.io/pid-pressure" ||
         k == "node.kubernetes.io/network-unavailable" || k == "node.kubernetes.io/unschedulable";
}

std::string conditionStatus(const json& node, const std::string& type) {
  const json* c = ctl::findCondition(meta::at(node, {"status", "conditions"}), type);
  return c == nullptr ? "" : c->value("status", "");
}

class NodeLifecycleController : public RecordingController {
 public:
  NodeLifecycleController(ApiClient& client, std::shared_ptr<Clock> clock,
                          NodeLifecycleOptions opts)
      : RecordingController("nodelifecycle", client, std::move(clock), "node-controller"),
        opts_(opts) {}

  void registerHandlers(SharedInformers& inf) override {
    nodes_ = &enqueueAddedAndUpdated(inf, gvr::kNodes);
    nodes_->addEventHandlers({
        .on_add = nullptr,
        .on_update = nullptr,
        .on_delete =
            [this](const json& n) {
              std::lock_guard lock(mu_);
              health_.erase(meta::name(n));
            },
    });
    leases_ = &inf.get(gvr::kLeases);
    leases_->addEventHandlers({
        .on_add = [this](const json& l) { leaseChanged(l); },
        .on_update = [this](const json&, const json& l) { leaseChanged(l); },
        .on_delete = nullptr,
    });
  }

  Duration resyncPeriod() const override { return opts_.node_monitor_period; }
  void resync() override {
    if (nodes_ == nullptr) return;
    for (const auto& n : nodes_->list()) queue().add(meta::name(n));
  }

  Result<void> sync(const std::string& key) override {
    SKIFF_ASSIGN_OR_RETURN(std::optional<json> got, ctl::getIfExists(client_, gvr::kNodes, key));
    if (!got) return {};
    json node = std::move(*got);
    TimePoint now = clock().now();
    SKIFF_TRY(tryUpdateNodeHealth(node, now));
    return reconcileTaints(node, now);
  }

 private:
  struct Health {
    TimePoint probe;          // when we last saw the kubelet alive (our clock, not theirs)
    std::string heartbeat;    // Ready condition lastHeartbeatTime last seen
    std::string lease_renew;  // Lease renewTime last seen
  };

  void leaseChanged(const json& lease) {
    if (meta::ns(lease) != "kube-node-lease") return;
    queue().add(meta::name(lease));
  }

  // tryUpdateNodeHealth: observe heartbeats; past the grace period mark conditions Unknown.
  Result<void> tryUpdateNodeHealth(json& node, TimePoint now) {
    std::string name = meta::name(node);
    const json* ready = ctl::findCondition(meta::at(node, {"status", "conditions"}), "Ready");
    std::string heartbeat = ready ? ready->value("lastHeartbeatTime", "") : "";
    std::string renew;
    // From the informer, as upstream's lease lister (the node controller's role has no leases).
    auto lease = leases_->getShared(meta::key("kube-node-lease", name));
    if (lease) renew = meta::str(*lease, {"spec", "renewTime"});
    bool expired = false;
    {
      std::lock_guard lock(mu_);
      auto it = health_.find(name);
      if (it == health_.end()) {
        health_[name] = Health{now, heartbeat, renew};
      } else if (it->second.heartbeat != heartbeat || it->second.lease_renew != renew) {
        it->second = Health{now, heartbeat, renew};
      } else if (now - it->second.probe > opts_.node_monitor_grace_period) {
        expired = true;
      }
      if (!expired) {
        // Wake up when the grace period would end.
        queue().addAfter(name, health_[name].probe + opts_.node_monitor_grace_period - now +
                                   std::chrono::seconds(1));
      }
    }
    if (!expired) return {};
    json conds = meta::at(node, {"status", "conditions"});
    if (!conds.is_array()) conds = json::array();
    bool changed = false;
    std::string ts = formatTime(now);
    bool never = ready == nullptr;
    for (const char* type : {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}) {
      const json* c = ctl::findCondition(conds, type);
      if (c != nullptr && c->value("status", "") == "Unknown") continue;
      json nc = {{"type", type},
                 {"status", "Unknown"},
                 {"reason", never ? "NodeStatusNeverUpdated" : "NodeStatusUnknown"},
                 {"message", never ? "Kubelet never posted node status."
                                   : "Kubelet stopped posting node status."},
                 {"lastHeartbeatTime", c ? c->value("lastHeartbeatTime", ts) : ts},
                 {"lastTransitionTime", ts}};
      bool found = false;
      for (auto& x : conds) {
        if (x.value("type", "") == type) {
          x = nc;
          found = true;
        }
      }
      if (!found) conds.push_back(nc);
      changed = true;
    }
    if (!changed) return {};
    SKIFF_ASSIGN_OR_RETURN(json updated,
                           client_.patch(gvr::kNodes, "", name, PatchType::Merge,
                                         json{{"status", {{"conditions", conds}}}}, "status"));
    node = updated;
    auto lg = log::get("master");
    SKIFF_LOG_INFO(lg, "Node became unreachable", log::kv("node", name));
    recorder_.event(node, "Normal", "NodeNotReady",
                    "Node " + name + " status is now: NodeNotReady");
    return markPodsNotReady(name);
  }

  // MarkPodsNotReady: pods of an unresponsive node stop counting as Ready.
  Result<void> markPodsNotReady(const std::string& node) {
    ListOptions lo;
    lo.field_selector = "spec.nodeName=" + node;
    SKIFF_ASSIGN_OR_RETURN(ObjectList pods, client_.list(gvr::kPods, "", lo));
    std::string ts = formatTime(clock().now());
    for (const auto& p : pods.items) {
      json conds = meta::at(p, {"status", "conditions"});
      if (!conds.is_array()) continue;
      bool changed = false;
      for (auto& c : conds) {
        if (c.value("type", "") == "Ready" && c.value("status", "") != "False") {
          c["status"] = "False";
          c["lastTransitionTime"] = ts;
          changed = true;
        }
      }
      if (!changed) continue;
      SKIFF_TRY(ctl::ignoreNotFound(
          client_.patch(gvr::kPods, meta::ns(p), meta::name(p), PatchType::Merge,
                        json{{"status", {{"conditions", conds}}}}, "status")));
    }
    return {};
  }

  Result<void> reconcileTaints(const json& node, TimePoint now) {
    std::string ready = conditionStatus(node, "Ready");
    json want = json::array();
    auto add = [&](const char* key, const char* effect) {
      want.push_back({{"key", key}, {"effect", effect}});
    };
    if (ready == "False") {
      add(kNotReady, "NoSchedule");
      add(kNotReady, "NoExecute");
    } else if (ready == "Unknown") {
      add(kUnreachable, "NoSchedule");
      add(kUnreachable, "NoExecute");
    } else if (ready.empty()) {
      add(kNotReady, "NoSchedule");  // registered but never reported
    }
    if (conditionStatus(node, "MemoryPressure") == "True")
      add("node.kubernetes.io/memory-pressure", "NoSchedule");
    if (conditionStatus(node, "DiskPressure") == "True")
      add("node.kubernetes.io/disk-pressure", "NoSchedule");
    if (conditionStatus(node, "PIDPressure") == "True")
      add("node.kubernetes.io/pid-pressure", "NoSchedule");
    if (conditionStatus(node, "NetworkUnavailable") == "True")
      add("node.kubernetes.io/network-unavailable", "NoSchedule");
    if (meta::boolean(node, {"spec", "unschedulable"}))
      add("node.kubernetes.io/unschedulable", "NoSchedule");

    const json& cur = meta::at(node, {"spec", "taints"});
    json next = json::array();
    std::set<std::string> have;
    if (cur.is_array()) {
      for (const auto& t : cur) {
        if (!managedTaint(t)) {
          next.push_back(t);
          continue;
        }
        bool wanted = false;
        for (const auto& w : want) {
          wanted |= w["key"] == t.value("key", "") && w["effect"] == t.value("effect", "");
        }
        if (wanted) {
          next.push_back(t);
          have.insert(t.value("key", "") + ":" + t.value("effect", ""));
        }
      }
    }
    for (const auto& w : want) {
      if (have.count(w["key"].get<std::string>() + ":" + w["effect"].get<std::string>())) continue;
      json t = w;
      if (t["effect"] == "NoExecute") t["timeAdded"] = formatTime(now);
      next.push_back(t);
    }
    json cur_arr = cur.is_array() ? cur : json::array();
    if (next == cur_arr) return {};
    json patch = {{"spec", {{"taints", next.empty() ? json(nullptr) : next}}},
                  {"metadata", {{"resourceVersion", meta::resourceVersion(node)}}}};
    return ctl::ignoreNotFound(
        client_.patch(gvr::kNodes, "", meta::name(node), PatchType::Merge, patch));
  }

  NodeLifecycleOptions opts_;
  Informer* nodes_ = nullptr;
  Informer* leases_ = nullptr;
  std::mutex mu_;
  std::map<std::string, Health> health_;
};

class TaintEvictionController : public RecordingController {
 public:
  TaintEvictionController(ApiClient& client, std::shared_ptr<Clock> clock)
      : RecordingController("tainteviction", client, std::move(clock),
                            "taint-eviction-controller") {}

  void registerHandlers(SharedInformers& inf) override {
    pods_ = &inf.get(gvr::kPods);
    nodes_ = &inf.get(gvr::kNodes);
    nodes_->addEventHandlers({
        .on_add = [this](const json& n) { nodeChanged(n); },
        .on_update =
            [this](const json& o, const json& n) {
              if (meta::at(o, {"spec", "taints"}) != meta::at(n, {"spec", "taints"}))
                nodeChanged(n);
            },
        .on_delete = nullptr,
    });
    pods_->addEventHandlers({
        .on_add = [this](const json& p) { podChanged(p); },
        .on_update =
            [this](const json& o, const json& n) {
              if (meta::str(o, {"spec", "nodeName"}) != meta::str(n, {"spec", "nodeName"}) ||
                  meta::at(o, {"spec", "tolerations"}) != meta::at(n, {"spec", "tolerations"})) {
                podChanged(n);
              }
            },
        .on_delete = nullptr,
    });
  }

  // Key: "ns/name" of a pod. Pod and node come from the informer caches, as upstream's
  // listers: a pod bound to a node without NoExecute taints costs no API call. The delete
  // carries the cached pod's uid, so a pod recreated under the same name is left alone.
  Result<void> sync(const std::string& key) override {
    auto pod = pods_->getShared(key);
    if (!pod || meta::isDeleting(*pod) || ctl::isTerminal(*pod)) return {};
    std::string node_name = meta::str(*pod, {"spec", "nodeName"});
    if (node_name.empty()) return {};
    auto node = nodes_->getShared(node_name);
    if (!node) return {};
    TimePoint now = clock().now();
    std::optional<TimePoint> evict_at;
    bool evict_now = false;
    const json& tols = meta::at(*pod, {"spec", "tolerations"});
    for (const auto& t : meta::at(*node, {"spec", "taints"})) {
      if (t.value("effect", "") != "NoExecute") continue;
      // The smallest tolerationSeconds among matching tolerations; none matching: evict now.
      std::optional<std::int64_t> secs;
      bool tolerated = false, forever = false;
      if (tols.is_array()) {
        for (const auto& tol : tols) {
          std::string op = tol.value("operator", "Equal");
          std::string eff = tol.value("effect", "");
          std::string k = tol.value("key", "");
          if (!eff.empty() && eff != "NoExecute") continue;
          if (!k.empty() && k != t.value("key", "")) continue;
          if (op != "Exists" && tol.value("value", "") != t.value("value", "")) continue;
          tolerated = true;
          if (tol.contains("tolerationSeconds") && tol["tolerationSeconds"].is_number()) {
            std::int64_t s =
                std::max<std::int64_t>(tol["tolerationSeconds"].get<std::int64_t>(), 0);
            secs = secs ? std::min(*secs, s) : s;
          } else {
            forever = true;
          }
        }
      }
      if (!tolerated) {
        evict_now = true;
        break;
      }
      if (forever && !secs) continue;
      if (secs) {
        TimePoint added = now;
        parseTime(t.value("timeAdded", ""), &added);
        TimePoint at = added + std::chrono::seconds(*secs);
        if (!evict_at || at < *evict_at) evict_at = at;
      }
    }
    if (!evict_now && evict_at && *evict_at <= now) evict_now = true;
    if (!evict_now) {
      if (evict_at) queue().addAfter(key, *evict_at - now);
      return {};
    }
    recorder_.event(*pod, "Normal", "TaintManagerEviction", "Marking for deletion Pod " + key);
    auto r = client_.remove(gvr::kPods, meta::ns(*pod), meta::name(*pod),
                            opts::withUid(meta::uid(*pod)));
    if (!r && !r.error().is(ErrorCode::NotFound) && !r.error().is(ErrorCode::Conflict)) {
      return std::move(r).error();
    }
    auto lg = log::get("master");
    SKIFF_LOG_INFO(lg, "Evicted pod for NoExecute taint", log::kv("pod", key),
                   log::kv("node", node_name));
    return {};
  }

 private:
  static bool hasNoExecuteTaint(const json& node) {
    for (const auto& t : meta::at(node, {"spec", "taints"})) {
      if (t.value("effect", "") == "NoExecute") return true;
    }
    return false;
  }
  // A node gaining or changing NoExecute taints re-examines its pods; one losing them needs
  // nothing (a pending eviction re-checks the node when its time comes).
  void nodeChanged(const json& node) {
    if (!hasNoExecuteTaint(node)) return;
    for (const auto& p : pods_->byIndexShared(SharedInformers::kByNode, meta::name(node))) {
      queue().add(meta::key(*p));
    }
  }
  // Only pods on a node with NoExecute taints can be evicted. A node not cached yet is handled
  // by its add event, which queues its pods.
  void podChanged(const json& pod) {
    std::string node_name = meta::str(pod, {"spec", "nodeName"});
    if (node_name.empty()) return;
    auto node = nodes_->getShared(node_name);
    if (node && hasNoExecuteTaint(*node)) queue().add(meta::key(pod));
  }

  Informer* pods_ = nullptr;
  Informer* nodes_ = nullptr;
};

}  // namespace

std::unique_ptr<Controller> newNodeLifecycleController(ApiClient& client,
                                                       std::shared_ptr<Clock> clock,
                                                       NodeLifecycleOptions options) {
  return std::make_unique<NodeLifecycleController>(client, std::move(clock), options);
}

const ControllerFactory newTaintEvictionController = makeController<TaintEvictionController>;

}  // namespace skiff::master
