// apiextensions-apiserver's controllers in one loop over the CRDs (pkg/controller/status
// naming_controller.go, establish/establishing_controller.go, finalizer/crd_finalizer.go):
// names are accepted unless another CRD of the group already has them, an accepted CRD is
// Established and served at once, and a deleted CRD's objects are deleted before the CRD goes.
// A watch on the CRDs wakes the loop; it also runs every few seconds.
#include <algorithm>
#include <map>
#include <set>

#include "skiff/common/log.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/apiextensions/apiextensions.h"
#include "skiff/master/poll_loop.h"

namespace skiff::master::apiextensions {
namespace {

using api::at;
using api::ResourceInfo;
using api::str;

const ResourceInfo& crdInfo() {
  return *api::findResource("apiextensions.k8s.io", "v1", "customresourcedefinitions");
}

const std::shared_ptr<spdlog::logger>& lg() {
  static const auto l = skiff::log::get("master");
  return l;
}

struct UsedNames {
  std::set<std::string> resources;  // plurals, singulars, short names
  std::set<std::string> kinds;      // kinds, list kinds
};

UsedNames namesInGroup(const json& items, const json& self) {
  UsedNames used;
  std::string group = str(self, {"spec", "group"});
  std::string name = str(self, {"metadata", "name"});
  for (const auto& c : items) {
    if (str(c, {"spec", "group"}) != group || str(c, {"metadata", "name"}) == name) continue;
    const json& n = at(c, {"status", "acceptedNames"});
    if (!n.is_object()) continue;
    for (const char* k : {"plural", "singular"}) {
      if (!n.value(k, "").empty()) used.resources.insert(n.value(k, ""));
    }
    for (const auto& s : n.value("shortNames", json::array()))
      used.resources.insert(s.get<std::string>());
    for (const char* k : {"kind", "listKind"}) {
      if (!n.value(k, "").empty()) used.kinds.insert(n.value(k, ""));
    }
  }
  return used;
}

struct Condition {
  std::string status, reason, message;
};

// naming_controller.go calculateNamesAndConditions: the requested names, or why not.
Condition acceptNames(const json& names, const UsedNames& used) {
  auto conflict = [](const char* reason, const std::string& n) {
    return Condition{"False", reason, "\"" + n + "\" is already in use"};
  };
  std::string plural = names.value("plural", ""), singular = names.value("singular", "");
  if (used.resources.count(plural)) return conflict("PluralConflict", plural);
  if (used.resources.count(singular)) return conflict("SingularConflict", singular);
  for (const auto& s : names.value("shortNames", json::array())) {
    if (used.resources.count(s.get<std::string>()))
      return conflict("ShortNamesConflict", s.get<std::string>());
  }
  if (used.kinds.count(names.value("kind", "")))
    return conflict("KindConflict", names.value("kind", ""));
  if (used.kinds.count(names.value("listKind", "")))
    return conflict("ListKindConflict", names.value("listKind", ""));
  return {"True", "NoConflicts", "no conflicts found"};
}

// Sets condition `type`, keeping lastTransitionTime when the status does not change.
void setCondition(json& status, const std::string& type, const Condition& c) {
  if (!status.contains("conditions") || !status["conditions"].is_array())
    status["conditions"] = json::array();
  json& list = status["conditions"];
  for (auto& cur : list) {
    if (cur.value("type", "") != type) continue;
    if (cur.value("status", "") != c.status)
      cur["lastTransitionTime"] = api::formatTime(api::Clock::now());
    cur["status"] = c.status;
    cur["reason"] = c.reason;
    cur["message"] = c.message;
    return;
  }
  list.push_back({{"type", type},
                  {"status", c.status},
                  {"lastTransitionTime", api::formatTime(api::Clock::now())},
                  {"reason", c.reason},
                  {"message", c.message}});
}

std::string conditionStatus(const json& crd, const std::string& type) {
  for (const auto& c : at(crd, {"status", "conditions"})) {
    if (c.value("type", "") == type) return c.value("status", "");
  }
  return "";
}

json desiredStatus(const json& crd, const json& items) {
  json status = crd.value("status", json::object());
  if (!status.is_object()) status = json::object();
  const json& requested = at(crd, {"spec", "names"});
  Condition names = acceptNames(requested, namesInGroup(items, crd));
  if (names.status == "True") status["acceptedNames"] = requested;
  if (!status.contains("acceptedNames")) status["acceptedNames"] = json::object();
  setCondition(status, "NamesAccepted", names);
  bool established = conditionStatus(crd, "Established") == "True";
  if (names.status == "True") {
    setCondition(status, "Established",
                 {"True", "InitialNamesAccepted", "the initial names have been accepted"});
  } else if (!established) {
    setCondition(status, "Established", {"False", "NotAccepted", "not all names are accepted"});
  }
  return status;
}

class Controller : public CrdController {
 public:
  Controller(api::Registry& reg, bool run_loop) : reg_(reg) {
    if (run_loop) loop_.start([this] { return pass(); });
  }
  ~Controller() override { stop(); }

