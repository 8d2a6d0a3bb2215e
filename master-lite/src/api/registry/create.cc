// CREATE: object checks, server-set metadata, the kind's strategy (reset, defaults, validation,
// admission), the namespace lifecycle admission, field ownership, and the store write.
// Subresource creates (pods/binding, pods/eviction) dispatch through a table.
#include <map>

#include "registry_internal.h"
#include "skiff/master/api/managed_fields.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api {
namespace {

// How often a create's transaction is tried again after an admission plugin's write conflicted
// (each plugin also has its own limit: ResourceQuota gives up after 10 tries as upstream's
// evaluator gives up on a quota it cannot update).
constexpr int kMaxAdmissionRetries = 64;
// Upstream's RetryGenerateName (GA in 1.31, store.go's maxNameGenerationCreateAttempts): a
// generated name that is taken is generated again, 8 attempts in all, before the 409.
constexpr int kMaxNameGenerationAttempts = 8;

// The object's apiVersion/kind must be the route's; metadata.namespace must be the request's.
// Sets metadata.namespace (or removes it for cluster-scoped kinds) and the server-owned fields.
Result<void> prepareMetadata(const ResourceInfo& r, const std::string& ns, json& obj,
                             const std::function<std::string()>& name_suffix) {
  std::string kind = obj.value("kind", "");
  std::string api = obj.value("apiVersion", "");
  if ((!kind.empty() && kind != r.kind) || (!api.empty() && api != r.groupVersion())) {
    return Error(ErrorCode::BadRequest,
                 "the object provided is unrecognized (must be of type " + r.kind +
                     "): " + (kind.empty() ? "<missing kind>" : kind) + " in version \"" + api +
                     "\" cannot be created at " + r.groupVersion() + ", Resource=" + r.resource);
  }
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = json::object();
  json& meta = obj["metadata"];
  if (r.namespaced) {
    std::string on = meta.value("namespace", "");
    if (!on.empty() && on != ns) {
      return Error(
          ErrorCode::BadRequest,
          "the namespace of the provided object does not match the namespace sent on the request");
    }
    meta["namespace"] = ns;
  } else {
    meta.erase("namespace");
  }
  if (meta.value("name", "").empty() && !meta.value("generateName", "").empty()) {
    meta["name"] =
        meta["generateName"].get<std::string>() + (name_suffix ? name_suffix() : randomSuffix());
  }
  for (const char* k : {"resourceVersion", "uid", "creationTimestamp", "deletionTimestamp",
                        "deletionGracePeriodSeconds", "selfLink", "managedFields"}) {
    meta.erase(k);
  }
  meta["uid"] = newUid();
  meta["creationTimestamp"] = nowString();
  if (r.has_generation)
    meta["generation"] = 1;
  else
    meta.erase("generation");
  return ok();
}

using SubresourceCreate = Result<WriteResult> (Registry::*)(const ResourceInfo&, const std::string&,
                                                            const std::string&, const json&,
                                                            const WriteOptions&);

}  // namespace

// NamespaceLifecycle: no new content in a namespace that is missing or being deleted.
Result<void> Registry::admitNamespaceLifecycle(const ResourceInfo& r, const std::string& ns,
                                               const json& obj) {
  if (!r.namespaced) return ok();
  using NsState = NamespaceCache::State;
  SKIFF_ASSIGN_OR_RETURN(NsState state,
                         state_->namespaces.lookup(store_, prefix(namespacesInfo(), ""), ns));
  if (state == NsState::Missing) return notFound(namespacesInfo(), ns);
  if (state == NsState::Terminating) {
    return Error(ErrorCode::Forbidden,
                 r.qualifiedResource() + " \"" + str(obj, {"metadata", "name"}) +
                     "\" is forbidden: unable to create new content in namespace " + ns +
                     " because it is being terminated");
  }
  return ok();
}

