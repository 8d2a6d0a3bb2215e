#pragma once

// Private: what differs between the two ways of running a container, behind one interface
// chosen once when the runtime opens (crun's cgroup driver ops table; STYLE.md §2). Everything
// else (images, rootfs overlay, records, the shim, logs, exits, exec, stats) is common and lives
// in RuntimeImpl.
//
// Lifecycle of one container, as the Mesos isolator's (recover -> prepare -> ... -> cleanup):
//   prepare  before the shim is spawned: the backend's files in the container dir and the
//            cgroup if the backend makes it; returns the shim arguments that launch the init.
//   start    lets the created init exec the container's command.
//   cleanup  drops the backend's own state of the container. Runs on rollback of a failed create
//            and on remove, so it accepts a container it never launched, and is idempotent.

#include <memory>
#include <string>
#include <vector>

#include "launch_spec.h"
#include "skiff/common/result.h"
#include "skiff/runtime/runtime.h"
#include "skiff/runtime/sys/cgroups.h"
#include "skiff/runtime/sys/syscalls.h"
#include "state_records.h"

namespace skiff::runtime {

class ContainerBackend {
 public:
  virtual ~ContainerBackend() = default;
  virtual Backend kind() const = 0;
  // Whether the spec should carry the default seccomp profile precompiled by the runtime
  // (skiff-init loads it as is; runc compiles config.json's profile itself).
  virtual bool wantsSeccompProgram() const = 0;
  virtual Result<std::vector<std::string>> prepare(const ContainerRecord& r, LaunchSpec& spec,
                                                   const ContainerConfig& config) = 0;
  virtual Result<void> start(const ContainerRecord& r) = 0;
  virtual void cleanup(const ContainerRecord& r) = 0;
};

using ContainerBackendPtr = std::unique_ptr<ContainerBackend>;

// What the backends act through; owned by the runtime, outlives them.
struct BackendContext {
  sys::Syscalls& sys;
  sys::CgroupManager& cgroups;
  std::string init_path;  // skiff-init
  std::string runc_path;
  std::string runc_root;  // runc --root
};

ContainerBackendPtr makeNativeBackend(const BackendContext& ctx);
ContainerBackendPtr makeRuncBackend(const BackendContext& ctx);

}  // namespace skiff::runtime
