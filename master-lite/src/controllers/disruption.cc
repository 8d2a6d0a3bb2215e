// The disruption controller (pkg/controller/disruption): each PodDisruptionBudget's status
// (expectedPods, desiredHealthy, currentHealthy, disruptionsAllowed, observedGeneration, the
// DisruptionAllowed condition), recomputed when the budget or one of its pods changes. The
// eviction subresource reads it and charges disruptedPods (registry/pod_subresources.cc).
#include "skiff/master/controllers/disruption.h"

#include <algorithm>

#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/selectors.h"
#include "util.h"

namespace skiff::master {
namespace disruption {

Result<Budget> compute(const json& pdb, const std::vector<json>& pods,
                       std::optional<std::int64_t> controller_scale,
                       const std::vector<std::string>& disrupted) {
  Budget b;
  for (const auto& p : pods) {
    if (meta::isDeleting(p) || !ctl::isReady(p)) continue;
    if (std::find(disrupted.begin(), disrupted.end(), meta::name(p)) != disrupted.end()) continue;
    ++b.current_healthy;
  }
  const json& min_av = meta::at(pdb, {"spec", "minAvailable"});
  const json& max_un = meta::at(pdb, {"spec", "maxUnavailable"});
  auto unmanaged = [&] {
    return Error(ErrorCode::Invalid,
                 "found no controllers for pods selected by this PodDisruptionBudget");
  };
  if (!max_un.is_null()) {
    if (!controller_scale) return unmanaged();
    b.expected_pods = *controller_scale;
    SKIFF_ASSIGN_OR_RETURN(std::int64_t n, ctl::scaledValue(max_un, b.expected_pods, true));
    b.desired_healthy = std::max<std::int64_t>(0, b.expected_pods - n);
  } else if (min_av.is_number_integer()) {
    b.expected_pods = static_cast<std::int64_t>(pods.size());
    b.desired_healthy = min_av.get<std::int64_t>();
  } else if (min_av.is_string()) {
    if (!controller_scale) return unmanaged();
    b.expected_pods = *controller_scale;
    SKIFF_ASSIGN_OR_RETURN(b.desired_healthy, ctl::scaledValue(min_av, b.expected_pods, true));
  } else {
    b.expected_pods = static_cast<std::int64_t>(pods.size());
    b.desired_healthy = 1;  // a budget without either field: minAvailable 1 (API default)
  }
  b.disruptions_allowed = std::max<std::int64_t>(0, b.current_healthy - b.desired_healthy);
  if (b.expected_pods <= 0) b.disruptions_allowed = 0;
  return b;
}

}  // namespace disruption

namespace {

const GroupVersionResource kPdbs{"policy", "v1", "poddisruptionbudgets"};
constexpr auto kDeletionTimeout = std::chrono::minutes(2);

class DisruptionController : public Controller {
 public:
  DisruptionController(ApiClient& client, std::shared_ptr<Clock> clock)
      : Controller("disruption", std::move(clock)), client_(client) {}

  void registerHandlers(SharedInformers& inf) override {
    pdbs_ = &enqueueAddedAndUpdated(inf, kPdbs);
    pods_ = &inf.get(gvr::kPods);
    ctl::onChangeWithOldLabels(*pods_, [this](const json& p) { enqueueFor(p); });
  }

  Duration resyncPeriod() const override { return std::chrono::seconds(30); }
  void resync() override {
    if (!pdbs_) return;
    for (const auto& p : pdbs_->listShared()) queue().add(meta::key(*p));
  }

