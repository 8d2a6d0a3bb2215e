#include "skiff/master/testing/fake_api_client.h"

#include <cstdio>
#include <random>

#include "skiff/master/informer/meta.h"
#include "skiff/master/selectors.h"

namespace skiff::master::testing {

namespace {

std::string resourceKey(const GroupVersionResource& r) { return r.group + "/" + r.resource; }

struct KindInfo {
  const char* resource;
  const char* kind;
  bool namespaced;
  bool has_status;
};

const KindInfo* kindOf(const GroupVersionResource& r) {
  static const KindInfo kKinds[] = {
      {"pods", "Pod", true, true},
      {"nodes", "Node", false, true},
      {"namespaces", "Namespace", false, true},
      {"services", "Service", true, true},
      {"endpoints", "Endpoints", true, false},
      {"events", "Event", true, false},
      {"serviceaccounts", "ServiceAccount", true, false},
      {"secrets", "Secret", true, false},
      {"configmaps", "ConfigMap", true, false},
      {"replicationcontrollers", "ReplicationController", true, true},
      {"deployments", "Deployment", true, true},
      {"replicasets", "ReplicaSet", true, true},
      {"statefulsets", "StatefulSet", true, true},
      {"daemonsets", "DaemonSet", true, true},
      {"controllerrevisions", "ControllerRevision", true, false},
      {"jobs", "Job", true, true},
      {"cronjobs", "CronJob", true, true},
      {"endpointslices", "EndpointSlice", true, false},
      {"leases", "Lease", true, false},
      {"priorityclasses", "PriorityClass", false, false},
      {"persistentvolumeclaims", "PersistentVolumeClaim", true, true},
      {"persistentvolumes", "PersistentVolume", false, true},
      {"storageclasses", "StorageClass", false, false},
  };
  for (const auto& k : kKinds) {
    if (r.resource == k.resource) return &k;
  }
  return nullptr;
}

std::string apiVersionOf(const GroupVersionResource& r) {
  return r.group.empty() ? r.version : r.group + "/" + r.version;
}

bool selectorsMatch(const LabelSelector& ls, const FieldSelector& fs, const json& obj) {
  return ls.matches(meta::labels(obj)) && fs.matches(obj);
}

json statusJson(int code, const std::string& reason, const std::string& message) {
  return json{{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
              {"status", "Failure"}, {"message", message}, {"reason", reason},
              {"code", code}};
}

// Everything but metadata and status: what a spec change (generation bump) compares.
json specPart(const json& obj) {
  json out = json::object();
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it.key() != "metadata" && it.key() != "status" && it.key() != "kind" &&
        it.key() != "apiVersion") {
      out[it.key()] = it.value();
    }
  }
  return out;
}

}  // namespace

struct FakeApiClient::Watcher {
  std::string resource_key;
  std::string ns;
  LabelSelector labels;
  FieldSelector fields;
  WatchHandler handler;
  bool stopped = false;  // guarded by deliver_mu_ (and read under mu_ when queuing)
};

class FakeApiClient::FakeWatch : public Watch {
 public:
  FakeWatch(FakeApiClient* owner, std::shared_ptr<Watcher> w) : owner_(owner), w_(std::move(w)) {}
  ~FakeWatch() override { stop(); }
  void stop() override {
    std::lock_guard deliver(owner_->deliver_mu_);
    std::lock_guard lock(owner_->mu_);
    w_->stopped = true;
    std::erase(owner_->watchers_, w_);
  }

 private:
  FakeApiClient* owner_;
  std::shared_ptr<Watcher> w_;
};

FakeApiClient::FakeApiClient(std::shared_ptr<Clock> clock, Delivery delivery)
    : clock_(std::move(clock)), delivery_(delivery) {
  if (delivery_ == Delivery::Async) dispatcher_ = std::thread([this] { dispatcherLoop(); });
}

FakeApiClient::~FakeApiClient() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
}

std::string FakeApiClient::storeKey(const GroupVersionResource& r, const std::string& ns,
                                    const std::string& name) const {
  return resourceKey(r) + "/" + ns + "/" + name;
}

