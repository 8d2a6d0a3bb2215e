#pragma once

// Validating admission plugins the registry runs after a kind's own strategy admitted a create
// or update (kube-apiserver's validating admission chain: PodSecurity, ...). A plugin may
// reject the write (its Error becomes the Status) and, whether or not it does, add response
// warnings and audit annotations to the request's AdmissionNotes.

#include <map>
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

struct AdmissionAttributes {
  enum class Operation { Create, Update };
  Operation operation = Operation::Create;
  const ResourceInfo* resource = nullptr;
  std::string ns, name, subresource;
  const nlohmann::json* object = nullptr;      // the object about to be stored
  const nlohmann::json* old_object = nullptr;  // the stored object (update only)
  const UserInfo* user = nullptr;
  bool dry_run = false;
};

class AdmissionPlugin {
 public:
  virtual ~AdmissionPlugin() = default;
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
