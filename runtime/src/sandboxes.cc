// Pod sandboxes (runtime.h "PodSandbox"), recovery of the state dir, and opening the runtime.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "process_util.h"
#include "runtime_impl.h"
#include "skiff/common/enum_names.h"
#include "skiff/common/file.h"
#include "skiff/common/scope_exit.h"
#include "skiff/runtime/layer_unpack.h"

namespace skiff::runtime {
namespace {

using log::kv;

std::string dirName(const std::string& p) { return p.substr(0, p.rfind('/')); }

std::string findBinary(const std::string& configured, const char* name) {
  if (!configured.empty()) return configured;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = 0;
    std::string dir = dirName(self);
    // Build tree: binaries live in runtime/ next to the others' dirs.
    for (const std::string& cand :
         {dir + "/" + name, dir + "/../runtime/" + name, dir + "/../../runtime/" + name,
          dir + "/../../../runtime/" + name, dir + "/../lib/skiff/" + name}) {
      if (::access(cand.c_str(), X_OK) == 0) {
        char real[4096];
        if (::realpath(cand.c_str(), real)) return real;
      }
    }
  }
  for (const std::string& cand :
       {std::string("/usr/lib/skiff/") + name, std::string("/usr/local/bin/") + name,
        std::string("/usr/bin/") + name})
    if (::access(cand.c_str(), X_OK) == 0) return cand;
  return name;
}

}  // namespace

RuntimeImpl::RuntimeImpl(RuntimeOptions o, RuntimeDeps deps)
    : o_(std::move(o)),
      images_(std::move(deps.images)),
      sys_(std::move(deps.sys)),
      cg_(std::move(deps.cgroups)),
      log_(log::get("runtime")) {
  shim_ = findBinary(o_.shim_path, "skiff-shim");
  init_ = findBinary("", "skiff-init");
  BackendContext ctx{*sys_, *cg_, init_, o_.runc_path, o_.state_dir + "/runc"};
  backend_ = o_.backend == Backend::Runc ? makeRuncBackend(ctx) : makeNativeBackend(ctx);
  other_backend_ = o_.backend == Backend::Runc ? makeNativeBackend(ctx) : makeRuncBackend(ctx);
}

Result<void> RuntimeImpl::recover() {
  SKIFF_TRY(mkdirs(o_.state_dir + "/sandboxes"));
  SKIFF_TRY(mkdirs(o_.state_dir + "/containers"));
  SKIFF_TRY(mkdirs(o_.state_dir + "/runc"));
  SKIFF_ASSIGN_OR_RETURN(RecoveredState state, loadState(o_.state_dir));
  for (const auto& dir : state.debris) {
    // A create that died before recording its state: nothing runs there.
    SKIFF_LOG_WARN(log_, "Removing incomplete state directory", kv("dir", dir));
    (void)sys_->umount(dir + "/rootfs", MNT_DETACH);
    (void)removeTree(dir);
  }
  for (const auto& [file, why] : state.unreadable)
    SKIFF_LOG_WARN(log_, "Ignoring unreadable state", kv("file", file), kv("err", why));
  for (auto& s : state.sandboxes) sandboxes_[s.id] = std::move(s);
  for (auto& c : state.containers) {
    images_->markUsed(c.image_id, 1);
    containers_[c.id] = std::move(c);
  }
  if (!containers_.empty())
    SKIFF_LOG_INFO(log_, "Re-adopted containers", kv("count", containers_.size()),
                   kv("sandboxes", sandboxes_.size()));
  return ok();
}