Result<void> FakeApiClient::checkFailure(const std::string& verb, const GroupVersionResource& r) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(verb + " " + r.resource);
  if (it == failures_.end() || it->second.second <= 0) return {};
  it->second.second--;
  return Error(it->second.first, "injected failure: " + verb + " " + r.resource);
}

void FakeApiClient::countCall(const std::string& verb, const GroupVersionResource& r,
                              const std::string& subresource) {
  std::lock_guard lock(mu_);
  calls_[verb + " " + r.resource + (subresource.empty() ? "" : "/" + subresource)]++;
}

void FakeApiClient::failNextForTest(const std::string& verb, const std::string& resource,
                                    ErrorCode code, int n) {
  std::lock_guard lock(mu_);
  failures_[verb + " " + resource] = {code, n};
}

int FakeApiClient::callsForTest(const std::string& verb_resource) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(verb_resource);
  return it == calls_.end() ? 0 : it->second;
}

void FakeApiClient::resetCallsForTest() {
  std::lock_guard lock(mu_);
  calls_.clear();
}

std::int64_t FakeApiClient::currentRevision() const {
  std::lock_guard lock(mu_);
  return rv_;
}

void FakeApiClient::compactForTest(std::int64_t rv) {
  std::lock_guard lock(mu_);
  compacted_ = rv;
  std::erase_if(history_, [rv](const HistoryEntry& e) { return e.rv <= rv; });
}

void FakeApiClient::expireWatchesForTest() {
  {
    std::lock_guard lock(mu_);
    for (const auto& w : watchers_) {
      pending_.emplace_back(w, WatchEvent{WatchEventType::Error,
                                          statusJson(410, "Expired", "too old resource version")});
    }
    // Delivery of the error still happens; later events no longer reach these watchers.
    for (const auto& w : watchers_) w->resource_key = "<expired>";
    watchers_.clear();
  }
  deliverPending();
}

void FakeApiClient::enqueueLocked(const HistoryEntry& e) {
  // For Modified, the old object decides whether a watcher sees Added/Deleted transitions.
  for (const auto& w : watchers_) {
    if (w->stopped || w->resource_key != e.resource_key) continue;
    const json& obj = e.object.contains("new") ? e.object["new"] : e.object;
    if (!w->ns.empty() && meta::ns(obj) != w->ns) continue;
    WatchEvent ev{e.type, obj};
    if (e.type == WatchEventType::Modified) {
      bool now_match = selectorsMatch(w->labels, w->fields, obj);
      bool was_match = selectorsMatch(w->labels, w->fields, e.object["old"]);
      if (!now_match && !was_match) continue;
      if (now_match && !was_match) ev.type = WatchEventType::Added;
      if (!now_match && was_match) ev.type = WatchEventType::Deleted;
    } else if (!selectorsMatch(w->labels, w->fields, obj)) {
      continue;
    }
    pending_.emplace_back(w, std::move(ev));
  }
}

json FakeApiClient::commitLocked(const GroupVersionResource& r, json obj, WatchEventType type) {
  ++rv_;
  obj["metadata"]["resourceVersion"] = std::to_string(rv_);
  std::string k = storeKey(r, meta::ns(obj), meta::name(obj));
  HistoryEntry e{rv_, resourceKey(r), type, obj};
  if (type == WatchEventType::Modified) {
    e.object = json{{"old", objects_[k]}, {"new", obj}};
  }
  objects_[k] = obj;
  history_.push_back(e);
  enqueueLocked(e);
  return obj;
}

void FakeApiClient::eraseLocked(const GroupVersionResource& r, const json& obj) {
  ++rv_;
  json gone = obj;
  gone["metadata"]["resourceVersion"] = std::to_string(rv_);
  objects_.erase(storeKey(r, meta::ns(obj), meta::name(obj)));
  HistoryEntry e{rv_, resourceKey(r), WatchEventType::Deleted, gone};
  history_.push_back(e);
  enqueueLocked(e);
}

