#include "skiff/agent/pod_status.h"

#include <chrono>
#include <ctime>

#include "skiff/agent/resources.h"
#include "skiff/agent/termination_message.h"
#include "skiff/common/rfc3339.h"

namespace skiff::agent {

using nlohmann::json;

const ContainerInfo* PodRuntimeView::latest(const std::string& name) const {
  auto it = containers.find(name);
  return it == containers.end() || it->second.empty() ? nullptr : &it->second[0];
}

const ContainerInfo* PodRuntimeView::previous(const std::string& name) const {
  auto it = containers.find(name);
  return it == containers.end() || it->second.size() < 2 ? nullptr : &it->second[1];
}

std::string rfc3339FromNs(int64_t ns) {
  return formatRfc3339(
      SystemTime(std::chrono::duration_cast<SystemTime::duration>(std::chrono::nanoseconds(ns))));
}

std::string rfc3339Now() {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return rfc3339FromNs(ns);
}

std::optional<int64_t> parseRfc3339(const std::string& ts) {
  auto t = skiff::parseRfc3339(ts);
  if (!t) return std::nullopt;
  return static_cast<int64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count());
}

namespace {

std::string containerId(const ContainerInfo& c) { return "skiff://" + c.id; }

json terminatedState(const ContainerInfo& c, std::size_t message_budget) {
  json t = {{"exitCode", c.exit_code},
            {"reason", c.reason.empty() ? (c.exit_code == 0 ? "Completed" : "Error") : c.reason},
            {"startedAt", c.started_at_ns ? json(rfc3339FromNs(c.started_at_ns)) : json(nullptr)},
            {"finishedAt", rfc3339FromNs(c.finished_at_ns)},
            {"containerID", containerId(c)}};
  if (!c.message.empty()) t["message"] = statusMessage(c.message, message_budget);
  return t;
}

json containerStatus(const json& spec_container, const StatusInputs& in, bool is_init) {
  std::string name = spec_container.value("name", "");
  json st = {{"name", name},      {"image", spec_container.value("image", "")},
             {"imageID", ""},     {"ready", false},
             {"restartCount", 0}, {"started", false}};
  const ContainerInfo* cur = in.runtime.latest(name);
  const ContainerInfo* prev = in.runtime.previous(name);
  const json& pod_spec = in.pod["spec"];
  std::size_t budget =
      terminationMessageBudget(pod_spec.value("containers", json::array()).size() +
                               pod_spec.value("initContainers", json::array()).size());
  auto terminated = [budget](const ContainerInfo& c) { return terminatedState(c, budget); };
  auto w = in.waiting.find(name);
  if (cur == nullptr) {
    std::string reason = is_init ? "PodInitializing" : "ContainerCreating";
    if (!is_init) {
      // App containers wait for init containers: kubelet shows PodInitializing then.
      for (const auto& ic : in.pod["spec"].value("initContainers", json::array())) {
        const ContainerInfo* ci = in.runtime.latest(ic.value("name", ""));
        if (ci == nullptr || ci->state != ContainerState::Exited || ci->exit_code != 0) {
          if (ic.value("restartPolicy", "") != "Always") reason = "PodInitializing";
        }
      }
    } else {
      reason = "PodInitializing";
    }
    json waiting = {{"reason", reason}};
    if (w != in.waiting.end()) {
      waiting = {{"reason", w->second.reason}};
      if (!w->second.message.empty()) waiting["message"] = w->second.message;
    }
    st["state"] = {{"waiting", waiting}};
    st["lastState"] = json::object();
    return st;
  }
  st["restartCount"] = cur->attempt;
  st["imageID"] = cur->image_ref;
  st["containerID"] = containerId(*cur);
  st["lastState"] = json::object();
  if (cur->state == ContainerState::Running) {
    st["state"] = {{"running", {{"startedAt", rfc3339FromNs(cur->started_at_ns)}}}};
    bool started = true;
    if (in.probes.has_startup.count(name) && in.probes.has_startup.at(name)) {
      auto s = in.probes.started.find(cur->id);
      started = s != in.probes.started.end() && s->second;
    }
    // A running init container is not ready: it counts only once it exited 0 (prober manager's
    // UpdatePodStatus), so one that fails and restarts stays incomplete in Initialized. Only a
    // sidecar (restartPolicy Always) is ready while running.
    bool plain_init = is_init && spec_container.value("restartPolicy", "") != "Always";
    bool ready = started && !plain_init;
    if (ready && in.probes.has_readiness.count(name) && in.probes.has_readiness.at(name)) {
      auto r = in.probes.ready.find(cur->id);
      ready = r != in.probes.ready.end() && r->second;
    }
    st["started"] = started;
    st["ready"] = ready;
    if (prev != nullptr && prev->state == ContainerState::Exited) {
      st["lastState"] = {{"terminated", terminated(*prev)}};
    }
  } else if (cur->state == ContainerState::Exited) {
    if (w != in.waiting.end()) {
      // Exited and waiting to be restarted (CrashLoopBackOff): the exit moves to lastState.
      json waiting = {{"reason", w->second.reason}};
      if (!w->second.message.empty()) waiting["message"] = w->second.message;
      st["state"] = {{"waiting", waiting}};
      st["lastState"] = {{"terminated", terminated(*cur)}};
    } else {
      st["state"] = {{"terminated", terminated(*cur)}};
      if (prev != nullptr && prev->state == ContainerState::Exited) {
        st["lastState"] = {{"terminated", terminated(*prev)}};
      }
      // An init container that completed is ready (prober manager's UpdatePodStatus), which is
      // what the Initialized condition counts; a sidecar's readiness comes from its probes.
      st["ready"] =
          is_init && cur->exit_code == 0 && spec_container.value("restartPolicy", "") != "Always";
    }
  } else {
    json waiting = {{"reason", "ContainerCreating"}};
    if (w != in.waiting.end()) {
      waiting = {{"reason", w->second.reason}};
      if (!w->second.message.empty()) waiting["message"] = w->second.message;
    }
    st["state"] = {{"waiting", waiting}};
  }
  return st;
}

json findCondition(const json& status, const std::string& type) {
  for (const auto& c : status.value("conditions", json::array())) {
    if (c.value("type", "") == type) return c;
  }
  return nullptr;
}

json condition(const json& old_status, const std::string& type, bool value,
               const std::string& reason, const std::string& message, const std::string& now) {
  json c = {{"type", type}, {"status", value ? "True" : "False"}, {"lastProbeTime", nullptr}};
  if (!reason.empty()) c["reason"] = reason;
  if (!message.empty()) c["message"] = message;
  json old = findCondition(old_status, type);
  if (old.is_object() && old.value("status", "") == c["status"] &&
      old.contains("lastTransitionTime")) {
    c["lastTransitionTime"] = old["lastTransitionTime"];
  } else {
    c["lastTransitionTime"] = now;
  }
  return c;
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out = "[";
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? " " : "") + names[i];
  return out + "]";
}

