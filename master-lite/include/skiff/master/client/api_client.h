#pragma once

// The in-process Kubernetes API client that the scheduler and controllers use. The API server
// implements it directly over its registry (same validation, defaulting, admission and store as
// an HTTP request from kubelet or kubectl, acting as a `system:masters` identity), and
// skiff/master/testing/fake_api_client.h implements it in memory for unit tests.
//
// Objects are Kubernetes JSON exactly as the REST API carries them (nlohmann::json at the edges,
// DESIGN.md "Interfaces that matter"). Errors are skiff::Error with the code master-lite maps to
// a Status reason: NotFound, AlreadyExists, Conflict (stale resourceVersion), Invalid, Gone (410,
// watch from a compacted revision), Forbidden.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"

namespace skiff::master {

using json = nlohmann::json;

// A resource collection, as in a REST path: /apis/<group>/<version>/namespaces/<ns>/<resource>.
// group is "" for the core group. resource is the lower-case plural ("pods", "deployments").
struct GroupVersionResource {
  std::string group;
  std::string version;
  std::string resource;

  bool operator==(const GroupVersionResource&) const = default;
};

// The resources the controllers use, named once.
namespace gvr {
inline const GroupVersionResource kPods{"", "v1", "pods"};
inline const GroupVersionResource kNodes{"", "v1", "nodes"};
inline const GroupVersionResource kNamespaces{"", "v1", "namespaces"};
inline const GroupVersionResource kServices{"", "v1", "services"};
inline const GroupVersionResource kEndpoints{"", "v1", "endpoints"};
inline const GroupVersionResource kEvents{"", "v1", "events"};
inline const GroupVersionResource kServiceAccounts{"", "v1", "serviceaccounts"};
inline const GroupVersionResource kSecrets{"", "v1", "secrets"};
inline const GroupVersionResource kConfigMaps{"", "v1", "configmaps"};
inline const GroupVersionResource kReplicationControllers{"", "v1", "replicationcontrollers"};
inline const GroupVersionResource kDeployments{"apps", "v1", "deployments"};
inline const GroupVersionResource kReplicaSets{"apps", "v1", "replicasets"};
inline const GroupVersionResource kStatefulSets{"apps", "v1", "statefulsets"};
inline const GroupVersionResource kDaemonSets{"apps", "v1", "daemonsets"};
inline const GroupVersionResource kControllerRevisions{"apps", "v1", "controllerrevisions"};
inline const GroupVersionResource kJobs{"batch", "v1", "jobs"};
inline const GroupVersionResource kCronJobs{"batch", "v1", "cronjobs"};
inline const GroupVersionResource kEndpointSlices{"discovery.k8s.io", "v1", "endpointslices"};
inline const GroupVersionResource kLeases{"coordination.k8s.io", "v1", "leases"};
inline const GroupVersionResource kPriorityClasses{"scheduling.k8s.io", "v1", "priorityclasses"};
}  // namespace gvr

struct ListOptions {
  std::string label_selector;  // Kubernetes syntax, including set-based: "app=web,tier in (a,b)"
  std::string field_selector;  // "spec.nodeName=node-1", "metadata.name=x", "status.phase!=Failed"
  std::int64_t limit = 0;      // 0 = no limit
  std::string continue_token;
  std::string resource_version;  // list: "" = most recent; watch: start after this revision
  bool allow_watch_bookmarks = false;
};

struct ObjectList {
  std::vector<json> items;
  std::string resource_version;  // the store revision the list was read at
  std::string continue_token;    // non-empty when `limit` cut the list short
};

enum class PatchType {
  Json,            // application/json-patch+json (RFC 6902)
  Merge,           // application/merge-patch+json (RFC 7386)
  StrategicMerge,  // application/strategic-merge-patch+json
};

struct DeleteOptions {
  std::optional<std::int64_t> grace_period_seconds;
  std::string propagation_policy;         // "", "Background", "Foreground", "Orphan"
  std::optional<bool> orphan_dependents;  // the deprecated form: true = Orphan, false = Background
  std::optional<std::string> precondition_uid;
  std::optional<std::string> precondition_resource_version;
};

enum class WatchEventType { Added, Modified, Deleted, Bookmark, Error };

struct WatchEvent {
  WatchEventType type;
  json object;  // the object; for Error, a metav1.Status (code 410 when the revision is compacted)
};

// A running watch. Destroying it (or stop()) ends delivery; after stop() returns the handler is
// never called again.
class Watch {
 public:
  virtual ~Watch() = default;
  virtual void stop() = 0;
};
using WatchPtr = std::unique_ptr<Watch>;
// By value: a handler that keeps the object (an informer's cache) moves it instead of copying.
using WatchHandler = std::function<void(WatchEvent)>;

// Thread-safe. Namespaced calls take ns; cluster-scoped resources pass ns = "".
// `subresource` is "" for the object itself, or "status", "scale", "binding", "eviction".
class ApiClient {
 public:
  virtual ~ApiClient() = default;

  // r.resource may name a subresource: "deployments/scale" gets the autoscaling/v1 Scale.
  virtual Result<json> get(const GroupVersionResource& r, const std::string& ns,
                           const std::string& name) = 0;
  virtual Result<ObjectList> list(const GroupVersionResource& r, const std::string& ns,
                                  const ListOptions& opts) = 0;
  // Create; for subresource "binding"/"eviction" `obj` is the Binding/Eviction and `name` the pod.
  virtual Result<json> create(const GroupVersionResource& r, const std::string& ns, const json& obj,
                              const std::string& subresource = "",
                              const std::string& name = "") = 0;
  // Update with optimistic concurrency: a stale metadata.resourceVersion -> Conflict.
  virtual Result<json> update(const GroupVersionResource& r, const std::string& ns, const json& obj,
                              const std::string& subresource = "") = 0;
  virtual Result<json> patch(const GroupVersionResource& r, const std::string& ns,
                             const std::string& name, PatchType type, const json& patch,
                             const std::string& subresource = "") = 0;
  // Returns the deleted object, or the object with deletionTimestamp set when deletion is
  // graceful or waits on finalizers (as the REST API does).
  virtual Result<json> remove(const GroupVersionResource& r, const std::string& ns,
                              const std::string& name, const DeleteOptions& opts = {}) = 0;
  // Events for objects in ns ("" = all namespaces) matching the selectors, strictly after
  // opts.resource_version (""/"0" = from now). Delivered in revision order, on a thread owned by
  // the implementation; the handler must not block for long.
  virtual Result<WatchPtr> watch(const GroupVersionResource& r, const std::string& ns,
                                 const ListOptions& opts, WatchHandler handler) = 0;
};

}  // namespace skiff::master