Result<std::string> RuntimeImpl::runPodSandbox(const PodSandboxConfig& config) {
  if (config.metadata.name.empty() || config.metadata.uid.empty())
    return Error(ErrorCode::Invalid, "run pod sandbox: metadata name and uid are required");
  SandboxRecord s;
  s.id = randomId();
  s.config = config;
  s.created_at_ns = nowNs();
  s.dir = o_.state_dir + "/sandboxes/" + s.id;
  SKIFF_TRY(mkdirs(s.dir));
  ScopeExit rollback([&] {
    teardownSandboxNs(s);
    (void)removeTree(s.dir);
  });
  if (!config.host_network)
    s.netns = config.netns_path.empty() ? s.dir + "/net" : config.netns_path;
  s.ipcns = s.dir + "/ipc";
  s.utsns = s.dir + "/uts";
  s.config.netns_path = s.netns;
  SKIFF_TRY(createNamespaces(s));
  SKIFF_TRY(writeSandboxRecord(s));
  rollback.dismiss();
  std::lock_guard lk(mu_);
  sandboxes_[s.id] = s;
  SKIFF_LOG_INFO(log_, "Pod sandbox created",
                 kv("pod", config.metadata.namespace_ + "/" + config.metadata.name),
                 kv("podSandboxID", s.id));
  return s.id;
}

Result<void> RuntimeImpl::stopPodSandbox(const std::string& id_in,
                                         std::chrono::milliseconds timeout) {
  SKIFF_ASSIGN_OR_RETURN(SandboxRecord s, findSandbox(id_in));
  for (const auto& c : containersOf(s.id)) SKIFF_TRY(stopContainer(c, timeout));
  std::lock_guard lk(mu_);
  auto it = sandboxes_.find(s.id);
  if (it == sandboxes_.end()) return ok();
  it->second.ready = false;
  return writeSandboxRecord(it->second);
}

Result<bool> RuntimeImpl::removePodSandbox(const std::string& id_in) {
  auto found = findSandbox(id_in);
  if (!found) return notRemoved(std::move(found).error());
  SandboxRecord s = *found;
  for (const auto& c : containersOf(s.id)) SKIFF_TRY(removeContainer(c));
  teardownSandboxNs(s);
  // The pod cgroup goes with its last container.
  (void)cg_->remove(podCgroup(s));
  SKIFF_TRY(removeTree(s.dir));
  std::lock_guard lk(mu_);
  sandboxes_.erase(s.id);
  SKIFF_LOG_INFO(log_, "Pod sandbox removed", kv("podSandboxID", s.id));
  return true;
}

Result<PodSandboxStatus> RuntimeImpl::podSandboxStatus(const std::string& id) {
  SKIFF_ASSIGN_OR_RETURN(SandboxRecord s, findSandbox(id));
  return toStatus(s);
}

Result<std::vector<PodSandboxStatus>> RuntimeImpl::listPodSandbox(
    const std::map<std::string, std::string>& label_selector) {
  std::lock_guard lk(mu_);
  std::vector<PodSandboxStatus> out;
  for (const auto& [id, s] : sandboxes_) {
    bool match = std::all_of(label_selector.begin(), label_selector.end(), [&](const auto& kv) {
      auto it = s.config.labels.find(kv.first);
      return it != s.config.labels.end() && it->second == kv.second;
    });
    if (match) out.push_back(toStatus(s));
  }
  return out;
}

Result<void> RuntimeImpl::createNamespaces(const SandboxRecord& s) {
  if (!s.netns.empty()) SKIFF_TRY(mkdirs(dirName(s.netns), 0755));
  for (const auto& dst : {s.netns, s.ipcns, s.utsns}) {
    if (dst.empty()) continue;
    UniqueFd f(::open(dst.c_str(), O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0444));
    if (!f) return Error::fromErrno(errno, "create namespace file '" + dst + "'");
  }
  sys::SandboxNamespaces ns{s.netns, s.ipcns, s.utsns,
                            s.config.hostname.empty() ? s.config.metadata.name : s.config.hostname};
  auto held = sys_->holdNamespaces(ns);
  if (!held) return std::move(held).error().wrap("create sandbox namespaces");
  return ok();
}

void RuntimeImpl::teardownSandboxNs(const SandboxRecord& s) {
  for (const auto& f : {s.netns, s.ipcns, s.utsns}) {
    if (f.empty()) continue;
    (void)sys_->umount(f, MNT_DETACH);
    (void)::unlink(f.c_str());
  }
}