// strings.Join(messages, ", ")
std::string joinList(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

const json* statusNamed(const json& statuses, const std::string& name) {
  for (const auto& s : statuses) {
    if (s.value("name", "") == name) return &s;
  }
  return nullptr;
}

// kubecontainer.HasAnyRegularContainerStarted (kubelet 1.28+): an app container that ran means
// the pod was initialized, even while a sidecar restarts.
bool anyRegularContainerStarted(const json& statuses) {
  for (const auto& s : statuses) {
    const json& state = s.value("state", json::object());
    if (state.contains("running") || state.contains("terminated")) return true;
  }
  return false;
}

// status.GeneratePodInitializedCondition: every init container not ready (a plain one is ready
// once it exited 0, a sidecar once it started) is incomplete, in spec order; only Succeeded
// overrides that, so a pod Failed by an init container stays uninitialized.
json initializedCondition(const json& old, const json& spec, const json& init_statuses,
                          const json& statuses, const std::string& phase, const std::string& now) {
  std::vector<std::string> unknown, incomplete;
  for (const auto& ic : spec.value("initContainers", json::array())) {
    std::string name = ic.value("name", "");
    const json* st = statusNamed(init_statuses, name);
    if (st == nullptr) {
      unknown.push_back(name);
      continue;
    }
    bool sidecar = ic.value("restartPolicy", "") == "Always";
    if (!st->value(sidecar ? "started" : "ready", false)) incomplete.push_back(name);
  }
  if (phase == "Succeeded" && unknown.empty()) {
    return condition(old, "Initialized", true, "PodCompleted", "", now);
  }
  if (anyRegularContainerStarted(statuses)) return condition(old, "Initialized", true, "", "", now);
  std::vector<std::string> messages;
  if (!unknown.empty()) messages.push_back("containers with unknown status: " + joinNames(unknown));
  if (!incomplete.empty()) {
    messages.push_back("containers with incomplete status: " + joinNames(incomplete));
  }
  if (messages.empty()) return condition(old, "Initialized", true, "", "", now);
  return condition(old, "Initialized", false, "ContainersNotInitialized", joinList(messages), now);
}

// status.GenerateContainersReadyCondition: Succeeded is PodCompleted; otherwise every app
// container not ready is listed (a Failed pod's exited containers too).
json containersReadyCondition(const json& old, const json& statuses, const std::string& phase,
                              const std::string& now) {
  if (phase == "Succeeded")
    return condition(old, "ContainersReady", false, "PodCompleted", "", now);
  std::vector<std::string> unready;
  for (const auto& s : statuses) {
    if (!s.value("ready", false)) unready.push_back(s.value("name", ""));
  }
  if (unready.empty()) return condition(old, "ContainersReady", true, "", "", now);
  return condition(old, "ContainersReady", false, "ContainersNotReady",
                   "containers with unready status: " + joinNames(unready), now);
}

// status.GeneratePodReadyCondition: ContainersReady's verdict when it is not True, else every
// readiness gate's condition must be True in the current status.
json podReadyCondition(const json& old, const json& spec, const json& containers_ready,
                       const std::string& now) {
  if (containers_ready.value("status", "") != "True") {
    return condition(old, "Ready", false, containers_ready.value("reason", ""),
                     containers_ready.value("message", ""), now);
  }
  std::vector<std::string> messages;
  for (const auto& g : spec.value("readinessGates", json::array())) {
    std::string t = g.value("conditionType", "");
    json c = findCondition(old, t);
    if (!c.is_object()) {
      messages.push_back("corresponding condition of pod readiness gate \"" + t +
                         "\" does not exist.");
    } else if (c.value("status", "") != "True") {
      messages.push_back("the status of pod readiness gate \"" + t + "\" is not \"True\", but " +
                         c.value("status", ""));
    }
  }
  if (messages.empty()) return condition(old, "Ready", true, "", "", now);
  return condition(old, "Ready", false, "ReadinessGatesNotReady", joinList(messages), now);
}

}  // namespace

