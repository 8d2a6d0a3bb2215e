#include "skiff/runtime/testing/fake_kernel.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <thread>

#include "skiff/common/file.h"

namespace skiff::runtime::testing {
namespace {

bool existsOnDisk(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string parentOf(const std::string& rel) {
  auto slash = rel.rfind('/');
  return slash == std::string::npos ? "" : rel.substr(0, slash);
}

// "<root>/<rel>/<file>" -> rel
std::string cgroupOfFile(const std::string& path) {
  std::string prefix = std::string(kFakeCgroupRoot) + "/";
  if (path.rfind(prefix, 0) != 0) return "";
  return parentOf(path.substr(prefix.size()));
}

std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class FakeCgroupManager : public sys::CgroupManager {
 public:
  explicit FakeCgroupManager(FakeKernel& k) : k_(k) {}
  Result<void> create(const std::string& rel, const Resources& res, bool all_devices) override {
    return k_.createCgroup(rel, res, all_devices);
  }
  std::vector<std::string> joinFiles(const std::string& rel) const override {
    return {std::string(kFakeCgroupRoot) + "/" + rel + "/cgroup.procs"};
  }
  std::string oomFile(const std::string& rel) const override {
    return std::string(kFakeCgroupRoot) + "/" + rel + "/memory.events";
  }
  Result<sys::CgroupUsage> usage(const std::string& rel) const override {
    auto it = k_.cgroups().find(rel);
    if (it == k_.cgroups().end())
      return Error::fromErrno(ENOENT, "read '" + joinFiles(rel)[0] + "'");
    return it->second.usage;
  }
  Result<bool> remove(const std::string& rel) override { return k_.removeCgroup(rel); }
  Result<std::vector<int>> pids(const std::string& rel) const override {
    auto it = k_.cgroups().find(rel);
    if (it == k_.cgroups().end()) return Error::fromErrno(ENOENT, "read cgroup '" + rel + "'");
    return std::vector<int>(it->second.procs.begin(), it->second.procs.end());
  }

 private:
  FakeKernel& k_;
};

}  // namespace

// ---- state ----

std::vector<pid_t> FakeKernel::livePids() const {
  std::vector<pid_t> out;
  for (const auto& [pid, p] : procs_)
    if (p.alive) out.push_back(pid);
  return out;
}

const FakeKernel::Process* FakeKernel::process(pid_t pid) const {
  auto it = procs_.find(pid);
  return it == procs_.end() ? nullptr : &it->second;
}

std::vector<std::string> FakeKernel::cgroupsUnder(const std::string& rel) const {
  std::vector<std::string> out;
  for (const auto& [path, cg] : cgroups_)
    if (path == rel || path.rfind(rel + "/", 0) == 0) out.push_back(path);
  return out;
}

std::set<std::string> FakeKernel::runcContainers() const {
  std::set<std::string> out;
  for (const auto& [id, pid] : runc_) out.insert(id);
  return out;
}

std::optional<std::string> FakeKernel::hostnameAt(const std::string& uts_path) const {
  auto it = hostnames_.find(uts_path);
  if (it == hostnames_.end() || !mounts_.count(uts_path)) return std::nullopt;
  return it->second;
}

// ---- controls ----

void FakeKernel::exitForTest(pid_t pid, int code) { terminate(pid, code, 0); }

void FakeKernel::setUsageForTest(const std::string& rel, const sys::CgroupUsage& usage) {
  cgroups_[rel].usage = usage;
}

sys::CgroupManagerPtr FakeKernel::cgroupManager() {
  return std::make_unique<FakeCgroupManager>(*this);
}

// ---- processes ----

pid_t FakeKernel::newProcess(const std::string& comm) {
  pid_t pid = next_pid_++;
  Process p;
  p.pid = pid;
  p.comm = comm;
  p.start_time = next_start_++;
  procs_[pid] = p;
  return pid;
}

void FakeKernel::joinCgroup(pid_t pid, const std::string& rel) {
  auto& p = procs_.at(pid);
  if (!p.cgroup.empty() && cgroups_.count(p.cgroup)) cgroups_[p.cgroup].procs.erase(pid);
  p.cgroup = rel;
  if (!rel.empty()) cgroups_[rel].procs.insert(pid);
}

// The process ends. A container init's shim then records the exit and exits too.
void FakeKernel::terminate(pid_t pid, int code, int signal) {
  auto it = procs_.find(pid);
  if (it == procs_.end() || !it->second.alive) return;
  Process& p = it->second;
  p.alive = false;
  p.waiting_start = false;
  p.exit_code = code;
  if (!p.cgroup.empty() && cgroups_.count(p.cgroup)) cgroups_[p.cgroup].procs.erase(pid);
  if (p.shim == 0) return;
  auto shim = procs_.find(p.shim);
  if (shim == procs_.end() || !shim->second.alive) return;
  long oom = 0;
  std::string rec = std::to_string(code) + " " + std::to_string(nowNs()) + " " +
                    std::to_string(oom) + " " + std::to_string(signal) + "\n";
  (void)writeFileReplace(shim->second.container_dir + "/exit", rec, 0600);
  shim->second.alive = false;
}

Result<bool> FakeKernel::kill(pid_t pid, int sig) {
  if (auto e = takeFailure("kill")) return *e;
  auto it = procs_.find(pid);
  if (it == procs_.end() || !it->second.alive) return false;
  if (sig == 0) return true;
  if (sig == SIGTERM && it->second.ignores_sigterm) return true;
  if (sig == SIGTERM || sig == SIGKILL || sig == SIGINT) terminate(pid, 128 + sig, sig);
  return true;
}

std::uint64_t FakeKernel::processStartTime(pid_t pid) {
  auto it = procs_.find(pid);
  return it == procs_.end() || !it->second.alive ? 0 : it->second.start_time;
}

Result<bool> FakeKernel::waitForPidExit(pid_t pid, std::chrono::milliseconds timeout) {
  if (auto e = takeFailure("waitForPidExit")) return *e;
  if (processStartTime(pid) == 0) return true;
  // Nothing here ends a process by itself: the wait only passes (a little) time.
  std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(1)));
  return false;
}

