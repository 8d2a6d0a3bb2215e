#pragma once

// The pod side of the agent: keeps the pods bound to this node (from a Reflector with
// fieldSelector spec.nodeName=<node>), admits them, hands each UID to PodWorkers and turns a
// sync into the right step of the lifecycle documented on PodWorkers, then patches pods/status
// only when the status changed. A PLEG-style relist of the runtime (every second) triggers a
// sync of the pods whose containers changed state.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "skiff/agent/event_recorder.h"
#include "skiff/agent/kube_client.h"
#include "skiff/agent/pod_status.h"
#include "skiff/agent/pod_sync.h"
#include "skiff/agent/pod_workers.h"
#include "skiff/agent/resources.h"

namespace skiff::agent {

struct KubeletLimits {
  int64_t allocatable_milli_cpu = 0;
  int64_t allocatable_memory = 0;
  int64_t max_pods = 110;
};

// kubelet's admission check (pkg/kubelet/lifecycle/predicate.go): the reason/message a pod is
// rejected with, or nullopt when it fits next to `admitted`.
std::optional<WaitingReason> admitPod(const nlohmann::json& pod,
                                      const std::vector<nlohmann::json>& admitted,
                                      const KubeletLimits& limits);
// What admission reads of an admitted pod: its effective requests and its host ports.
struct PodFootprint {
  PodResources requests;
  std::vector<std::tuple<std::string, int, std::string>> host_ports;  // protocol, port, host IP
};
PodFootprint podFootprint(const nlohmann::json& pod);
// The same check against the footprints of the admitted pods (the kubelet keeps one per pod).
std::optional<WaitingReason> admitPodAmong(const nlohmann::json& pod,
                                           const std::vector<const PodFootprint*>& admitted,
                                           const KubeletLimits& limits);

// kubelet's podsDifferSemantically (pkg/kubelet/config): whether an update of a pod changes what
// a sync acts on (spec, labels, annotations, deletionTimestamp, deletionGracePeriodSeconds), as
// opposed to its status only.
bool podsDifferSemantically(const nlohmann::json& a, const nlohmann::json& b);

// A JSON merge patch turning `from` into `to` for the keys in `owned` (others are left alone).
nlohmann::json statusMergePatch(const nlohmann::json& from, const nlohmann::json& to);

class Kubelet final : public ReflectorHandler {
 public:
  Kubelet(KubeClientPtr client, PodSyncer& syncer, ContainerRuntime& runtime, KubeletLimits limits,
          int worker_threads = 4);
  ~Kubelet() override;

  // ReflectorHandler (the pods bound to this node).
  void replace(const std::vector<nlohmann::json>& items) override;
  void apply(const WatchEvent& event) override;

  // PLEG: relist the runtime and sync pods whose containers changed.
  void relist();
  // Periodic resync (kubelet's syncFrequency): `full` syncs every pod (ConfigMap refresh);
  // otherwise only pods that are not running and ready (backoff expiry, pending volumes).
  void resyncAll(bool full = true);
  // Static pods from the manifest directory (source "file"), keyed by their UID.
  void setStaticPods(const std::vector<nlohmann::json>& pods);
  void setLimits(const KubeletLimits& limits);
  // An extra admission check run after the resource/port one (the eviction manager's).
  void setAdmitHook(std::function<std::optional<WaitingReason>(const nlohmann::json&)> hook);
  // Pods admitted, running or about to, not terminating: what the eviction manager may evict.
  std::vector<nlohmann::json> activePods();
  // Evicts a pod (kubelet's eviction manager killPodFunc): its worker kills the containers,
  // reports phase Failed with reason Evicted and `message`, and frees its local volumes. The
  // containers get `grace_period` to stop (1 s for hard thresholds).
  bool evictPod(const nlohmann::json& pod, const std::string& message,
                std::chrono::seconds grace_period = std::chrono::seconds(1));