template <class Op>
auto FakeApiClient::writeLocked(Op op) -> decltype(op()) {
  auto out = [&] {
    std::lock_guard lock(mu_);
    return op();
  }();
  deliverPending();
  return out;
}

void FakeApiClient::deliverPending() {
  if (delivery_ == Delivery::Async) {
    cv_.notify_all();
    return;
  }
  std::lock_guard deliver(deliver_mu_);
  while (true) {
    std::pair<std::shared_ptr<Watcher>, WatchEvent> item;
    {
      std::lock_guard lock(mu_);
      if (pending_.empty() || held_) return;
      item = std::move(pending_.front());
      pending_.pop_front();
    }
    if (!item.first->stopped) item.first->handler(item.second);
  }
}

void FakeApiClient::dispatcherLoop() {
  while (true) {
    std::pair<std::shared_ptr<Watcher>, WatchEvent> item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      item = std::move(pending_.front());
      pending_.pop_front();
      delivering_ = true;
    }
    {
      std::lock_guard deliver(deliver_mu_);
      if (!item.first->stopped) item.first->handler(item.second);
    }
    {
      std::lock_guard lock(mu_);
      delivering_ = false;
    }
    idle_cv_.notify_all();
  }
}

void FakeApiClient::holdEventsForTest(bool hold) {
  {
    std::lock_guard lock(mu_);
    held_ = hold;
  }
  if (!hold) deliverPending();
}

void FakeApiClient::waitIdleForTest() {
  if (delivery_ == Delivery::Sync) return;
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return pending_.empty() && !delivering_; });
}

Result<json> FakeApiClient::get(const GroupVersionResource& r, const std::string& ns,
                                const std::string& name) {
  if (auto slash = r.resource.find('/'); slash != std::string::npos) {
    GroupVersionResource base = r;
    base.resource = r.resource.substr(0, slash);
    if (r.resource.substr(slash + 1) != "scale")
      return Error(ErrorCode::NotFound, "get: unknown subresource '" + r.resource + "'");
    countCall("get", base, "scale");
    std::lock_guard lock(mu_);
    auto it = objects_.find(storeKey(base, ns, name));
    if (it == objects_.end())
      return Error(ErrorCode::NotFound, base.resource + " \"" + name + "\" not found");
    const json& o = it->second;
    auto sel = LabelSelector::fromJson(meta::at(o, {"spec", "selector"}));
    return json{{"apiVersion", "autoscaling/v1"},
                {"kind", "Scale"},
                {"metadata",
                 {{"name", name},
                  {"namespace", ns},
                  {"uid", meta::uid(o)},
                  {"resourceVersion", meta::resourceVersion(o)}}},
                {"spec", {{"replicas", meta::integer(o, {"spec", "replicas"}, 1)}}},
                {"status",
                 {{"replicas", meta::integer(o, {"status", "replicas"}, 0)},
                  {"selector", sel ? sel->toString() : ""}}}};
  }
  countCall("get", r, "");
  std::lock_guard lock(mu_);
  auto it = objects_.find(storeKey(r, ns, name));
  if (it == objects_.end()) {
    return Error(ErrorCode::NotFound, r.resource + " \"" + name + "\" not found");
  }
  return it->second;
}

Result<ObjectList> FakeApiClient::list(const GroupVersionResource& r, const std::string& ns,
                                       const ListOptions& opts) {
  countCall("list", r, "");
  SKIFF_ASSIGN_OR_RETURN(LabelSelector ls, LabelSelector::parse(opts.label_selector));
  SKIFF_ASSIGN_OR_RETURN(FieldSelector fs, FieldSelector::parse(opts.field_selector));
  std::lock_guard lock(mu_);
  ObjectList out;
  out.resource_version = std::to_string(rv_);
  std::string prefix = resourceKey(r) + "/" + (ns.empty() ? "" : ns + "/");
  auto it = opts.continue_token.empty() ? objects_.lower_bound(prefix)
                                        : objects_.upper_bound(opts.continue_token);
  for (; it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (!selectorsMatch(ls, fs, it->second)) continue;
    if (opts.limit > 0 && static_cast<std::int64_t>(out.items.size()) == opts.limit) {
      out.continue_token = std::prev(it)->first;
      break;
    }
    out.items.push_back(it->second);
  }
  return out;
}