Result<pid_t> FakeKernel::spawn(const std::vector<std::string>& argv, const SpawnOptions&) {
  if (auto e = takeFailure("spawn")) return *e;
  if (argv.empty()) return Error::fromErrno(EINVAL, "spawn: empty argv");
  return newProcess("exec");
}

Result<int> FakeKernel::waitPid(pid_t pid) {
  if (auto e = takeFailure("waitPid")) return *e;
  auto it = procs_.find(pid);
  if (it == procs_.end()) return Error::fromErrno(ECHILD, "waitpid " + std::to_string(pid));
  // A spawned process runs to completion when waited for.
  if (it->second.alive) terminate(pid, 0, 0);
  int code = it->second.exit_code;
  procs_.erase(it);
  return code;
}

// ---- the shim ----

Result<std::string> FakeKernel::spawnDetached(const std::vector<std::string>& argv,
                                              std::chrono::milliseconds) {
  if (auto e = takeFailure("spawnDetached")) return *e;
  std::map<std::string, std::string> flags;
  for (std::size_t i = 1; i + 1 < argv.size(); ++i)
    if (argv[i].rfind("--", 0) == 0 && argv[i + 1].rfind("--", 0) != 0)
      flags[argv[i]] = argv[i + 1];
  if (!flags.count("--dir")) return std::string("error shim: --dir is required");
  pid_t shim = newProcess("skiff-shim");
  procs_[shim].container_dir = flags["--dir"];
  std::string err = launchInit(shim, flags, argv);
  if (!err.empty()) {
    procs_[shim].alive = false;
    return "error " + err + "\n";
  }
  return "ok " + std::to_string(procs_[shim].init) + " " + std::to_string(shim) + "\n";
}

