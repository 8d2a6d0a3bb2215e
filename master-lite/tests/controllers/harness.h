#pragma once

// A small cluster for controller tests: the fake API (synchronous watches), shared informers,
// the controllers under test, and a "kubelet" that makes pods run and become Ready on demand.

#include <memory>
#include <string>
#include <vector>

#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/options.h"
#include "skiff/master/informer/shared_informers.h"
#include "skiff/master/testing/fake_api_client.h"

namespace skiff::master::testing {

class Harness {
 public:
  Harness() : informers(client) {}
  ~Harness() {
    for (auto& c : controllers) c->stop();
    informers.stop();
  }

  Controller& add(std::unique_ptr<Controller> c) {
    c->registerHandlers(informers);
    controllers.push_back(std::move(c));
    return *controllers.back();
  }
  void start() {
    auto r = informers.start(false);
    if (!r) std::abort();
  }
  // Runs every controller until no queue has ready work.
  void settle(int max_rounds = 100) {
    for (int i = 0; i < max_rounds; ++i) {
      int n = 0;
      for (auto& c : controllers) n += c->processPendingForTest();
      if (n == 0) return;
    }
  }

  std::vector<json> pods(const std::string& selector = "", const std::string& ns = "default") {
    return client.list(gvr::kPods, ns, opts::labels(selector))->items;
  }
  std::vector<json> activePods(const std::string& selector = "") {
    std::vector<json> out;
    for (auto& p : pods(selector)) {
      if (!meta::isDeleting(p)) out.push_back(p);
    }
    return out;
  }
  // Binds to `node` and marks Running + Ready (what scheduler + kubelet would do).
  void runPod(const json& p, const std::string& node = "n1") {
    std::string now = formatTime(clock->now());
    json patch = {{"spec", {{"nodeName", node}}}};
    (void)client.patch(gvr::kPods, meta::ns(p), meta::name(p), PatchType::Merge, patch);
    json st = {
        {"status",
         {{"phase", "Running"},
          {"podIP", "10.244.0." + std::to_string(++ip_)},
          {"conditions",
           json::array({{{"type", "Ready"}, {"status", "True"}, {"lastTransitionTime", now}}})}}}};
    (void)client.patch(gvr::kPods, meta::ns(p), meta::name(p), PatchType::Merge, st, "status");
  }
  void runAllPods() {
    for (auto& p : pods()) {
      if (!meta::isDeleting(p) && meta::str(p, {"status", "phase"}) != "Running") runPod(p);
    }
  }
  // `kubectl set image`: the workload's (a Deployment, StatefulSet, DaemonSet...) pod template
  // gets the one container `c` running `image`.
  bool setImage(const GroupVersionResource& workloads, const std::string& name,
                const std::string& image) {
    json containers = json::array({{{"name", "c"}, {"image", image}}});
    return client
        .patch(workloads, "default", name, PatchType::Merge,
               json{{"spec", {{"template", {{"spec", {{"containers", containers}}}}}}}})
        .has_value();
  }
  // Kubelet confirms graceful deletions.
  void finishDeletions() {
    for (auto& p : pods()) {
      if (meta::isDeleting(p)) (void)client.forceRemove(gvr::kPods, "default", meta::name(p));
    }
  }

  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  FakeApiClient client{clock};
  SharedInformers informers;
  std::vector<std::unique_ptr<Controller>> controllers;

 private:
  int ip_ = 0;
};

}  // namespace skiff::master::testing
