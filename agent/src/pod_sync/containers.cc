// PodSyncer: images (pull policy, back-off, events) and starting containers (kubelet's
// startContainer and computePodActions' restart decision).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include "skiff/agent/pod_dns.h"
#include "skiff/agent/pod_sync.h"
#include "skiff/agent/resources.h"
#include "skiff/agent/termination_message.h"
#include "skiff/common/file.h"
#include "skiff/common/log.h"
#include "util.h"

namespace skiff::agent {

namespace {

// A persistentVolumeClaim volume with readOnly: true is mounted read-only in every container.
bool claimReadOnly(const json& pod, const std::string& volume) {
  for (const auto& v : pod["spec"].value("volumes", json::array())) {
    if (v.value("name", "") == volume && v.contains("persistentVolumeClaim"))
      return v["persistentVolumeClaim"].value("readOnly", false);
  }
  return false;
}

// A subPath resolves inside its volume: no symlink in it may lead out (kubelet's subpath
// safe-open).
bool insideVolume(const std::string& volume, const std::string& path) {
  std::error_code ec;
  fs::path base = fs::weakly_canonical(volume, ec);
  if (ec) return false;
  fs::path p = fs::weakly_canonical(path, ec);
  if (ec) return false;
  fs::path rel = p.lexically_relative(base);
  return !rel.empty() && *rel.begin() != "..";
}

// kubelet's makeMounts: an empty, world-writable file per container instance, bind-mounted at
// terminationMessagePath and read back once the container exited (termination_message.h). The
// API server defaults both fields; a static pod's spec is defaulted the same way here. As in
// kubelet, a file that cannot be made costs the message, not the container.
void mountTerminationMessage(const std::string& pod_dir, const json& spec, ContainerConfig& cc) {
  std::string path = spec.value("terminationMessagePath", "/dev/termination-log");
  if (path.empty()) return;
  auto file = createTerminationMessageFile(pod_dir + "/containers/" + cc.name);
  if (!file) {
    auto lg = skiff::log::get("agent");
    SKIFF_LOG_WARN(lg, "Termination message file not created", kv("container", cc.name),
                   kv("err", file.error().message()));
    return;
  }
  std::string target = absoluteContainerPath(path);
  cc.mounts.push_back(VolumeMount{*file, target, false});
  cc.annotations[kAnnotationTerminationMessagePath] = target;
  cc.annotations[kAnnotationTerminationMessagePolicy] =
      spec.value("terminationMessagePolicy", "File");
  cc.annotations[kAnnotationTerminationMessageFile] = *file;
}

// The container's command, environment, stdio and the labels and annotations it is found by.
ContainerConfig baseContainerConfig(const json& pod, const json& spec, const std::string& uid,
                                    const std::string& name, uint32_t attempt, const EnvList& env,
                                    const std::map<std::string, std::string>& vars) {
  ContainerConfig cc;
  cc.name = name;
  cc.attempt = attempt;
  cc.image = spec.value("image", "");
  for (const auto& s : strings(spec.value("command", json::array()))) {
    cc.command.push_back(expandVars(s, vars));
  }
  for (const auto& s : strings(spec.value("args", json::array()))) {
    cc.args.push_back(expandVars(s, vars));
  }
  cc.env = env;
  cc.working_dir = spec.value("workingDir", "");
  cc.stdin_open = spec.value("stdin", false);
  cc.stdin_once = spec.value("stdinOnce", false);
  cc.tty = spec.value("tty", false);
  cc.labels = {{kLabelPodUid, uid},
               {kLabelPodName, pod["metadata"].value("name", "")},
               {kLabelPodNamespace, pod["metadata"].value("namespace", "")},
               {kLabelContainerName, name}};
  cc.annotations = {
      {kAnnotationRestartCount, std::to_string(attempt)},
      {kAnnotationGrace, std::to_string(pod["spec"].value("terminationGracePeriodSeconds", 30))}};
  return cc;
}

// Resources -> cgroup values (kubelet's helpers_linux.go) and OOM score.
void setContainerResources(const json& pod, const json& spec, const PodSyncConfig& cfg,
                           ContainerConfig& cc) {
  PodResources req = cpuAndMemory(containerRequests(spec));
  PodResources lim = cpuAndMemory(containerLimits(spec));
  cc.resources.cpu_shares = milliCpuToShares(req.cpu_milli);
  cc.resources.cpu_quota = milliCpuToQuota(lim.cpu_milli, cc.resources.cpu_period);
  cc.resources.memory_limit = lim.memory_bytes;
  cc.resources.oom_score_adj =
      std::max(oomScoreAdjust(pod, spec, cfg.memory_capacity), cfg.min_oom_score_adj);
}
}  // namespace

Result<void> PodSyncer::ensureImage(const json& pod, const json& spec) {
  std::string image = spec.value("image", "");
  std::string name = spec.value("name", "");
  std::string uid = uidOf(pod);
  std::string policy = pullPolicy(spec);
  SKIFF_ASSIGN_OR_RETURN(auto present, runtime_.imageStatus(image));
  const std::string present_msg = "Container image \"" + image + "\" already present on machine";
  if (policy == "Never") {
    if (present) {
      event(pod, name, "Normal", events::kPulled, present_msg);
      return ok();
    }
    std::string msg = "Container image \"" + image + "\" is not present with pull policy of Never";
    setWaiting(uid, name, "ErrImageNeverPull", msg);
    event(pod, name, "Warning", events::kErrImageNeverPull, msg);
    return Error(ErrorCode::NotFound, msg);
  }
  if (policy == "IfNotPresent" && present) {
    event(pod, name, "Normal", events::kPulled, present_msg);
    return ok();
  }
  std::string key = image + "_" + uid;
  if (image_backoff_.inBackoffSince(key, clock_())) {
    std::string msg = "Back-off pulling image \"" + image + "\"";
    setWaiting(uid, name, "ImagePullBackOff", msg);
    event(pod, name, "Normal", events::kBackOff, msg);
    event(pod, name, "Warning", events::kFailed, "Error: ImagePullBackOff");
    return Error(ErrorCode::Unavailable, msg);
  }
  event(pod, name, "Normal", events::kPulling, "Pulling image \"" + image + "\"");
  auto started = std::chrono::steady_clock::now();
  auto pulled = runtime_.pullImage(image);
  if (!pulled) {
    // With policy Always a present image still runs when the registry is unreachable? No:
    // kubelet fails the pull. But for our bundled images (no registry), a present image is fine.
    if (present) {
      event(pod, name, "Normal", events::kPulled, present_msg);
      return ok();
    }
    image_backoff_.next(key);
    std::string msg = "Failed to pull image \"" + image + "\": " + pulled.error().message();
    setWaiting(uid, name, "ErrImagePull", msg);
    event(pod, name, "Warning", events::kFailed, msg);
    event(pod, name, "Warning", events::kFailed, "Error: ErrImagePull");
    return Error(ErrorCode::Unavailable, msg);
  }
  image_backoff_.reset(key);
  std::string took = goDurationMs(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started));
  event(pod, name, "Normal", events::kPulled,
        "Successfully pulled image \"" + image + "\" in " + took + " (" + took +
            " including waiting). Image size: " + std::to_string(pulled->size) + " bytes.");
  return ok();
}

