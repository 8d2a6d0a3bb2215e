#pragma once

// A stateful fake of agent::ContainerRuntime: sandboxes and containers with states, images,
// and test hooks to make a container exit, fail to pull, or fail an exec (probes). Thread-safe.

#include <map>
#include <mutex>
#include <set>

#include "skiff/agent/container_runtime.h"

namespace skiff::agent::testing {

class FakeRuntime final : public ContainerRuntime {
 public:
  std::string version() override { return "fake://0.1"; }
  Result<std::string> runPodSandbox(const SandboxConfig& cfg) override;
  Result<void> stopPodSandbox(const std::string& id) override;
  Result<void> removePodSandbox(const std::string& id) override;
  Result<std::vector<SandboxStatus>> listPodSandboxes() override;
  Result<std::string> createContainer(const std::string& sandbox_id,
                                      const ContainerConfig& cfg) override;
  Result<void> startContainer(const std::string& id) override;
  Result<void> stopContainer(const std::string& id, std::chrono::seconds timeout) override;
  Result<void> removeContainer(const std::string& id) override;
  Result<std::vector<ContainerInfo>> listContainers() override;
  Result<ExecResult> execSync(const std::string& id, const std::vector<std::string>& cmd,
                              std::chrono::seconds timeout) override;
  Result<std::unique_ptr<ExecSession>> exec(const std::string& id,
                                            const std::vector<std::string>& cmd, bool tty,
                                            bool stdin_open) override;
  Result<ImageInfo> pullImage(const std::string& ref) override;
  Result<std::optional<ImageInfo>> imageStatus(const std::string& ref) override;
  Result<std::vector<ImageInfo>> listImages() override;
  // Models a disk where each image takes 1000 bytes: with `image_disk_percent` in use, removes
  // images no container references until the low threshold is reached.
  Result<ImageGcReport> garbageCollectImages(const ImageGcPolicy& policy) override;
  int image_disk_percent_ = 50;
  uint64_t image_disk_capacity_ = 10000;
  Result<std::vector<ContainerStats>> listContainerStats() override;

  // Test controls.
  void addImage(const std::string& ref);
  void setPullFails(bool fails) {
    std::lock_guard lk(mu_);
    pull_fails_ = fails;
  }
  // Makes the running container `name` of pod `uid` exit with `code` at `finished_ns`.
  void exitContainer(const std::string& uid, const std::string& name, int code,
                     int64_t finished_ns);
  void setExecExitCode(int code) {
    std::lock_guard lk(mu_);
    exec_exit_ = code;
  }
  void setNowNs(int64_t ns) {
    std::lock_guard lk(mu_);
    now_ns_ = ns;
  }
  std::map<std::string, ContainerConfig> configs();  // by container id
  std::vector<std::string> stops();                  // "id:timeout" of stopContainer calls
  int startedCount();
  // Every pullImage call (the pull-policy tests: which policies touch the registry).
  std::vector<std::string> pulls() {
    std::lock_guard lk(mu_);
    return pulls_;
  }

 private:
  std::vector<std::string> pulls_;
  std::mutex mu_;
  int64_t seq_ = 0;
  int64_t now_ns_ = 1'700'000'000'000'000'000;
  bool pull_fails_ = false;
  int exec_exit_ = 0;
  std::set<std::string> images_;
  std::map<std::string, SandboxStatus> sandboxes_;
  std::map<std::string, ContainerInfo> containers_;
  std::map<std::string, ContainerConfig> configs_;
  std::vector<std::string> stops_;
  int started_ = 0;
};

}  // namespace skiff::agent::testing
