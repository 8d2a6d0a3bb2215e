// Namespaces (pkg/registry/core/namespace): status and spec.finalizers are not changed by an
// update of the namespace itself (/status and /finalize do that); a delete marks the namespace
// Terminating and it leaves once both finalizer lists are empty; the system namespaces may not
// be deleted.
#include "skiff/master/api/object_util.h"
#include "strategies.h"

namespace skiff::master::api {
namespace {

class NamespaceStrategy : public Strategy {
 public:
  // Status is defaulted (phase Active), not reset.
  void prepareForCreate(const ResourceInfo&, json&) const override {}

  void prepareForUpdate(const ResourceInfo&, json& obj, const json& old) const override {
    if (old.contains("status")) obj["status"] = old["status"];
    // Spec finalizers change only through /finalize.
    if (old.contains("spec")) obj["spec"] = old["spec"];
  }

  Result<bool> beginDelete(const ResourceInfo&, json& next, const DeleteOptions&) const override {
    std::string name = str(next, {"metadata", "name"});
    if (name == "default" || name == "kube-system" || name == "kube-public") {
      return Error(ErrorCode::Forbidden,
                   "namespaces \"" + name + "\" is forbidden: this namespace may not be deleted");
    }
    const json& ts = at(next, {"metadata", "deletionTimestamp"});
    if (ts.is_string() && !ts.get<std::string>().empty()) return false;
    next["metadata"]["deletionTimestamp"] = formatTime(Clock::now());
    next["metadata"]["deletionGracePeriodSeconds"] = 0;
    next["status"]["phase"] = "Terminating";
    return true;
  }

  // The namespace controller empties the namespace, then clears spec.finalizers.
  bool propagationFinalizers() const override { return false; }
  bool readyToRemove(const json& obj) const override {
    return !at(obj, {"spec", "finalizers"}).is_array() || at(obj, {"spec", "finalizers"}).empty();
  }
};

// Nodes (pkg/registry/core/node): the agent registers its Node with status, which create keeps.
class NodeStrategy : public Strategy {
 public:
  void prepareForCreate(const ResourceInfo&, json&) const override {}
};

}  // namespace

StrategyPtr newNamespaceStrategy() { return std::make_shared<NamespaceStrategy>(); }
StrategyPtr newNodeStrategy() { return std::make_shared<NodeStrategy>(); }

}  // namespace skiff::master::api
