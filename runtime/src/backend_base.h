#pragma once

// Private: what the two ContainerBackends (container_backend.h) share: the context they act
// through, and spec.json, which both write. The native backend's skiff-init applies it; under
// runc it is what exec reads to join the container's namespaces with skiff-init.

#include <utility>

#include "container_backend.h"
#include "process_util.h"

namespace skiff::runtime {

class BackendBase : public ContainerBackend {
 protected:
  explicit BackendBase(BackendContext ctx) : ctx_(std::move(ctx)) {}

  // Points `spec` at the container's cgroup and start fifo, then writes it as <dir>/spec.json
  // (created once, like every file in the container dir).
  Result<void> writeLaunchSpec(const ContainerRecord& r, LaunchSpec& spec) {
    spec.cgroup_procs = ctx_.cgroups.joinFiles(r.cgroup);
    spec.start_fifo = r.dir + "/start.fifo";
    return writeFileNew(r.dir + "/spec.json", toJson(spec).dump(), 0600);
  }

  BackendContext ctx_;
};

}  // namespace skiff::runtime