Result<json> FakeApiClient::create(const GroupVersionResource& r, const std::string& ns,
                                   const json& obj, const std::string& subresource,
                                   const std::string& name) {
  countCall("create", r, subresource);
  SKIFF_TRY(checkFailure("create", r));
  if (!obj.is_object()) return Error(ErrorCode::BadRequest, "create: body must be an object");
  if (subresource == "binding") {
    {
      std::lock_guard lock(mu_);
      auto it = objects_.find(storeKey(r, ns, name));
      if (it == objects_.end()) {
        return Error(ErrorCode::NotFound, "pods \"" + name + "\" not found");
      }
      json pod = it->second;
      std::string target = meta::str(obj, {"target", "name"});
      if (target.empty()) return Error(ErrorCode::Invalid, "binding: target.name is required");
      std::string cur = meta::str(pod, {"spec", "nodeName"});
      if (!cur.empty()) {
        return Error(ErrorCode::Conflict,
                     "pod " + name + " is already assigned to node \"" + cur + "\"");
      }
      if (meta::isDeleting(pod)) {
        return Error(ErrorCode::Conflict, "pod " + name + " is being deleted, cannot be assigned");
      }
      pod["spec"]["nodeName"] = target;
      json& conds = pod["status"]["conditions"];
      if (!conds.is_array()) conds = json::array();
      json kept = json::array();
      for (const auto& c : conds) {
        if (c.value("type", "") != "PodScheduled") kept.push_back(c);
      }
      conds = std::move(kept);
      conds.push_back({{"type", "PodScheduled"},
                       {"status", "True"},
                       {"lastProbeTime", nullptr},
                       {"lastTransitionTime", formatTime(clock_->now())}});
      commitLocked(r, pod, WatchEventType::Modified);
    }
    deliverPending();
    return obj;
  }
  if (subresource == "eviction") {
    DeleteOptions opts;
    if (auto gp = meta::at(obj, {"deleteOptions", "gracePeriodSeconds"}); gp.is_number()) {
      opts.grace_period_seconds = gp.get<std::int64_t>();
    }
    SKIFF_TRY(remove(r, ns, name, opts));
    return obj;
  }
  if (!subresource.empty()) {
    return Error(ErrorCode::NotFound, "create: unknown subresource '" + subresource + "'");
  }
  const KindInfo* kind = kindOf(r);
  json o = obj;
  o["metadata"] =
      obj.contains("metadata") && obj["metadata"].is_object() ? obj["metadata"] : json::object();
  if (kind != nullptr) {
    o["kind"] = kind->kind;
    o["apiVersion"] = apiVersionOf(r);
    if (kind->namespaced) {
      std::string ons = meta::ns(o);
      if (!ons.empty() && ons != ns) {
        return Error(ErrorCode::BadRequest,
                     "the namespace of the provided object does not match the namespace sent on "
                     "the request");
      }
      o["metadata"]["namespace"] = ns;
    }
  }
  {
    std::lock_guard lock(mu_);
    std::string nm = meta::name(o);
    if (nm.empty()) {
      std::string gen = meta::str(o, {"metadata", "generateName"});
      if (gen.empty()) {
        return Error(ErrorCode::Invalid, "name or generateName is required");
      }
      static const char kAlnum[] = "bcdfghjklmnpqrstvwxz2456789";
      static std::mt19937_64 rng(42);
      do {
        nm = gen;
        for (int i = 0; i < 5; ++i) nm += kAlnum[rng() % (sizeof kAlnum - 1)];
      } while (objects_.count(storeKey(r, ns, nm)) != 0);
      o["metadata"]["name"] = nm;
    }
    if (objects_.count(storeKey(r, ns, nm)) != 0) {
      return Error(ErrorCode::AlreadyExists, r.resource + (r.group.empty() ? "" : "." + r.group) +
                                                 " \"" + nm + "\" already exists");
    }
    char uid[40];
    std::snprintf(uid, sizeof uid, "6f1c2a3b-0000-4000-8000-%012llx",
                  static_cast<unsigned long long>(++uid_counter_));
    o["metadata"]["uid"] = uid;
    o["metadata"]["creationTimestamp"] = formatTime(clock_->now());
    o["metadata"]["generation"] = 1;
    o["metadata"].erase("deletionTimestamp");
    if (r == gvr::kNamespaces) {
      o["spec"]["finalizers"] = json::array({"kubernetes"});
      o["status"]["phase"] = "Active";
    }
    if (r == gvr::kPods && !meta::at(o, {"status", "phase"}).is_string()) {
      o["status"]["phase"] = "Pending";
    }
    o = commitLocked(r, o, WatchEventType::Added);
  }
  deliverPending();
  return o;
}

