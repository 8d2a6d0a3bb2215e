#pragma once

// The kubelet's event recorder (client-go tools/record with its EventCorrelator): core/v1 Events
// about pods and the node with source {component: kubelet, host: <node>}, posted from a
// background thread so pod work never waits on the API. Repeats of the same event (same object
// and fieldPath, type, reason and message) are not created again: the existing Event's `count`
// and `lastTimestamp` are PATCHed, as the correlator's EventLogger does. Best-effort: a failed
// post is logged and dropped; the queue is bounded (client-go's broadcaster drops too).

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "skiff/agent/backoff.h"
#include "skiff/agent/kube_client.h"

namespace skiff::agent {

// Event reasons the kubelet uses (pkg/kubelet/events/event.go).
namespace events {
inline constexpr const char* kPulling = "Pulling";
inline constexpr const char* kPulled = "Pulled";
inline constexpr const char* kFailed = "Failed";
inline constexpr const char* kBackOff = "BackOff";
inline constexpr const char* kErrImageNeverPull = "ErrImageNeverPull";
inline constexpr const char* kCreated = "Created";
inline constexpr const char* kStarted = "Started";
inline constexpr const char* kKilling = "Killing";
inline constexpr const char* kUnhealthy = "Unhealthy";
inline constexpr const char* kFailedMount = "FailedMount";
inline constexpr const char* kEvicted = "Evicted";
inline constexpr const char* kDeadlineExceeded = "DeadlineExceeded";
inline constexpr const char* kFailedPostStartHook = "FailedPostStartHook";
inline constexpr const char* kFailedPreStopHook = "FailedPreStopHook";
}  // namespace events

class EventRecorder {
 public:
  // `host`: the node name (source.host, reportingInstance). `async` false posts inline (tests).
  EventRecorder(KubeClientPtr client, std::string host, WallClock clock, bool async = true);
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // An event about a pod; `field_path` names a container ("spec.containers{c}") or is empty.
  void podEvent(const nlohmann::json& pod, const std::string& field_path, const std::string& type,
                const std::string& reason, const std::string& message);
  // An event about a PersistentVolumeClaim (the node's part of provisioning a local-path volume).
  void claimEvent(const nlohmann::json& pvc, const std::string& type, const std::string& reason,
                  const std::string& message);
  // An event about this node (kind Node, uid = node name as the kubelet's node reference has).
  void nodeEvent(const std::string& type, const std::string& reason, const std::string& message);
  // Waits until every queued event was posted (tests, shutdown).
  void flush();
  void stop();

  // kubelet's field path of a container: spec.containers{c}, spec.initContainers{c}.
  static std::string containerFieldPath(const nlohmann::json& pod, const std::string& container);

 private:
  struct Item {
    nlohmann::json involved;  // involvedObject
    std::string type, reason, message;
    std::string time;
  };
  struct Entry {
    std::string ns, name;
    int64_t count = 0;
  };
  void enqueue(Item item);
  void post(const Item& item);
  void run();

  KubeClientPtr client_;
  std::string host_;
  WallClock clock_;
  bool async_;
  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<Item> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::map<std::string, Entry> cache_;  // correlation key -> the Event it created
  std::list<std::string> lru_;
  uint64_t seq_ = 0;
  std::thread thread_;
};

}  // namespace skiff::agent
