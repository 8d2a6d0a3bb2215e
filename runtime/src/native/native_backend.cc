// The native backend: skiff-init, started by the shim, joins the cgroup the runtime made, enters
// the sandbox's namespaces, applies spec.json and blocks on a start fifo until startContainer
// reads it.
#include <unistd.h>

#include "backend_base.h"
#include "process_util.h"

namespace skiff::runtime {
namespace {

class NativeBackend final : public BackendBase {
 public:
  explicit NativeBackend(BackendContext ctx) : BackendBase(std::move(ctx)) {}

  Backend kind() const override { return Backend::Native; }
  bool wantsSeccompProgram() const override { return true; }

  Result<std::vector<std::string>> prepare(const ContainerRecord& r, LaunchSpec& spec,
                                           const ContainerConfig& config) override {
    SKIFF_TRY(ctx_.cgroups.create(r.cgroup, config.resources, config.privileged));
    SKIFF_TRY(writeLaunchSpec(r, spec));
    SKIFF_TRY(ctx_.sys.mkfifo(spec.start_fifo, 0622));
    return std::vector<std::string>{"--native", ctx_.init_path, r.dir + "/spec.json"};
  }

  Result<void> start(const ContainerRecord& r) override {
    auto done = ctx_.sys.readStartFifo(r.dir + "/start.fifo", std::chrono::seconds(10));
    if (!done) return std::move(done).error().wrap("start container '" + r.config.name + "'");
    (void)::unlink((r.dir + "/start.fifo").c_str());
    return ok();
  }

  // The init and its cgroup are the runtime's to kill and remove; nothing of the backend's own.
  void cleanup(const ContainerRecord&) override {}
};

}  // namespace

ContainerBackendPtr makeNativeBackend(const BackendContext& ctx) {
  return std::make_unique<NativeBackend>(ctx);
}

}  // namespace skiff::runtime
