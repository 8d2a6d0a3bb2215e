#pragma once

// The registry: every API verb on every built-in resource, over the Store, with the same
// defaulting, admission, validation and watch semantics for HTTP requests (kubectl, kubelet) and
// in-process callers (scheduler, controllers through ApiClient). HTTP concerns (URLs, headers,
// Tables, Status bodies) live in the handler; errors here are skiff::Error whose code maps to
// the Status reason and whose message is the Kubernetes message.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"
#include "skiff/master/api/admission.h"
#include "skiff/master/api/defaults.h"
#include "skiff/master/api/resources.h"
#include "skiff/master/api/strategy.h"
#include "skiff/master/client/api_client.h"
#include "skiff/master/selectors.h"
#include "skiff/master/serviceaccount/tokens.h"
#include "skiff/master/store/store.h"

namespace skiff::master::rbac {
class PolicyIndex;
}

namespace skiff::master::api {

using json = nlohmann::json;

struct UserInfo {
  std::string name;
  std::vector<std::string> groups;
  // Defaulted so that {name, groups} initialisers stay warning-free.
  std::string uid = {};                                        // "" when the source has none
  std::map<std::string, std::vector<std::string>> extra = {};  // user.Info's Extra
  bool inGroup(const std::string& g) const;
};

// What a write request says besides its body.
struct WriteOptions {
  bool dry_run = false;
  std::string field_manager;  // "" = derived from the caller
  bool force = false;         // server-side apply: take over conflicting fields
  UserInfo user;
  // Where admission plugins put warnings and audit annotations (null: dropped).
  AdmissionNotes* notes = nullptr;
};

struct WriteResult {
  json object;
  bool created = false;     // 201 instead of 200
  bool deleted_now = true;  // delete: gone at once (200) or pending (202 with the object)
};

enum class PatchKind { Json, Merge, Strategic, Apply };

struct RegistryOptions {
  // The root of every store key (kube-apiserver's --etcd-prefix; storage_keys.h).
  std::string storage_prefix = "/registry";
  std::string service_cidr = "10.96.0.0/12";
  int node_port_min = 30000;
  int node_port_max = 32767;
  DefaultingOptions defaulting;
  // Signs a node client certificate request (PEM CSR) -> PEM certificate. Unset = CSRs stay
  // pending.
  using SignCsr =
      std::function<Result<std::string>(const std::string& csr_pem, std::int64_t seconds)>;
  SignCsr sign_csr;
  // Signs ServiceAccount tokens (serviceaccounts/token). Unset = the subresource is not served.
  std::shared_ptr<const serviceaccount::TokenIssuer> service_account_tokens;
  std::string root_ca_pem;  // ca.crt of legacy token Secrets
  // ServiceAccount admission on pod create (plugin/pkg/admission/serviceaccount): the account
  // must exist, and the kube-api-access-<suffix> volume is mounted. skiff-master turns it on.
  bool service_account_admission = false;
  // The kubernetes.io/kube-apiserver-client signer: signs a user's client certificate request
  // once the CSR is approved (`kubectl certificate approve`). Unset = such CSRs stay unsigned.
  SignCsr sign_client_csr;
  // --authorization-mode: the authorizers in order, the first that allows decides (kube-
  // apiserver's chain): "Node", "RBAC", "AlwaysAllow", "AlwaysDeny". system:masters is allowed
  // before any of them. Requests, SubjectAccessReviews and the RBAC escalation checks all ask it.
  std::vector<std::string> authorization_modes{"Node", "RBAC"};
  // The suffix a generateName gets (unset: 5 random characters, as upstream's); tests set it to
  // provoke a taken name.
  std::function<std::string()> name_suffix;
};

// A list request's selection, shared by list, watch and deletecollection: a client's ListOptions,
// and sendInitialEvents, which only an HTTP request carries.
struct Selection : ListOptions {
  bool send_initial_events = false;
};

// One event of a watch, decoded once and shared by every watcher that receives it.
struct DecodedEvent;

// A running watch. Events queue up inside (bounded); the consumer drains them with next() on
// any thread and is woken through the notify callback. Closed when the store watch fails, when
// the queue overflows (a client that does not read) or on stop().
class WatchQueue {
 public:
  struct Item {
    WatchEventType type;
    json object;          // ready to send: kind, apiVersion, resourceVersion set (see encodedOnly)
    std::string encoded;  // the compact JSON line of {"type","object"} (see encodedOnly)
  };
  ~WatchQueue();
  // For a consumer that sends `encoded` whenever it is set (an HTTP JSON stream): items of the
  // stored version carry the line, built from one JSON text per event shared by all such
  // watchers, and leave `object` null. Other items, and every item of a queue without this,
  // carry `object` (a copy per watcher) and no line.
  void encodedOnly();
  // Non-blocking: everything available now (at most `max`).
  std::vector<Item> next(std::size_t max = 256);
  bool closed() const;
  // A BOOKMARK carrying the latest revision seen.
  Item bookmark() const;
  void setNotify(const std::function<void()>& fn);
  void stop();

