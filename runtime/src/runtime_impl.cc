// Containers (runtime.h "Container"): create, start, stop, remove, status, exec, stats. What
// differs per backend is behind ContainerBackend (container_backend.h).
//
// State on disk under <state_dir> (state_records.h):
//   containers/<id>/{state.json,started,exit}      records
//   containers/<id>/{spec.json|config.json, rootfs/, upper/, work/, start.fifo, runc.log}
//   runc/                                          runc --root
#include "runtime_impl.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <sstream>
#include <thread>

#include "attach_session.h"
#include "container_spec.h"
#include "digest.h"
#include "exec_session.h"
#include "process_util.h"
#include "seccomp_profile.h"
#include "skiff/common/file.h"
#include "skiff/common/scope_exit.h"
#include "skiff/runtime/layer_unpack.h"

namespace skiff::runtime {
namespace {

using log::kv;

std::string dirName(const std::string& p) { return p.substr(0, p.rfind('/')); }

}  // namespace

Result<std::string> RuntimeImpl::createContainer(const std::string& sandbox_id,
                                                 const ContainerConfig& config) {
  SKIFF_ASSIGN_OR_RETURN(SandboxRecord sb, findSandbox(sandbox_id));
  if (config.name.empty()) return Error(ErrorCode::Invalid, "create container: name is required");
  // The name is reserved for the duration of the create, so two concurrent creates of the same
  // container (a retrying caller) cannot both succeed.
  const std::string reservation = sb.id + "/" + config.name + "/" + std::to_string(config.attempt);
  SKIFF_TRY(reserveName(reservation, sb, config));
  ScopeExit unreserve([&] {
    std::lock_guard lk(mu_);
    reserved_.erase(reservation);
  });
  auto image = images_->get(config.image);
  if (!image) return std::move(image).error().wrap("create container '" + config.name + "'");
  SKIFF_ASSIGN_OR_RETURN(auto layers, images_->layerDirs(*image));
  SKIFF_ASSIGN_OR_RETURN(auto caps, effectiveCapabilities(config));

  ContainerRecord r = newRecord(sb, config, *image);
  ContainerBackend& backend = *backend_;
  // Everything below is undone unless the create completes (DESIGN: a failed create leaves
  // nothing behind).
  bool mounted = false;
  ScopeExit rollback([&] { rollbackCreate(r, mounted); });
  SKIFF_TRY(prepareRootfs(r, layers));
  mounted = true;
  SKIFF_ASSIGN_OR_RETURN(LaunchSpec spec,
                         buildLaunchSpec(config, *image, sb.config, r.dir + "/rootfs", caps));
  spec.id = r.id;
  spec.netns = sb.netns;
  spec.ipcns = sb.ipcns;
  spec.utsns = sb.utsns;
  if (spec.seccomp && !spec.privileged && backend.wantsSeccompProgram()) {
    SKIFF_ASSIGN_OR_RETURN(spec.seccomp_program, seccompProgramFile(caps));
  }
  std::vector<std::string> argv = shimArgs(r, config);
  SKIFF_ASSIGN_OR_RETURN(auto launch, backend.prepare(r, spec, config));
  argv.insert(argv.end(), launch.begin(), launch.end());
  auto launched = launchShim(r, argv);
  if (!launched) return std::move(launched).error().wrap("create container '" + config.name + "'");
  // state.json is written once; until it exists, recover() treats the dir as debris.
  SKIFF_TRY(writeContainerRecord(r));
  rollback.dismiss();
  images_->markUsed(r.image_id, 1);
  std::lock_guard lk(mu_);
  containers_[r.id] = r;
  SKIFF_LOG_INFO(log_, "Container created", kv("container", config.name), kv("containerID", r.id),
                 kv("backend", std::string(backendName(r.backend))));
  return r.id;
}

Result<void> RuntimeImpl::reserveName(const std::string& reservation, const SandboxRecord& sb,
                                      const ContainerConfig& config) {
  std::lock_guard lk(mu_);
  bool taken = reserved_.count(reservation) > 0;
  for (const auto& [id, c] : containers_)
    taken = taken || (c.sandbox_id == sb.id && c.config.name == config.name &&
                      c.config.attempt == config.attempt);
  if (taken)
    return Error(ErrorCode::AlreadyExists, "create container '" + config.name +
                                               "': name already in use in sandbox (attempt " +
                                               std::to_string(config.attempt) + ")");
  reserved_.insert(reservation);
  return ok();
}

ContainerRecord RuntimeImpl::newRecord(const SandboxRecord& sb, const ContainerConfig& config,
                                       const Image& image) const {
  ContainerRecord r;
  r.id = randomId();
  r.sandbox_id = sb.id;
  r.config = {config.name, config.attempt, config.image, config.labels, config.annotations};
  r.image_id = image.id;
  r.backend = backend_->kind();
  r.created_at_ns = nowNs();
  r.dir = o_.state_dir + "/containers/" + r.id;
  r.cgroup = podCgroup(sb) + "/" + r.id;
  const auto& md = sb.config.metadata;
  r.log_path = o_.log_dir + "/" + md.namespace_ + "_" + md.name + "_" + md.uid + "/" + config.name +
               "/" + std::to_string(config.attempt) + ".log";
  return r;
}

Result<void> RuntimeImpl::prepareRootfs(const ContainerRecord& r,
                                        const std::vector<std::string>& layers) {
  SKIFF_TRY(mkdirs(r.dir + "/rootfs"));
  SKIFF_TRY(mkdirs(r.dir + "/upper"));
  SKIFF_TRY(mkdirs(r.dir + "/work"));
  ::chmod((r.dir + "/upper").c_str(), 0755);
  ::chmod(r.dir.c_str(), 0711);
  SKIFF_TRY(mkdirs(dirName(r.log_path), 0755));
  std::string lower;
  for (const auto& l : layers) lower += (lower.empty() ? "" : ":") + l;
  std::string opts =
      "lowerdir=" + lower + ",upperdir=" + r.dir + "/upper,workdir=" + r.dir + "/work";
  auto mounted = sys_->mount("overlay", r.dir + "/rootfs", "overlay", 0, opts);
  if (!mounted)
    return std::move(mounted).error().wrap("mount overlay rootfs for '" + r.config.name + "'");
  return ok();
}

std::vector<std::string> RuntimeImpl::shimArgs(const ContainerRecord& r,
                                               const ContainerConfig& config) {
  std::vector<std::string> args = {shim_,
                                   "--dir",
                                   r.dir,
                                   "--log",
                                   r.log_path,
                                   "--log-max-size",
                                   std::to_string(o_.container_log_max_size),
                                   "--log-max-files",
                                   std::to_string(o_.container_log_max_files),
                                   "--sync-fd",
                                   "3",
                                   "--oom-file",
                                   cg_->oomFile(r.cgroup)};
  if (config.stdin_open) args.push_back("--stdin");
  if (config.stdin_open && config.stdin_once) args.push_back("--stdin-once");
  if (config.tty) args.push_back("--tty");
  return args;
}

// Spawns the shim and reads its report: "ok <init pid> <shim pid>" or "error <why>".
Result<void> RuntimeImpl::launchShim(ContainerRecord& r, const std::vector<std::string>& argv) {
  SKIFF_ASSIGN_OR_RETURN(std::string msg, sys_->spawnDetached(argv, std::chrono::seconds(60)));
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  if (msg.rfind("ok ", 0) != 0) {
    std::string why = msg.rfind("error ", 0) == 0
                          ? msg.substr(6)
                          : (msg.empty() ? "shim exited without a report" : msg);
    return Error(ErrorCode::Internal, why);
  }
  std::istringstream in(msg.substr(3));
  in >> r.init_pid >> r.shim_pid;
  r.init_start = sys_->processStartTime(r.init_pid);
  return ok();
}

void RuntimeImpl::rollbackCreate(const ContainerRecord& r, bool mounted) {
  if (r.init_pid > 0) (void)sys_->kill(r.init_pid, SIGKILL);
  backendOf(r).cleanup(r);
  if (mounted) (void)sys_->umount(r.dir + "/rootfs", MNT_DETACH);
  (void)cg_->remove(r.cgroup);
  (void)removeTree(r.dir);
}

Result<void> RuntimeImpl::startContainer(const std::string& id_in) {
  SKIFF_ASSIGN_OR_RETURN(ContainerRecord r, findContainer(id_in));
  ContainerStatus st = statusOf(r);
  if (st.state != ContainerState::Created)
    return Error(ErrorCode::Conflict, "start container '" + r.config.name + "': container is " +
                                          std::string(containerStateName(st.state)));
  // Recorded before the process runs: a short-lived container may exit before start returns.
  r.started_at_ns = nowNs();
  if (auto started = backendOf(r).start(r); !started) {
    // As containerd does: a start that failed leaves no process behind. The shim records the
    // exit, so the container reports Exited (StartError) until it is removed.
    if (processAlive(r.init_pid, r.init_start)) (void)sys_->kill(r.init_pid, SIGKILL);
    return started;
  }
  // A separate record rather than a rewrite of state.json: never a window without valid state.
  SKIFF_TRY(writeStartedRecord(r));
  std::lock_guard lk(mu_);
  containers_[r.id] = r;
  SKIFF_LOG_INFO(log_, "Container started", kv("container", r.config.name),
                 kv("containerID", r.id));
  return ok();
}

Result<void> RuntimeImpl::stopContainer(const std::string& id_in,
                                        std::chrono::milliseconds timeout) {
  SKIFF_ASSIGN_OR_RETURN(ContainerRecord r, findContainer(id_in));
  ContainerStatus st = statusOf(r);
  if (st.state == ContainerState::Exited || st.state == ContainerState::Unknown) return ok();
  if (st.state == ContainerState::Running && timeout.count() > 0) {
    (void)sys_->kill(r.init_pid, SIGTERM);
    if (waitExit(r, timeout)) return ok();
  }
  if (processAlive(r.init_pid, r.init_start)) (void)sys_->kill(r.init_pid, SIGKILL);
  if (!waitExit(r, std::chrono::seconds(10)))
    return Error(ErrorCode::Timeout,
                 "stop container '" + r.config.name + "': still running 10s after SIGKILL");
  SKIFF_LOG_INFO(log_, "Container stopped", kv("containerID", r.id));
  return ok();
}

Result<bool> RuntimeImpl::removeContainer(const std::string& id_in) {
  auto found = findContainer(id_in);
  if (!found) return notRemoved(std::move(found).error());
  ContainerRecord r = *found;
  SKIFF_TRY(stopContainer(r.id, std::chrono::milliseconds(0)));
  backendOf(r).cleanup(r);
  auto unmounted = sys_->umount(r.dir + "/rootfs", MNT_DETACH);
  if (!unmounted) return std::move(unmounted).error().wrap("remove container");
  SKIFF_TRY(cg_->remove(r.cgroup));
  SKIFF_TRY(removeTree(r.dir));
  images_->markUsed(r.image_id, -1);
  std::lock_guard lk(mu_);
  containers_.erase(r.id);
  SKIFF_LOG_INFO(log_, "Container removed", kv("containerID", r.id));
  return true;
}

Result<std::vector<ContainerStatus>> RuntimeImpl::listContainers(const ContainerFilter& filter) {
  std::vector<ContainerRecord> all;
  {
    std::lock_guard lk(mu_);
    for (const auto& [id, c] : containers_) {
      if (!filter.sandbox_id.empty() && c.sandbox_id.rfind(filter.sandbox_id, 0) != 0) continue;
      all.push_back(c);
    }
  }
  std::vector<ContainerStatus> out;
  for (const auto& c : all) {
    ContainerStatus s = statusOf(c);
    if (filter.state && s.state != *filter.state) continue;
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.created_at_ns < b.created_at_ns; });
  return out;
}