// The pod's volumes at the container's volumeMounts (with subPath), then the agent-managed
// files.
Result<void> PodSyncer::addVolumeMounts(const json& pod, const json& spec, const std::string& uid,
                                        const std::string& name,
                                        const std::map<std::string, std::string>& vars,
                                        ContainerConfig& cc) {
  // Mounts: volumes, then the agent-managed files unless the user mounts over them.
  std::map<std::string, std::string> vols;
  {
    std::lock_guard lk(mu_);
    vols = volume_paths_[uid];
  }
  std::set<std::string> targets;
  for (const auto& vm : spec.value("volumeMounts", json::array())) {
    std::string vname = vm.value("name", "");
    auto it = vols.find(vname);
    if (it == vols.end()) {
      std::string msg = "volume \"" + vname + "\" not found in pod spec";
      setWaiting(uid, name, "CreateContainerConfigError", msg);
      return Error(ErrorCode::Invalid, msg);
    }
    std::string host = it->second;
    std::string sub = expandVars(vm.value("subPath", vm.value("subPathExpr", "")), vars);
    if (!sub.empty()) {
      if (sub.find("..") != std::string::npos || sub.front() == '/') {
        std::string msg = "subPath \"" + sub + "\" must be relative and may not contain '..'";
        setWaiting(uid, name, "CreateContainerConfigError", msg);
        return Error(ErrorCode::Invalid, msg);
      }
      host += "/" + sub;
      if (!insideVolume(it->second, host)) {
        std::string msg = "failed to prepare subPath for volumeMount \"" + vname +
                          "\" of container \"" + name + "\": subPath \"" + sub +
                          "\" leads outside the volume";
        setWaiting(uid, name, "CreateContainerConfigError", msg);
        return Error(ErrorCode::Invalid, msg);
      }
      std::error_code ec;
      if (!fs::exists(host, ec)) fs::create_directories(host, ec);
    }
    std::string target = vm.value("mountPath", "");
    targets.insert(target);
    cc.mounts.push_back(
        VolumeMount{host, target, vm.value("readOnly", false) || claimReadOnly(pod, vname)});
  }
  std::string pdir = volumes_.podDir(uid);
  // Host-network pods get the file too, a copy of the node's /etc/hosts under the "(host
  // network)" header (kubelet's nodeHostsFileContent): the image's own /etc/hosts may be absent.
  if (!targets.count("/etc/hosts")) {
    cc.mounts.push_back(VolumeMount{pdir + "/etc-hosts", "/etc/hosts", false});
  }
  if (!targets.count("/etc/hostname")) {
    cc.mounts.push_back(VolumeMount{pdir + "/hostname", "/etc/hostname", false});
  }
  if (!targets.count("/etc/resolv.conf")) {
    cc.mounts.push_back(VolumeMount{pdir + "/resolv.conf", "/etc/resolv.conf", false});
  }
  mountTerminationMessage(pdir, spec, cc);
  return ok();
}