  // Lookups for the kubelet API.
  std::optional<nlohmann::json> findPod(const std::string& ns, const std::string& name);
  std::vector<nlohmann::json> pods();
  std::optional<nlohmann::json> podByUid(const std::string& uid);
  void setEventRecorder(EventRecorder* recorder) { events_ = recorder; }
  void updateUid(const std::string& uid) { workers_.updatePod(uid); }
  void stop();
  void waitIdleForTest() { workers_.waitIdleForTest(); }

 private:
  void syncUid(const std::string& uid);
  // The steps of syncUid, in the order it takes them.
  void cleanupOrphan(const std::string& uid);
  void syncTerminating(const std::string& uid, const nlohmann::json& pod);
  void admitOnce(const std::string& uid, const nlohmann::json& pod);
  bool enforceActiveDeadline(const std::string& uid, const nlohmann::json& pod);
  void syncAdmittedPod(const std::string& uid, const nlohmann::json& pod, bool is_static);
  void patchStatus(const nlohmann::json& pod, const nlohmann::json& status);
  // Records the pod's containers as the sync's status saw them in the PLEG's view, so the next
  // relist wakes the pod only for what changed after that status. Otherwise every container a
  // sync starts is reported as new a second later and costs the pod a sync that does nothing.
  void notePlegState(const std::string& uid, const PodRuntimeView& view);
  void ensureMirrorPod(const nlohmann::json& pod);
  // Why the kubelet itself ends a pod: the eviction manager (reason Evicted, with the
  // DisruptionTarget condition) or the pod's activeDeadlineSeconds (DeadlineExceeded).
  struct Eviction {
    std::string message;
    std::chrono::seconds grace_period{1};
    std::string reason = "Evicted";
    bool disruption = true;
  };
  // activeDeadlineHandler: the pod has run `spec.activeDeadlineSeconds` since status.startTime.
  static bool pastActiveDeadline(const nlohmann::json& pod);
  void syncEvicted(const nlohmann::json& pod, const Eviction& eviction);

  KubeClientPtr client_;
  PodSyncer& syncer_;
  ContainerRuntime& runtime_;
  std::mutex mu_;
  KubeletLimits limits_;
  // A pod as kept between syncs: CBOR-encoded, about a fifth of the memory of the parsed tree
  // and one allocation instead of hundreds (a node's worth of pods was a quarter of the agent's
  // heap), with what admission and the lookups read beside it. A sync decodes its own copy.
  struct StoredPod {
    std::string ns, name;
    std::vector<std::uint8_t> cbor;
    bool terminal = false;  // status.phase Succeeded or Failed
    bool deleting = false;  // metadata.deletionTimestamp set
    bool deadline = false;  // spec.activeDeadlineSeconds set: looked at on every short resync
    PodFootprint footprint;
    nlohmann::json decode() const { return nlohmann::json::from_cbor(cbor); }
  };
  static StoredPod store(const nlohmann::json& pod);
  // The last status patched, as a hash of its serialization (only compared for equality), and
  // whether it showed the pod settled: Running with every container running and ready.
  struct SentStatus {
    std::size_t hash = 0;
    bool settled = false;
  };
  std::map<std::string, StoredPod> pods_;  // uid -> pod (API or static)
  std::set<std::string> static_uids_;
  std::map<std::string, SentStatus> sent_status_;  // uid -> last status patched
  std::set<std::string> admitted_;
  std::set<std::string> finished_;  // reached Succeeded/Failed: containers are not restarted
  std::map<std::string, WaitingReason> rejected_;
  std::map<std::string, Eviction> evicted_;  // by uid
  std::function<std::optional<WaitingReason>(const nlohmann::json&)> admit_hook_;
  std::map<std::string, std::string> pleg_;  // container id -> state+uid
  bool listed_ = false;
  EventRecorder* events_ = nullptr;
  PodWorkers workers_;
};

}  // namespace skiff::agent
