#include "skiff/agent/pod_sync.h"

#include "skiff/agent/pod_dns.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include "skiff/agent/resources.h"
#include "skiff/common/file.h"
#include "skiff/common/log.h"

namespace skiff::agent {

using nlohmann::json;
using skiff::log::kv;
namespace fs = std::filesystem;

namespace {

// Go's time.Duration String() of a duration truncated to milliseconds: "0s", "523ms", "1.2s",
// "1m3.25s" (the kubelet's Pulled event prints pull times this way).
std::string goDurationMs(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms <= 0) return "0s";
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string out;
  int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  out += std::to_string(s);
  if (frac > 0) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(frac));
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "s";
}

std::string podRef(const json& pod) {
  return pod["metadata"].value("namespace", "") + "/" + pod["metadata"].value("name", "");
}

std::string uidOf(const json& pod) { return pod["metadata"].value("uid", ""); }

// kubelet's default: Always for :latest or no tag, IfNotPresent otherwise.
std::string pullPolicy(const json& c) {
  std::string p = c.value("imagePullPolicy", "");
  if (!p.empty()) return p;
  std::string image = c.value("image", "");
  if (image.find('@') != std::string::npos) return "IfNotPresent";
  auto slash = image.rfind('/');
  auto colon = image.rfind(':');
  bool has_tag = colon != std::string::npos && (slash == std::string::npos || colon > slash);
  if (!has_tag || image.substr(colon + 1) == "latest") return "Always";
  return "IfNotPresent";
}

std::vector<std::string> strings(const json& arr) {
  std::vector<std::string> out;
  if (!arr.is_array()) return out;
  for (const auto& v : arr) out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  return out;
}

}  // namespace

PodSyncer::PodSyncer(PodSyncConfig cfg, ContainerRuntime& runtime, PodNetworkManager* network,
                     VolumeManager& volumes, ObjectSource& objects, Backoff& crash_backoff,
                     Backoff& image_backoff, ProbeResults* probes, WallClock clock)
    : cfg_(std::move(cfg)),
      runtime_(runtime),
      network_(network),
      volumes_(volumes),
      objects_(objects),
      crash_backoff_(crash_backoff),
      image_backoff_(image_backoff),
      probes_(probes),
      clock_(std::move(clock)) {}

std::string PodSyncer::backoffKey(const json& pod, const std::string& container) {
  return pod["metadata"].value("name", "") + "_" + pod["metadata"].value("namespace", "") + "_" +
         uidOf(pod) + "_" + container;
}

void PodSyncer::event(const json& pod, const std::string& container, const char* type,
                      const char* reason, const std::string& message) {
  if (events_ == nullptr) return;
  events_->podEvent(pod, container.empty() ? "" : EventRecorder::containerFieldPath(pod, container),
                    type, reason, message);
}

void PodSyncer::setWaiting(const std::string& uid, const std::string& name, std::string reason,
                           std::string message) {
  std::lock_guard lk(mu_);
  waiting_[uid][name] = WaitingReason{std::move(reason), std::move(message)};
}

void PodSyncer::clearWaiting(const std::string& uid, const std::string& name) {
  std::lock_guard lk(mu_);
  auto it = waiting_.find(uid);
  if (it != waiting_.end()) it->second.erase(name);
}

std::map<std::string, WaitingReason> PodSyncer::waitingFor(const std::string& uid) {
  std::lock_guard lk(mu_);
  auto it = waiting_.find(uid);
  return it == waiting_.end() ? std::map<std::string, WaitingReason>{} : it->second;
}

Result<PodRuntimeView> PodSyncer::runtimeView(const std::string& uid) {
  PodRuntimeView view;
  SKIFF_ASSIGN_OR_RETURN(auto sandboxes, runtime_.listPodSandboxes({{kLabelPodUid, uid}}));
  // The newest Ready sandbox wins; otherwise the newest at all.
  for (const auto& s : sandboxes) {
    auto it = s.labels.find(kLabelPodUid);
    if (it == s.labels.end() || it->second != uid) continue;
    bool better = !view.sandbox ||
                  (s.state == SandboxState::Ready && view.sandbox->state != SandboxState::Ready) ||
                  (s.state == view.sandbox->state && s.created_at_ns > view.sandbox->created_at_ns);
    if (better) view.sandbox = s;
  }
  // Containers of every sandbox this pod has had (older ones hold lastState and restart counts).
  for (const auto& s : sandboxes) {
    auto it = s.labels.find(kLabelPodUid);
    if (it == s.labels.end() || it->second != uid) continue;
    SKIFF_ASSIGN_OR_RETURN(auto containers, runtime_.listSandboxContainers(s.id));
    for (auto& c : containers) view.containers[c.name].push_back(std::move(c));
  }
  for (auto& [_, list] : view.containers) {
    std::sort(list.begin(), list.end(), [](const ContainerInfo& a, const ContainerInfo& b) {
      return a.attempt != b.attempt ? a.attempt > b.attempt : a.created_at_ns > b.created_at_ns;
    });
  }
  if (view.sandbox && network_ != nullptr && !view.sandbox->netns_path.empty()) {
    view.pod_ip = network_->podIp(view.sandbox->id);
  }
  return view;
}

