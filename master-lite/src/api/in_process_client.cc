// ApiClient for the scheduler, the controllers and the API server's own work: the registry
// called directly with the same semantics as an HTTP request, each call authorized for the
// client's identity through the --authorization-mode chain first (a refusal is the 403 an
// HTTP client would get).
#include <condition_variable>
#include <thread>

#include "in_process_audit.h"
#include "skiff/master/api/authorizer.h"
#include "skiff/master/api/registry.h"

namespace skiff::master::api {
namespace {

const ResourceInfo* lookup(const GroupVersionResource& g) {
  return findResource(g.group, g.version, g.resource);
}

Error unknown(const GroupVersionResource& g) {
  return Error(ErrorCode::NotFound, "the server could not find the requested resource (" +
                                        g.resource + (g.group.empty() ? "" : "." + g.group) + ")");
}

// Delivers a WatchQueue's events to a handler on its own thread.
class ThreadWatch : public Watch {
 public:
  // `audited` (may be null) is the watch's audit record, completed when the watch stops.
  ThreadWatch(WatchQueuePtr q, WatchHandler handler, std::unique_ptr<ResponseStream> audited)
      : q_(std::move(q)), handler_(std::move(handler)), audited_(std::move(audited)) {
    q_->setNotify([this] {
      std::lock_guard l(mu_);
      signalled_ = true;
      cv_.notify_one();
    });
    thread_ = std::thread([this] { run(); });
  }
  ~ThreadWatch() override { stop(); }

  void stop() override {
    {
      std::lock_guard l(mu_);
      if (stopping_) {
        if (thread_.joinable() && std::this_thread::get_id() != thread_.get_id()) thread_.join();
        return;
      }
      stopping_ = true;
      cv_.notify_one();
    }
    q_->stop();
    audited_.reset();
    if (thread_.joinable()) {
      if (std::this_thread::get_id() == thread_.get_id()) {
        thread_.detach();  // stop() from inside the handler: the loop exits after it returns
      } else {
        thread_.join();
      }
    }
  }

 private:
  void run() {
    for (;;) {
      {
        std::unique_lock l(mu_);
        cv_.wait(l, [this] { return signalled_ || stopping_; });
        if (stopping_) return;
        signalled_ = false;
      }
      for (;;) {
        auto items = q_->next();
        if (items.empty()) break;
        for (auto& it : items) {
          {
            std::lock_guard l(mu_);
            if (stopping_) return;
          }
          handler_(WatchEvent{it.type, std::move(it.object)});
        }
      }
      if (q_->closed()) {
        std::lock_guard l(mu_);
        if (!stopping_) {
          // The queue overflowed or the store watch ended: tell the consumer to re-list, as a
          // reflector does after a 410.
          json status = {{"kind", "Status"},
                         {"apiVersion", "v1"},
                         {"metadata", json::object()},
                         {"status", "Failure"},
                         {"reason", "Expired"},
                         {"code", 410},
                         {"message", "watch closed: the consumer fell too far behind"}};
          stopping_ = true;
          mu_.unlock();
          handler_(WatchEvent{WatchEventType::Error, status});
          mu_.lock();
        }
        return;
      }
    }
  }

  WatchQueuePtr q_;
  WatchHandler handler_;
  std::unique_ptr<ResponseStream> audited_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool signalled_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

class InProcessClient : public ApiClient {
 public:
  InProcessClient(Registry& reg, InProcessIdentity who, RequestAuditor* auditor)
      : reg_(reg), audit_(auditor, who.user, inProcessUserAgent(who)) {
    opts_.user = std::move(who.user);
    opts_.field_manager = std::move(who.field_manager);
  }

  Result<json> get(const GroupVersionResource& r, const std::string& ns,
                   const std::string& name) override {
    GroupVersionResource base = r;
    std::string subresource;
    if (auto slash = r.resource.find('/'); slash != std::string::npos) {
      base.resource = r.resource.substr(0, slash);
      subresource = r.resource.substr(slash + 1);
    }
    const ResourceInfo* ri = lookup(base);
    if (!ri) return unknown(base);
    return call({"get", *ri, subresource, ns, name}, nullptr,
                [&](const WriteOptions&, bool&) { return reg_.get(*ri, ns, name, subresource); });
  }

  Result<ObjectList> list(const GroupVersionResource& r, const std::string& ns,
                          const ListOptions& o) override {
    const ResourceInfo* ri = lookup(r);
    if (!ri) return unknown(r);
    SKIFF_ASSIGN_OR_RETURN(
        json l, call({"list", *ri, "", ns, ""}, nullptr,
                     [&](const WriteOptions&, bool&) { return reg_.list(*ri, ns, Selection{o}); }));
    ObjectList out;
    out.resource_version = l["metadata"].value("resourceVersion", "");
    out.continue_token = l["metadata"].value("continue", "");
    for (auto& it : l["items"]) out.items.push_back(std::move(it));
    return out;
  }

  Result<json> create(const GroupVersionResource& r, const std::string& ns, const json& obj,
                      const std::string& subresource, const std::string& name) override {
    const ResourceInfo* ri = lookup(r);
    if (!ri) return unknown(r);
    Target t{"create", *ri, subresource, ns, subresource.empty() ? "" : name};
    return call(t, &obj, [&](const WriteOptions& o, bool& created) -> Result<json> {
      SKIFF_ASSIGN_OR_RETURN(WriteResult res, reg_.create(*ri, ns, obj, o, subresource, name));
      created = res.created;
      return std::move(res.object);
    });
  }