Result<WriteResult> Registry::create(const ResourceInfo& r, const std::string& ns, json obj,
                                     const WriteOptions& opts, const std::string& subresource,
                                     const std::string& name) {
  if (subresource.empty()) return createObject(r, ns, std::move(obj), opts);
  static const std::map<std::pair<std::string, std::string>, SubresourceCreate> subresources = {
      {{"Pod", "binding"}, &Registry::bindPod},
      {{"Pod", "eviction"}, &Registry::evictPod},
      {{"ServiceAccount", "token"}, &Registry::requestToken},
  };
  auto it = subresources.find({r.kind, subresource});
  if (it == subresources.end()) {
    return Error(ErrorCode::NotFound, "the server could not find the requested resource");
  }
  return (this->*(it->second))(r, ns, name, obj, opts);
}

Result<WriteResult> Registry::createObject(const ResourceInfo& r, const std::string& ns, json obj,
                                           const WriteOptions& opts) {
  const bool generated = obj.is_object() && obj.contains("metadata") &&
                         obj["metadata"].is_object() && obj["metadata"].value("name", "").empty() &&
                         !obj["metadata"].value("generateName", "").empty();
  if (!generated) return createObjectOnce(r, ns, std::move(obj), opts);
  // Each attempt runs the whole create again (admission included, as upstream's e.create), on
  // the object as it came: what a refused attempt allocated was released.
  for (int attempt = 1;; ++attempt) {
    auto made = createObjectOnce(r, ns, obj, opts);
    if (made || attempt == kMaxNameGenerationAttempts || !made.error().is(ErrorCode::AlreadyExists))
      return made;
  }
}

Result<WriteResult> Registry::createObjectOnce(const ResourceInfo& r, const std::string& ns,
                                               json obj, const WriteOptions& opts) {
  if (!obj.is_object()) {
    return Error(ErrorCode::BadRequest,
                 "the object provided is unrecognized (must be of type " + r.kind + ")");
  }
  if (r.createOnly()) return createReview(r, ns, std::move(obj), opts);
  SKIFF_TRY(prepareMetadata(r, ns, obj, options_.name_suffix));
  StrategyPtr strategy = state_->strategies.forResource(r);
  strategy->prepareForCreate(r, obj);
  strategy->defaults(r, obj);
  std::string name = obj["metadata"].value("name", "");
  FieldErrors errs = strategy->validate(r, obj, nullptr);
  if (!errs.empty()) return invalidError(r, name, errs);
  SKIFF_TRY(admitNamespaceLifecycle(r, ns, obj));
  SKIFF_TRY(strategy->admitCreate(r, obj, opts));
  // Plugins' writes (a quota's charge) commit with the object; a dry run writes nothing.
  AdmissionWrites writes;
  // What admitCreate allocated (a Service's address and node ports) goes back when a later
  // admission step refuses the object.
  auto admitted = runMutatingAdmission(r, ns, obj, nullptr, opts, *strategy);
  if (admitted)
    admitted = runAdmission(r, ns, obj, nullptr, opts, opts.dry_run ? nullptr : &writes);
  if (!admitted) {
    strategy->released(r, obj);
    return std::move(admitted).error();
  }
  return storeCreated(r, ns, std::move(obj), opts, *strategy, &writes);
}

// The reviews: checked like any object, answered by their strategy, never stored (upstream's
// rest.Creater without a store, e.g. pkg/registry/authorization/subjectaccessreview/rest.go).
Result<WriteResult> Registry::createReview(const ResourceInfo& r, const std::string& ns, json obj,
                                           const WriteOptions& opts) {
  std::string kind = obj.value("kind", "");
  std::string api = obj.value("apiVersion", "");
  if ((!kind.empty() && kind != r.kind) || (!api.empty() && api != r.groupVersion())) {
    return Error(ErrorCode::BadRequest,
                 "the object provided is unrecognized (must be of type " + r.kind + ")");
  }
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = json::object();
  SKIFF_ASSIGN_OR_RETURN(json answer,
                         state_->strategies.forResource(r)->review(r, ns, std::move(obj), opts));
  answer["apiVersion"] = r.groupVersion();
  answer["kind"] = r.kind;
  return WriteResult{std::move(answer), true, true};
}