  void stop() override {
    loop_.stop();
    if (watch_) watch_->stop();
  }

  void sync() override {
    auto list = reg_.list(crdInfo(), "", {});
    if (!list) return;
    const json& items = (*list)["items"];
    std::set<std::string> present;
    terminating_ = false;
    for (const auto& crd : items) {
      std::string name = str(crd, {"metadata", "name"});
      present.insert(name);
      if (at(crd, {"metadata", "deletionTimestamp"}).is_string()) {
        terminating_ = true;
        finalize(crd);
        continue;
      }
      json current = crd;
      json status = desiredStatus(crd, items);
      if (status != crd.value("status", json::object())) {
        json next = crd;
        next["status"] = status;
        api::WriteOptions opts;
        opts.field_manager = "apiextensions-controller";
        auto res = reg_.update(crdInfo(), "", name, next, opts, "status");
        if (!res) continue;  // changed meanwhile: the watch brings us back
        current = res->object;
      }
      serve(current);
    }
    for (auto it = served_.begin(); it != served_.end();) {
      if (present.count(it->first)) {
        ++it;
        continue;
      }
      api::removeCustomResources(it->first);
      it = served_.erase(it);
    }
  }

 private:
  void serve(const json& crd) {
    std::string name = str(crd, {"metadata", "name"});
    std::string rv = str(crd, {"metadata", "resourceVersion"});
    if (conditionStatus(crd, "Established") != "True") return;
    auto it = served_.find(name);
    if (it != served_.end() && it->second == rv) return;
    api::setCustomResources(name, resourcesOf(crd));
    served_[name] = rv;
    SKIFF_LOG_INFO(lg(), "Serving custom resource", skiff::log::kv("crd", name));
  }

  // crd_finalizer.go: delete every object (through the registry, so their own finalizers and
  // watches apply); once none is left stop serving and drop the cleanup finalizer.
  void finalize(const json& crd) {
    std::string name = str(crd, {"metadata", "name"});
    const json& fin = at(crd, {"metadata", "finalizers"});
    if (!fin.is_array() || std::find(fin.begin(), fin.end(), kCleanupFinalizer) == fin.end())
      return;
    bool remaining = false;
    for (const auto& r : resourcesOf(crd)) {
      if (r.version != r.storage_version) continue;
      auto objs = reg_.list(r, "", {});
      if (!objs) continue;
      for (const auto& o : (*objs)["items"]) {
        remaining = true;
        if (at(o, {"metadata", "deletionTimestamp"}).is_string()) continue;
        (void)reg_.remove(r, str(o, {"metadata", "namespace"}), str(o, {"metadata", "name"}), {},
                          {});
      }
    }
    if (remaining) return;
    api::removeCustomResources(name);
    served_.erase(name);
    json next = crd;
    json kept = json::array();
    for (const auto& f : fin) {
      if (f != kCleanupFinalizer) kept.push_back(f);
    }
    next["metadata"]["finalizers"] = kept;
    if (auto res = reg_.update(crdInfo(), "", name, next, {}); !res) {
      SKIFF_LOG_WARN(lg(), "Finalizing CustomResourceDefinition failed, retrying",
                     skiff::log::kv("crd", name), skiff::log::kv("err", res.error().message()));
    }
  }

  void ensureWatch() {
    if (watch_ && !watch_->closed()) return;
    auto w = reg_.watch(crdInfo(), "", {});
    if (!w) return;
    watch_ = std::move(w).value();
    watch_->setNotify([this] { loop_.wake(); });
  }

  // The loop's pass: the watch drained, then a sync; sooner again while a CRD is terminating.
  std::chrono::milliseconds pass() {
    ensureWatch();
    if (watch_) (void)watch_->next(1 << 20);
    sync();
    return terminating_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(5000);
  }

  api::Registry& reg_;
  std::map<std::string, std::string> served_;  // CRD name -> resourceVersion served
  bool terminating_ = false;
  api::WatchQueuePtr watch_;
  PollLoop loop_;
};

}  // namespace

std::unique_ptr<CrdController> startCrdController(api::Registry& registry, bool run_loop) {
  return std::make_unique<Controller>(registry, run_loop);
}

}  // namespace skiff::master::apiextensions