Result<ContainerStatus> RuntimeImpl::containerStatus(const std::string& id) {
  SKIFF_ASSIGN_OR_RETURN(ContainerRecord r, findContainer(id));
  return statusOf(r);
}

Result<ContainerStatus> RuntimeImpl::waitContainer(const std::string& id,
                                                   std::chrono::milliseconds timeout) {
  SKIFF_ASSIGN_OR_RETURN(ContainerRecord r, findContainer(id));
  if (!waitExit(r, timeout))
    return Error(ErrorCode::Timeout, "container '" + r.config.name + "' still running");
  return statusOf(r);
}

Result<ExecSyncResult> RuntimeImpl::execSync(const std::string& id,
                                             const std::vector<std::string>& cmd,
                                             std::chrono::milliseconds timeout) {
  SKIFF_ASSIGN_OR_RETURN(ContainerRecord r, findContainer(id));
  SKIFF_TRY(checkRunning(r, "exec"));
  SKIFF_ASSIGN_OR_RETURN(auto argv, execArgv(init_, r.dir + "/spec.json", r.init_pid, {}, cmd));
  SKIFF_ASSIGN_OR_RETURN(sys::RunResult res, sys_->runCommand(argv, timeout));
  return ExecSyncResult{res.exit_code, std::move(res.out), std::move(res.err)};
}