std::string podPhase(const json& spec, const json& init_statuses, const json& statuses) {
  std::string policy = spec.value("restartPolicy", "Always");
  // Init containers first (sidecars, restartPolicy Always, only need to be started).
  bool initialized = true;
  const json& inits = spec.value("initContainers", json::array());
  for (std::size_t i = 0; i < inits.size(); ++i) {
    const json& ic = inits[i];
    const json* st = nullptr;
    for (const auto& s : init_statuses) {
      if (s.value("name", "") == ic.value("name", "")) st = &s;
    }
    if (ic.value("restartPolicy", "") == "Always") {
      if (st == nullptr || !st->value("started", false)) initialized = false;
      continue;
    }
    if (st == nullptr) {
      initialized = false;
      continue;
    }
    const json& state = (*st)["state"];
    if (state.contains("terminated")) {
      if (state["terminated"].value("exitCode", 0) != 0) {
        if (policy == "Never") return "Failed";
        initialized = false;
      }
    } else {
      if (policy == "Never" && (*st)["lastState"].contains("terminated") &&
          (*st)["lastState"]["terminated"].value("exitCode", 0) != 0) {
        return "Failed";
      }
      initialized = false;
    }
  }
  if (!initialized) return "Pending";
  int unknown = 0, running = 0, waiting = 0, stopped = 0, succeeded = 0;
  for (const auto& c : spec.value("containers", json::array())) {
    const json* st = nullptr;
    for (const auto& s : statuses) {
      if (s.value("name", "") == c.value("name", "")) st = &s;
    }
    if (st == nullptr) {
      ++unknown;
      continue;
    }
    const json& state = (*st)["state"];
    if (state.contains("running")) {
      ++running;
    } else if (state.contains("terminated")) {
      ++stopped;
      if (state["terminated"].value("exitCode", 0) == 0) ++succeeded;
    } else if (state.contains("waiting")) {
      if ((*st)["lastState"].contains("terminated")) {
        ++stopped;
      } else {
        ++waiting;
      }
    } else {
      ++unknown;
    }
  }
  if (waiting > 0) return "Pending";
  if (running > 0 && unknown == 0) return "Running";
  if (running == 0 && stopped > 0 && unknown == 0) {
    if (policy == "Always") return "Running";
    if (policy == "OnFailure") return stopped == succeeded ? "Succeeded" : "Running";
    return stopped == succeeded ? "Succeeded" : "Failed";
  }
  return "Pending";
}