// What the shim's child does before it reports: native, skiff-init joins the cgroup and blocks
// on the start fifo; runc, `runc create` makes the cgroup and holds the init. Returns the error
// the shim would report, or "".
std::string FakeKernel::launchInit(pid_t shim, const std::map<std::string, std::string>& flags,
                                   const std::vector<std::string>& argv) {
  std::string dir = flags.at("--dir");
  std::string rel = flags.count("--oom-file") ? cgroupOfFile(flags.at("--oom-file")) : "";
  auto pos = [&](const char* flag) {
    for (std::size_t i = 0; i < argv.size(); ++i)
      if (argv[i] == flag) return i;
    return argv.size();
  };
  std::size_t native = pos("--native"), runc = pos("--runc");
  std::string fifo;
  if (native + 2 < argv.size()) {
    if (!existsOnDisk(argv[native + 2])) return "read spec '" + argv[native + 2] + "': not found";
    if (!cgroups_.count(rel)) return "join cgroup '" + rel + "': No such file or directory";
    fifo = dir + "/start.fifo";
    if (!fifos_.count(fifo)) return "open start fifo: No such file or directory";
  } else if (runc + 4 < argv.size()) {
    if (!existsOnDisk(dir + "/config.json")) return "runc create: config.json not found";
    if (runc_.count(argv[runc + 4])) return "runc create: container id already in use";
    // runc makes the container's cgroup, with its missing ancestors.
    if (auto made = createCgroup(rel, {}, false); !made) return made.error().message();
  } else {
    return "shim: neither --native nor --runc";
  }
  if (fail_launch_) {
    std::string why = *fail_launch_;
    fail_launch_.reset();
    return why;
  }
  pid_t init = newProcess("init");
  Process& p = procs_[init];
  p.waiting_start = true;
  p.ignores_sigterm = ignore_sigterm_;
  p.shim = shim;
  p.start_fifo = fifo;
  procs_[shim].init = init;
  joinCgroup(init, rel);
  if (runc + 4 < argv.size()) runc_[argv[runc + 4]] = init;
  return "";
}

Result<void> FakeKernel::mkfifo(const std::string& path, mode_t) {
  if (auto e = takeFailure("mkfifo")) return *e;
  if (fifos_.count(path) || existsOnDisk(path))
    return Error::fromErrno(EEXIST, "create fifo '" + path + "'");
  if (!existsOnDisk(parentOf(path))) return Error::fromErrno(ENOENT, "create fifo '" + path + "'");
  fifos_.insert(path);
  return ok();
}

Result<void> FakeKernel::readStartFifo(const std::string& path, std::chrono::milliseconds) {
  if (auto e = takeFailure("readStartFifo")) return *e;
  if (!fifos_.count(path)) return Error::fromErrno(ENOENT, "open start fifo '" + path + "'");
  for (auto& [pid, p] : procs_)
    if (p.alive && p.waiting_start && p.start_fifo == path) {
      p.waiting_start = false;
      return ok();
    }
  return Error(ErrorCode::Internal, "the container init did not respond");
}

// `runc --root R start|delete [--force] ID` and `skiff-init exec SPEC PID -- CMD`.
Result<sys::RunResult> FakeKernel::runCommand(const std::vector<std::string>& argv,
                                              std::chrono::milliseconds) {
  if (auto e = takeFailure("runCommand")) return *e;
  commands_.push_back(argv);
  if (argv.size() >= 4 && argv[1] == "--root") return runc(argv);
  if (argv.size() >= 5 && argv[1] == "exec") {
    pid_t pid = static_cast<pid_t>(std::stol(argv[3]));
    if (processStartTime(pid) == 0)
      return sys::RunResult{1, "", "exec: container process " + argv[3] + " is gone\n"};
    std::vector<std::string> cmd;
    for (std::size_t i = 4; i < argv.size(); ++i)
      if (argv[i] == "--") {
        cmd.assign(argv.begin() + static_cast<long>(i) + 1, argv.end());
        break;
      }
    return exec_handler_ ? exec_handler_(cmd) : sys::RunResult{0, "", ""};
  }
  return sys::RunResult{127, "", "exec '" + argv[0] + "': No such file or directory\n"};
}

