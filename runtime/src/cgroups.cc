#include "skiff/runtime/sys/cgroups.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <sstream>

#include "skiff/common/file.h"
#include "skiff/common/unique_fd.h"

namespace skiff::runtime::sys {
namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

Result<void> writeValue(const std::string& path, const std::string& value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC | O_CREAT, 0644));
  if (!fd) return Error::fromErrno(errno, "open '" + path + "'");
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    return Error::fromErrno(errno, "write '" + value + "' to '" + path + "'");
  return ok();
}

Result<void> mkdirs(const std::string& base, const std::string& rel,
                    const std::function<Result<void>(const std::string&)>& on_parent) {
  SKIFF_ASSIGN_OR_RETURN(std::vector<std::string> comps, cgroupPathComponents(rel));
  std::string cur = base;
  for (const std::string& comp : comps) {
    if (on_parent) SKIFF_TRY(on_parent(cur));
    cur += "/" + comp;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      return Error::fromErrno(errno, "create cgroup '" + cur + "'");
  }
  return ok();
}

std::uint64_t statField(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k;
  std::uint64_t v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

std::uint64_t readNumber(const std::string& path) {
  auto t = readFile(path, 4096);
  if (!t) return 0;
  return std::strtoull(t->c_str(), nullptr, 10);
}

void killAll(const std::string& procs) {
  auto t = readFile(procs, 1 << 20);
  if (!t) return;
  std::istringstream in(*t);
  int pid;
  while (in >> pid)
    if (pid > 0) ::kill(pid, SIGKILL);
}

Result<bool> rmdirRetry(const std::string& dir) {
  for (int i = 0; i < 200; ++i) {
    if (::rmdir(dir.c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    if (errno != EBUSY) return Error::fromErrno(errno, "remove cgroup '" + dir + "'");
    killAll(dir + "/cgroup.procs");
    ::usleep(5000);  // the kernel frees a cgroup asynchronously after its last task exits
  }
  return Error(ErrorCode::Unavailable, "remove cgroup '" + dir + "': still busy");
}

class CgroupV1 : public CgroupManager {
 public:
  explicit CgroupV1(std::string root) : root_(std::move(root)) {
    for (const char* c : {"cpu", "cpuacct", "memory", "pids", "devices"})
      if (exists(root_ + "/" + c)) controllers_.push_back(c);
  }

  Result<void> create(const std::string& rel, const Resources& r, bool all_devices) override {
    for (const auto& c : controllers_) SKIFF_TRY(mkdirs(root_ + "/" + c, rel, nullptr));
    auto dir = [&](const char* c) { return root_ + "/" + c + "/" + rel; };
    if (has("cpu")) {
      if (r.cpu_shares > 0)
        SKIFF_TRY(writeValue(dir("cpu") + "/cpu.shares",
                             std::to_string(std::max<std::int64_t>(2, r.cpu_shares))));
      if (r.cpu_quota_us > 0) {
        SKIFF_TRY(writeValue(dir("cpu") + "/cpu.cfs_period_us", std::to_string(r.cpu_period_us)));
        SKIFF_TRY(writeValue(dir("cpu") + "/cpu.cfs_quota_us", std::to_string(r.cpu_quota_us)));
      }
    }
    if (has("memory") && r.memory_limit_bytes > 0) {
      SKIFF_TRY(writeValue(dir("memory") + "/memory.limit_in_bytes",
                           std::to_string(r.memory_limit_bytes)));
      // Without swap accounting limits the OOM killer would swap instead; best effort.
      if (exists(dir("memory") + "/memory.memsw.limit_in_bytes"))
        (void)writeValue(dir("memory") + "/memory.memsw.limit_in_bytes",
                         std::to_string(r.memory_limit_bytes));
    }
    if (has("pids") && r.pids_limit > 0)
      SKIFF_TRY(writeValue(dir("pids") + "/pids.max", std::to_string(r.pids_limit)));
    if (has("devices") && all_devices && exists(dir("devices") + "/devices.allow")) {
      SKIFF_TRY(writeValue(dir("devices") + "/devices.allow", "a"));
    } else if (has("devices") && exists(dir("devices") + "/devices.deny")) {
      // runc's default device allowlist.
      SKIFF_TRY(writeValue(dir("devices") + "/devices.deny", "a"));
      for (const char* rule :
           {"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
            "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"})
        SKIFF_TRY(writeValue(dir("devices") + "/devices.allow", rule));
    }
    return ok();
  }

  std::vector<std::string> joinFiles(const std::string& rel) const override {
    std::vector<std::string> out;
    out.reserve(controllers_.size());
    for (const auto& c : controllers_) out.push_back(root_ + "/" + c + "/" + rel + "/tasks");
    return out;
  }

  std::string oomFile(const std::string& rel) const override {
    return has("memory") ? root_ + "/memory/" + rel + "/memory.oom_control" : "";
  }

  Result<CgroupUsage> usage(const std::string& rel) const override {
    CgroupUsage u;
    if (has("cpuacct")) u.cpu_usage_ns = readNumber(root_ + "/cpuacct/" + rel + "/cpuacct.usage");
    if (has("memory")) {
      std::string m = root_ + "/memory/" + rel;
      if (!exists(m)) return Error(ErrorCode::NotFound, "cgroup '" + rel + "' not found");
      u.memory_usage_bytes = readNumber(m + "/memory.usage_in_bytes");
      auto st = readFile(m + "/memory.stat", 1 << 20);
      std::uint64_t inactive = st ? statField(*st, "total_inactive_file") : 0;
      u.memory_working_set_bytes =
          u.memory_usage_bytes > inactive ? u.memory_usage_bytes - inactive : 0;
      if (auto oc = readFile(m + "/memory.oom_control", 4096))
        u.oom_kills = statField(*oc, "oom_kill");
    }
    return u;
  }

  Result<bool> remove(const std::string& rel) override {
    bool any = false;
    for (const auto& c : controllers_) {
      SKIFF_ASSIGN_OR_RETURN(bool r, rmdirRetry(root_ + "/" + c + "/" + rel));
      any = any || r;
    }
    return any;
  }

  Result<std::vector<int>> pids(const std::string& rel) const override {
    std::vector<int> out;
    if (controllers_.empty()) return out;
    SKIFF_ASSIGN_OR_RETURN(
        std::string t,
        readFile(root_ + "/" + controllers_[0] + "/" + rel + "/cgroup.procs", 1 << 20));
    std::istringstream in(t);
    int p;
    while (in >> p) out.push_back(p);
    return out;
  }

 private:
  bool has(const char* c) const {
    return std::find(controllers_.begin(), controllers_.end(), c) != controllers_.end();
  }
  std::string root_;
  std::vector<std::string> controllers_;
};

class CgroupV2 : public CgroupManager {
 public:
  explicit CgroupV2(std::string root) : root_(std::move(root)) {}

  // v2 device access is a BPF program (runc attaches one); the native backend does not yet.
  Result<void> create(const std::string& rel, const Resources& r, bool) override {
    SKIFF_TRY(mkdirs(root_, rel, [](const std::string& parent) -> Result<void> {
      // Controllers must be enabled in every ancestor for the leaf to have the files.
      auto avail = readFile(parent + "/cgroup.controllers", 4096);
      std::string want;
      for (const char* c : {"cpu", "memory", "pids"})
        if (avail && (" " + *avail + " ").find(std::string(" ") + c) != std::string::npos)
          want += std::string(want.empty() ? "" : " ") + "+" + c;
      if (want.empty()) return ok();
      return writeValue(parent + "/cgroup.subtree_control", want);
    }));
    std::string d = root_ + "/" + rel;
    if (r.cpu_shares > 0)
      SKIFF_TRY(writeValue(d + "/cpu.weight", std::to_string(cpuSharesToWeight(
                                                  static_cast<std::uint64_t>(r.cpu_shares)))));
    if (r.cpu_quota_us > 0)
      SKIFF_TRY(writeValue(d + "/cpu.max",
                           std::to_string(r.cpu_quota_us) + " " + std::to_string(r.cpu_period_us)));
    if (r.memory_limit_bytes > 0) {
      SKIFF_TRY(writeValue(d + "/memory.max", std::to_string(r.memory_limit_bytes)));
      if (exists(d + "/memory.swap.max")) (void)writeValue(d + "/memory.swap.max", "0");
    }
    if (r.pids_limit > 0) SKIFF_TRY(writeValue(d + "/pids.max", std::to_string(r.pids_limit)));
    return ok();
  }

  std::vector<std::string> joinFiles(const std::string& rel) const override {
    return {root_ + "/" + rel + "/cgroup.procs"};
  }
  std::string oomFile(const std::string& rel) const override {
    return root_ + "/" + rel + "/memory.events";
  }

  Result<CgroupUsage> usage(const std::string& rel) const override {
    std::string d = root_ + "/" + rel;
    if (!exists(d)) return Error(ErrorCode::NotFound, "cgroup '" + rel + "' not found");
    CgroupUsage u;
    if (auto c = readFile(d + "/cpu.stat", 4096))
      u.cpu_usage_ns = statField(*c, "usage_usec") * 1000;
    u.memory_usage_bytes = readNumber(d + "/memory.current");
    auto st = readFile(d + "/memory.stat", 1 << 20);
    std::uint64_t inactive = st ? statField(*st, "inactive_file") : 0;
    u.memory_working_set_bytes =
        u.memory_usage_bytes > inactive ? u.memory_usage_bytes - inactive : 0;
    if (auto ev = readFile(d + "/memory.events", 4096)) u.oom_kills = statField(*ev, "oom_kill");
    return u;
  }

  Result<bool> remove(const std::string& rel) override {
    std::string d = root_ + "/" + rel;
    if (exists(d + "/cgroup.kill")) (void)writeValue(d + "/cgroup.kill", "1");
    return rmdirRetry(d);
  }

  Result<std::vector<int>> pids(const std::string& rel) const override {
    std::vector<int> out;
    SKIFF_ASSIGN_OR_RETURN(std::string t, readFile(root_ + "/" + rel + "/cgroup.procs", 1 << 20));
    std::istringstream in(t);
    int p;
    while (in >> p) out.push_back(p);
    return out;
  }

 private:
  std::string root_;
};

}  // namespace

Result<void> checkCgroupRoot(const std::string& root, hostinfo::CgroupMode mode) {
  if (mode == hostinfo::CgroupMode::None)
    return Error(ErrorCode::Unavailable, "system validation failed - no cgroup filesystem mounted");
  std::string missing;
  if (mode == hostinfo::CgroupMode::V2) {
    auto avail = readFile(root + "/cgroup.controllers", 4096);
    std::string have = " " + (avail ? *avail : std::string()) + " ";
    for (char& c : have) c = (c == '\n' || c == '\t') ? ' ' : c;
    for (const char* c : {"cpu", "memory", "pids"}) {
      if (have.find(std::string(" ") + c + " ") == std::string::npos)
        missing += (missing.empty() ? "" : " ") + std::string(c);
    }
  } else {
    for (const char* c : {"cpu", "cpuacct", "memory", "pids"}) {
      if (!exists(root + "/" + c + "/tasks"))
        missing += (missing.empty() ? "" : " ") + std::string(c);
    }
  }
  if (missing.empty()) return ok();
  return Error(
      ErrorCode::Unavailable,
      "system validation failed - Following Cgroup subsystem not mounted: [" + missing +
          "] (under " + root +
          "; note that `ip netns exec` remounts /sys without them, use `nsenter --net=` instead)");
}

std::uint64_t cpuSharesToWeight(std::uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

Result<CgroupManagerPtr> makeCgroupManager(const std::string& root, hostinfo::CgroupMode mode) {
  switch (mode) {
    case hostinfo::CgroupMode::V2:
      return CgroupManagerPtr(std::make_unique<CgroupV2>(root));
    case hostinfo::CgroupMode::V1:
    case hostinfo::CgroupMode::Hybrid:
      return CgroupManagerPtr(std::make_unique<CgroupV1>(root));
    case hostinfo::CgroupMode::None:
      break;
  }
  return Error(ErrorCode::Unavailable, "cgroups: no cgroup filesystem mounted (mode " +
                                           std::string(hostinfo::cgroupModeName(mode)) + ")");
}

}  // namespace skiff::runtime::sys