  Result<json> update(const GroupVersionResource& r, const std::string& ns, const json& obj,
                      const std::string& subresource) override {
    const ResourceInfo* ri = lookup(r);
    if (!ri) return unknown(r);
    std::string name =
        obj.is_object() ? obj.value("/metadata/name"_json_pointer, std::string()) : "";
    if (name.empty()) return Error(ErrorCode::BadRequest, "update: metadata.name is required");
    return call({"update", *ri, subresource, ns, name}, &obj,
                [&](const WriteOptions& o, bool&) -> Result<json> {
                  SKIFF_ASSIGN_OR_RETURN(WriteResult res,
                                         reg_.update(*ri, ns, name, obj, o, subresource));
                  return std::move(res.object);
                });
  }

  Result<json> patch(const GroupVersionResource& r, const std::string& ns, const std::string& name,
                     PatchType type, const json& p, const std::string& subresource) override {
    const ResourceInfo* ri = lookup(r);
    if (!ri) return unknown(r);
    PatchKind k = type == PatchType::Json    ? PatchKind::Json
                  : type == PatchType::Merge ? PatchKind::Merge
                                             : PatchKind::Strategic;
    return call({"patch", *ri, subresource, ns, name}, &p,
                [&](const WriteOptions& o, bool&) -> Result<json> {
                  SKIFF_ASSIGN_OR_RETURN(WriteResult res,
                                         reg_.patch(*ri, ns, name, k, p, o, subresource));
                  return std::move(res.object);
                });
  }

  Result<json> remove(const GroupVersionResource& r, const std::string& ns, const std::string& name,
                      const DeleteOptions& del) override {
    const ResourceInfo* ri = lookup(r);
    if (!ri) return unknown(r);
    return call({"delete", *ri, "", ns, name}, nullptr,
                [&](const WriteOptions& o, bool&) -> Result<json> {
                  SKIFF_ASSIGN_OR_RETURN(WriteResult res, reg_.remove(*ri, ns, name, del, o));
                  return std::move(res.object);
                });
  }

  Result<WatchPtr> watch(const GroupVersionResource& r, const std::string& ns, const ListOptions& o,
                         WatchHandler handler) override {
    const ResourceInfo* ri = lookup(r);
    if (!ri) return unknown(r);
    auto audit = audit_.begin("watch", *ri, "", ns, "", nullptr, "watch=true");
    auto az = allowed({"watch", *ri, "", ns, ""});
    InProcessAudit::decided(audit, az);
    Selection s{o};
    // ""/"0" mean "from now" for this interface (the caller lists first).
    if (s.resource_version.empty() || s.resource_version == "0") {
      s.resource_version = std::to_string(reg_.store().currentRevision());
    }
    auto q = az ? reg_.watch(*ri, ns, s) : Result<WatchQueuePtr>(az.error());
    if (!q) {
      InProcessAudit::finish(audit, q.error());
      return std::move(q).error();
    }
    return WatchPtr(std::make_unique<ThreadWatch>(std::move(*q), std::move(handler),
                                                  InProcessAudit::finishWatch(audit)));
  }

 private:
  // What a call acts on, as the authorizer and the audit log see it.
  struct Target {
    const char* verb;
    const ResourceInfo& ri;
    std::string subresource, ns, name;
  };

  // The authorizer chain's decision for this call, as the handler asks it for an HTTP request.
  Result<void> allowed(const Target& t) {
    RequestAttributes a;
    a.verb = t.verb;
    a.resource = &t.ri;
    a.subresource = t.subresource;
    a.ns = t.ri.namespaced ? t.ns : "";
    a.name = t.name;
    return authorize(reg_, opts_.user, a);
  }

  // Authorizes, runs and audits one call (the audit log's record of the request it stands for).
  template <typename Run>
  Result<json> call(const Target& t, const json* body, Run run) {
    auto audit = audit_.begin(t.verb, t.ri, t.subresource, t.ns, t.name, body);
    auto az = allowed(t);
    InProcessAudit::decided(audit, az);
    if (!az) {
      InProcessAudit::finish(audit, az.error());
      return std::move(az).error();
    }
    bool created = false;
    if (!audit) return run(opts_, created);  // no copy of the options on the unaudited path
    WriteOptions o = opts_;
    o.notes = &audit->info.notes;
    Result<json> res = run(o, created);
    InProcessAudit::finish(audit, res, created);
    return res;
  }

  Registry& reg_;
  WriteOptions opts_;
  InProcessAudit audit_;
};

}  // namespace

InProcessIdentity apiServerIdentity() {
  return {{"system:apiserver", {"system:masters", "system:authenticated"}}, "kube-apiserver"};
}

InProcessIdentity componentIdentity(const std::string& component) {
  if (component == "kube-scheduler" || component == "kube-controller-manager")
    return {{"system:" + component, {"system:authenticated"}}, component};
  return {
      {"system:serviceaccount:kube-system:" + component,
       {"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"}},
      "kube-controller-manager"};
}

std::unique_ptr<ApiClient> newInProcessClient(Registry& registry, InProcessIdentity identity,
                                              RequestAuditor* auditor) {
  return std::make_unique<InProcessClient>(registry, std::move(identity), auditor);
}

std::unique_ptr<ApiClient> newInProcessClient(Registry& registry) {
  return newInProcessClient(registry, apiServerIdentity());
}

}  // namespace skiff::master::api