// The security context (container fields override the pod's), refusing a root user under
// runAsNonRoot.
Result<void> PodSyncer::applySecurityContext(const json& pod, const json& spec,
                                             const std::string& uid, const std::string& name,
                                             ContainerConfig& cc) {
  // Security context: container fields override the pod's.
  const json& psc = pod["spec"].value("securityContext", json::object());
  const json& csc = spec.value("securityContext", json::object());
  auto pick = [&](const char* key) -> std::optional<int64_t> {
    if (csc.contains(key) && csc[key].is_number_integer()) return csc[key].get<int64_t>();
    if (psc.contains(key) && psc[key].is_number_integer()) return psc[key].get<int64_t>();
    return std::nullopt;
  };
  cc.security.run_as_user = pick("runAsUser");
  cc.security.run_as_group = pick("runAsGroup");
  for (const auto& g : psc.value("supplementalGroups", json::array())) {
    if (g.is_number_integer()) cc.security.supplemental_groups.push_back(g.get<int64_t>());
  }
  if (psc.contains("fsGroup") && psc["fsGroup"].is_number_integer()) {
    cc.security.supplemental_groups.push_back(psc["fsGroup"].get<int64_t>());
  }
  bool run_as_non_root = csc.value("runAsNonRoot", psc.value("runAsNonRoot", false));
  // kubelet's verifyRunAsNonRoot refusal: the container waits in CreateContainerConfigError.
  auto refuseNonRoot = [&](const std::string& why) {
    std::string msg = why + " (pod: \"" + pod["metadata"].value("name", "") + "_" +
                      pod["metadata"].value("namespace", "") + "(" + uid +
                      ")\", container: " + name + ")";
    setWaiting(uid, name, "CreateContainerConfigError", msg);
    return Error(ErrorCode::Invalid, msg);
  };
  if (run_as_non_root && cc.security.run_as_user && *cc.security.run_as_user == 0) {
    return refuseNonRoot("container's runAsUser breaks non-root policy");
  }
  if (run_as_non_root && !cc.security.run_as_user) {
    // Without a numeric user we cannot verify the image's user (kubelet checks the image
    // config); refuse like kubelet does for a non-numeric image user.
    return refuseNonRoot("container has runAsNonRoot and image will run as root");
  }
  cc.security.privileged = csc.value("privileged", false);
  cc.security.readonly_rootfs = csc.value("readOnlyRootFilesystem", false);
  cc.security.no_new_privs =
      !csc.value("allowPrivilegeEscalation", true) || !cc.security.privileged;
  if (csc.value("allowPrivilegeEscalation", true) && !csc.contains("allowPrivilegeEscalation")) {
    // Kubernetes default: escalation allowed unless set false; keep no_new_privs only when the
    // user asked for it, so setuid binaries in images behave as on kubelet.
    cc.security.no_new_privs = false;
  }
  if (csc.contains("capabilities")) {
    cc.security.add_capabilities = strings(csc["capabilities"].value("add", json::array()));
    cc.security.drop_capabilities = strings(csc["capabilities"].value("drop", json::array()));
  }
  return ok();
}

// Creates and starts the container in the pod's sandbox; its id.
Result<std::string> PodSyncer::createAndStartContainer(const json& pod, const std::string& uid,
                                                       const std::string& name,
                                                       const ContainerConfig& cc,
                                                       uint32_t attempt) {
  auto lg = skiff::log::get("agent");
  SKIFF_ASSIGN_OR_RETURN(auto view_now, runtimeView(uid));
  if (!view_now.sandbox) return Error(ErrorCode::Unavailable, "pod sandbox is gone");
  auto id = runtime_.createContainer(view_now.sandbox->id, cc);
  if (!id) {
    setWaiting(uid, name, "CreateContainerError", id.error().message());
    event(pod, name, "Warning", events::kFailed, "Error: " + id.error().message());
    return std::move(id).error();
  }
  event(pod, name, "Normal", events::kCreated, "Created container: " + name);
  auto started = runtime_.startContainer(*id);
  if (!started) {
    setWaiting(uid, name, "RunContainerError", started.error().message());
    event(pod, name, "Warning", events::kFailed, "Error: " + started.error().message());
    return std::move(started).error();
  }
  event(pod, name, "Normal", events::kStarted, "Started container " + name);
  clearWaiting(uid, name);
  SKIFF_LOG_INFO(lg, "Container started", kv("pod", podRef(pod)), kv("container", name),
                 kv("containerID", *id), kv("attempt", attempt));
  return *id;
}