Result<std::unique_ptr<ExecSession>> RuntimeImpl::exec(const std::string& id,
                                                       const ExecOptions& opts) {
  SKIFF_ASSIGN_OR_RETURN(ContainerRecord r, findContainer(id));
  SKIFF_TRY(checkRunning(r, "exec"));
  SKIFF_ASSIGN_OR_RETURN(auto argv,
                         execArgv(init_, r.dir + "/spec.json", r.init_pid, opts.env, opts.cmd));
  return startExecSession(sys_, argv, r.init_pid, opts);
}

Result<std::unique_ptr<ExecSession>> RuntimeImpl::attach(const std::string& id, bool stdin_open) {
  SKIFF_ASSIGN_OR_RETURN(ContainerRecord r, findContainer(id));
  // A created container's shim already serves attach: attaching before the start sees all
  // of the output.
  auto state = statusOf(r).state;
  if (state != ContainerState::Running && state != ContainerState::Created)
    return Error(ErrorCode::Conflict, "attach: container '" + r.config.name + "' is not running");
  return connectAttach(r.dir, r.config.name, stdin_open);
}

Result<ContainerStats> RuntimeImpl::containerStats(const std::string& id) {
  SKIFF_ASSIGN_OR_RETURN(ContainerRecord r, findContainer(id));
  SKIFF_ASSIGN_OR_RETURN(sys::CgroupUsage u, cg_->usage(r.cgroup));
  ContainerStats s;
  s.id = r.id;
  s.timestamp_ns = nowNs();
  s.cpu_usage_core_ns = u.cpu_usage_ns;
  s.memory_usage_bytes = u.memory_usage_bytes;
  s.memory_working_set_bytes = u.memory_working_set_bytes;
  return s;
}