sys::RunResult FakeKernel::runc(const std::vector<std::string>& argv) {
  const std::string& verb = argv[3];
  const std::string& id = argv.back();
  auto it = runc_.find(id);
  if (verb == "start") {
    if (it == runc_.end()) return {1, "", "container " + id + " does not exist\n"};
    Process& p = procs_[it->second];
    if (!p.alive) return {1, "", "cannot start a container that has stopped\n"};
    if (!p.waiting_start) return {1, "", "cannot start an already running container\n"};
    p.waiting_start = false;
    return {0, "", ""};
  }
  if (verb == "delete") {
    bool force = argv.size() > 4 && argv[4] == "--force";
    if (it == runc_.end())
      return force ? sys::RunResult{0, "", ""}
                   : sys::RunResult{1, "", "container does not exist\n"};
    if (processStartTime(it->second) != 0) {
      if (!force) return {1, "", "cannot delete container " + id + " that is not stopped\n"};
      terminate(it->second, 128 + SIGKILL, SIGKILL);
    }
    // runc destroys the container's cgroup with its state.
    std::string rel = procs_[it->second].cgroup;
    if (!rel.empty() && cgroupsUnder(rel).size() == 1) cgroups_.erase(rel);
    runc_.erase(it);
    return {0, "", ""};
  }
  return {1, "", "runc: unknown command '" + verb + "'\n"};
}

// ---- mounts and namespaces ----

Result<void> FakeKernel::mount(const std::string& source, const std::string& target,
                               const std::string& fstype, unsigned long flags,
                               const std::string& data) {
  if (auto e = takeFailure("mount")) return *e;
  if (!existsOnDisk(target))
    return Error::fromErrno(ENOENT, "mount " + fstype + " on '" + target + "'");
  mounts_[target].push_back({source, fstype, flags, data});
  return ok();
}

Result<bool> FakeKernel::umount(const std::string& target, int) {
  if (auto e = takeFailure("umount")) return *e;
  auto it = mounts_.find(target);
  if (it == mounts_.end()) return false;
  it->second.pop_back();
  if (it->second.empty()) mounts_.erase(it);
  return true;
}

Result<void> FakeKernel::holdNamespaces(const sys::SandboxNamespaces& ns) {
  if (auto e = takeFailure("holdNamespaces")) return *e;
  if (ns.hostname.size() > 64) return Error::fromErrno(EINVAL, "set hostname");
  std::vector<std::pair<std::string, std::string>> binds;
  if (!ns.net.empty()) binds.emplace_back("/proc/self/ns/net", ns.net);
  binds.emplace_back("/proc/self/ns/ipc", ns.ipc);
  binds.emplace_back("/proc/self/ns/uts", ns.uts);
  for (const auto& [src, dst] : binds)
    if (!existsOnDisk(dst)) return Error::fromErrno(ENOENT, "bind namespace");
  for (const auto& [src, dst] : binds) mounts_[dst].push_back({src, "nsfs", 0, ""});
  hostnames_[ns.uts] = ns.hostname;
  return ok();
}

Result<sys::PtyPair> FakeKernel::openPty(const std::string& ptmx) {
  if (auto e = takeFailure("openPty")) return *e;
  // "/proc/<pid>/root/dev/pts/ptmx": the container's devpts is there while its init lives.
  pid_t pid = static_cast<pid_t>(std::strtol(ptmx.c_str() + 6, nullptr, 10));
  if (processStartTime(pid) == 0) return Error::fromErrno(ENOENT, "open '" + ptmx + "'");
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return Error::fromErrno(errno, "socketpair");
  return sys::PtyPair{UniqueFd(sv[0]), UniqueFd(sv[1])};
}

