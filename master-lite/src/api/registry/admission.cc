// The admission chain after the kinds' own strategies (admission.h): the mutating phase of
// every plugin that handles the operation, then their validation.
#include <algorithm>

#include "registry_internal.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api {
namespace {

AdmissionAttributes attributesOf(const ResourceInfo& r, const std::string& ns, const json& obj,
                                 const json* old, const WriteOptions& opts) {
  AdmissionAttributes a;
  a.operation =
      old ? AdmissionAttributes::Operation::Update : AdmissionAttributes::Operation::Create;
  a.resource = &r;
  a.ns = r.namespaced ? ns : "";
  a.name = str(obj, {"metadata", "name"});
  a.object = &obj;
  a.old_object = old;
  a.user = &opts.user;
  a.dry_run = opts.dry_run;
  return a;
}

}  // namespace

bool Registry::admissionHandles(AdmissionAttributes::Operation op) const {
  return std::any_of(admission_.begin(), admission_.end(),
                     [op](const auto& plugin) { return plugin->handles(op); });
}

void Registry::addAdmissionPlugin(std::shared_ptr<AdmissionPlugin> plugin) {
  admission_.push_back(std::move(plugin));
}

Result<void> Registry::runMutatingAdmission(const ResourceInfo& r, const std::string& ns, json& obj,
                                            const json* old, const WriteOptions& opts,
                                            Strategy& strategy) {
  if (admission_.empty()) return ok();
  AdmissionAttributes a = attributesOf(r, ns, obj, old, opts);
  AdmissionNotes scratch;
  AdmissionNotes& notes = opts.notes ? *opts.notes : scratch;
  json before = obj;
  for (const auto& plugin : admission_) {
    if (plugin->handles(a.operation)) SKIFF_TRY(plugin->admit(a, obj, notes));
  }
  if (obj != before) {
    // What a mutating webhook returns is decoded with the type's defaults (and a custom
    // resource pruned by its schema) before validation, as the webhook dispatcher does: a
    // container it adds gets terminationMessagePolicy File, a field the schema lacks goes.
    strategy.defaults(r, obj);
    FieldErrors errs = strategy.validate(r, obj, old);
    if (!errs.empty()) return invalidError(r, a.name, errs);
  }
  return ok();
}

Result<void> Registry::runAdmission(const ResourceInfo& r, const std::string& ns, const json& obj,
                                    const json* old, const WriteOptions& opts,
                                    AdmissionWrites* writes, int retry,
                                    const std::vector<AdmissionPlugin*>* only) {
  if (admission_.empty()) return ok();
  AdmissionAttributes a = attributesOf(r, ns, obj, old, opts);
  a.writes = writes;
  a.retry = retry;
  AdmissionNotes scratch;
  AdmissionNotes& notes = opts.notes ? *opts.notes : scratch;
  for (const auto& plugin : admission_) {
    if (!plugin->handles(a.operation)) continue;
    if (only && std::find(only->begin(), only->end(), plugin.get()) == only->end()) continue;
    std::size_t before = writes ? writes->writes.size() : 0;
    SKIFF_TRY(plugin->validate(a, notes));
    if (writes && writes->writes.size() > before) writes->writers.push_back(plugin.get());
  }
  return ok();
}

Result<void> Registry::runDeleteAdmission(const ResourceInfo& r, const std::string& ns,
                                          const json& stored, const WriteOptions& opts) {
  if (!admissionHandles(AdmissionAttributes::Operation::Delete)) return ok();
  AdmissionAttributes a = attributesOf(r, ns, stored, &stored, opts);
  a.operation = AdmissionAttributes::Operation::Delete;
  a.object = nullptr;
  AdmissionNotes scratch;
  AdmissionNotes& notes = opts.notes ? *opts.notes : scratch;
  json discarded;
  for (const auto& plugin : admission_) {
    if (plugin->handles(a.operation)) SKIFF_TRY(plugin->admit(a, discarded, notes));
  }
  for (const auto& plugin : admission_) {
    if (plugin->handles(a.operation)) SKIFF_TRY(plugin->validate(a, notes));
  }
  return ok();
}

Result<void> Registry::admitConnect(const ResourceInfo& r, const std::string& ns,
                                    const std::string& name, const std::string& subresource,
                                    const json& options, const WriteOptions& opts) {
  if (!admissionHandles(AdmissionAttributes::Operation::Connect)) return ok();
  AdmissionAttributes a = attributesOf(r, ns, options, nullptr, opts);
  a.operation = AdmissionAttributes::Operation::Connect;
  a.name = name;
  a.subresource = subresource;
  AdmissionNotes scratch;
  AdmissionNotes& notes = opts.notes ? *opts.notes : scratch;
  json discarded = options;
  for (const auto& plugin : admission_) {
    if (plugin->handles(a.operation)) SKIFF_TRY(plugin->admit(a, discarded, notes));
  }
  for (const auto& plugin : admission_) {
    if (plugin->handles(a.operation)) SKIFF_TRY(plugin->validate(a, notes));
  }
  return ok();
}

}  // namespace skiff::master::api
