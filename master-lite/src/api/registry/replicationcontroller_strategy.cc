// ReplicationControllers (pkg/registry/core/replicationcontroller/strategy.go): a delete that
// names no propagation policy orphans the pods, the v1 API's default kept for backward
// compatibility (kubectl always sends Background; the Python client sends nothing).
#include "strategies.h"

namespace skiff::master::api {
namespace {

class ReplicationControllerStrategy : public Strategy {
 public:
  bool orphansByDefault() const override { return true; }
};

}  // namespace

StrategyPtr newReplicationControllerStrategy() {
  return std::make_shared<ReplicationControllerStrategy>();
}

}  // namespace skiff::master::api