Result<WriteResult> Registry::storeCreated(const ResourceInfo& r, const std::string& ns, json obj,
                                           const WriteOptions& opts, Strategy& strategy,
                                           AdmissionWrites* writes) {
  std::string name = obj["metadata"].value("name", "");
  if (!opts.field_manager.empty() || !opts.user.name.empty()) {
    ManagedUpdate u{managerFor(opts, "unknown"), "Update", r.groupVersion(), "", nowString()};
    json fields = fieldSetOf(obj);
    recordUpdate(obj, u, fields);
  }
  if (opts.dry_run) {
    strategy.released(r, obj);
    SKIFF_ASSIGN_OR_RETURN(json shown, present(r, obj, 0));
    return WriteResult{std::move(shown), true, true};
  }
  std::string k = key(r, ns, name);
  auto stored = forStorage(r, obj);
  if (!stored) {
    strategy.released(r, obj);
    return std::move(stored).error();
  }
  std::string value = encodeForStore(std::move(*stored));
  Result<store::KeyValue> kv = Error(ErrorCode::Internal, "not written");
  for (int retry = 1;; ++retry) {
    if (!writes || writes->writes.empty()) {
      kv = store_.create(k, value);
      break;
    }
    std::vector<store::TxnOp> ops{{store::TxnOp::Kind::Create, k, value, 0}};
    for (auto& w : writes->writes) {
      std::string k = key(*w.resource, w.ns, str(w.object, {"metadata", "name"}));
      if (!w.encoded.empty()) {
        // Moved: a retry runs the plugins again, which give new writes.
        ops.push_back(
            {store::TxnOp::Kind::Update, std::move(k), std::move(w.encoded), w.expected_revision});
        continue;
      }
      // Encoded in place, not copied (a quota with its managedFields is ~1 KB of JSON).
      w.object = relabelForStorage(*w.resource, std::move(w.object));
      ops.push_back(
          {store::TxnOp::Kind::Update, std::move(k), encodeStored(w.object), w.expected_revision});
    }
    auto committed = store_.commit(ops);
    if (committed) {
      for (std::size_t i = 0; i < writes->writes.size(); ++i) {
        AdmissionWrite& w = writes->writes[i];
        if (w.committed) w.committed((*committed)[i + 1].mod_revision, std::move(w.object));
      }
      kv = std::move(committed->front());
      break;
    }
    // The object's own op can only fail as AlreadyExists: a Conflict or NotFound is a plugin's
    // write that lost a race (the quota changed), so those plugins decide again.
    bool raced =
        committed.error().is(ErrorCode::Conflict) || committed.error().is(ErrorCode::NotFound);
    if (!raced || retry > kMaxAdmissionRetries) {
      kv = std::move(committed).error();
      break;
    }
    std::vector<AdmissionPlugin*> again = std::move(writes->writers);
    *writes = AdmissionWrites{};  // releases the plugins' holds before they run again
    if (auto re = runAdmission(r, ns, obj, nullptr, opts, writes, retry, &again); !re) {
      strategy.released(r, obj);
      return std::move(re).error();
    }
  }
  if (writes) *writes = AdmissionWrites{};
  if (!kv) {
    strategy.released(r, obj);
    if (kv.error().is(ErrorCode::AlreadyExists)) {
      return Error(ErrorCode::AlreadyExists,
                   r.qualifiedResource() + " \"" + name + "\" already exists");
    }
    return std::move(kv).error();
  }
  SKIFF_ASSIGN_OR_RETURN(json shown, present(r, obj, kv->mod_revision));
  return WriteResult{std::move(shown), true, true};
}

}  // namespace skiff::master::api
