// The ClusterRole aggregation controller (pkg/controller/clusterroleaggregation): a ClusterRole
// with aggregationRule.clusterRoleSelectors gets as rules the union of the rules of every other
// ClusterRole its selectors match (in name order, without repeats), recomputed whenever any
// ClusterRole changes. `admin`, `edit` and `view` are filled in this way from the
// system:aggregate-to-* roles and from whatever add-ons label aggregate-to-*.
#include <algorithm>

#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/selectors.h"
#include "util.h"

namespace skiff::master {
namespace {

const GroupVersionResource kClusterRoles{"rbac.authorization.k8s.io", "v1", "clusterroles"};

bool aggregates(const json& role) {
  auto it = role.find("aggregationRule");
  return it != role.end() && it->is_object();
}

class ClusterRoleAggregationController : public Controller {
 public:
  ClusterRoleAggregationController(ApiClient& client, std::shared_ptr<Clock> clock)
      : Controller("clusterrole-aggregation", std::move(clock)), client_(client) {}

  void registerHandlers(SharedInformers& inf) override {
    informer_ = &inf.get(kClusterRoles);
    // Any change may alter what some aggregated role selects: look at all of them.
    auto all = [this] {
      for (const auto& r : informer_->listShared()) {
        if (aggregates(*r)) queue().add(meta::name(*r));
      }
    };
    informer_->addEventHandlers({
        .on_add = [all](const json&) { all(); },
        .on_update = [all](const json&, const json&) { all(); },
        .on_delete = [all](const json&) { all(); },
    });
  }

  Result<void> sync(const std::string& key) override {
    auto role = informer_->get(key);
    if (!role || !aggregates(*role)) return {};
    json rules = json::array();
    auto roles = informer_->listShared();
    std::sort(roles.begin(), roles.end(),
              [](const auto& a, const auto& b) { return meta::name(*a) < meta::name(*b); });
    const json& selectors = (*role)["aggregationRule"].value("clusterRoleSelectors", json());
    for (const auto& sel_json : selectors.is_array() ? selectors : json::array()) {
      auto sel = LabelSelector::fromJson(sel_json);
      if (!sel) continue;  // validation rejects bad selectors; an old one selects nothing
      for (const auto& other : roles) {
        if (meta::name(*other) == key) continue;
        if (!sel->matches(other->value("metadata", json::object()).value("labels", json())))
          continue;
        for (const auto& rule : other->value("rules", json::array())) {
          if (std::find(rules.begin(), rules.end(), rule) == rules.end()) rules.push_back(rule);
        }
      }
    }
    if (role->value("rules", json::array()) == rules) return {};
    json next = *role;
    next["rules"] = rules;
    auto r = client_.update(kClusterRoles, "", next);
    if (!r && r.error().is(ErrorCode::Conflict)) {
      // The cache lags a write this controller just made (edit changes when view does): the
      // rules are computed, only the resourceVersion is stale.
      SKIFF_ASSIGN_OR_RETURN(std::optional<json> cur,
                             ctl::getIfExists(client_, kClusterRoles, key));
      if (!cur) return {};
      if (!aggregates(*cur)) return {};
      (*cur)["rules"] = std::move(rules);
      r = client_.update(kClusterRoles, "", *cur);
    }
    if (!r && !r.error().is(ErrorCode::NotFound)) return std::move(r).error();
    return {};
  }

 private:
  ApiClient& client_;
  Informer* informer_ = nullptr;
};

}  // namespace

const ControllerFactory newClusterRoleAggregationController =
    makeController<ClusterRoleAggregationController>;

}  // namespace skiff::master
