// The runc backend: the shim runs `runc create` on an OCI bundle (config.json from the launch
// spec), which makes the cgroup and holds the init until `runc start`; `runc delete` drops
// runc's state. spec.json is written too: exec joins the namespaces with skiff-init.
#include "backend_base.h"
#include "oci_config.h"
#include "process_util.h"

namespace skiff::runtime {
namespace {

class RuncBackend final : public BackendBase {
 public:
  explicit RuncBackend(BackendContext ctx) : BackendBase(std::move(ctx)) {}

  Backend kind() const override { return Backend::Runc; }
  bool wantsSeccompProgram() const override { return false; }

  Result<std::vector<std::string>> prepare(const ContainerRecord& r, LaunchSpec& spec,
                                           const ContainerConfig& config) override {
    SKIFF_TRY(writeLaunchSpec(r, spec));
    SKIFF_TRY(writeFileNew(r.dir + "/config.json",
                           ociConfig(spec, "/" + r.cgroup, config.resources).dump(1), 0600));
    return std::vector<std::string>{"--runc", ctx_.runc_path, ctx_.runc_root, r.dir, r.id};
  }

  Result<void> start(const ContainerRecord& r) override {
    SKIFF_ASSIGN_OR_RETURN(sys::RunResult res, ctx_.sys.runCommand({ctx_.runc_path, "--root",
                                                                    ctx_.runc_root, "start", r.id},
                                                                   std::chrono::seconds(30)));
    if (res.exit_code != 0)
      return Error(ErrorCode::Internal,
                   "start container '" + r.config.name + "': runc start: " + res.err);
    return ok();
  }

  void cleanup(const ContainerRecord& r) override {
    (void)ctx_.sys.runCommand({ctx_.runc_path, "--root", ctx_.runc_root, "delete", "--force", r.id},
                              std::chrono::seconds(30));
  }
};

}  // namespace

ContainerBackendPtr makeRuncBackend(const BackendContext& ctx) {
  return std::make_unique<RuncBackend>(ctx);
}

}  // namespace skiff::runtime