Result<std::map<std::string, std::string>> PodSyncer::runtimePods() {
  std::map<std::string, std::string> out;
  SKIFF_ASSIGN_OR_RETURN(auto sandboxes, runtime_.listPodSandboxes());
  for (const auto& s : sandboxes) {
    auto uid = s.labels.find(kLabelPodUid);
    if (uid == s.labels.end()) continue;
    std::string ns = s.labels.count(kLabelPodNamespace) ? s.labels.at(kLabelPodNamespace) : "";
    std::string name = s.labels.count(kLabelPodName) ? s.labels.at(kLabelPodName) : "";
    out[uid->second] = ns + "/" + name;
  }
  return out;
}

namespace {
// Writes only when the content differs: syncs run every few seconds per pod, and a rewrite of
// unchanged files was most of an idle agent's CPU. No fsync: the next sync rewrites them.
Result<void> writeIfChanged(const std::string& path, const std::string& data) {
  auto cur = readFile(path, 1u << 20);
  if (cur && *cur == data) return ok();
  return writeFileReplace(path, data, 0644);
}
}  // namespace

Result<void> PodSyncer::writePodFiles(const json& pod, const std::string& pod_ip) {
  // /etc/hosts and /etc/resolv.conf managed by the agent, as kubelet does (the runtime's
  // hostname file comes from the sandbox hostname).
  std::string dir = volumes_.podDir(uidOf(pod));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(ErrorCode::Internal, "create '" + dir + "': " + ec.message());
  // kubelet's rules live in pod_dns.cc (issue 18): ClusterFirst & co., dnsConfig, limits.
  std::vector<std::string> ips;
  if (!pod_ip.empty()) ips.push_back(pod_ip);
  std::string node_hosts;
  if (pod["spec"].value("hostNetwork", false))
    node_hosts = readFile("/etc/hosts", 1u << 20).value_or("");
  SKIFF_TRY(
      writeIfChanged(dir + "/etc-hosts", podHostsFile(pod, ips, cfg_.cluster_domain, node_hosts)));
  SKIFF_TRY(writeIfChanged(dir + "/hostname", podUtsHostname(pod, cfg_.cluster_domain) + "\n"));
  auto host = dns::loadHostResolvConf(cfg_.resolv_conf);
  auto files =
      podResolvConf(pod, cfg_.cluster_dns, cfg_.cluster_domain, host ? *host : dns::ResolvConf{});
  const std::string& resolv = files.resolv_conf;
  // Events only when the file changes, so a sync every few seconds does not repeat them.
  auto cur = readFile(dir + "/resolv.conf", 1u << 20);
  if (events_ != nullptr && !(cur && *cur == resolv)) {
    for (const auto& e : files.events) events_->podEvent(pod, "", e.type, e.reason, e.message);
  }
  SKIFF_TRY(writeIfChanged(dir + "/resolv.conf", resolv));
  return ok();
}