// The default seccomp profile for `caps`, compiled once per capability set (per runtime) into
// <state_dir>/seccomp/<program digest>.bpf, which skiff-init loads as is.
Result<std::string> RuntimeImpl::seccompProgramFile(const std::vector<std::string>& caps) {
  std::string key;
  for (const auto& c : caps) key += c + ",";
  {
    std::lock_guard lk(mu_);
    if (auto it = seccomp_files_.find(key); it != seccomp_files_.end()) return it->second;
  }
  SKIFF_ASSIGN_OR_RETURN(std::string program, compileDefaultSeccomp(caps));
  std::string dir = o_.state_dir + "/seccomp";
  SKIFF_TRY(mkdirs(dir));
  // Named by content: an existing file of that name holds the same program.
  std::string path = dir + "/" + digestHex(sha256Digest(program)).substr(0, 32) + ".bpf";
  // Creates in parallel may both write it: each renames a whole file of its own over the
  // path (writeFileReplace), and the content is the same.
  if (::access(path.c_str(), F_OK) != 0) SKIFF_TRY(writeFileReplace(path, program, 0600));
  std::lock_guard lk(mu_);
  seccomp_files_[key] = path;
  return path;
}

ContainerBackend& RuntimeImpl::backendOf(const ContainerRecord& r) {
  return r.backend == backend_->kind() ? *backend_ : *other_backend_;
}

