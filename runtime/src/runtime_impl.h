#pragma once

// Private: the Runtime both backends share (runtime.h has the contract). It keeps the sandbox
// and container records (state_records.h), the rootfs overlay, the shim, the CRI logs, exits,
// exec and stats; what differs per backend is a ContainerBackend chosen once at open. Every
// kernel call goes through sys::Syscalls and sys::CgroupManager, so the whole lifecycle runs
// against testing::FakeKernel in the unit tests.
//
// Split by concern: sandboxes.cc (pod sandboxes, recovery, open), runtime_impl.cc (containers).

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "container_backend.h"
#include "skiff/common/log.h"
#include "skiff/runtime/runtime.h"
#include "skiff/runtime/sys/cgroups.h"
#include "skiff/runtime/sys/syscalls.h"
#include "state_records.h"

namespace skiff::runtime {

// An id, or a unique prefix of at least 4 characters (crictl's convenience).
template <typename M>
Result<typename M::mapped_type> findById(const M& m, const std::string& id, const char* what) {
  if (auto it = m.find(id); it != m.end()) return it->second;
  if (id.size() >= 4) {
    const typename M::mapped_type* hit = nullptr;
    int n = 0;
    for (const auto& [k, v] : m)
      if (k.rfind(id, 0) == 0) {
        hit = &v;
        ++n;
      }
    if (n == 1) return *hit;
    if (n > 1)
      return Error(ErrorCode::Invalid, std::string(what) + " id prefix '" + id + "' is ambiguous");
  }
  return Error(ErrorCode::NotFound, std::string(what) + " '" + id + "' not found");
}

// A removal's answer when the lookup failed: an unknown id is "nothing removed" (false, STYLE.md
// §4), any other error stays one.
inline Result<bool> notRemoved(Error lookup_error) {
  if (lookup_error.is(ErrorCode::NotFound)) return false;
  return lookup_error;
}

// What the runtime runs on; createRuntime makes the real ones, tests pass fakes.
struct RuntimeDeps {
  ImageStorePtr images;
  std::shared_ptr<sys::Syscalls> sys;
  sys::CgroupManagerPtr cgroups;
};

// Opens the runtime on `deps` (options.state_dir must be set) and re-adopts what the state dir
// records.
Result<RuntimePtr> openRuntime(const RuntimeOptions& options, RuntimeDeps deps);

class RuntimeImpl : public Runtime {
 public:
  RuntimeImpl(RuntimeOptions o, RuntimeDeps deps);

  // Re-adopts the recorded sandboxes and containers and deletes the debris of creates that died.
  Result<void> recover();

  // skiff::runtime::Runtime
  Backend backend() const override { return o_.backend; }
  ImageStore& images() override { return *images_; }
  Result<std::string> runPodSandbox(const PodSandboxConfig& config) override;
  Result<void> stopPodSandbox(const std::string& id, std::chrono::milliseconds timeout) override;
  Result<bool> removePodSandbox(const std::string& id) override;
  Result<PodSandboxStatus> podSandboxStatus(const std::string& id) override;
  Result<std::vector<PodSandboxStatus>> listPodSandbox(
      const std::map<std::string, std::string>& label_selector) override;
  Result<std::string> createContainer(const std::string& sandbox_id,
                                      const ContainerConfig& config) override;
  Result<void> startContainer(const std::string& id) override;
  Result<void> stopContainer(const std::string& id, std::chrono::milliseconds timeout) override;
  Result<bool> removeContainer(const std::string& id) override;
  Result<std::vector<ContainerStatus>> listContainers(const ContainerFilter& filter) override;
  Result<ContainerStatus> containerStatus(const std::string& id) override;
  Result<ContainerStatus> waitContainer(const std::string& id,
                                        std::chrono::milliseconds timeout) override;
  Result<ExecSyncResult> execSync(const std::string& id, const std::vector<std::string>& cmd,
                                  std::chrono::milliseconds timeout) override;
  Result<std::unique_ptr<ExecSession>> exec(const std::string& id,
                                            const ExecOptions& opts) override;
  Result<std::unique_ptr<ExecSession>> attach(const std::string& id, bool stdin_open) override;
  Result<ContainerStats> containerStats(const std::string& id) override;

 private:
  // sandboxes.cc
  Result<void> createNamespaces(const SandboxRecord& s);
  void teardownSandboxNs(const SandboxRecord& s);
  PodSandboxStatus toStatus(const SandboxRecord& s) const;
  std::string podCgroup(const SandboxRecord& s) const;
  std::vector<std::string> containersOf(const std::string& sandbox);
  Result<SandboxRecord> findSandbox(const std::string& id);

  // runtime_impl.cc
  Result<void> reserveName(const std::string& reservation, const SandboxRecord& sb,
                           const ContainerConfig& config);
  ContainerRecord newRecord(const SandboxRecord& sb, const ContainerConfig& config,
                            const Image& image) const;
  Result<void> prepareRootfs(const ContainerRecord& r, const std::vector<std::string>& layers);
  std::vector<std::string> shimArgs(const ContainerRecord& r, const ContainerConfig& config);
  Result<void> launchShim(ContainerRecord& r, const std::vector<std::string>& argv);
  void rollbackCreate(const ContainerRecord& r, bool mounted);
  Result<std::string> seccompProgramFile(const std::vector<std::string>& caps);
  ContainerBackend& backendOf(const ContainerRecord& r);
  Result<ContainerRecord> findContainer(const std::string& id);
  Result<void> checkRunning(const ContainerRecord& r, const char* what);
  bool waitExit(const ContainerRecord& r, std::chrono::milliseconds timeout);
  bool processAlive(int pid, std::uint64_t start_time);
  ContainerStatus statusOf(const ContainerRecord& r);

  RuntimeOptions o_;
  ImageStorePtr images_;
  std::shared_ptr<sys::Syscalls> sys_;
  sys::CgroupManagerPtr cg_;
  std::shared_ptr<spdlog::logger> log_;
  std::string shim_, init_;
  // The backend new containers get, chosen from options.backend; the other one only serves
  // containers a runtime with the other backend created on this state dir (re-adopted).
  ContainerBackendPtr backend_;
  ContainerBackendPtr other_backend_;
  std::mutex mu_;
  std::map<std::string, SandboxRecord> sandboxes_;
  std::map<std::string, ContainerRecord> containers_;
  std::set<std::string> reserved_;                    // sandbox/name/attempt of creates in progress
  std::map<std::string, std::string> seccomp_files_;  // capability set -> compiled program file
};

}  // namespace skiff::runtime