 private:
  friend class Registry;
  struct Impl;
  std::shared_ptr<Impl> impl_;
};
using WatchQueuePtr = std::unique_ptr<WatchQueue>;

// kube-apiserver's master lease TTL (--endpoint-reconciler-type=lease) and how often each server
// renews its lease and reconciles the `kubernetes` endpoints.
inline constexpr std::chrono::seconds kMasterLeaseTtl{15};
inline constexpr std::chrono::seconds kMasterLeaseRenewEvery{10};

class Registry {
 public:
  Registry(store::Store& store, RegistryOptions options);
  ~Registry();

  // Creates the default namespaces and the `kubernetes` Service/Endpoints (idempotent).
  Result<void> bootstrap(const std::string& advertise_address, int secure_port);
  // kube-apiserver's lease endpoint reconciler (--endpoint-reconciler-type=lease): renews this
  // server's lease under <prefix>/masterleases/<address> until `now + ttl`, drops the leases
  // of servers that stopped renewing, and points the `kubernetes` Endpoints and EndpointSlice
  // at every server still holding one, so in-cluster clients reach whichever masters are up.
  Result<void> reconcileMasterEndpoints(const std::string& advertise_address, int secure_port,
                                        std::chrono::system_clock::time_point now,
                                        std::chrono::seconds ttl);
  // On a clean shutdown: this server's lease goes and the endpoints follow at once.
  Result<void> removeMasterEndpoint(const std::string& advertise_address, int secure_port);

  Result<json> get(const ResourceInfo& r, const std::string& ns, const std::string& name,
                   const std::string& subresource = "");
  // A <Kind>List with metadata.resourceVersion (and continue).
  Result<json> list(const ResourceInfo& r, const std::string& ns, const Selection& sel);
  // The same list as JSON text, spliced from the stored values without building a DOM of every
  // item (LIST of 10k pods in milliseconds and without the memory of 10k parsed objects).
  Result<std::string> listText(const ResourceInfo& r, const std::string& ns, const Selection& sel);
  Result<WriteResult> create(const ResourceInfo& r, const std::string& ns, json obj,
                             const WriteOptions& opts, const std::string& subresource = "",
                             const std::string& name = "");
  Result<WriteResult> update(const ResourceInfo& r, const std::string& ns, const std::string& name,
                             json obj, const WriteOptions& opts,
                             const std::string& subresource = "");
  Result<WriteResult> patch(const ResourceInfo& r, const std::string& ns, const std::string& name,
                            PatchKind kind, const json& patch, const WriteOptions& opts,
                            const std::string& subresource = "");
  Result<WriteResult> remove(const ResourceInfo& r, const std::string& ns, const std::string& name,
                             const DeleteOptions& del, const WriteOptions& opts);
  Result<json> removeCollection(const ResourceInfo& r, const std::string& ns, const Selection& sel,
                                const DeleteOptions& del, const WriteOptions& opts);
  Result<WatchQueuePtr> watch(const ResourceInfo& r, const std::string& ns, const Selection& sel);

  store::Store& store() { return store_; }
  // A stored value of `r` as list and get return it (resourceVersion `mod_revision`, converted
  // to r's version): for caches fed by a store watch (object_cache.h).
  Result<json> decodeStored(const ResourceInfo& r, const std::string& value,
                            std::int64_t mod_revision) const;
  // Where `r`'s objects of namespace `ns` live in the store (storage_keys.h, under this
  // registry's root), ending in '/'; with `name`, that object's key.
  std::string storageKey(const ResourceInfo& r, const std::string& ns,
                         const std::string& name = "") const {
    return key(r, ns, name);
  }
  // The per-kind strategies (strategy.h); CustomResourceDefinitions add theirs here.
  StrategyRegistry& strategies();
  // Adds a validating admission plugin (admission.h), run on every create and update of a main
  // resource after the kind's strategy admitted it. Call before serving requests.
  void addAdmissionPlugin(std::shared_ptr<AdmissionPlugin> plugin);
  // The RBAC objects of the store, indexed by subject and kept current (rbac/policy_index.h).
  rbac::PolicyIndex& policy();
  const std::vector<std::string>& authorizationModes() const {
    return options_.authorization_modes;
  }
  // Where get and list of metrics.k8s.io (NodeMetrics, PodMetrics) are answered from: the
  // built-in metrics scraper, not the store. `name` "" = list. Unset: NotFound / empty lists.
  using MetricsSource = std::function<Result<json>(const ResourceInfo& r, const std::string& ns,
                                                   const std::string& name, const Selection& sel)>;
  void setMetricsSource(MetricsSource source) { metrics_ = std::move(source); }
  // How objects of a CRD whose conversion strategy is Webhook change version: `objects` (each
  // at its own apiVersion) to `desired_api_version`, in one ConversionReview, answered in the
  // same order (skiff/master/apiextensions/conversion_webhook.h). Unset: such objects are only
  // relabelled, as with strategy None (registry-only tests).
  using CustomConverter = std::function<Result<std::vector<json>>(
      const ResourceInfo& r, std::vector<json> objects, const std::string& desired_api_version)>;
  void setCustomConverter(CustomConverter converter) { converter_ = std::move(converter); }

