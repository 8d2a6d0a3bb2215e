// Pod garbage collector (pkg/controller/podgc): every period, deletes the oldest terminated
// pods above the threshold, pods bound to nodes that no longer exist (after a quarantine, as
// upstream waits for the informer to catch up), and terminating pods that were never
// scheduled.

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
      : Controller("podgc", clock), client_(client), opts_(opts) {}

  Duration resyncPeriod() const override { return opts_.period; }
  void resync() override { queue().add("gc"); }

  Result<void> sync(const std::string&) override {
    SKIFF_ASSIGN_OR_RETURN(ObjectList pods, client_.list(gvr::kPods, "", ListOptions{}));
    SKIFF_ASSIGN_OR_RETURN(ObjectList nodes, client_.list(gvr::kNodes, "", ListOptions{}));
    std::set<std::string> node_names;
    for (const auto& n : nodes.items) node_names.insert(meta::name(n));
    auto lg = log::get("master");
    TimePoint now = clock().now();

    // gcTerminated
    std::vector<json> terminated;
    for (const auto& p : pods.items) {
      if (ctl::isTerminal(p) && !meta::isDeleting(p)) terminated.push_back(p);
    }
    if (opts_.terminated_pod_gc_threshold > 0 &&
        static_cast<int>(terminated.size()) > opts_.terminated_pod_gc_threshold) {
      std::sort(terminated.begin(), terminated.end(), [](const json& a, const json& b) {
        return meta::str(a, {"metadata", "creationTimestamp"}) <
               meta::str(b, {"metadata", "creationTimestamp"});
      });
      std::size_t n = terminated.size() - static_cast<std::size_t>(opts_.terminated_pod_gc_threshold);
      for (std::size_t i = 0; i < n; ++i) SKIFF_TRY(forceDelete(terminated[i], "terminated"));
    }

    // gcOrphaned: a node must be missing for a whole quarantine period.
    std::set<std::string> still_missing;
    for (const auto& p : pods.items) {
      std::string node = meta::str(p, {"spec", "nodeName"});
      if (node.empty() || node_names.count(node) != 0) continue;
      still_missing.insert(node);
      auto it = missing_since_.find(node);
      if (it == missing_since_.end()) {
        missing_since_[node] = now;
        continue;
      }
      if (now - it->second < opts_.orphan_quarantine) continue;
      SKIFF_LOG_INFO(lg, "Deleting pod of a node that no longer exists", log::kv("pod", meta::key(p)),
                     log::kv("node", node));
      SKIFF_TRY(forceDelete(p, "orphaned"));
    }
    std::erase_if(missing_since_, [&](const auto& kv) { return still_missing.count(kv.first) == 0; });
    if (!still_missing.empty()) queue().addAfter("gc", opts_.orphan_quarantine);

    // gcUnscheduledTerminating
    for (const auto& p : pods.items) {
      if (meta::isDeleting(p) && meta::str(p, {"spec", "nodeName"}).empty()) {
        SKIFF_TRY(forceDelete(p, "unscheduled terminating"));
      }
    }
    return {};
  }

 private:
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
  std::map<std::string, TimePoint> missing_since_;
};

}  // namespace

std::unique_ptr<Controller> newPodGcController(ApiClient& client, std::shared_ptr<Clock> clock,
                                               PodGcOptions options) {
  return std::make_unique<PodGcController>(client, std::move(clock), options);
}

}  // namespace skiff::master