Result<std::string> PodSyncer::ensureSandbox(const json& pod, PodRuntimeView& view) {
  if (view.sandbox && view.sandbox->state == SandboxState::Ready) return view.sandbox->id;
  auto lg = skiff::log::get("agent");
  uint32_t attempt = 0;
  if (view.sandbox) {
    // The sandbox died (node reboot, runtime lost it): kubelet kills what is left and starts a
    // new sandbox attempt; containers restart in it with their counts carried on.
    attempt = view.sandbox->attempt + 1;
    for (auto& [_, list] : view.containers) {
      for (const auto& c : list) {
        if (c.state == ContainerState::Running)
          (void)runtime_.stopContainer(c.id, std::chrono::seconds(0));
      }
    }
    if (network_ != nullptr && !view.sandbox->netns_path.empty()) {
      (void)network_->teardown(view.sandbox->id, podRef(pod), view.sandbox->netns_path);
    }
    (void)runtime_.stopPodSandbox(view.sandbox->id);
  }
  const json& spec = pod["spec"];
  SandboxConfig sc;
  sc.name = pod["metadata"].value("name", "");
  sc.ns = pod["metadata"].value("namespace", "");
  sc.uid = uidOf(pod);
  sc.attempt = attempt;
  sc.hostname = podUtsHostname(pod, cfg_.cluster_domain);
  sc.log_directory = cfg_.log_dir + "/" + sc.ns + "_" + sc.name + "_" + sc.uid;
  sc.labels = {{kLabelPodUid, sc.uid}, {kLabelPodName, sc.name}, {kLabelPodNamespace, sc.ns}};
  const json labels = pod["metadata"].value("labels", json::object());  // items() references
  for (const auto& [k, v] : labels.items()) {
    if (v.is_string()) sc.labels[k] = v.get<std::string>();
  }
  sc.host_network = spec.value("hostNetwork", false);
  sc.qos = podQosClass(pod);
  for (const auto& c : spec.value("containers", json::array())) {
    for (const auto& p : c.value("ports", json::array())) {
      if (p.value("hostPort", 0) == 0) continue;
      sc.port_mappings.push_back(PortMapping{p.value("protocol", "TCP"),
                                             p.value("containerPort", 0), p.value("hostPort", 0),
                                             p.value("hostIP", "")});
    }
  }
  sc.dns_servers = cfg_.cluster_dns;
  SKIFF_ASSIGN_OR_RETURN(std::string id, runtime_.runPodSandbox(sc));
  SKIFF_LOG_INFO(lg, "Pod sandbox started", kv("pod", podRef(pod)), kv("sandboxID", id));
  // Re-read to learn the netns path.
  SKIFF_ASSIGN_OR_RETURN(auto sandboxes, runtime_.listPodSandboxes());
  for (const auto& s : sandboxes) {
    if (s.id == id) view.sandbox = s;
  }
  if (!view.sandbox) return Error(ErrorCode::Internal, "sandbox '" + id + "' vanished");
  if (!sc.host_network && network_ != nullptr) {
    auto ip = network_->setup(id, podRef(pod), view.sandbox->netns_path, sc.port_mappings);
    if (!ip) {
      (void)runtime_.stopPodSandbox(id);
      (void)runtime_.removePodSandbox(id);
      view.sandbox.reset();
      return std::move(ip).error().wrap("set up pod network");
    }
    view.pod_ip = *ip;
  } else if (sc.host_network) {
    view.pod_ip = cfg_.host_ip;
  }
  return id;
}

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