 private:
  struct State;
  store::Store& store_;
  RegistryOptions options_;
  std::unique_ptr<State> state_;
  std::vector<std::shared_ptr<AdmissionPlugin>> admission_;
  MetricsSource metrics_;
  CustomConverter converter_;

  std::string key(const ResourceInfo& r, const std::string& ns, const std::string& name) const;
  std::string prefix(const ResourceInfo& r, const std::string& ns) const;
  Result<json> read(const ResourceInfo& r, const std::string& ns, const std::string& name,
                    std::int64_t* mod_revision);
  Result<void> writeKubernetesEndpoints(const std::vector<std::string>& addresses, int secure_port);
  Result<WriteResult> createObject(const ResourceInfo& r, const std::string& ns, json obj,
                                   const WriteOptions& opts);
  // One attempt of createObject (with one generated name, when the object asks for one).
  Result<WriteResult> createObjectOnce(const ResourceInfo& r, const std::string& ns, json obj,
                                       const WriteOptions& opts);
  Result<WriteResult> createReview(const ResourceInfo& r, const std::string& ns, json obj,
                                   const WriteOptions& opts);
  // `writes`: the admission plugins' writes to commit with the object (null: none).
  Result<WriteResult> storeCreated(const ResourceInfo& r, const std::string& ns, json obj,
                                   const WriteOptions& opts, Strategy& strategy,
                                   AdmissionWrites* writes = nullptr);
  // pods/binding and pods/eviction (pod_subresources.cc).
  Result<WriteResult> bindPod(const ResourceInfo& r, const std::string& ns, const std::string& name,
                              const json& binding, const WriteOptions& opts);
  Result<WriteResult> evictPod(const ResourceInfo& r, const std::string& ns,
                               const std::string& name, const json& eviction,
                               const WriteOptions& opts);
  // The eviction's charge against the pod's PodDisruptionBudget (429 when it allows none).
  Result<void> chargeDisruptionBudget(const std::string& ns, const json& pod, bool dry_run);
  // serviceaccounts/token (serviceaccount_token.cc).
  Result<WriteResult> requestToken(const ResourceInfo& r, const std::string& ns,
                                   const std::string& name, const json& token_request,
                                   const WriteOptions& opts);
  Result<void> bindTokenRequest(const std::string& ns, const std::string& sa_name,
                                const json& bound_object_ref,
                                serviceaccount::BoundTokenRequest& request);
  Result<WriteResult> applyCreate(const ResourceInfo& r, const std::string& ns,
                                  const std::string& name, const json& patch,
                                  const WriteOptions& opts);
  Result<WriteResult> updateObject(const ResourceInfo& r, const std::string& ns,
                                   const std::string& name, json obj, const WriteOptions& opts,
                                   const std::string& subresource, bool allow_create,
                                   const json* applied_config);
  Result<WriteResult> updateScale(const ResourceInfo& r, const std::string& ns,
                                  const std::string& name, const json& scale, const json& cur,
                                  std::int64_t rev, const WriteOptions& opts);
  Result<WriteResult> writeUpdated(const ResourceInfo& r, const std::string& ns, const json& old,
                                   json obj, std::int64_t rev, const WriteOptions& opts,
                                   const std::string& subresource, const json* applied_config);
  Result<json> nextForUpdate(const ResourceInfo& r, const std::string& ns, const json& old,
                             json obj, const std::string& subresource, Strategy& strategy);
  Result<WriteResult> commitUpdate(const ResourceInfo& r, const std::string& ns, const json& old,
                                   json next, std::int64_t rev, const WriteOptions& opts,
                                   Strategy& strategy);
  Result<WriteResult> finishDelete(const ResourceInfo& r, const std::string& ns, const json& obj,
                                   std::int64_t rev, const WriteOptions& opts);
  Result<void> admitNamespaceLifecycle(const ResourceInfo& r, const std::string& ns,
                                       const json& obj);
  // A stored object, or one written at another version, as r's version: converted (HPA v1;
  // a conversion webhook's answer), apiVersion/kind of r, resourceVersion `rev` when > 0.
  Result<json> present(const ResourceInfo& r, json obj, std::int64_t rev) const;
  // Objects decoded from the store at r's version, apiVersion and kind set: one conversion
  // webhook call for all that are stored at another version (conversion.cc).
  Result<void> presentAll(const ResourceInfo& r, std::vector<json>& objs) const;
  // An object of r's version as the store keeps it: the storage version's apiVersion and kind,
  // and its shape as the CRD's conversion webhook gives it when the two differ.
  Result<json> forStorage(const ResourceInfo& r, json obj) const;
  bool convertsByWebhook(const ResourceInfo& r) const;
  // The plugins' mutating phase, then the kind's validation again if the object changed
  // (admission.cc).
  Result<void> runMutatingAdmission(const ResourceInfo& r, const std::string& ns, json& obj,
                                    const json* old, const WriteOptions& opts, Strategy& strategy);
  // The admission plugins in order; the first rejection wins (admission.cc). `writes`: where
  // plugins put writes to commit with a created object; `only`: run just these plugins (a
  // retry after one of their writes conflicted, `retry` counting the attempts).
  Result<void> runAdmission(const ResourceInfo& r, const std::string& ns, const json& obj,
                            const json* old, const WriteOptions& opts,
                            AdmissionWrites* writes = nullptr, int retry = 0,
                            const std::vector<AdmissionPlugin*>* only = nullptr);
  // Whether any admission plugin handles `op` (AdmissionPlugin::handles).
  bool admissionHandles(AdmissionAttributes::Operation op) const;
  // A DELETE's admission: the mutating phase of every plugin that handles deletes (its changes
  // discarded, as upstream's AdmissionToValidateObjectDeleteFunc) and their validation, with
  // the stored object as the old one.
  Result<void> runDeleteAdmission(const ResourceInfo& r, const std::string& ns, const json& stored,
                                  const WriteOptions& opts);

