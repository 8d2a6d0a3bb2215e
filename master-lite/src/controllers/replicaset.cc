// ReplicaSet / ReplicationController controller (pkg/controller/replicaset): keeps the number
// of active pods selected and owned by the set equal to spec.replicas, adopting matching
// orphans, releasing owned pods that stopped matching, and reporting status.

#include <algorithm>
#include <set>

#include "skiff/common/log.h"
#include "skiff/master/controllers/controllers.h"
#include "skiff/master/controllers/expectations.h"
#include "skiff/master/informer/event_recorder.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/options.h"
#include "util.h"

namespace skiff::master {

namespace {

constexpr int kBurstReplicas = 500;  // upstream's BurstReplicas

using PodPtr = Informer::ObjectPtr;  // a pod in the informer cache, shared, never copied

// Ranks pods for deletion (controller.ActivePodsWithRanks / ActivePods Less): unscheduled
// before scheduled, Pending before Unknown before Running, not ready before ready, ready for a
// shorter time first, more restarts first, newer first.
bool deleteFirst(const json& a, const json& b) {
  bool a_unsched = meta::str(a, {"spec", "nodeName"}).empty();
  bool b_unsched = meta::str(b, {"spec", "nodeName"}).empty();
  if (a_unsched != b_unsched) return a_unsched;
  auto phaseRank = [](const json& p) {
    std::string ph = meta::str(p, {"status", "phase"});
    if (ph == "Pending") return 0;
    if (ph == "Unknown") return 1;
    if (ph == "Running") return 2;
    return 3;
  };
  if (phaseRank(a) != phaseRank(b)) return phaseRank(a) < phaseRank(b);
  bool ar = ctl::isReady(a), br = ctl::isReady(b);
  if (ar != br) return !ar;
  if (ar && br) {
    auto sa = ctl::readySince(a), sb = ctl::readySince(b);
    if (sa && sb && *sa != *sb) return *sa > *sb;
  }
  auto restarts = [](const json& p) {
    std::int64_t n = 0;
    const json& cs = meta::at(p, {"status", "containerStatuses"});
    if (cs.is_array()) {
      for (const auto& c : cs) n = std::max<std::int64_t>(n, c.value("restartCount", 0));
    }
    return n;
  };
  if (restarts(a) != restarts(b)) return restarts(a) > restarts(b);
  std::string ca = meta::str(a, {"metadata", "creationTimestamp"});
  std::string cb = meta::str(b, {"metadata", "creationTimestamp"});
  if (ca != cb) return ca > cb;
  return meta::name(a) > meta::name(b);
}

class ReplicaSetController : public RecordingController {
 public:
  ReplicaSetController(ApiClient& client, std::shared_ptr<Clock> clock, bool rc)
      : RecordingController(rc ? "replicationcontroller" : "replicaset", client, clock,
                            rc ? "replication-controller" : "replicaset-controller"),
        resource_(rc ? gvr::kReplicationControllers : gvr::kReplicaSets),
        kind_(rc ? "ReplicationController" : "ReplicaSet"),
        api_version_(rc ? "v1" : "apps/v1"),
        expectations_(std::move(clock)) {}  // the last use: the base was given a copy

  void registerHandlers(SharedInformers& inf) override {
    sets_ = &inf.get(resource_);
    pods_ = &inf.get(gvr::kPods);
    sets_->addEventHandlers({
        .on_add = [this](const json& o) { queue().add(meta::key(o)); },
        .on_update = [this](const json&, const json& n) { queue().add(meta::key(n)); },
        .on_delete =
            [this](const json& o) {
              expectations_.forget(meta::key(o));
              queue().add(meta::key(o));
            },
    });
    pods_->addEventHandlers({
        .on_add =
            [this](const json& p) {
              if (meta::isDeleting(p)) {
                observeDeletion(p);  // seen for the first time terminating
              } else if (auto owner = ownerKey(p)) {
                expectations_.creationObserved(*owner);
              }
              enqueueOwner(p);
            },
        .on_update =
            [this](const json& o, const json& n) {
              if (meta::isDeleting(n) && !meta::isDeleting(o)) observeDeletion(n);  // graceful
              enqueueOwner(n);
              const json* was = meta::controllerRef(o);
              const json* is = meta::controllerRef(n);
              bool ref_changed = (was == nullptr) != (is == nullptr) || (was && *was != *is);
              if (ref_changed || meta::labels(o) != meta::labels(n)) {
                enqueueOwner(o);
              }
            },
        .on_delete =
            [this](const json& p) {
              observeDeletion(p);
              enqueueOwner(p);
            },
    });
  }