Result<void> PodSyncer::startContainer(const json& pod, const json& spec,
                                       const PodRuntimeView& view, uint32_t attempt) {
  auto lg = skiff::log::get("agent");
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
  cc.env = *env;
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
      std::error_code ec;
      if (!fs::exists(host, ec)) fs::create_directories(host, ec);
    }
    std::string target = vm.value("mountPath", "");
    targets.insert(target);
    cc.mounts.push_back(VolumeMount{host, target, vm.value("readOnly", false)});
  }
  std::string pdir = volumes_.podDir(uid);
  if (!pod["spec"].value("hostNetwork", false) && !targets.count("/etc/hosts")) {
    cc.mounts.push_back(VolumeMount{pdir + "/etc-hosts", "/etc/hosts", false});
  }
  if (!targets.count("/etc/hostname")) {
    cc.mounts.push_back(VolumeMount{pdir + "/hostname", "/etc/hostname", false});
  }
  if (!targets.count("/etc/resolv.conf")) {
    cc.mounts.push_back(VolumeMount{pdir + "/resolv.conf", "/etc/resolv.conf", false});
  }

  // Resources -> cgroup values (kubelet's helpers_linux.go) and OOM score.
  PodResources req = cpuAndMemory(containerRequests(spec));
  PodResources lim = cpuAndMemory(containerLimits(spec));
  cc.resources.cpu_shares = milliCpuToShares(req.cpu_milli);
  cc.resources.cpu_quota = milliCpuToQuota(lim.cpu_milli, cc.resources.cpu_period);
  cc.resources.memory_limit = lim.memory_bytes;
  cc.resources.oom_score_adj =
      std::max(oomScoreAdjust(pod, spec, cfg_.memory_capacity), cfg_.min_oom_score_adj);

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
  if (run_as_non_root && cc.security.run_as_user && *cc.security.run_as_user == 0) {
    std::string msg = "container's runAsUser breaks non-root policy (pod: \"" +
                      pod["metadata"].value("name", "") + "_" +
                      pod["metadata"].value("namespace", "") + "(" + uid +
                      ")\", container: " + name + ")";
    setWaiting(uid, name, "CreateContainerConfigError", msg);
    return Error(ErrorCode::Invalid, msg);
  }
  if (run_as_non_root && !cc.security.run_as_user) {
    // Without a numeric user we cannot verify the image's user (kubelet checks the image
    // config); refuse like kubelet does for a non-numeric image user.
    std::string msg = "container has runAsNonRoot and image will run as root (pod: \"" +
                      pod["metadata"].value("name", "") + "_" +
                      pod["metadata"].value("namespace", "") + "(" + uid +
                      ")\", container: " + name + ")";
    setWaiting(uid, name, "CreateContainerConfigError", msg);
    return Error(ErrorCode::Invalid, msg);
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

  // postStart: a failing hook kills the container (kubelet: FailedPostStartHook).
  const json& post = spec.value("lifecycle", json::object()).value("postStart", json::object());
  if (post.contains("exec")) {
    auto cmd = strings(post["exec"].value("command", json::array()));
    auto r = runtime_.execSync(*id, cmd, std::chrono::seconds(30));
    if (!r || r->exit_code != 0) {
      std::string msg = !r ? r.error().message()
                           : "command '" + (cmd.empty() ? "" : cmd[0]) + "' exited with " +
                                 std::to_string(r->exit_code) + ": " + r->out + r->err;
      SKIFF_LOG_WARN(lg, "PostStartHook failed", kv("pod", podRef(pod)), kv("container", name),
                     kv("err", msg));
      event(pod, name, "Warning", events::kFailedPostStartHook, msg);
      event(pod, name, "Normal", events::kKilling, "FailedPostStartHook");
      (void)runtime_.stopContainer(
          *id, std::chrono::seconds(pod["spec"].value("terminationGracePeriodSeconds", 30)));
    }
  }
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

Result<json> PodSyncer::syncPod(const json& pod, PodRuntimeView* status_view) {
  auto lg = skiff::log::get("agent");
  std::string uid = uidOf(pod);
  const json& spec = pod["spec"];
  SKIFF_ASSIGN_OR_RETURN(auto view, runtimeView(uid));

  // Volumes first: containers must not start on half-made volumes (kubelet waits for mounts).
  EnvContext ctx{cfg_.node_name, cfg_.host_ip, view.pod_ip, cfg_.allocatable_milli_cpu,
                 cfg_.allocatable_memory};
  auto vols = volumes_.setupPod(pod, ctx);
  if (!vols) {
    SKIFF_LOG_WARN(lg, "Unable to attach or mount volumes, will retry", kv("pod", podRef(pod)),
                   kv("err", vols.error().message()));
    event(pod, "", "Warning", events::kFailedMount, vols.error().message());
    return currentStatus(pod, std::nullopt, status_view);
  }
  {
    std::lock_guard lk(mu_);
    volume_paths_[uid] = *vols;
  }
  auto sandbox = ensureSandbox(pod, view);
  if (!sandbox) {
    SKIFF_LOG_WARN(lg, "Failed to create pod sandbox, will retry", kv("pod", podRef(pod)),
                   kv("err", sandbox.error().message()));
    return currentStatus(pod, std::nullopt, status_view);
  }
  if (view.pod_ip.empty() && spec.value("hostNetwork", false)) view.pod_ip = cfg_.host_ip;
  SKIFF_TRY(writePodFiles(pod, view.pod_ip));

  // Init containers, in order; each must succeed before the next starts.
  bool init_done = true;
  const json& inits = spec.value("initContainers", json::array());
  for (const auto& ic : inits) {
    std::string name = ic.value("name", "");
    const ContainerInfo* cur = view.latest(name);
    bool sidecar = ic.value("restartPolicy", "") == "Always";
    if (cur == nullptr) {
      auto r = startContainer(pod, ic, view, 0);
      if (!r)
        SKIFF_LOG_WARN(lg, "Init container failed to start", kv("pod", podRef(pod)),
                       kv("container", name), kv("err", r.error().message()));
      init_done = false;
      break;
    }
    if (cur->state == ContainerState::Running) {
      if (sidecar) continue;
      init_done = false;
      break;
    }
    if (cur->state == ContainerState::Exited && cur->exit_code == 0 && !sidecar) continue;
    // Failed init container (or exited sidecar).
    if (shouldStartAgain(pod, ic, *cur, true)) {
      if (probes_) probes_->forget(cur->id);
      auto r = startContainer(pod, ic, view, cur->attempt + 1);
      if (!r)
        SKIFF_LOG_WARN(lg, "Init container failed to restart", kv("pod", podRef(pod)),
                       kv("container", name), kv("err", r.error().message()));
    }
    init_done = false;
    break;
  }

  if (init_done) {
    for (const auto& c : spec.value("containers", json::array())) {
      std::string name = c.value("name", "");
      const ContainerInfo* cur = view.latest(name);
      if (cur == nullptr) {
        auto r = startContainer(pod, c, view, 0);
        if (!r)
          SKIFF_LOG_WARN(lg, "Container failed to start", kv("pod", podRef(pod)),
                         kv("container", name), kv("err", r.error().message()));
        continue;
      }
      ContainerInfo last = *cur;
      if (last.state == ContainerState::Running) {
        if (probes_ == nullptr || !probes_->shouldRestart(last.id)) continue;
        SKIFF_LOG_INFO(lg, "Container failed liveness probe, will be restarted",
                       kv("pod", podRef(pod)), kv("container", name));
        event(pod, name, "Normal", events::kKilling,
              "Container " + name + " failed liveness probe, will be restarted");
        int64_t grace = spec.value("terminationGracePeriodSeconds", 30);
        (void)killContainer(pod, &c, last, std::chrono::seconds(grace));
        probes_->forget(last.id);
        auto refreshed = runtimeView(uid);
        if (!refreshed || refreshed->latest(name) == nullptr) continue;
        last = *refreshed->latest(name);
        if (last.state == ContainerState::Running) continue;
      }
      if (last.state == ContainerState::Created) {
        (void)runtime_.startContainer(last.id);
        continue;
      }
      if (last.state != ContainerState::Exited) continue;
      if (!shouldStartAgain(pod, c, last, false)) continue;
      if (probes_) probes_->forget(last.id);
      auto r = startContainer(pod, c, view, last.attempt + 1);
      if (!r) {
        SKIFF_LOG_WARN(lg, "Container failed to restart", kv("pod", podRef(pod)),
                       kv("container", name), kv("err", r.error().message()));
        continue;
      }
      // Keep the newest exited attempt for `kubectl logs --previous`; remove older ones.
      auto it = view.containers.find(name);
      if (it != view.containers.end()) {
        for (std::size_t i = 1; i < it->second.size(); ++i) {
          if (it->second[i].state == ContainerState::Exited) {
            (void)runtime_.removeContainer(it->second[i].id);
          }
        }
      }
    }
  }
  return currentStatus(pod, std::nullopt, status_view);
}

Result<json> PodSyncer::currentStatus(const json& pod, std::optional<WaitingReason> terminal,
                                      PodRuntimeView* status_view) {
  std::string uid = uidOf(pod);
  SKIFF_ASSIGN_OR_RETURN(auto view, runtimeView(uid));
  if (status_view != nullptr) *status_view = view;
  auto waiting = waitingFor(uid);
  ProbeView probes;
  if (probes_ != nullptr) probes = probes_->view(pod, view);
  StatusInputs in{pod,
                  view,
                  waiting,
                  probes,
                  cfg_.host_ip,
                  rfc3339FromNs(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    clock_().time_since_epoch())
                                    .count()),
                  terminal};
  return computePodStatus(in);
}