Result<void> FakeKernel::setWindowSize(int fd, std::uint16_t, std::uint16_t) {
  if (auto e = takeFailure("setWindowSize")) return *e;
  if (fd < 0) return Error::fromErrno(EBADF, "resize terminal");
  return ok();
}

// ---- cgroups ----

Result<void> FakeKernel::createCgroup(const std::string& rel, const Resources& res,
                                      bool all_devices) {
  if (auto e = takeFailure("cgroupCreate")) return *e;
  SKIFF_ASSIGN_OR_RETURN(std::vector<std::string> comps, sys::cgroupPathComponents(rel));
  std::string cur;
  for (const std::string& comp : comps) {
    cur += (cur.empty() ? "" : "/") + comp;
    cgroups_[cur];
  }
  cgroups_[rel].resources = res;
  cgroups_[rel].all_devices = all_devices;
  return ok();
}

Result<bool> FakeKernel::removeCgroup(const std::string& rel) {
  if (auto e = takeFailure("cgroupRemove")) return *e;
  if (!cgroups_.count(rel)) return false;
  if (cgroupsUnder(rel).size() > 1)
    return Error(ErrorCode::Unavailable, "remove cgroup '" + rel + "': still busy");
  for (pid_t pid : std::set<pid_t>(cgroups_[rel].procs)) terminate(pid, 128 + SIGKILL, SIGKILL);
  cgroups_.erase(rel);
  return true;
}

// ---- images ----

Image FakeImageStore::add(const std::string& ref, const ImageConfig& config) {
  Image img;
  std::string hex;
  for (unsigned char c : ref) {
    static const char* d = "0123456789abcdef";
    hex += d[c >> 4];
    hex += d[c & 15];
  }
  img.id = "sha256:" + (hex + std::string(64, '0')).substr(0, 64);
  img.names = {ref};
  img.config = config;
  img.diff_ids = {img.id};
  images_[img.id] = img;
  ::mkdir((root_ + "/" + img.id.substr(7)).c_str(), 0755);
  return img;
}

int FakeImageStore::useCount(const std::string& image_id) const {
  auto it = used_.find(image_id);
  return it == used_.end() ? 0 : it->second;
}

Result<std::vector<Image>> FakeImageStore::importArchive(const std::string&, const std::string&) {
  return Error(ErrorCode::Unavailable, "import: not modelled by the fake image store");
}

Result<Image> FakeImageStore::pull(const std::string&, const RegistryOptions&) {
  return Error(ErrorCode::Unavailable, "pull: not modelled by the fake image store");
}

Result<Image> FakeImageStore::get(const std::string& ref_or_id) {
  for (const auto& [id, img] : images_)
    if (id == ref_or_id || img.names.front() == ref_or_id) return img;
  return Error(ErrorCode::NotFound, "image '" + ref_or_id + "' not found");
}

Result<std::vector<Image>> FakeImageStore::list() {
  std::vector<Image> out;
  out.reserve(images_.size());
  for (const auto& [id, img] : images_) out.push_back(img);
  return out;
}

Result<bool> FakeImageStore::remove(const std::string& ref_or_id) {
  auto img = get(ref_or_id);
  if (!img) return false;
  if (useCount(img->id) > 0)
    return Error(ErrorCode::Conflict, "remove image '" + ref_or_id + "': in use by a container");
  images_.erase(img->id);
  return true;
}

Result<std::vector<std::string>> FakeImageStore::layerDirs(const Image& image) {
  return std::vector<std::string>{root_ + "/" + image.id.substr(7)};
}

void FakeImageStore::markUsed(const std::string& image_id, int delta) { used_[image_id] += delta; }

Result<ImageGcResult> FakeImageStore::garbageCollect(const ImageGcPolicy&, const DiskUsageFn&,
                                                     std::chrono::system_clock::time_point) {
  return Error(ErrorCode::Unavailable, "image gc: not modelled by the fake image store");
}

}  // namespace skiff::runtime::testing