  // Reads the set and its pods from the informer caches, like upstream; the expectations keep a
  // cache that lags behind our own creates and deletes from making us repeat them.
  Result<void> sync(const std::string& key) override {
    bool expectations_met = expectations_.satisfied(key);
    auto cached = sets_->getShared(key);
    if (!cached) {
      expectations_.forget(key);
      return {};  // pods are the GC's job now
    }
    json rs = *cached;
    if (!rs.contains("kind")) rs["kind"] = kind_;
    LabelSelector selector = ctl::workloadSelector(rs);
    json ref = meta::makeControllerRef(rs, api_version_, kind_);
    SKIFF_ASSIGN_OR_RETURN(
        std::vector<PodPtr> owned,
        ctl::claimObjects(client_, gvr::kPods, rs, ref, selector, candidates(rs)));
    std::vector<PodPtr> active;
    for (const auto& p : owned) {
      if (ctl::isActive(*p)) active.push_back(p);
    }
    Result<void> manage_err;
    if (expectations_met && !meta::isDeleting(rs))
      manage_err = manageReplicas(key, rs, ref, active);
    SKIFF_TRY(updateStatus(rs, active, manage_err));
    return manage_err;
  }

 private:
  // The pods the set may own: those it already owns, and its namespace's orphans.
  std::vector<PodPtr> candidates(const json& rs) const {
    std::vector<PodPtr> out = pods_->byIndexShared(SharedInformers::kByOwner, meta::uid(rs));
    std::set<const json*> seen;
    for (const auto& p : out) seen.insert(p.get());
    for (auto& p : pods_->byIndexShared(SharedInformers::kOrphansByNamespace, meta::ns(rs))) {
      if (!seen.contains(p.get())) out.push_back(std::move(p));
    }
    return out;
  }

  // The key of the set of ours that controls `pod`, if that set (same uid) is in the cache.
  std::optional<std::string> ownerKey(const json& pod) const {
    auto ref = meta::controllerRef(pod);
    if (!ref || ref->value("kind", "") != kind_) return std::nullopt;
    std::string key = meta::key(meta::ns(pod), ref->value("name", ""));
    auto rs = sets_->getShared(key);
    if (!rs || meta::uid(*rs) != ref->value("uid", "")) return std::nullopt;
    return key;
  }

  void observeDeletion(const json& pod) {
    if (auto owner = ownerKey(pod)) expectations_.deletionObserved(*owner, meta::key(pod));
  }

  void enqueueOwner(const json& pod) {
    if (auto ref = meta::controllerRef(pod)) {
      if (ref->value("kind", "") == kind_)
        queue().add(meta::key(meta::ns(pod), ref->value("name", "")));
      return;
    }
    // An orphan: every set in its namespace whose selector matches may adopt it.
    if (sets_ == nullptr) return;
    for (const auto& rs : sets_->listNamespace(meta::ns(pod))) {
      json r = rs;
      if (!r.contains("kind")) r["kind"] = kind_;
      if (ctl::workloadSelector(r).matches(meta::at(pod, {"metadata", "labels"})))
        queue().add(meta::key(rs));
    }
  }

  Result<void> manageReplicas(const std::string& key, const json& rs, const json& ref,
                              std::vector<PodPtr>& active) {
    std::int64_t want = meta::integer(rs, {"spec", "replicas"}, 1);
    std::int64_t diff = static_cast<std::int64_t>(active.size()) - want;
    std::string ns = meta::ns(rs);
    if (diff < 0) {
      std::int64_t n = std::min<std::int64_t>(-diff, kBurstReplicas);
      json tmpl = meta::at(rs, {"spec", "template"});
      expectations_.expectCreations(key, n);
      for (std::int64_t i = 0; i < n; ++i) {
        json pod = ctl::podFromTemplate(tmpl, ref, meta::name(rs) + "-");
        auto created = client_.create(gvr::kPods, ns, pod);
        if (!created) {
          // Neither this pod nor the ones not tried will show up in the cache.
          for (std::int64_t j = i; j < n; ++j) expectations_.creationObserved(key);
          recorder_.event(rs, "Warning", "FailedCreate",
                          "Error creating: " + created.error().message());
          return std::move(created).error().wrap("create pod for " + kind_ + " '" + meta::key(rs) +
                                                 "'");
        }
        recorder_.event(rs, "Normal", "SuccessfulCreate", "Created pod: " + meta::name(*created));
      }
    } else if (diff > 0) {
      std::sort(active.begin(), active.end(),
                [](const PodPtr& a, const PodPtr& b) { return deleteFirst(*a, *b); });
      std::size_t n = static_cast<std::size_t>(std::min<std::int64_t>(diff, kBurstReplicas));
      std::set<std::string> doomed;
      for (std::size_t i = 0; i < n; ++i) doomed.insert(meta::key(*active[i]));
      expectations_.expectDeletions(key, doomed);
      for (std::size_t i = 0; i < n; ++i) {
        const json& p = *active[i];
        auto r = client_.remove(gvr::kPods, ns, meta::name(p), opts::withUid(meta::uid(p)));
        if (!r) expectations_.deletionObserved(key, meta::key(p));  // no event will count it
        if (!r && !r.error().is(ErrorCode::NotFound)) {
          recorder_.event(rs, "Warning", "FailedDelete", "Error deleting: " + r.error().message());
          return std::move(r).error();
        }
        recorder_.event(rs, "Normal", "SuccessfulDelete", "Deleted pod: " + meta::name(p));
      }
    }
    return {};
  }

