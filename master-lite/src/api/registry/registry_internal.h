#pragma once

// Pieces of the registry shared between its translation units (CRUD, watch, strategies).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "skiff/common/log.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/rbac/policy_index.h"
#include "skiff/master/store/store.h"

namespace skiff::master::api {

// A store event decoded once (lazily, on the first consumer thread that needs it) and shared by
// every watcher that receives it. Each part is made only when some watcher needs it: the
// previous value only for selector watches, the wire text only for HTTP JSON streams.
struct DecodedEvent {
  store::EventPtr raw;
  std::once_flag once;
  json object;  // metadata.resourceVersion set; apiVersion/kind as stored
  std::once_flag prev_once;
  json prev;  // the previous value (null when none)
  std::once_flag text_once;
  std::string object_text;            // the object as sent, compact JSON (storage version)
  std::optional<Error> object_error;  // why it could not be converted to the storage version

  void decode();
  void decodePrev();
};

// Which namespaces exist and which are being deleted, for the lifecycle admission of every
// namespaced create (upstream's NamespaceLifecycle reads an informer the same way) instead of a
// store read and decode per create. Listed on first use, then kept current by a store watch
// whose handler runs inside each committed write: a create sees every namespace change that
// finished before it.
class NamespaceCache {
 public:
  enum class State { Missing, Active, Terminating };
  // `prefix`: the namespaces' key prefix. An error is the store's, from starting the cache.
  Result<State> lookup(store::Store& store, const std::string& prefix, const std::string& name);

 private:
  Result<void> start(store::Store& store, const std::string& prefix);

  std::mutex start_mu_;
  std::mutex mu_;
  std::map<std::string, bool> terminating_;  // name -> being deleted
  store::WatchPtr watch_;                    // last member: stopped before the map goes
};

struct Registry::State {
  StrategyRegistry strategies;
  rbac::PolicyIndex policy;
  std::string kubernetes_service_ip;  // the first address of the service CIDR
  NamespaceCache namespaces;
  std::mutex cache_mu;
  const store::Event* last_raw = nullptr;
  std::shared_ptr<DecodedEvent> last_decoded;
};

// Strips what is derived on read (resourceVersion) and serialises for the store.
std::string encodeForStore(json obj);
// The same without a copy: strips resourceVersion from `obj` itself.
std::string encodeStored(json& obj);
json decodeFromStore(const std::string& value, std::int64_t mod_revision);
// The object with the apiVersion and kind of its storage version, so that lists can be spliced
// from the stored text (Registry::listText). Registry::forStorage also converts custom objects.
json relabelForStorage(const ResourceInfo& r, json obj);

// Shared by the registry's translation units.
const std::shared_ptr<spdlog::logger>& registryLog();
std::string nowString();
Error notFound(const ResourceInfo& r, const std::string& name);
// The optimistic-concurrency Conflict upstream returns for a stale resourceVersion.
Error conflict(const ResourceInfo& r, const std::string& name);
const ResourceInfo& namespacesInfo();
bool hasDeletionTimestamp(const json& obj);
bool hasFinalizers(const json& obj);
// The field manager of a write: the request's, else `fallback`.
std::string managerFor(const WriteOptions& opts, const std::string& fallback);
// A stored object as a served version that differs from the storage version in shape
// (autoscaling/v1 HorizontalPodAutoscaler, events.k8s.io/v1 Event); other objects as they are
// (conversion.cc).
json convertForRead(const ResourceInfo& r, json obj);
// A custom object written before its CRD's schema last changed (it may lack a default).
bool needsDefaultsOnRead(const ResourceInfo& r, const json& obj);
// The v2 HorizontalPodAutoscaler as autoscaling/v1 shows it (hpa_strategy.cc).
json hpaToV1(json obj);
// An events.k8s.io/v1 Event as the core v1 Event it is stored as, and back
// (event_conversion.cc).
json eventsV1ToCoreEvent(json obj);
json coreEventToEventsV1(json obj);
// The autoscaling/v1 Scale of a scalable object.
json scaleOf(const ResourceInfo& r, const json& obj);

}  // namespace skiff::master::api
