// Pod garbage collector (pkg/controller/podgc): every period, deletes the oldest terminated
// pods above the threshold, pods bound to nodes that no longer exist (after a quarantine, as
// upstream waits for the informer to catch up), and terminating pods that were never
// scheduled.
//
// Pods and nodes come from the informer caches, as upstream's listers: a pass over 10k pods
// used to list and decode all of them from the store every period (over 100 MB at the peak).
// A node found missing is confirmed with a live read before its pods go, as upstream does.
//
// skiff addition: a terminating pod whose kubelet never picked it up (phase Pending, no
// status.startTime, no containerStatuses) has nothing to stop, so it is removed at once instead
// of waiting forever for a confirmation no kubelet will send (upstream leaves it Terminating).

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "skiff/common/log.h"
#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/options.h"
#include "util.h"

namespace skiff::master {

namespace {

class PodGcController : public Controller {
 public:
  PodGcController(ApiClient& client, std::shared_ptr<Clock> clock, PodGcOptions opts)
      : Controller("podgc", std::move(clock)), client_(client), opts_(opts) {}

  Duration resyncPeriod() const override { return opts_.period; }
  void resync() override { queue().add("gc"); }

  void registerHandlers(SharedInformers& inf) override {
    pods_ = &inf.get(gvr::kPods);
    nodes_ = &inf.get(gvr::kNodes);
    auto check = [this](const json& p) {
      if (meta::isDeleting(p) && neverStarted(p)) queue().add("pod|" + meta::key(p));
    };
    pods_->addEventHandlers({
        .on_add = check,
        .on_update = [check](const json&, const json& n) { check(n); },
        .on_delete = nullptr,
    });
  }

  Result<void> sync(const std::string& key) override {
    if (key.rfind("pod|", 0) == 0) {
      // From the informer, as upstream's lister: system:controller:pod-garbage-collector may
      // list, watch and delete pods, not get them.
      auto p = pods_->get(key.substr(4));
      if (!p) return {};
      if (meta::isDeleting(*p) && neverStarted(*p)) return forceDelete(*p, "never started");
      return {};
    }
    std::vector<Informer::ObjectPtr> pods = pods_->listShared();
    std::set<std::string> node_names;
    for (const auto& n : nodes_->listShared()) node_names.insert(meta::name(*n));
    auto lg = log::get("master");
    TimePoint now = clock().now();

    // gcTerminated
    std::vector<const json*> terminated;
    for (const auto& p : pods) {
      if (ctl::isTerminal(*p) && !meta::isDeleting(*p)) terminated.push_back(p.get());
    }
    if (opts_.terminated_pod_gc_threshold > 0 &&
        static_cast<int>(terminated.size()) > opts_.terminated_pod_gc_threshold) {
      std::sort(terminated.begin(), terminated.end(), [](const json* a, const json* b) {
        return meta::str(*a, {"metadata", "creationTimestamp"}) <
               meta::str(*b, {"metadata", "creationTimestamp"});
      });
      std::size_t n =
          terminated.size() - static_cast<std::size_t>(opts_.terminated_pod_gc_threshold);
      for (std::size_t i = 0; i < n; ++i) SKIFF_TRY(forceDelete(*terminated[i], "terminated"));
    }

    // gcOrphaned: a node must be missing for a whole quarantine period, and still be missing
    // from the API (not just from the cache) when that is over.
    std::set<std::string> still_missing, confirmed_gone;
    for (const auto& ptr : pods) {
      const json& p = *ptr;
      std::string node = meta::str(p, {"spec", "nodeName"});
      if (node.empty() || node_names.count(node) != 0) continue;
      still_missing.insert(node);
      auto it = missing_since_.find(node);
      if (it == missing_since_.end()) {
        missing_since_[node] = now;
        continue;
      }
      if (now - it->second < opts_.orphan_quarantine) continue;
      if (!confirmed_gone.contains(node)) {
        auto live = client_.get(gvr::kNodes, "", node);
        if (live) {
          still_missing.erase(node);
          node_names.insert(node);
          continue;
        }
        if (!live.error().is(ErrorCode::NotFound)) return std::move(live).error();
        confirmed_gone.insert(node);
      }
      SKIFF_LOG_INFO(lg, "Deleting pod of a node that no longer exists",
                     log::kv("pod", meta::key(p)), log::kv("node", node));
      SKIFF_TRY(forceDelete(p, "orphaned"));
    }
    std::erase_if(missing_since_,
                  [&](const auto& kv) { return still_missing.count(kv.first) == 0; });
    if (!still_missing.empty()) queue().addAfter("gc", opts_.orphan_quarantine);

    // gcUnscheduledTerminating (and terminating pods no kubelet ever started)
    for (const auto& p : pods) {
      if (meta::isDeleting(*p) &&
          (meta::str(*p, {"spec", "nodeName"}).empty() || neverStarted(*p))) {
        SKIFF_TRY(forceDelete(*p, "unscheduled terminating"));
      }
    }
    return {};
  }

 private:
  static bool neverStarted(const json& p) {
    std::string phase = meta::str(p, {"status", "phase"});
    return (phase.empty() || phase == "Pending") &&
           meta::at(p, {"status", "startTime"}).is_null() &&
           meta::at(p, {"status", "containerStatuses"}).is_null();
  }

  Result<void> forceDelete(const json& pod, const char* why) {
    (void)why;
    DeleteOptions d = opts::grace(0);
    d.precondition_uid = meta::uid(pod);
    auto r = client_.remove(gvr::kPods, meta::ns(pod), meta::name(pod), d);
    if (!r && !r.error().is(ErrorCode::NotFound) && !r.error().is(ErrorCode::Conflict)) {
      return std::move(r).error();
    }
    return {};
  }

  ApiClient& client_;
  PodGcOptions opts_;
  Informer* pods_ = nullptr;
  Informer* nodes_ = nullptr;
  std::map<std::string, TimePoint> missing_since_;
};

}  // namespace

std::unique_ptr<Controller> newPodGcController(ApiClient& client, std::shared_ptr<Clock> clock,
                                               PodGcOptions options) {
  return std::make_unique<PodGcController>(client, std::move(clock), options);
}

}  // namespace skiff::master