Result<json> FakeApiClient::updateLocked(const GroupVersionResource& r, const std::string& ns,
                                         json obj, const std::string& subresource) {
  std::string nm = meta::name(obj);
  auto it = objects_.find(storeKey(r, ns, nm));
  if (it == objects_.end()) {
    return Error(ErrorCode::NotFound, r.resource + " \"" + nm + "\" not found");
  }
  const json& cur = it->second;
  std::string want_rv = meta::resourceVersion(obj);
  if (!want_rv.empty() && want_rv != meta::resourceVersion(cur)) {
    return Error(ErrorCode::Conflict,
                 "Operation cannot be fulfilled on " + r.resource +
                     (r.group.empty() ? "" : "." + r.group) + " \"" + nm +
                     "\": the object has been modified; please apply your changes to the latest "
                     "version and try again");
  }
  const KindInfo* kind = kindOf(r);
  json next;
  if (subresource == "status") {
    next = cur;
    next["status"] = obj.contains("status") ? obj["status"] : json::object();
  } else if (subresource == "finalize" && r == gvr::kNamespaces) {
    next = cur;
    next["spec"]["finalizers"] = meta::at(obj, {"spec", "finalizers"}).is_array()
                                     ? obj["spec"]["finalizers"]
                                     : json::array();
    const json& mf = meta::at(next, {"metadata", "finalizers"});
    if (meta::isDeleting(cur) && next["spec"]["finalizers"].empty() &&
        (!mf.is_array() || mf.empty())) {
      eraseLocked(r, next);
      return next;
    }
  } else if (subresource == "scale") {
    next = cur;
    next["spec"]["replicas"] = meta::integer(obj, {"spec", "replicas"}, 0);
    if (specPart(next) != specPart(cur)) {
      next["metadata"]["generation"] = meta::generation(cur) + 1;
    }
  } else if (!subresource.empty()) {
    return Error(ErrorCode::NotFound, "update: unknown subresource '" + subresource + "'");
  } else {
    next = obj;
    if (kind != nullptr && kind->has_status) {
      if (cur.contains("status")) {
        next["status"] = cur["status"];
      } else {
        next.erase("status");
      }
    }
    // Identity and server-owned metadata cannot change through update.
    for (const char* f : {"uid", "creationTimestamp", "namespace", "name", "deletionTimestamp",
                          "deletionGracePeriodSeconds", "generation"}) {
      if (cur["metadata"].contains(f)) {
        next["metadata"][f] = cur["metadata"][f];
      } else {
        next["metadata"].erase(f);
      }
    }
    if (kind != nullptr) {
      next["kind"] = kind->kind;
      next["apiVersion"] = apiVersionOf(r);
    }
    if (specPart(next) != specPart(cur)) {
      next["metadata"]["generation"] = meta::generation(cur) + 1;
    }
    if (meta::isDeleting(cur)) {
      // Finalizers may only be removed from an object being deleted; once none remain and the
      // grace period is zero, the object goes away.
      const json& fins = meta::at(next, {"metadata", "finalizers"});
      bool none = !fins.is_array() || fins.empty();
      if (none && meta::integer(cur, {"metadata", "deletionGracePeriodSeconds"}) == 0) {
        eraseLocked(r, next);
        return next;
      }
    }
  }
  return commitLocked(r, next, WatchEventType::Modified);
}