  Result<void> sync(const std::string& key) override {
    SKIFF_ASSIGN_OR_RETURN(std::optional<json> got, ctl::getIfExists(client_, kPdbs, key));
    if (!got) return {};
    json pdb = std::move(*got);
    const std::string ns = meta::ns(pdb);
    if (meta::isDeleting(pdb)) return {};
    std::vector<json> pods = podsOf(pdb);
    TimePoint now = clock().now();
    json disrupted = liveDisruptedPods(pdb, pods, now);
    std::vector<std::string> names;
    for (const auto& [n, _] : disrupted.items()) names.push_back(n);
    auto budget = disruption::compute(pdb, pods, controllerScale(pods), names);
    json status = ctl::statusOf(pdb);
    json conds = status.value("conditions", json::array());
    if (!budget) {
      status["disruptionsAllowed"] = 0;
      ctl::setCondition(conds, ctl::condition("DisruptionAllowed", "False", "SyncFailed",
                                              budget.error().message(), now));
    } else {
      status["expectedPods"] = budget->expected_pods;
      status["desiredHealthy"] = budget->desired_healthy;
      status["currentHealthy"] = budget->current_healthy;
      status["disruptionsAllowed"] = budget->disruptions_allowed;
      bool ok = budget->disruptions_allowed > 0;
      ctl::setCondition(conds, ctl::condition("DisruptionAllowed", ok ? "True" : "False",
                                              ok ? "SufficientPods" : "InsufficientPods", "", now));
    }
    status["conditions"] = conds;
    status["observedGeneration"] = meta::generation(pdb);
    if (disrupted.empty()) {
      status.erase("disruptedPods");
    } else {
      status["disruptedPods"] = disrupted;
    }
    if (status == pdb.value("status", json())) return {};
    pdb["status"] = status;
    auto w = client_.update(kPdbs, ns, pdb, "status");
    if (!w && w.error().is(ErrorCode::Conflict)) {
      queue().add(key);
      return {};
    }
    if (!w && !w.error().is(ErrorCode::NotFound)) return std::move(w).error();
    if (!disrupted.empty()) queue().addAfter(key, std::chrono::seconds(15));
    return {};
  }

 private:
  void enqueueFor(const json& pod) {
    if (!pdbs_) return;
    for (const auto& pdb : pdbs_->listNamespace(meta::ns(pod))) {
      auto sel = LabelSelector::fromJson(meta::at(pdb, {"spec", "selector"}));
      if (sel && sel->matches(meta::at(pod, {"metadata", "labels"}))) queue().add(meta::key(pdb));
    }
  }

  std::vector<json> podsOf(const json& pdb) {
    std::vector<json> out;
    auto sel = LabelSelector::fromJson(meta::at(pdb, {"spec", "selector"}));
    if (!sel) return out;
    for (auto& p : pods_->listNamespace(meta::ns(pdb))) {
      if (sel->matches(meta::at(p, {"metadata", "labels"}))) out.push_back(std::move(p));
    }
    return out;
  }

  // status.disruptedPods without the pods that are gone (or being deleted) and the entries
  // older than the 2 minute DeletionTimeout.
  json liveDisruptedPods(const json& pdb, const std::vector<json>& pods, TimePoint now) {
    json out = json::object();
    const json& d = meta::at(pdb, {"status", "disruptedPods"});
    if (!d.is_object()) return out;
    for (const auto& [n, t] : d.items()) {
      TimePoint when{};
      if (!t.is_string() || !parseTime(t.get<std::string>(), &when)) continue;
      if (when + kDeletionTimeout < now) continue;
      auto it = std::find_if(pods.begin(), pods.end(), [&](const json& p) {
        return meta::name(p) == n && !meta::isDeleting(p);
      });
      if (it != pods.end()) out[n] = t;
    }
    return out;
  }

  // The sum of spec.replicas over the pods' distinct controllers (a Deployment for a ReplicaSet
  // it owns), or nullopt when some pod has none (getExpectedScale).
  std::optional<std::int64_t> controllerScale(const std::vector<json>& pods) {
    std::map<std::string, std::int64_t> scales;
    for (const auto& p : pods) {
      const json* ref = meta::controllerRef(p);
      if (!ref) return std::nullopt;
      std::string kind = ref->value("kind", "");
      if (kind != "ReplicaSet" && kind != "ReplicationController" && kind != "StatefulSet")
        return std::nullopt;
      auto r = ctl::gvrForKind(ref->value("apiVersion", ""), ref->value("kind", ""));
      if (!r) return std::nullopt;
      auto owner = client_.get(*r, meta::ns(p), ref->value("name", ""));
      if (!owner) return std::nullopt;
      json top = *owner;
      if (const json* up = meta::controllerRef(*owner);
          up && up->value("kind", "") == "Deployment") {
        auto d = client_.get(gvr::kDeployments, meta::ns(p), up->value("name", ""));
        if (d) top = *d;
      }
      scales[meta::uid(top)] = meta::integer(top, {"spec", "replicas"}, 1);
    }
    std::int64_t sum = 0;
    for (const auto& [_, n] : scales) sum += n;
    return sum;
  }

  ApiClient& client_;
  Informer* pdbs_ = nullptr;
  Informer* pods_ = nullptr;
};

}  // namespace

const ControllerFactory newDisruptionController = makeController<DisruptionController>;

}  // namespace skiff::master
