// N pods each with a WaitForFirstConsumer local-path claim, and N pods with an emptyDir, created
// together on M in-memory nodes; the real scheduler (VolumeBinding, selected-node) and PV
// controller (local-path provisioning, binding) run in process against the fake API, and a
// simulated agent marks a pod Running once it is bound to a node and all its claims are Bound
// (what the real agent waits for before mounting). Prints pod create -> Running p50/p99 of both
// kinds, and how many claims were provisioned and bound.
//
//   skiff_bench_storage [pods=100] [nodes=3]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "fake_nodes.h"
#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/shared_informers.h"
#include "skiff/master/scheduler/scheduler.h"
#include "skiff/master/testing/fake_api_client.h"

using namespace skiff::master;
using Steady = std::chrono::steady_clock;

namespace {

const GroupVersionResource kPvcs{"", "v1", "persistentvolumeclaims"};
const GroupVersionResource kClasses{"storage.k8s.io", "v1", "storageclasses"};

json makePod(const std::string& name, bool claim) {
  json vol = claim ? json{{"name", "d"}, {"persistentVolumeClaim", {{"claimName", name}}}}
                   : json{{"name", "d"}, {"emptyDir", json::object()}};
  return {
      {"metadata", {{"name", name}, {"namespace", "default"}}},
      {"spec",
       {{"containers",
         json::array({{{"name", "c"},
                       {"image", "busybox"},
                       {"resources", {{"requests", {{"cpu", "10m"}, {"memory", "16Mi"}}}}},
                       {"volumeMounts", json::array({{{"name", "d"}, {"mountPath", "/d"}}})}}})},
        {"volumes", json::array({vol})}}}};
}

double pct(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * v.size()))];
}

}  // namespace

int main(int argc, char** argv) {
  int pods = 100, nodes = 3;
  if (!skiff::bench::podsAndNodes(argc, argv, pods, nodes)) return 2;
  auto clock = std::make_shared<FakeClock>();
  testing::FakeApiClient client(clock);
  // Local-path volumes go under each node's storage root.
  const json local_path = {
      {"metadata", {{"annotations", {{"skiff.io/storage-root", "/var/lib/skiff/storage"}}}}},
      {"status", {{"allocatable", {{"ephemeral-storage", "1Ti"}}}}}};
  if (!skiff::bench::createNodes(client, nodes, local_path)) return 1;
  if (!client.create(kClasses, "",
                     json{{"metadata", {{"name", "local-path"}}},
                          {"provisioner", "skiff.io/local-path"},
                          {"reclaimPolicy", "Delete"},
                          {"volumeBindingMode", "WaitForFirstConsumer"}}))
    return 1;
  SharedInformers informers(client);
  auto pvc = newPersistentVolumeController(client, clock);
  pvc->registerHandlers(informers);
  if (!informers.start(false)) return 1;
  SchedulerOptions o;
  o.clock = clock;
  o.seed = 1;
  auto sched = newScheduler(client, o);
  if (!sched->start(false)) return 1;

  std::map<std::string, Steady::time_point> created;
  std::map<std::string, double> running_ms;
  for (int i = 0; i < pods; ++i) {
    std::string c = "claim-" + std::to_string(i), e = "empty-" + std::to_string(i);
    json claim = {{"metadata", {{"name", c}, {"namespace", "default"}}},
                  {"spec",
                   {{"accessModes", {"ReadWriteOnce"}},
                    {"storageClassName", "local-path"},
                    {"volumeMode", "Filesystem"},
                    {"resources", {{"requests", {{"storage", "1Gi"}}}}}}},
                  {"status", {{"phase", "Pending"}}}};
    if (!client.create(kPvcs, "default", claim)) return 1;
    created[c] = Steady::now();
    if (!client.create(gvr::kPods, "default", makePod(c, true))) return 1;
    created[e] = Steady::now();
    if (!client.create(gvr::kPods, "default", makePod(e, false))) return 1;
  }
  // Rounds of scheduler, controller and simulated agent until every pod runs.
  for (int round = 0; round < 1000 && static_cast<int>(running_ms.size()) < 2 * pods; ++round) {
    sched->runPendingForTest();
    while (pvc->processPendingForTest() > 0) {
    }
    auto list = client.list(gvr::kPods, "default", {});
    for (const auto& p : list->items) {
      std::string name = meta::name(p);
      if (running_ms.count(name) || meta::str(p, {"spec", "nodeName"}).empty()) continue;
      if (name.rfind("claim-", 0) == 0) {
        auto c = client.get(kPvcs, "default", name);
        if (!c || meta::str(*c, {"status", "phase"}) != "Bound") continue;
      }
      json st = {{"status", {{"phase", "Running"}}}};
      if (!client.patch(gvr::kPods, "default", name, PatchType::Merge, st, "status")) return 1;
      running_ms[name] =
          std::chrono::duration<double, std::milli>(Steady::now() - created[name]).count();
    }
    clock->advance(std::chrono::seconds(1));
  }
  std::vector<double> claim_ms, empty_ms;
  for (const auto& [name, ms] : running_ms) (name[0] == 'c' ? claim_ms : empty_ms).push_back(ms);
  int bound = 0;
  auto claims = client.list(kPvcs, "default", {});
  for (const auto& c : claims->items) bound += meta::str(c, {"status", "phase"}) == "Bound";
  std::printf(
      "storage: %d WaitForFirstConsumer claim pods + %d emptyDir pods on %d nodes "
      "(in-process scheduler + PV controller, simulated agent)\n",
      pods, pods, nodes);
  std::printf("  claims provisioned and bound: %d/%d\n", bound, pods);
  std::printf("  create -> Running  claim pods:    p50 %.1f ms  p99 %.1f ms  (%zu running)\n",
              pct(claim_ms, 0.5), pct(claim_ms, 0.99), claim_ms.size());
  std::printf("  create -> Running  emptyDir pods: p50 %.1f ms  p99 %.1f ms  (%zu running)\n",
              pct(empty_ms, 0.5), pct(empty_ms, 0.99), empty_ms.size());
  sched->stop();
  pvc->stop();
  informers.stop();
  return bound == pods && static_cast<int>(running_ms.size()) == 2 * pods ? 0 : 1;
}