Result<void> PodSyncer::killContainer(const json& pod, const json* spec, const ContainerInfo& c,
                                      std::chrono::seconds grace) {
  auto lg = skiff::log::get("agent");
  auto start = clock_();
  if (spec != nullptr && c.state == ContainerState::Running) {
    const json& pre = spec->value("lifecycle", json::object()).value("preStop", json::object());
    if (pre.contains("exec")) {
      auto cmd = strings(pre["exec"].value("command", json::array()));
      auto r = runtime_.execSync(c.id, cmd, std::max(grace, std::chrono::seconds(1)));
      if (!r || r->exit_code != 0) {
        std::string msg = !r ? r.error().message()
                             : "command '" + (cmd.empty() ? "" : cmd[0]) + "' exited with " +
                                   std::to_string(r->exit_code) + ": " + r->out + r->err;
        SKIFF_LOG_WARN(lg, "PreStop hook failed", kv("pod", podRef(pod)), kv("container", c.name),
                       kv("err", msg));
        event(pod, c.name, "Warning", events::kFailedPreStopHook, msg);
      }
    } else if (pre.contains("sleep")) {
      int64_t secs = pre["sleep"].value("seconds", 0);
      std::this_thread::sleep_for(std::chrono::seconds(std::min<int64_t>(secs, grace.count())));
    }
  }
  auto spent = std::chrono::duration_cast<std::chrono::seconds>(clock_() - start);
  auto left = grace > spent ? grace - spent : std::chrono::seconds(2);  // kubelet: min 2 s
  if (c.state == ContainerState::Running || c.state == ContainerState::Created) {
    SKIFF_LOG_INFO(lg, "Killing container with a grace period", kv("pod", podRef(pod)),
                   kv("container", c.name), kv("containerID", c.id),
                   kv("gracePeriod", static_cast<int64_t>(left.count())));
    SKIFF_TRY(runtime_.stopContainer(c.id, left));
  }
  return ok();
}

