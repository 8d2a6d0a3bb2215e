#include "skiff/agent/testing/fake_runtime.h"

namespace skiff::agent::testing {

namespace {
// The records of a by-id map, in id order.
template <class Map>
std::vector<typename Map::mapped_type> valuesOf(const Map& by_id) {
  std::vector<typename Map::mapped_type> out;
  out.reserve(by_id.size());
  for (const auto& [_, v] : by_id) out.push_back(v);
  return out;
}
}  // namespace

Result<std::string> FakeRuntime::runPodSandbox(const SandboxConfig& cfg) {
  std::lock_guard lk(mu_);
  std::string id = "sb" + std::to_string(++seq_);
  SandboxStatus s;
  s.id = id;
  s.state = SandboxState::Ready;
  s.netns_path = cfg.host_network ? "" : "/run/netns/" + id;
  s.log_directory = cfg.log_directory;
  s.labels = cfg.labels;
  s.annotations = cfg.annotations;
  s.created_at_ns = now_ns_ + seq_;
  s.attempt = cfg.attempt;
  sandboxes_[id] = s;
  return id;
}

Result<void> FakeRuntime::stopPodSandbox(const std::string& id) {
  std::lock_guard lk(mu_);
  auto it = sandboxes_.find(id);
  if (it == sandboxes_.end()) return ok();
  it->second.state = SandboxState::NotReady;
  for (auto& [_, c] : containers_) {
    if (c.sandbox_id == id && c.state == ContainerState::Running) {
      c.state = ContainerState::Exited;
      c.exit_code = 137;
      c.reason = "Error";
      c.finished_at_ns = now_ns_;
    }
  }
  return ok();
}

Result<void> FakeRuntime::removePodSandbox(const std::string& id) {
  std::lock_guard lk(mu_);
  sandboxes_.erase(id);
  for (auto it = containers_.begin(); it != containers_.end();) {
    it = it->second.sandbox_id == id ? containers_.erase(it) : std::next(it);
  }
  return ok();
}

Result<std::vector<SandboxStatus>> FakeRuntime::listPodSandboxes() {
  std::lock_guard lk(mu_);
  return valuesOf(sandboxes_);
}

Result<std::string> FakeRuntime::createContainer(const std::string& sandbox_id,
                                                 const ContainerConfig& cfg) {
  std::lock_guard lk(mu_);
  auto sb = sandboxes_.find(sandbox_id);
  if (sb == sandboxes_.end()) return Error(ErrorCode::NotFound, "sandbox not found");
  if (!images_.count(cfg.image)) {
    return Error(ErrorCode::NotFound, "image '" + cfg.image + "' not present");
  }
  std::string id = "c" + std::to_string(++seq_);
  ContainerInfo c;
  c.id = id;
  c.sandbox_id = sandbox_id;
  c.name = cfg.name;
  c.attempt = cfg.attempt;
  c.state = ContainerState::Created;
  c.created_at_ns = now_ns_;
  c.image = cfg.image;
  c.image_ref = "sha256:" + cfg.image;
  c.labels = cfg.labels;
  c.annotations = cfg.annotations;
  c.log_path =
      sb->second.log_directory + "/" + cfg.name + "/" + std::to_string(cfg.attempt) + ".log";
  containers_[id] = c;
  configs_[id] = cfg;
  return id;
}

Result<void> FakeRuntime::startContainer(const std::string& id) {
  std::lock_guard lk(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return Error(ErrorCode::NotFound, "container not found");
  if (it->second.state != ContainerState::Created) {
    return Error(ErrorCode::Conflict, "container is not in created state");
  }
  it->second.state = ContainerState::Running;
  it->second.started_at_ns = now_ns_;
  ++started_;
  return ok();
}

Result<void> FakeRuntime::stopContainer(const std::string& id, std::chrono::seconds timeout) {
  std::lock_guard lk(mu_);
  stops_.push_back(id + ":" + std::to_string(timeout.count()));
  auto it = containers_.find(id);
  if (it == containers_.end()) return Error(ErrorCode::NotFound, "container not found");
  if (it->second.state == ContainerState::Running || it->second.state == ContainerState::Created) {
    it->second.state = ContainerState::Exited;
    it->second.exit_code = 137;
    it->second.reason = "Error";
    it->second.finished_at_ns = now_ns_;
  }
  return ok();
}

Result<void> FakeRuntime::removeContainer(const std::string& id) {
  std::lock_guard lk(mu_);
  containers_.erase(id);
  return ok();
}

Result<std::vector<ContainerInfo>> FakeRuntime::listContainers() {
  std::lock_guard lk(mu_);
  return valuesOf(containers_);
}

Result<ExecResult> FakeRuntime::execSync(const std::string& id, const std::vector<std::string>&,
                                         std::chrono::seconds) {
  std::lock_guard lk(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end() || it->second.state != ContainerState::Running) {
    return Error(ErrorCode::Conflict, "container is not running");
  }
  return ExecResult{exec_exit_, "", ""};
}

Result<std::unique_ptr<ExecSession>> FakeRuntime::exec(const std::string&,
                                                       const std::vector<std::string>&, bool,
                                                       bool) {
  return Error(ErrorCode::Unsupported, "fake runtime has no interactive exec");
}

Result<ImageInfo> FakeRuntime::pullImage(const std::string& ref) {
  std::lock_guard lk(mu_);
  pulls_.push_back(ref);
  if (pull_fails_) return Error(ErrorCode::Unavailable, "registry unreachable");
  images_.insert(ref);
  return ImageInfo{"sha256:" + ref, {ref}, {}, 1000};
}

Result<std::optional<ImageInfo>> FakeRuntime::imageStatus(const std::string& ref) {
  std::lock_guard lk(mu_);
  if (!images_.count(ref)) return std::optional<ImageInfo>();
  return std::optional<ImageInfo>(ImageInfo{"sha256:" + ref, {ref}, {}, 1000});
}

Result<std::vector<ImageInfo>> FakeRuntime::listImages() {
  std::lock_guard lk(mu_);
  std::vector<ImageInfo> out;
  out.reserve(images_.size());
  for (const auto& i : images_) out.push_back(ImageInfo{"sha256:" + i, {i}, {}, 1000});
  return out;
}

Result<ImageGcReport> FakeRuntime::garbageCollectImages(const ImageGcPolicy& policy) {
  std::lock_guard lk(mu_);
  ImageGcReport r;
  if (image_disk_percent_ < policy.high_threshold_percent) return r;
  uint64_t used = image_disk_capacity_ * static_cast<uint64_t>(image_disk_percent_) / 100;
  uint64_t target =
      image_disk_capacity_ * static_cast<uint64_t>(policy.low_threshold_percent) / 100;
  r.wanted_bytes = used > target ? used - target : 0;
  std::set<std::string> in_use;
  for (const auto& [_, c] : containers_) in_use.insert(c.image);
  for (auto it = images_.begin(); it != images_.end() && r.freed_bytes < r.wanted_bytes;) {
    if (in_use.count(*it)) {
      ++it;
      continue;
    }
    r.removed.push_back("sha256:" + *it);
    r.freed_bytes += 1000;
    it = images_.erase(it);
  }
  image_disk_percent_ -= static_cast<int>(r.freed_bytes * 100 / image_disk_capacity_);
  return r;
}

Result<std::vector<ContainerStats>> FakeRuntime::listContainerStats() {
  return std::vector<ContainerStats>{};
}

void FakeRuntime::addImage(const std::string& ref) {
  std::lock_guard lk(mu_);
  images_.insert(ref);
}

void FakeRuntime::exitContainer(const std::string& uid, const std::string& name, int code,
                                int64_t finished_ns) {
  std::lock_guard lk(mu_);
  for (auto& [_, c] : containers_) {
    if (c.labels[kLabelPodUid] == uid && c.name == name && c.state == ContainerState::Running) {
      c.state = ContainerState::Exited;
      c.exit_code = code;
      c.reason = code == 0 ? "Completed" : "Error";
      c.finished_at_ns = finished_ns;
    }
  }
}

std::map<std::string, ContainerConfig> FakeRuntime::configs() {
  std::lock_guard lk(mu_);
  return configs_;
}

std::vector<std::string> FakeRuntime::stops() {
  std::lock_guard lk(mu_);
  return stops_;
}

int FakeRuntime::startedCount() {
  std::lock_guard lk(mu_);
  return started_;
}

}  // namespace skiff::agent::testing