void PodSyncer::runPostStartHook(const json& pod, const json& spec, const PodRuntimeView& view,
                                 const std::string& name, const std::string& id) {
  auto lg = skiff::log::get("agent");
  // postStart: a failing hook kills the container (kubelet: FailedPostStartHook).
  const json& post = spec.value("lifecycle", json::object()).value("postStart", json::object());
  std::string pod_ip = view.pod_ip;
  if (pod_ip.empty() && pod["spec"].value("hostNetwork", false)) pod_ip = cfg_.host_ip;
  if (auto failed = runHook(pod, spec, id, post, pod_ip, std::chrono::seconds(30))) {
    SKIFF_LOG_WARN(lg, "PostStartHook failed", kv("pod", podRef(pod)), kv("container", name),
                   kv("err", *failed));
    event(pod, name, "Warning", events::kFailedPostStartHook, *failed);
    event(pod, name, "Normal", events::kKilling, "FailedPostStartHook");
    (void)runtime_.stopContainer(
        id, std::chrono::seconds(pod["spec"].value("terminationGracePeriodSeconds", 30)));
  }
}

Result<void> PodSyncer::startContainer(const json& pod, const json& spec,
                                       const PodRuntimeView& view, uint32_t attempt) {
  std::string uid = uidOf(pod);
  std::string name = spec.value("name", "");
  SKIFF_TRY(ensureImage(pod, spec));

  EnvContext ctx{cfg_.node_name, cfg_.host_ip, view.pod_ip, cfg_.allocatable_milli_cpu,
                 cfg_.allocatable_memory};
  auto env = buildContainerEnv(pod, spec, objects_, ctx);
  if (!env) {
    setWaiting(uid, name, "CreateContainerConfigError", env.error().message());
    event(pod, name, "Warning", events::kFailed, "Error: " + env.error().message());
    return std::move(env).error();
  }
  std::map<std::string, std::string> vars(env->begin(), env->end());

  ContainerConfig cc = baseContainerConfig(pod, spec, uid, name, attempt, *env, vars);
  SKIFF_TRY(addVolumeMounts(pod, spec, uid, name, vars, cc));
  setContainerResources(pod, spec, cfg_, cc);
  SKIFF_TRY(applySecurityContext(pod, spec, uid, name, cc));
  SKIFF_ASSIGN_OR_RETURN(std::string id, createAndStartContainer(pod, uid, name, cc, attempt));
  runPostStartHook(pod, spec, view, name, id);
  return ok();
}

bool PodSyncer::shouldStartAgain(const json& pod, const json& spec, const ContainerInfo& last,
                                 bool is_init) {
  std::string policy = pod["spec"].value("restartPolicy", "Always");
  if (is_init) {
    // Sidecars always restart; plain init containers are retried only on failure.
    if (spec.value("restartPolicy", "") == "Always") {
      policy = "Always";
    } else if (policy != "Never") {
      policy = "OnFailure";
    }
  }
  if (policy == "Never") return false;
  if (policy == "OnFailure" && last.exit_code == 0) return false;
  std::string name = spec.value("name", "");
  std::string key = backoffKey(pod, name);
  auto finished =
      std::chrono::system_clock::time_point(std::chrono::nanoseconds(last.finished_at_ns));
  // A container that ran 10 min cleanly starts its backoff over (KEP-4603 / kubelet).
  if (last.finished_at_ns - last.started_at_ns > int64_t(600) * 1000000000)
    crash_backoff_.reset(key);
  if (crash_backoff_.inBackoffSince(
          key, std::chrono::time_point_cast<std::chrono::system_clock::duration>(finished))) {
    auto delay = crash_backoff_.delay(key);
    event(pod, name, "Warning", events::kBackOff,
          "Back-off restarting failed container " + name + " in pod " +
              pod["metadata"].value("name", "") + "_" + pod["metadata"].value("namespace", "") +
              "(" + uidOf(pod) + ")");
    setWaiting(uidOf(pod), name, "CrashLoopBackOff",
               "back-off " + std::to_string(delay.count()) + "s restarting failed container=" +
                   name + " pod=" + pod["metadata"].value("name", "") + "_" +
                   pod["metadata"].value("namespace", "") + "(" + uidOf(pod) + ")");
    return false;
  }
  crash_backoff_.next(key);
  return true;
}

}  // namespace skiff::agent
