#include "skiff/agent/eviction_stats.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <filesystem>

#include "skiff/agent/node_facts.h"

namespace skiff::agent {

using nlohmann::json;

namespace {

struct DirUsage {
  int64_t bytes = 0;
  int64_t inodes = 0;
};

// Bytes (allocated blocks) and inodes below `dir`, staying on dir's filesystem: memory-backed
// volumes (tmpfs emptyDir, secrets) are mounts of their own and are not local disk.
DirUsage diskUsage(const std::string& dir) {
  DirUsage u;
  struct stat top {};
  if (::lstat(dir.c_str(), &top) != 0) return u;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(
      dir, std::filesystem::directory_options::skip_permission_denied, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (st.st_dev != top.st_dev) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    u.bytes += static_cast<int64_t>(st.st_blocks) * 512;
    u.inodes += 1;
  }
  return u;
}

class NodeEvictionStats final : public EvictionStatsSource {
 public:
  NodeEvictionStats(EvictionStatsPaths paths, ContainerRuntime& runtime)
      : paths_(std::move(paths)), runtime_(runtime) {}

  Result<std::map<std::string, SignalObservation>> observe() override {
    SKIFF_ASSIGN_OR_RETURN(auto u, readNodeUsage(paths_.root_dir));
    std::map<std::string, SignalObservation> out;
    out["memory.available"] = {u.memory_available, u.memory_capacity};
    out["nodefs.available"] = {u.nodefs_available, u.nodefs_capacity};
    out["nodefs.inodesFree"] = {u.nodefs_inodes_free, u.nodefs_inodes};
    out["pid.available"] = {u.pids_available, u.pids_max};
    // imagefs: the filesystem holding the runtime's images and container layers.
    struct statvfs fs {};
    if (::statvfs(paths_.runtime_root.c_str(), &fs) == 0) {
      auto frsize = static_cast<int64_t>(fs.f_frsize);
      out["imagefs.available"] = {static_cast<int64_t>(fs.f_bavail) * frsize,
                                  static_cast<int64_t>(fs.f_blocks) * frsize};
      out["imagefs.inodesFree"] = {static_cast<int64_t>(fs.f_ffree),
                                   static_cast<int64_t>(fs.f_files)};
    } else {
      out["imagefs.available"] = out["nodefs.available"];
      out["imagefs.inodesFree"] = out["nodefs.inodesFree"];
    }
    return out;
  }

  std::map<std::string, PodUsage> podUsage(const std::vector<json>& pods) override {
    std::map<std::string, PodUsage> out;
    std::map<std::string, ContainerStats> stats;
    if (auto st = runtime_.listContainerStats(); st) {
      for (auto& s : *st) stats[s.id] = s;
    }
    std::map<std::string, std::vector<ContainerInfo>> by_uid;
    if (auto list = runtime_.listContainers(); list) {
      for (auto& c : *list) {
        auto it = c.labels.find(kLabelPodUid);
        if (it != c.labels.end()) by_uid[it->second].push_back(c);
      }
    }
    for (const auto& pod : pods) {
      const json& md = pod.value("metadata", json::object());
      std::string uid = md.value("uid", "");
      PodUsage& u = out[uid];
      for (const auto& c : by_uid[uid]) {
        if (c.state != ContainerState::Running) continue;
        const ContainerStats& s = stats[c.id];
        ContainerUsage& cu = u.containers[c.name];
        cu.memory_working_set += static_cast<int64_t>(s.memory_working_set_bytes);
        cu.disk_bytes += static_cast<int64_t>(s.rootfs_used_bytes);
        if (!c.log_path.empty()) {
          struct stat st {};
          if (::stat(c.log_path.c_str(), &st) == 0) cu.disk_bytes += st.st_blocks * 512;
        }
        u.memory_working_set += cu.memory_working_set;
        u.disk_bytes += cu.disk_bytes;
      }
      // Local volumes (emptyDir on disk) live in the pod's directory.
      DirUsage vol = diskUsage(paths_.root_dir + "/pods/" + uid);
      u.disk_bytes += vol.bytes;
      u.inodes += vol.inodes;
    }
    return out;
  }

 private:
  EvictionStatsPaths paths_;
  ContainerRuntime& runtime_;
};

}  // namespace

std::unique_ptr<EvictionStatsSource> makeNodeEvictionStats(EvictionStatsPaths paths,
                                                           ContainerRuntime& runtime) {
  return std::make_unique<NodeEvictionStats>(std::move(paths), runtime);
}

}  // namespace skiff::agent