Result<void> PodSyncer::killPod(const json& pod, std::chrono::seconds grace) {
  std::string uid = uidOf(pod);
  SKIFF_ASSIGN_OR_RETURN(auto view, runtimeView(uid));
  std::vector<std::thread> killers;
  std::mutex err_mu;
  std::optional<Error> first_error;
  // Containers stop in parallel, each with the full grace period (kubelet does the same).
  for (auto& [name, list] : view.containers) {
    if (list.empty()) continue;
    const json* spec = nullptr;
    for (const char* field : {"containers", "initContainers"}) {
      if (!pod["spec"].contains(field)) continue;
      for (const auto& c : pod["spec"][field]) {  // not value(): spec must outlive the loop
        if (c.value("name", "") == name) spec = &c;
      }
    }
    for (const auto& c : list) {
      if (c.state != ContainerState::Running && c.state != ContainerState::Created) continue;
      event(pod, name, "Normal", events::kKilling, "Stopping container " + name);
      killers.emplace_back([&, spec, c] {
        auto r = killContainer(pod, spec, c, grace);
        if (!r) {
          std::lock_guard lk(err_mu);
          if (!first_error) first_error = r.error();
        }
        if (probes_) probes_->forget(c.id);
      });
    }
  }
  for (auto& t : killers) t.join();
  if (first_error) return *first_error;
  if (view.sandbox && view.sandbox->state == SandboxState::Ready) {
    if (network_ != nullptr && !view.sandbox->netns_path.empty()) {
      auto r = network_->teardown(view.sandbox->id, podRef(pod), view.sandbox->netns_path);
      if (!r) return std::move(r).error().wrap("tear down pod network");
    }
    SKIFF_TRY(runtime_.stopPodSandbox(view.sandbox->id));
  }
  return ok();
}

Result<void> PodSyncer::cleanupPod(const std::string& uid) {
  SKIFF_ASSIGN_OR_RETURN(auto view, runtimeView(uid));
  for (auto& [_, list] : view.containers) {
    for (const auto& c : list) {
      if (c.state == ContainerState::Running) {
        SKIFF_TRY(runtime_.stopContainer(c.id, std::chrono::seconds(0)));
      }
      SKIFF_TRY(runtime_.removeContainer(c.id));
      if (probes_) probes_->forget(c.id);
    }
  }
  SKIFF_ASSIGN_OR_RETURN(auto sandboxes, runtime_.listPodSandboxes());
  for (const auto& s : sandboxes) {
    auto it = s.labels.find(kLabelPodUid);
    if (it == s.labels.end() || it->second != uid) continue;
    if (network_ != nullptr && !s.netns_path.empty()) {
      std::string ns = s.labels.count(kLabelPodNamespace) ? s.labels.at(kLabelPodNamespace) : "";
      std::string name = s.labels.count(kLabelPodName) ? s.labels.at(kLabelPodName) : "";
      (void)network_->teardown(s.id, ns + "/" + name, s.netns_path);
    }
    SKIFF_TRY(runtime_.stopPodSandbox(s.id));
    SKIFF_TRY(runtime_.removePodSandbox(s.id));
  }
  SKIFF_TRY(volumes_.teardownPod(uid));
  std::lock_guard lk(mu_);
  waiting_.erase(uid);
  volume_paths_.erase(uid);
  return ok();
}

Result<void> PodSyncer::releaseVolumes(const std::string& uid) {
  SKIFF_TRY(volumes_.teardownPod(uid));
  std::lock_guard lk(mu_);
  volume_paths_.erase(uid);
  return ok();
}

}  // namespace skiff::agent
