// Deployments (pkg/registry/apps/deployment/strategy.go): deploymentStatusStrategy resets the
// spec on /status as the other built-in kinds do, and the labels too.
#include "strategies.h"

namespace skiff::master::api {
namespace {

class DeploymentStrategy : public Strategy {
 public:
  json prepareForStatusUpdate(const ResourceInfo& r, const json& obj,
                              const json& old) const override {
    json next = Strategy::prepareForStatusUpdate(r, obj, old);
    keepStoredMetadataField(next, old, "labels");
    return next;
  }
};

}  // namespace

StrategyPtr newDeploymentStrategy() { return std::make_shared<DeploymentStrategy>(); }

}  // namespace skiff::master::api
