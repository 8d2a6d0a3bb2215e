#include "skiff/agent/kubelet.h"

#include "skiff/agent/resources.h"
#include "skiff/common/log.h"
#include "skiff/common/rfc3339.h"

namespace skiff::agent {

using nlohmann::json;
using skiff::log::kv;

namespace {

std::string podRef(const json& pod) {
  return pod["metadata"].value("namespace", "") + "/" + pod["metadata"].value("name", "");
}

// Mirror pods stand in the API for static pods; the static pod itself is what runs.
bool isMirror(const json& pod) {
  const json& md = pod.value("metadata", json::object());
  return md.contains("annotations") && md["annotations"].contains("kubernetes.io/config.mirror");
}

bool terminalPhase(const json& pod) {
  std::string p = pod.value("status", json::object()).value("phase", "");
  return p == "Succeeded" || p == "Failed";
}

}  // namespace

void Kubelet::setLimits(const KubeletLimits& limits) {
  std::lock_guard lk(mu_);
  limits_ = limits;
}

void Kubelet::setAdmitHook(std::function<std::optional<WaitingReason>(const json&)> hook) {
  std::lock_guard lk(mu_);
  admit_hook_ = std::move(hook);
}

std::vector<json> Kubelet::activePods() {
  std::lock_guard lk(mu_);
  std::vector<json> out;
  for (const auto& uid : admitted_) {
    auto it = pods_.find(uid);
    if (it == pods_.end() || finished_.count(uid) || evicted_.count(uid)) continue;
    if (it->second.deleting || it->second.terminal) continue;
    out.push_back(it->second.decode());
  }
  return out;
}

bool Kubelet::pastActiveDeadline(const json& pod) {
  const json& spec = pod.value("spec", json::object());
  auto deadline = spec.find("activeDeadlineSeconds");
  if (deadline == spec.end() || !deadline->is_number_integer()) return false;
  auto start = skiff::parseRfc3339(pod.value("status", json::object()).value("startTime", ""));
  if (!start) return false;
  return std::chrono::system_clock::now() - *start >=
         std::chrono::seconds(deadline->get<std::int64_t>());
}

bool Kubelet::evictPod(const json& pod, const std::string& message,
                       std::chrono::seconds grace_period) {
  std::string uid = pod["metadata"].value("uid", "");
  {
    std::lock_guard lk(mu_);
    if (!pods_.count(uid)) return false;
    evicted_[uid] = Eviction{message, grace_period};
    finished_.insert(uid);  // never started again
  }
  if (events_ != nullptr) events_->podEvent(pod, "", "Warning", events::kEvicted, message);
  workers_.updatePod(uid);
  return true;
}

void Kubelet::syncEvicted(const json& pod, const Eviction& eviction) {
  auto lg = skiff::log::get("agent");
  const std::string& message = eviction.message;
  // The eviction manager's grace period (hard: 1 s), not the pod's own.
  auto killed = syncer_.killPod(pod, eviction.grace_period);
  if (!killed) {
    SKIFF_LOG_WARN(lg, "Killing evicted pod failed, will retry", kv("pod", podRef(pod)),
                   kv("err", killed.error().message()));
    return;
  }
  auto st = syncer_.currentStatus(pod);
  if (!st) return;
  // kubelet's eviction status: phase Failed, reason Evicted, the eviction message, and the
  // DisruptionTarget condition (TerminationByKubelet); nothing is ready any more.
  json s = *st;
  s["phase"] = "Failed";
  s["reason"] = eviction.reason;
  s["message"] = message;
  json conds = json::array();
  std::string now = rfc3339Now();
  bool have_disruption = false;
  for (auto c : s.value("conditions", json::array())) {
    std::string type = c.value("type", "");
    if (type == "Ready" || type == "ContainersReady") {
      if (c.value("status", "") != "False") {
        c["status"] = "False";
        c["reason"] = "PodFailed";
        c["lastTransitionTime"] = now;
        c.erase("message");
      }
    }
    if (type == "DisruptionTarget") have_disruption = true;
    conds.push_back(c);
  }
  if (!eviction.disruption) have_disruption = true;  // nothing to add
  if (!have_disruption) {
    for (const auto& c : pod.value("status", json::object()).value("conditions", json::array())) {
      if (c.value("type", "") == "DisruptionTarget") {
        conds.push_back(c);
        have_disruption = true;
      }
    }
  }
  if (!have_disruption) {
    conds.push_back({{"type", "DisruptionTarget"},
                     {"status", "True"},
                     {"reason", "TerminationByKubelet"},
                     {"message", message},
                     {"lastProbeTime", nullptr},
                     {"lastTransitionTime", now}});
  }
  s["conditions"] = conds;
  patchStatus(pod, s);
  // The evicted pod's local volumes (emptyDir) are what frees the disk.
  auto released = syncer_.releaseVolumes(pod["metadata"].value("uid", ""));
  if (!released) {
    SKIFF_LOG_WARN(lg, "Releasing volumes of evicted pod failed, will retry",
                   kv("pod", podRef(pod)), kv("err", released.error().message()));
  }
}

namespace {
// The agent never reads managedFields, and they are often the bulk of a pod: dropping them from
// the pods it keeps (client-go's TransformStripManagedFields) keeps a node's worth of pods small.
json withoutManagedFields(json pod) {
  if (auto md = pod.find("metadata"); md != pod.end() && md->is_object())
    md->erase("managedFields");
  return pod;
}

// Running, and every container running and ready: nothing for a periodic resync to do.
bool settledStatus(const json& status) {
  if (status.value("phase", "") != "Running") return false;
  for (const auto& c : status.value("containerStatuses", json::array())) {
    if (!c.value("ready", false) || !c["state"].contains("running")) return false;
  }
  return true;
}
}  // namespace

Kubelet::StoredPod Kubelet::store(const json& pod) {
  StoredPod s;
  const json& md = pod.value("metadata", json::object());
  s.ns = md.value("namespace", "");
  s.name = md.value("name", "");
  s.cbor = json::to_cbor(pod);
  s.terminal = terminalPhase(pod);
  s.deleting = md.contains("deletionTimestamp") && !md["deletionTimestamp"].is_null();
  s.deadline = pod.contains("spec") && pod["spec"].contains("activeDeadlineSeconds") &&
               pod["spec"]["activeDeadlineSeconds"].is_number_integer();
  s.footprint = podFootprint(pod);
  return s;
}

void Kubelet::replace(const std::vector<json>& items) {
  std::set<std::string> uids;
  {
    std::lock_guard lk(mu_);
    std::map<std::string, StoredPod> next;
    for (const auto& uid : static_uids_) {
      if (auto it = pods_.find(uid); it != pods_.end()) next[uid] = it->second;
    }
    for (const auto& p : items) {
      std::string uid = p["metadata"].value("uid", "");
      if (!uid.empty() && !isMirror(p)) next[uid] = store(withoutManagedFields(p));
    }
    for (const auto& [uid, _] : pods_) uids.insert(uid);  // deleted ones get a final sync
    for (const auto& [uid, _] : next) uids.insert(uid);
    pods_ = std::move(next);
    listed_ = true;
  }
  // Pods the runtime still runs but the API no longer lists (deleted while we were away).
  auto in_runtime = syncer_.runtimePods();
  if (in_runtime) {
    for (const auto& [uid, _] : *in_runtime) uids.insert(uid);
  }
  for (const auto& uid : uids) workers_.updatePod(uid);
}

void Kubelet::apply(const WatchEvent& ev) {
  std::string uid = ev.object["metadata"].value("uid", "");
  if (uid.empty() || isMirror(ev.object)) return;
  bool sync = true;
  {
    std::lock_guard lk(mu_);
    if (ev.type == "DELETED") {
      pods_.erase(uid);
    } else {
      json pod = withoutManagedFields(ev.object);
      auto it = pods_.find(uid);
      // A change of the status alone (mostly our own status patches coming back) is recorded
      // but syncs nothing, as the kubelet's config source treats it as a reconcile, not an
      // update: a sync would compute the same status and send nothing.
      if (it != pods_.end() && !podsDifferSemantically(it->second.decode(), pod)) sync = false;
      pods_[uid] = store(pod);
    }
  }
  if (sync) workers_.updatePod(uid);
}

void Kubelet::setStaticPods(const std::vector<json>& pods) {
  std::set<std::string> changed;
  {
    std::lock_guard lk(mu_);
    std::set<std::string> next;
    for (const auto& p : pods) {
      std::string uid = p["metadata"].value("uid", "");
      next.insert(uid);
      StoredPod stored = store(p);
      auto it = pods_.find(uid);
      if (it == pods_.end() || it->second.cbor != stored.cbor) changed.insert(uid);
      pods_[uid] = std::move(stored);
    }
    for (const auto& uid : static_uids_) {
      if (!next.count(uid)) {
        pods_.erase(uid);
        changed.insert(uid);
      }
    }
    static_uids_ = next;
  }
  for (const auto& uid : changed) workers_.updatePod(uid);
}

namespace {
// The PLEG's record of a container: its state and its pod, "<state>/<uid>".
std::string plegEntry(ContainerState state, const std::string& uid) {
  return std::to_string(static_cast<int>(state)) + "/" + uid;
}
}  // namespace

void Kubelet::relist() {
  auto list = runtime_.listContainers();
  if (!list) return;
  std::map<std::string, std::string> now;
  std::set<std::string> changed;
  for (const auto& c : *list) {
    auto uid = c.labels.find(kLabelPodUid);
    if (uid == c.labels.end()) continue;
    now[c.id] = plegEntry(c.state, uid->second);
  }
  {
    std::lock_guard lk(mu_);
    for (const auto& [id, s] : now) {
      auto it = pleg_.find(id);
      if (it == pleg_.end() || it->second != s) changed.insert(s.substr(s.find('/') + 1));
    }
    for (const auto& [id, s] : pleg_) {
      if (!now.count(id)) changed.insert(s.substr(s.find('/') + 1));
    }
    pleg_ = std::move(now);
  }
  for (const auto& uid : changed) workers_.updatePod(uid);
}

void Kubelet::notePlegState(const std::string& uid, const PodRuntimeView& view) {
  const std::string suffix = "/" + uid;
  std::lock_guard lk(mu_);
  std::erase_if(pleg_, [&](const auto& e) { return e.second.ends_with(suffix); });
  for (const auto& [_, list] : view.containers) {
    for (const auto& c : list) pleg_[c.id] = plegEntry(c.state, uid);
  }
}

void Kubelet::resyncAll(bool full) {
  std::vector<std::string> uids;
  {
    std::lock_guard lk(mu_);
    for (const auto& [uid, stored] : pods_) {
      // Between full resyncs only pods that are not settled need a look: something waiting
      // (CrashLoopBackOff/ImagePullBackOff expiry) or not ready (volumes, probes). Settled pods
      // are woken by the PLEG, probes and watch events.
      auto st = sent_status_.find(uid);
      bool settled = !full && st != sent_status_.end() && st->second.settled;
      // kubelet's activeDeadlineHandler.ShouldSync: a running pod's deadline needs a look.
      if (stored.deadline && !stored.terminal) settled = false;
      if (!settled) uids.push_back(uid);
    }
  }
  for (const auto& uid : uids) workers_.updatePod(uid);
}

std::optional<json> Kubelet::findPod(const std::string& ns, const std::string& name) {
  std::lock_guard lk(mu_);
  for (const auto& [_, p] : pods_) {
    if (p.ns == ns && p.name == name) return p.decode();
  }
  return std::nullopt;
}

std::optional<json> Kubelet::podByUid(const std::string& uid) {
  std::lock_guard lk(mu_);
  auto it = pods_.find(uid);
  if (it == pods_.end()) return std::nullopt;
  return it->second.decode();
}

std::vector<json> Kubelet::pods() {
  std::lock_guard lk(mu_);
  std::vector<json> out;
  for (const auto& [_, p] : pods_) out.push_back(p.decode());
  return out;
}

void Kubelet::patchStatus(const json& pod, const json& status) {
  auto lg = skiff::log::get("agent");
  std::string uid = pod["metadata"].value("uid", "");
  const std::size_t hash = std::hash<std::string>{}(status.dump());
  {
    std::lock_guard lk(mu_);
    auto it = sent_status_.find(uid);
    if (it != sent_status_.end() && it->second.hash == hash) return;
  }
  std::string ns = pod["metadata"].value("namespace", "");
  std::string name = pod["metadata"].value("name", "");
  json base = pod.value("status", json::object());
  json patch = {{"metadata", {{"uid", uid}}}, {"status", statusMergePatch(base, status)}};
  auto r = client_->patch(apiPath("", "v1", "pods", ns, name, "status"), patch, PatchType::Merge);
  if (!r) {
    SKIFF_LOG_WARN(lg, "Failed to update status for pod, will retry", kv("pod", podRef(pod)),
                   kv("err", r.error().message()));
    return;
  }
  SKIFF_LOG_DEBUG(lg, "Status for pod updated successfully", kv("pod", podRef(pod)),
                  kv("phase", status.value("phase", "")));
  std::lock_guard lk(mu_);
  sent_status_[uid] = SentStatus{hash, settledStatus(status)};
  auto it = pods_.find(uid);
  if (it != pods_.end() && r->contains("metadata") && (*r)["metadata"].value("uid", "") == uid) {
    json updated = it->second.decode();
    updated["status"] = (*r)["status"];
    it->second = store(updated);
  }
}

void Kubelet::ensureMirrorPod(const json& pod) {
  // A static pod is mirrored into the API so kubectl sees it (annotation
  // kubernetes.io/config.mirror carries the static pod's hash = its uid here).
  std::string ns = pod["metadata"].value("namespace", "default");
  std::string name = pod["metadata"].value("name", "");
  auto cur = client_->get(apiPath("", "v1", "pods", ns, name));
  if (cur) return;
  json mirror = pod;
  mirror["metadata"].erase("uid");
  mirror["metadata"].erase("resourceVersion");
  mirror["metadata"]["annotations"]["kubernetes.io/config.mirror"] =
      pod["metadata"].value("uid", "");
  mirror.erase("status");
  (void)client_->create(apiPath("", "v1", "pods", ns), mirror);
}

// The pod is gone from the API: stop and remove what the runtime still has of it.
void Kubelet::cleanupOrphan(const std::string& uid) {
  auto lg = skiff::log::get("agent");
  // TerminatedPod for an orphan: the API no longer has it. Kill quickly and clean up.
  auto view = syncer_.runtimeView(uid);
  if (view && (view->sandbox || !view->containers.empty())) {
    SKIFF_LOG_INFO(lg, "Cleaning up orphaned pod", kv("podUID", uid));
    json stub = {{"metadata", {{"uid", uid}}}, {"spec", json::object()}};
    (void)syncer_.killPod(stub, std::chrono::seconds(2));
    auto r = syncer_.cleanupPod(uid);
    if (!r)
      SKIFF_LOG_WARN(lg, "Orphan cleanup failed, will retry", kv("podUID", uid),
                     kv("err", r.error().message()));
  }
  std::lock_guard lk(mu_);
  sent_status_.erase(uid);
  finished_.erase(uid);
  admitted_.erase(uid);
  rejected_.erase(uid);
  evicted_.erase(uid);
}

// The pod has a deletionTimestamp: kill it, report its final status, clean up, delete it.
void Kubelet::syncTerminating(const std::string& uid, const json& pod) {
  auto lg = skiff::log::get("agent");
  const json& md = pod["metadata"];
  // TerminatingPod -> TerminatedPod.
  int64_t grace = md.value("deletionGracePeriodSeconds",
                           pod["spec"].value("terminationGracePeriodSeconds", int64_t(30)));
  SKIFF_LOG_INFO(lg, "Killing pod", kv("pod", podRef(pod)), kv("gracePeriod", grace));
  auto killed = syncer_.killPod(pod, std::chrono::seconds(grace));
  if (!killed) {
    SKIFF_LOG_WARN(lg, "Killing pod failed, will retry", kv("pod", podRef(pod)),
                   kv("err", killed.error().message()));
    return;
  }
  auto st = syncer_.currentStatus(pod);
  if (st) {
    // kubelet reports a terminating pod's final phase: Failed unless every container ended 0.
    json s = *st;
    if (s.value("phase", "") == "Running" || s.value("phase", "") == "Pending") {
      s["phase"] = pod["spec"].value("restartPolicy", "Always") == "Always" ? "Failed" : s["phase"];
    }
    patchStatus(pod, s);
  }
  auto cleaned = syncer_.cleanupPod(uid);
  if (!cleaned) {
    SKIFF_LOG_WARN(lg, "Pod cleanup failed, will retry", kv("pod", podRef(pod)),
                   kv("err", cleaned.error().message()));
    return;
  }
  auto del = client_->remove(
      apiPath("", "v1", "pods", md.value("namespace", ""), md.value("name", "")), 0, uid);
  if (!del && !del.error().is(ErrorCode::NotFound) && !del.error().is(ErrorCode::Conflict)) {
    SKIFF_LOG_WARN(lg, "Final pod delete failed, will retry", kv("pod", podRef(pod)),
                   kv("err", del.error().message()));
    return;
  }
  SKIFF_LOG_INFO(lg, "Pod deleted", kv("pod", podRef(pod)));
}

// Admits the pod once per UID; a pod that does not fit is recorded in rejected_.
void Kubelet::admitOnce(const std::string& uid, const json& pod) {
  auto lg = skiff::log::get("agent");
  bool admitted;
  {
    std::lock_guard lk(mu_);
    admitted = admitted_.count(uid) > 0;
  }
  if (!admitted && !terminalPhase(pod)) {
    // A pod the runtime already runs (agent restart) was admitted before: keep it.
    auto view = syncer_.runtimeView(uid);
    bool running_already = view && view->sandbox.has_value();
    std::optional<WaitingReason> why;
    std::function<std::optional<WaitingReason>(const json&)> hook;
    if (!running_already) {
      // Checked against the admitted pods in place, under the lock: copying each of them for
      // every new pod made a burst of N pods cost N^2/2 pod copies.
      std::lock_guard lk(mu_);
      hook = admit_hook_;
      std::vector<const PodFootprint*> others;
      others.reserve(admitted_.size());
      for (const auto& a : admitted_) {
        auto it = pods_.find(a);
        if (it != pods_.end() && !it->second.terminal) others.push_back(&it->second.footprint);
      }
      why = admitPodAmong(pod, others, limits_);
    }
    if (!running_already && !why && hook) why = hook(pod);  // outside the lock: it reads us
    std::lock_guard lk(mu_);
    if (why) {
      rejected_[uid] = *why;
      SKIFF_LOG_WARN(lg, "Pod admission denied", kv("pod", podRef(pod)), kv("reason", why->reason),
                     kv("message", why->message));
    } else {
      admitted_.insert(uid);
    }
  }
}

// Returns whether the live pod was past its activeDeadlineSeconds (and so was failed here).
bool Kubelet::enforceActiveDeadline(const std::string& uid, const json& pod) {
  auto lg = skiff::log::get("agent");
  if (terminalPhase(pod) || !pastActiveDeadline(pod)) return false;
  // kubelet's activeDeadlineHandler: the pod is failed and its containers are killed with
  // the pod's own grace period; the Event says why.
  static const std::string kMessage =
      "Pod was active on the node longer than the specified deadline";
  Eviction deadline{
      kMessage,
      std::chrono::seconds(pod["spec"].value("terminationGracePeriodSeconds", std::int64_t(30))),
      events::kDeadlineExceeded, false};
  bool first;
  {
    std::lock_guard lk(mu_);
    first = evicted_.emplace(uid, deadline).second;
    finished_.insert(uid);
  }
  if (first) {
    SKIFF_LOG_INFO(lg, "Pod past its active deadline", kv("pod", podRef(pod)));
    if (events_ != nullptr)
      events_->podEvent(pod, "", "Normal", events::kDeadlineExceeded, kMessage);
  }
  syncEvicted(pod, deadline);
  return true;
}

// An admitted pod: stop it if it finished, else sync it with the runtime and report its status
// (on the mirror pod for a static pod).
void Kubelet::syncAdmittedPod(const std::string& uid, const json& pod, bool is_static) {
  auto lg = skiff::log::get("agent");
  bool finished;
  {
    std::lock_guard lk(mu_);
    finished = finished_.count(uid) > 0;
  }
  if (terminalPhase(pod) || finished) {
    // Terminal pods keep their containers for logs, but nothing runs: stop the sandbox.
    (void)syncer_.killPod(pod, std::chrono::seconds(0));
    return;
  }
  PodRuntimeView seen;
  auto st = syncer_.syncPod(pod, &seen);
  if (!st) {
    SKIFF_LOG_WARN(lg, "Error syncing pod, skipping", kv("pod", podRef(pod)),
                   kv("err", st.error().message()));
    return;
  }
  notePlegState(uid, seen);
  std::string phase = st->value("phase", "");
  if (phase == "Succeeded" || phase == "Failed") {
    // Terminal: never sync this UID into a new sandbox again (kubelet's "terminated" state).
    {
      std::lock_guard lk(mu_);
      finished_.insert(uid);
    }
    (void)syncer_.killPod(pod, std::chrono::seconds(0));
  }
  if (is_static) {
    // Mirror pods have their own UID: report the status on the mirror object.
    auto mirror = client_->get(apiPath("", "v1", "pods", pod["metadata"].value("namespace", ""),
                                       pod["metadata"].value("name", "")));
    if (mirror) patchStatus(*mirror, *st);
    return;
  }
  patchStatus(pod, *st);
}

void Kubelet::syncUid(const std::string& uid) {
  std::optional<json> pod;
  bool is_static = false;
  std::optional<WaitingReason> rejected;
  {
    std::lock_guard lk(mu_);
    auto it = pods_.find(uid);
    if (it != pods_.end()) pod = it->second.decode();
    is_static = static_uids_.count(uid) > 0;
    auto r = rejected_.find(uid);
    if (r != rejected_.end()) rejected = r->second;
  }
  if (!pod) {
    cleanupOrphan(uid);
    return;
  }
  const json& md = (*pod)["metadata"];
  if (md.contains("deletionTimestamp") && !md["deletionTimestamp"].is_null()) {
    syncTerminating(uid, *pod);
    return;
  }
  if (rejected) {
    auto st = syncer_.currentStatus(*pod, rejected);
    if (st) patchStatus(*pod, *st);
    return;
  }
  std::optional<Eviction> evicted;
  {
    std::lock_guard lk(mu_);
    auto e = evicted_.find(uid);
    if (e != evicted_.end()) evicted = e->second;
  }
  if (evicted) {
    syncEvicted(*pod, *evicted);
    return;
  }
  // Admission (once per UID).
  admitOnce(uid, *pod);
  {
    std::lock_guard lk(mu_);
    auto r = rejected_.find(uid);
    if (r != rejected_.end()) rejected = r->second;
  }
  if (rejected) {
    auto st = syncer_.currentStatus(*pod, rejected);
    if (st) patchStatus(*pod, *st);
    return;
  }
  if (is_static) ensureMirrorPod(*pod);
  if (enforceActiveDeadline(uid, *pod)) return;
  syncAdmittedPod(uid, *pod, is_static);
}

}  // namespace skiff::agent