  Result<void> updateStatus(const json& rs, const std::vector<PodPtr>& active,
                            const Result<void>& manage_err) {
    std::int64_t min_ready = meta::integer(rs, {"spec", "minReadySeconds"}, 0);
    TimePoint now = clock().now();
    auto tmpl_labels = LabelSelector::fromJson(
        json{{"matchLabels", meta::at(rs, {"spec", "template", "metadata", "labels"}).is_object()
                                 ? rs["spec"]["template"]["metadata"]["labels"]
                                 : json::object()}});
    std::int64_t fully = 0, ready = 0, available = 0;
    std::optional<TimePoint> next_check;
    for (const auto& ptr : active) {
      const json& p = *ptr;
      if (tmpl_labels && tmpl_labels->matches(meta::at(p, {"metadata", "labels"}))) ++fully;
      if (ctl::isReady(p)) {
        ++ready;
        if (ctl::isAvailable(p, min_ready, now)) {
          ++available;
        } else if (auto since = ctl::readySince(p)) {
          TimePoint at = *since + std::chrono::seconds(min_ready);
          if (!next_check || at < *next_check) next_check = at;
        }
      }
    }
    if (next_check) queue().addAfter(meta::key(rs), *next_check - now + std::chrono::seconds(1));
    json status = ctl::statusOf(rs);
    json next = status;
    next["replicas"] = static_cast<std::int64_t>(active.size());
    next["fullyLabeledReplicas"] = fully;
    next["readyReplicas"] = ready;
    next["availableReplicas"] = available;
    next["observedGeneration"] = meta::generation(rs);
    json conds = next.contains("conditions") ? next["conditions"] : json::array();
    if (!manage_err) {
      ctl::setCondition(conds, ctl::condition("ReplicaFailure", "True", "FailedCreate",
                                              manage_err.error().message(), now));
    } else {
      json kept = json::array();
      for (const auto& c : conds) {
        if (c.value("type", "") != "ReplicaFailure") kept.push_back(c);
      }
      conds = kept;
    }
    if (conds.empty()) {
      next.erase("conditions");
    } else {
      next["conditions"] = conds;
    }
    if (next == status) return {};
    json obj = rs;
    obj["status"] = next;
    auto r = client_.update(resource_, meta::ns(rs), obj, "status");
    if (!r && r.error().is(ErrorCode::Conflict)) {
      // The cache was behind: put the same status on the current object, once (upstream's
      // updateReplicaSetStatus retries the same way).
      SKIFF_ASSIGN_OR_RETURN(std::optional<json> fresh,
                             ctl::getIfExists(client_, resource_, meta::key(rs)));
      if (!fresh) return {};
      (*fresh)["status"] = next;
      r = client_.update(resource_, meta::ns(rs), *fresh, "status");
    }
    if (!r && !r.error().is(ErrorCode::NotFound)) return std::move(r).error();
    return {};
  }

  GroupVersionResource resource_;
  std::string kind_;
  std::string api_version_;
  ControllerExpectations expectations_;
  Informer* sets_ = nullptr;
  Informer* pods_ = nullptr;
};

}  // namespace

std::unique_ptr<Controller> newReplicaSetController(ApiClient& client, std::shared_ptr<Clock> clock,
                                                    bool rc) {
  return std::make_unique<ReplicaSetController>(client, std::move(clock), rc);
}

}  // namespace skiff::master