json computePodStatus(const StatusInputs& in) {
  const json& spec = in.pod.value("spec", json::object());
  const json& old = in.pod.value("status", json::object());
  json status = json::object();

  if (in.terminal_failure) {
    // Admission rejection / eviction: kubelet sets phase Failed with reason and message and
    // keeps container statuses as they were.
    status["phase"] = "Failed";
    status["reason"] = in.terminal_failure->reason;
    status["message"] = in.terminal_failure->message;
    status["qosClass"] = qosClassName(podQosClass(in.pod));
    if (!in.host_ip.empty()) {
      status["hostIP"] = in.host_ip;
      status["hostIPs"] = json::array({{{"ip", in.host_ip}}});
    }
    status["startTime"] = old.value("startTime", in.now);
    json conds = json::array();
    json sched = findCondition(old, "PodScheduled");
    if (sched.is_object()) conds.push_back(sched);
    status["conditions"] = conds;
    return status;
  }

  json init_statuses = json::array();
  for (const auto& c : spec.value("initContainers", json::array())) {
    init_statuses.push_back(containerStatus(c, in, true));
  }
  json statuses = json::array();
  for (const auto& c : spec.value("containers", json::array())) {
    statuses.push_back(containerStatus(c, in, false));
  }
  std::string phase = podPhase(spec, init_statuses, statuses);
  status["phase"] = phase;
  if (!in.host_ip.empty()) {
    status["hostIP"] = in.host_ip;
    status["hostIPs"] = json::array({{{"ip", in.host_ip}}});
  }
  std::string pod_ip = spec.value("hostNetwork", false) ? in.host_ip : in.runtime.pod_ip;
  if (!pod_ip.empty()) {
    status["podIP"] = pod_ip;
    status["podIPs"] = json::array({{{"ip", pod_ip}}});
  }
  status["startTime"] = old.value("startTime", in.now);
  status["qosClass"] = qosClassName(podQosClass(in.pod));
  if (!init_statuses.empty()) status["initContainerStatuses"] = init_statuses;
  status["containerStatuses"] = statuses;

  // Conditions, in kubelet's order.
  json conds = json::array();
  bool sandbox_ready = in.runtime.sandbox && in.runtime.sandbox->state == SandboxState::Ready &&
                       (!pod_ip.empty() || spec.value("hostNetwork", false));
  conds.push_back(condition(old, "PodReadyToStartContainers", sandbox_ready, "", "", in.now));

  conds.push_back(initializedCondition(old, spec, init_statuses, statuses, phase, in.now));
  json containers_ready = containersReadyCondition(old, statuses, phase, in.now);
  conds.push_back(containers_ready);
  conds.push_back(podReadyCondition(old, spec, containers_ready, in.now));
  json sched = findCondition(old, "PodScheduled");
  if (sched.is_object()) {
    conds.push_back(sched);
  } else {
    conds.push_back(condition(old, "PodScheduled", true, "", "", in.now));
  }
  // Conditions owned by others (readiness gates, DisruptionTarget) are kept.
  for (const auto& c : old.value("conditions", json::array())) {
    std::string t = c.value("type", "");
    if (t != "PodReadyToStartContainers" && t != "Initialized" && t != "ContainersReady" &&
        t != "Ready" && t != "PodScheduled") {
      conds.push_back(c);
    }
  }
  status["conditions"] = conds;
  return status;
}

bool podStatusChanged(const json& old_status, const json& status) { return old_status != status; }

}  // namespace skiff::agent