PodSandboxStatus RuntimeImpl::toStatus(const SandboxRecord& s) const {
  PodSandboxStatus st;
  st.id = s.id;
  st.metadata = s.config.metadata;
  st.state = s.ready ? SandboxState::Ready : SandboxState::NotReady;
  st.created_at_ns = s.created_at_ns;
  st.netns_path = s.netns;
  const auto& md = s.config.metadata;
  st.log_directory = o_.log_dir + "/" + md.namespace_ + "_" + md.name + "_" + md.uid;
  st.labels = s.config.labels;
  st.annotations = s.config.annotations;
  return st;
}

std::string RuntimeImpl::podCgroup(const SandboxRecord& s) const {
  std::string base = o_.cgroup_parent.empty() ? "kubepods" : o_.cgroup_parent + "/kubepods";
  switch (s.config.qos) {
    case QosClass::Guaranteed:
      return base + "/pod" + s.config.metadata.uid;
    case QosClass::Burstable:
      return base + "/burstable/pod" + s.config.metadata.uid;
    case QosClass::BestEffort:
      return base + "/besteffort/pod" + s.config.metadata.uid;
  }
  return base;
}

std::vector<std::string> RuntimeImpl::containersOf(const std::string& sandbox) {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  for (const auto& [id, c] : containers_)
    if (c.sandbox_id == sandbox) out.push_back(id);
  return out;
}

Result<SandboxRecord> RuntimeImpl::findSandbox(const std::string& id) {
  std::lock_guard lk(mu_);
  return findById(sandboxes_, id, "pod sandbox");
}

constexpr EnumName<Backend> kBackends[] = {{Backend::Native, "native"}, {Backend::Runc, "runc"}};

std::string_view backendName(Backend b) { return nameOf(kBackends, b, "native"); }

Result<Backend> parseBackend(std::string_view name) {
  Backend b;
  if (valueOf(kBackends, name, b)) return b;
  return Error(ErrorCode::Invalid,
               "unknown runtime backend '" + std::string(name) + "' (native, runc)");
}

constexpr EnumName<ContainerState> kContainerStates[] = {{ContainerState::Created, "Created"},
                                                         {ContainerState::Running, "Running"},
                                                         {ContainerState::Exited, "Exited"},
                                                         {ContainerState::Unknown, "Unknown"}};

std::string_view containerStateName(ContainerState s) {
  return nameOf(kContainerStates, s, "Unknown");
}

Result<RuntimePtr> openRuntime(const RuntimeOptions& options, RuntimeDeps deps) {
  if (options.state_dir.empty()) return Error(ErrorCode::Invalid, "runtime: state dir is required");
  SKIFF_TRY(mkdirs(options.state_dir));
  SKIFF_TRY(mkdirs(options.log_dir, 0755));
  auto rt = std::make_unique<RuntimeImpl>(options, std::move(deps));
  SKIFF_TRY(rt->recover());
  return RuntimePtr(std::move(rt));
}

Result<RuntimePtr> createRuntime(const RuntimeOptions& options) {
  RuntimeOptions o = options;
  if (o.state_dir.empty()) return Error(ErrorCode::Invalid, "runtime: state dir is required");
  if (o.image_dir.empty()) o.image_dir = o.state_dir + "/images";
  SKIFF_TRY(mkdirs(o.state_dir));
  SKIFF_ASSIGN_OR_RETURN(ImageStorePtr images, openImageStore(o.image_dir));
  SKIFF_TRY(sys::checkCgroupRoot(o.cgroup_root, o.cgroup_mode));
  SKIFF_ASSIGN_OR_RETURN(sys::CgroupManagerPtr cg,
                         sys::makeCgroupManager(o.cgroup_root, o.cgroup_mode));
  return openRuntime(o, {std::move(images), sys::makeLinuxSyscalls(), std::move(cg)});
}

}  // namespace skiff::runtime
