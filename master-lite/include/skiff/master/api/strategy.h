#pragma once

// What the generic registry asks of each kind, as upstream's pkg/registry/<resource>/strategy.go
// (RESTCreateStrategy, RESTUpdateStrategy, RESTGracefulDeleteStrategy) plus the admission the
// registry runs in process. The registry's CRUD is written once against this interface; each
// kind that needs something special has its own Strategy (src/api/registry/*_strategy.cc), and
// every other kind gets the generic one. Scope (namespaced or cluster) and the subresources a
// kind serves come from its ResourceInfo, the one table discovery is built from too.
//
// Order on create: prepareForCreate -> defaults -> validate -> admitCreate -> store
// (released() when the store write does not happen). On update of the main resource:
// prepareForUpdate -> (metadata the client may not change is restored) -> defaults ->
// validate -> admitUpdate -> store -> afterUpdate. On update of /status:
// prepareForStatusUpdate -> store. On delete: beginDelete -> (propagation finalizers) -> the
// object leaves the store once it has no finalizers and readyToRemove -> released().

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <string>
#include <utility>

#include "skiff/common/result.h"
#include "skiff/master/api/resources.h"
#include "skiff/master/api/validation.h"
#include "skiff/master/client/api_client.h"

namespace skiff::master::api {

struct WriteOptions;

class Strategy {
 public:
  virtual ~Strategy() = default;

  // ---- create -------------------------------------------------------------------------------
  // Resets what a client may not set on create (PrepareForCreate). Generic: status, when it is
  // a subresource, starts empty. Runs before defaults.
  virtual void prepareForCreate(const ResourceInfo& r, nlohmann::json& obj) const;
  // Type defaults (pkg/apis/<group>/v1/defaults.go), on create and on update. Generic:
  // applyDefaults (defaults.h).
  virtual void defaults(const ResourceInfo& r, nlohmann::json& obj) const;
  // Field validation (Validate / ValidateUpdate); `old` is null on create. Generic:
  // validateObject (validation.h).
  virtual FieldErrors validate(const ResourceInfo& r, const nlohmann::json& obj,
                               const nlohmann::json* old) const;
  // Mutating admission on create, after validation: what upstream's admission plugins and
  // registry hooks add (pod ServiceAccount/QoS, ClusterIP allocation, CSR auto-approval). An
  // error rejects the create and nothing is stored. Generic: nothing.
  virtual Result<void> admitCreate(const ResourceInfo& r, nlohmann::json& obj,
                                   const WriteOptions& opts);

  // A create of a kind that is never stored (ResourceInfo::createOnly(): the reviews): the
  // answer, i.e. the object with its status filled in. Nothing is stored and no watch sees it.
  // Generic: MethodNotAllowed.
  virtual Result<nlohmann::json> review(const ResourceInfo& r, const std::string& ns,
                                        nlohmann::json obj, const WriteOptions& opts);

  // ---- update -------------------------------------------------------------------------------
  // An update of the main resource (PrepareForUpdate): `obj` is the client's object, `old` the
  // stored one. Generic: the stored status is kept when status is a subresource.
  virtual void prepareForUpdate(const ResourceInfo& r, nlohmann::json& obj,
                                const nlohmann::json& old) const;
  // An update of /status (the status strategy's PrepareForUpdate): the stored object with the
  // new status. Generic, as most built-in kinds' status strategies, which reset only the spec:
  // what the write changes in labels and annotations stays (the conformance tests patch
  // annotations through /status), the system metadata (uid, name, generation, ...) stays as
  // stored. A kind whose status strategy resets all metadata (ResetObjectMetaForStatus)
  // overrides this with statusOnly().
  virtual nlohmann::json prepareForStatusUpdate(const ResourceInfo& r, const nlohmann::json& obj,
                                                const nlohmann::json& old) const;
  // Mutating admission on update of the main resource, after validation. Generic: nothing.
  virtual Result<void> admitUpdate(const ResourceInfo& r, nlohmann::json& obj,
                                   const nlohmann::json& old);
  // Admission on update that depends on who asks (RBAC's escalation checks), after
  // admitUpdate. Generic: nothing.
  virtual Result<void> admitUpdateBy(const ResourceInfo& r, const nlohmann::json& obj,
                                     const nlohmann::json& old, const WriteOptions& opts);
  // After an update was stored: return what `obj` no longer holds (e.g. node ports). Generic:
  // nothing.
  virtual void afterUpdate(const ResourceInfo& r, const nlohmann::json& old,
                           const nlohmann::json& obj);

  // ---- delete -------------------------------------------------------------------------------
  // Marks `obj` (a copy of the stored object) for graceful deletion (CheckGracefulDelete);
  // true when it changed it. An error refuses the delete. Generic: nothing, false.
  virtual Result<bool> beginDelete(const ResourceInfo& r, nlohmann::json& obj,
                                   const DeleteOptions& del) const;
  // Whether DeleteOptions.propagationPolicy Orphan/Foreground become the orphan/
  // foregroundDeletion finalizers (the garbage collector carries them out). Generic: true.
  virtual bool propagationFinalizers() const { return true; }
  // A delete that names no policy (and whose object carries no policy finalizer) orphans the
  // dependents: upstream's DefaultGarbageCollectionPolicy OrphanDependents, which v1
  // ReplicationControllers keep for backward compatibility. Generic: false (Background).
  virtual bool orphansByDefault() const { return false; }
  // Beyond metadata.finalizers: whether a terminating object may leave the store now (a pod's
  // grace period, a namespace's spec.finalizers). Generic: true.
  virtual bool readyToRemove(const nlohmann::json& obj) const;
  // The object left the store, or a create/dry run did not store it: give back what admission
  // allocated for it. Must accept objects that allocated nothing. Generic: nothing.
  virtual void released(const ResourceInfo& r, const nlohmann::json& obj);

 protected:
  // The stored object `old` with only `obj`'s status: spec and all metadata stay as stored
  // (upstream's ResetObjectMetaForStatus), for the kinds whose status strategy does that.
  static nlohmann::json statusOnly(const nlohmann::json& obj, const nlohmann::json& old);
};
using StrategyPtr = std::shared_ptr<Strategy>;

// The one table of strategies, keyed by group and resource ("" = core). Kinds not in it get
// the generic Strategy. Thread-safe; add() may run at any time (CustomResourceDefinitions
// register their kinds as they are established).
class StrategyRegistry {
 public:
  StrategyRegistry();
  // Registers `strategy` for group/resource, replacing any earlier one.
  void add(const std::string& group, const std::string& resource, StrategyPtr strategy);
  // The strategy for `r`: the registered one, else the custom resource strategy for resources
  // of a CustomResourceDefinition, else the generic one. Never null.
  StrategyPtr forResource(const ResourceInfo& r) const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::pair<std::string, std::string>, StrategyPtr> strategies_;
  StrategyPtr generic_;
  StrategyPtr custom_;
};

}  // namespace skiff::master::api