Result<json> FakeApiClient::update(const GroupVersionResource& r, const std::string& ns,
                                   const json& obj, const std::string& subresource) {
  countCall("update", r, subresource);
  SKIFF_TRY(checkFailure("update", r));
  if (!obj.is_object()) return Error(ErrorCode::BadRequest, "update: body must be an object");
  return writeLocked([&] { return updateLocked(r, ns, obj, subresource); });
}

Result<json> FakeApiClient::patch(const GroupVersionResource& r, const std::string& ns,
                                  const std::string& name, PatchType type, const json& p,
                                  const std::string& subresource) {
  countCall("patch", r, subresource);
  SKIFF_TRY(checkFailure("patch", r));
  return writeLocked([&]() -> Result<json> {
    auto it = objects_.find(storeKey(r, ns, name));
    if (it == objects_.end()) {
      return Error(ErrorCode::NotFound, r.resource + " \"" + name + "\" not found");
    }
    json next = it->second;
    if (type == PatchType::Json) {
      // nlohmann's patch() throws on a failing operation: the adapter boundary (STYLE.md §4).
      try {
        next = next.patch(p);
      } catch (const std::exception& e) {
        return Error(ErrorCode::Invalid, std::string("json patch: ") + e.what());
      }
    } else {
      if (!p.is_object()) return Error(ErrorCode::BadRequest, "merge patch: must be an object");
      next.merge_patch(p);
    }
    // A patch applies to the latest version unless it names one.
    if (!meta::at(p, {"metadata", "resourceVersion"}).is_string()) {
      next["metadata"]["resourceVersion"] = meta::resourceVersion(it->second);
    }
    return updateLocked(r, ns, next, subresource);
  });
}

Result<json> FakeApiClient::removeLocked(const GroupVersionResource& r, const std::string& ns,
                                         const std::string& name, const DeleteOptions& opts) {
  auto it = objects_.find(storeKey(r, ns, name));
  if (it == objects_.end()) {
    return Error(ErrorCode::NotFound, r.resource + (r.group.empty() ? "" : "." + r.group) + " \"" +
                                          name + "\" not found");
  }
  json obj = it->second;
  if (opts.precondition_uid && *opts.precondition_uid != meta::uid(obj)) {
    return Error(ErrorCode::Conflict,
                 "Precondition failed: UID in precondition: " + *opts.precondition_uid +
                     ", UID in object meta: " + meta::uid(obj));
  }
  if (opts.precondition_resource_version &&
      *opts.precondition_resource_version != meta::resourceVersion(obj)) {
    return Error(ErrorCode::Conflict, "Precondition failed: resourceVersion mismatch");
  }
  std::int64_t grace = 0;
  if (r == gvr::kPods) {
    grace = opts.grace_period_seconds.value_or(
        meta::integer(obj, {"spec", "terminationGracePeriodSeconds"}, 30));
    std::string phase = meta::str(obj, {"status", "phase"});
    if (meta::str(obj, {"spec", "nodeName"}).empty() || phase == "Succeeded" || phase == "Failed") {
      grace = 0;
    }
    if (meta::isDeleting(obj)) {
      grace = std::min(grace, meta::integer(obj, {"metadata", "deletionGracePeriodSeconds"}));
    }
  }
  json& fins = obj["metadata"]["finalizers"];
  if (!fins.is_array()) fins = json::array();
  auto addFinalizer = [&](const char* f) {
    if (!meta::hasFinalizer(obj, f)) fins.push_back(f);
  };
  if (opts.propagation_policy == "Foreground") addFinalizer("foregroundDeletion");
  if (opts.propagation_policy == "Orphan") addFinalizer("orphan");
  if (r == gvr::kNamespaces) {
    // Namespace deletion is two-phase: phase Terminating until spec.finalizers is empty.
    const json& nsf = meta::at(obj, {"spec", "finalizers"});
    if (nsf.is_array() && !nsf.empty()) {
      if (fins.empty()) obj["metadata"].erase("finalizers");
      if (!meta::isDeleting(obj)) {
        obj["metadata"]["deletionTimestamp"] = formatTime(clock_->now());
        obj["metadata"]["deletionGracePeriodSeconds"] = 0;
      }
      obj["status"]["phase"] = "Terminating";
      return commitLocked(r, obj, WatchEventType::Modified);
    }
  }
  if (fins.empty() && grace == 0) {
    obj["metadata"].erase("finalizers");
    eraseLocked(r, obj);
    return obj;
  }
  if (fins.empty()) obj["metadata"].erase("finalizers");
  if (!meta::isDeleting(obj) ||
      meta::integer(obj, {"metadata", "deletionGracePeriodSeconds"}) != grace) {
    obj["metadata"]["deletionTimestamp"] = formatTime(clock_->now() + std::chrono::seconds(grace));
    obj["metadata"]["deletionGracePeriodSeconds"] = grace;
  }
  return commitLocked(r, obj, WatchEventType::Modified);
}

