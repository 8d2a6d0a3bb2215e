// Jobs (pkg/registry/batch/job/strategy.go): unless spec.manualSelector, the pod template gets
// the controller-uid and job-name labels and the selector is generated from the uid.
#include "skiff/master/api/object_util.h"
#include "strategies.h"

namespace skiff::master::api {
namespace {

class JobStrategy : public Strategy {
 public:
  Result<void> admitCreate(const ResourceInfo&, json& obj, const WriteOptions&) override {
    json& spec = obj["spec"];
    if (spec.value("manualSelector", false)) return ok();
    std::string uid = str(obj, {"metadata", "uid"});
    std::string name = str(obj, {"metadata", "name"});
    json& tl = spec["template"]["metadata"]["labels"];
    if (!tl.is_object()) tl = json::object();
    tl["batch.kubernetes.io/controller-uid"] = uid;
    tl["batch.kubernetes.io/job-name"] = name;
    tl["controller-uid"] = uid;
    tl["job-name"] = name;
    if (!spec.contains("selector")) {
      spec["selector"] = {{"matchLabels", {{"batch.kubernetes.io/controller-uid", uid}}}};
    }
    return ok();
  }
};

}  // namespace

StrategyPtr newJobStrategy() { return std::make_shared<JobStrategy>(); }

}  // namespace skiff::master::api