Result<ContainerRecord> RuntimeImpl::findContainer(const std::string& id) {
  std::lock_guard lk(mu_);
  auto r = findById(containers_, id, "container");
  if (r) return r;
  // Also by name (the CLI's convenience), when unique.
  const ContainerRecord* hit = nullptr;
  int n = 0;
  for (const auto& [k, c] : containers_)
    if (c.config.name == id) {
      hit = &c;
      ++n;
    }
  if (n == 1) return *hit;
  return r;
}

Result<void> RuntimeImpl::checkRunning(const ContainerRecord& r, const char* what) {
  if (statusOf(r).state != ContainerState::Running)
    return Error(ErrorCode::Conflict,
                 std::string(what) + ": container '" + r.config.name + "' is not running");
  return ok();
}

// Waits for the shim's exit record. The shim exits right after writing it, so waiting for the
// shim's exit wakes us (re-checking at least every 50 ms, should the pid be stale).
bool RuntimeImpl::waitExit(const ContainerRecord& r, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool shim_gone = r.shim_pid <= 0;
  while (true) {
    auto st = statusOf(r).state;
    if (st == ContainerState::Exited || st == ContainerState::Unknown) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    auto step = std::min<std::chrono::milliseconds>(left, std::chrono::milliseconds(50));
    if (!shim_gone) {
      auto exited = sys_->waitForPidExit(r.shim_pid, step);
      // Exited: from now on the record decides.
      shim_gone = !exited || *exited;
    } else {
      std::this_thread::sleep_for(std::min(step, std::chrono::milliseconds(5)));
    }
  }
}

bool RuntimeImpl::processAlive(int pid, std::uint64_t start_time) {
  std::uint64_t st = sys_->processStartTime(pid);
  return st != 0 && (start_time == 0 || st == start_time);
}

ContainerStatus RuntimeImpl::statusOf(const ContainerRecord& r) {
  ContainerStatus s;
  s.id = r.id;
  s.sandbox_id = r.sandbox_id;
  s.name = r.config.name;
  s.attempt = r.config.attempt;
  s.image = r.config.image;
  s.image_ref = r.image_id;
  s.created_at_ns = r.created_at_ns;
  s.started_at_ns = r.started_at_ns;
  s.log_path = r.log_path;
  s.labels = r.config.labels;
  s.annotations = r.config.annotations;
  if (auto e = readExitRecord(r.dir)) {
    s.state = ContainerState::Exited;
    s.exit_code = e->exit_code;
    s.finished_at_ns = e->finished_ns;
    if (e->oom_kills > 0 && (e->signal == SIGKILL || e->exit_code == 137)) {
      s.reason = "OOMKilled";
    } else if (r.started_at_ns == 0 || !e->start_error.empty()) {
      s.reason = "StartError";
      s.message = e->start_error;
    } else {
      s.reason = e->exit_code == 0 ? "Completed" : "Error";
    }
    return s;
  }
  if (processAlive(r.init_pid, r.init_start) || processAlive(r.shim_pid, 0)) {
    s.pid = r.init_pid;
    // runc: between `runc start` and our record the init may already run.
    s.state = r.started_at_ns == 0 ? ContainerState::Created : ContainerState::Running;
    return s;
  }
  // Neither an exit record nor a live shim: the shim was killed (or the host rebooted).
  s.state = ContainerState::Exited;
  s.exit_code = 255;
  s.reason = "Unknown";
  s.message = "the container's shim is gone without recording an exit status";
  return s;
}

}  // namespace skiff::runtime