Result<json> FakeApiClient::remove(const GroupVersionResource& r, const std::string& ns,
                                   const std::string& name, const DeleteOptions& opts) {
  countCall("remove", r, "");
  SKIFF_TRY(checkFailure("remove", r));
  return writeLocked([&] { return removeLocked(r, ns, name, opts); });
}

Result<void> FakeApiClient::forceRemove(const GroupVersionResource& r, const std::string& ns,
                                        const std::string& name) {
  return writeLocked([&]() -> Result<void> {
    auto it = objects_.find(storeKey(r, ns, name));
    if (it == objects_.end()) return Error(ErrorCode::NotFound, name + " not found");
    json obj = it->second;
    eraseLocked(r, obj);
    return {};
  });
}

Result<WatchPtr> FakeApiClient::watch(const GroupVersionResource& r, const std::string& ns,
                                      const ListOptions& opts, WatchHandler handler) {
  countCall("watch", r, "");
  SKIFF_ASSIGN_OR_RETURN(LabelSelector ls, LabelSelector::parse(opts.label_selector));
  SKIFF_ASSIGN_OR_RETURN(FieldSelector fs, FieldSelector::parse(opts.field_selector));
  auto w = std::make_shared<Watcher>();
  w->resource_key = resourceKey(r);
  w->ns = ns;
  w->labels = std::move(ls);
  w->fields = std::move(fs);
  w->handler = std::move(handler);
  {
    std::lock_guard lock(mu_);
    std::int64_t from = 0;
    if (!opts.resource_version.empty() && opts.resource_version != "0") {
      try {
        from = std::stoll(opts.resource_version);
      } catch (const std::exception&) {
        return Error(ErrorCode::BadRequest,
                     "invalid resourceVersion '" + opts.resource_version + "'");
      }
    }
    if (from != 0 && from < compacted_) {
      pending_.emplace_back(
          w, WatchEvent{WatchEventType::Error,
                        statusJson(410, "Expired",
                                   "too old resource version: " + opts.resource_version + " (" +
                                       std::to_string(compacted_) + ")")});
    } else if (from != 0) {
      // Replay what happened after `from` to this watcher only.
      watchers_.push_back(w);
      std::vector<std::shared_ptr<Watcher>> others;
      others.swap(watchers_);
      watchers_.push_back(w);
      for (const auto& e : history_) {
        if (e.rv > from && e.resource_key == w->resource_key) enqueueLocked(e);
      }
      watchers_.swap(others);
    } else {
      watchers_.push_back(w);
    }
  }
  deliverPending();
  return WatchPtr(std::make_unique<FakeWatch>(this, w));
}

}  // namespace skiff::master::testing
