#pragma once

// Validating admission plugins the registry runs after a kind's own strategy admitted a create
// or update (kube-apiserver's validating admission chain: PodSecurity, ...). A plugin may
// reject the write (its Error becomes the Status) and, whether or not it does, add response
// warnings and audit annotations to the request's AdmissionNotes.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"
#include "skiff/master/api/resources.h"

namespace skiff::master::api {

struct UserInfo;

// What admission says about a request besides allow/deny. Owned by the request (the handler);
// written by the registry's thread serving that request only.
struct AdmissionNotes {
  std::vector<std::string> warnings;                     // Warning: 299 - "<text>"
  std::map<std::string, std::string> audit_annotations;  // added to the audit event
};

class AdmissionPlugin;

// A write a validating plugin needs in the same store transaction as the object it admits
// (ResourceQuota's charge to a quota's status.used): `object`, whole and ready to store (the
// stored object with the plugin's change, no resourceVersion needed), under `resource`/`ns`/
// metadata.name, written only if the stored one still has mod_revision `expected_revision`.
struct AdmissionWrite {
  const ResourceInfo* resource = nullptr;
  std::string ns;
  nlohmann::json object;
  std::int64_t expected_revision = 0;
  // Called once the transaction committed, before the holds go, with the revision `object`
  // was stored at and the object itself (a plugin's cache keeps it instead of decoding the
  // stored text again; its resourceVersion is not the new one). May be empty.
  std::function<void(std::int64_t revision, nlohmann::json object)> committed;
  // When not empty: `object`'s text as the store is to hold it, which the registry writes as
  // it is instead of serialising `object` (a quota's charge splices its new status.used into
  // the stored text). `object` then need only carry metadata.name, which names the key.
  std::string encoded;
};

// Where plugins put such writes on a create (AdmissionAttributes::writes). The registry commits
// the object and every write in one transaction (store.h Store::commit). When a write's
// precondition fails (Conflict: the object changed since the plugin read it; NotFound: it is
// gone) nothing is stored and the registry runs the validation of each plugin in `writers`
// again with `retry` counting up, so the plugin decides anew on fresh state (upstream's quota
// evaluator retries its status update with the quota's resourceVersion as the lock the same
// way). `holds` (e.g. a plugin's lock) are released once the transaction is done.
struct AdmissionWrites {
  std::vector<AdmissionWrite> writes;
  std::vector<AdmissionPlugin*> writers;
  std::vector<std::shared_ptr<void>> holds;
};

struct AdmissionAttributes {
  // Connect: exec, attach and portforward, the object their options (PodExecOptions...).
  enum class Operation { Create, Update, Delete, Connect };
  Operation operation = Operation::Create;
  const ResourceInfo* resource = nullptr;
  std::string ns, name, subresource;
  // The object about to be stored; null on a delete (as upstream's attributes: a plugin that
  // does not act on deletes returns before it reads the object).
  const nlohmann::json* object = nullptr;
  const nlohmann::json* old_object = nullptr;  // the stored object (update and delete)
  const UserInfo* user = nullptr;
  bool dry_run = false;
  // Create only, not for a dry run: where the plugin puts writes to commit with the object
  // (null: the plugin writes itself, as on an update).
  AdmissionWrites* writes = nullptr;
  // How many times this create's transaction failed on a plugin's write (0: the first try);
  // from 1 on, plugins read what they check from the store, not from a cache.
  int retry = 0;
};

class AdmissionPlugin {
 public:
  virtual ~AdmissionPlugin() = default;
  // The operations the plugin acts on (upstream's admission.Interface Handles): the registry
  // calls admit and validate only for those, so that a DELETE (the garbage collector's, a
  // namespace's contents) or a CONNECT does not run plugins that would return at once.
  // Default: Create and Update.
  virtual bool handles(AdmissionAttributes::Operation op) const {
    return op == AdmissionAttributes::Operation::Create ||
           op == AdmissionAttributes::Operation::Update;
  }
  // Ok to admit; an Error (Forbidden, Invalid, InternalError) rejects the write with nothing
  // stored. Called concurrently from request threads.
  virtual Result<void> validate(const AdmissionAttributes& attrs, AdmissionNotes& notes) = 0;
  // The mutating phase (LimitRanger's defaults, RuntimeClass, mutating admission webhooks), before
  // any plugin's validate: may change `obj` (attrs.object points to it); the registry validates the
  // kind again when it changed. Default: nothing.
  virtual Result<void> admit(const AdmissionAttributes& attrs, nlohmann::json& obj,
                             AdmissionNotes& notes) {
    (void)attrs, (void)obj, (void)notes;
    return ok();
  }
};

}  // namespace skiff::master::api