 public:
  // A CONNECT's admission (pods/exec, attach, portforward): `options` the request's
  // PodExecOptions, PodAttachOptions or PodPortForwardOptions, validated by every plugin that
  // handles connects, as upstream's connect handler does before it dials the kubelet.
  Result<void> admitConnect(const ResourceInfo& r, const std::string& ns, const std::string& name,
                            const std::string& subresource, const json& options,
                            const WriteOptions& opts);
};

// The wire line of a watch item: {"type":"ADDED","object":{...}}\n
std::string encodeWatchLine(const WatchQueue::Item& item);

// Who an in-process client acts as, and the field manager its writes record.
class RequestAuditor;  // handler.h

struct InProcessIdentity {
  UserInfo user;
  std::string field_manager;
};
// kube-apiserver's loopback identity for its own work (bootstrap objects, the kube-dns Service,
// the metrics scraper): system:apiserver in system:masters, manager "kube-apiserver".
InProcessIdentity apiServerIdentity();
// The identity a component acts as, as kube-controller-manager with
// --use-service-account-credentials and kube-scheduler do: "kube-scheduler" and
// "kube-controller-manager" are users system:<name> (group system:authenticated); any other
// name is a controller's ServiceAccount kube-system/<name> (user
// system:serviceaccount:kube-system:<name>, groups system:serviceaccounts,
// system:serviceaccounts:kube-system, system:authenticated). Field manager: the component
// (kube-controller-manager for a controller).
InProcessIdentity componentIdentity(const std::string& component);
// The in-process ApiClient over a Registry acting as `identity`: every call is authorized
// through the --authorization-mode chain first (Forbidden with upstream's text on refusal).
// `auditor` (not owned, may be null): each call is audited as the HTTP request it stands for.
std::unique_ptr<ApiClient> newInProcessClient(Registry& registry, InProcessIdentity identity,
                                              RequestAuditor* auditor = nullptr);
// The same acting as apiServerIdentity().
std::unique_ptr<ApiClient> newInProcessClient(Registry& registry);

// Status body for an error from the registry (reason, code, details).
json statusFromError(const Error& e, const ResourceInfo* r = nullptr, const std::string& name = "");
int httpCodeFor(ErrorCode code);

}  // namespace skiff::master::api
