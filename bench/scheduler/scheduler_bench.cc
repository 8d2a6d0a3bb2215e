// Schedules N pods onto M in-memory nodes through the real scheduler code path (informers,
// queue, filters, scores, assume cache, pods/binding, Scheduled events) against the fake API,
// and prints pods/s and the p50/p99 per-pod scheduling latency next to kube-scheduler's
// published scheduler_perf throughput.
//
//   skiff_bench_scheduler [pods=10000] [nodes=1000]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fake_nodes.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/scheduler/scheduler.h"
#include "skiff/master/testing/fake_api_client.h"

using namespace skiff::master;

int main(int argc, char** argv) {
  int pods = 10000, nodes = 1000;
  if (!skiff::bench::podsAndNodes(argc, argv, pods, nodes)) return 2;
  auto clock = std::make_shared<FakeClock>();
  testing::FakeApiClient client(clock);
  if (!skiff::bench::createNodes(client, nodes)) return 1;
  SchedulerOptions o;
  o.clock = clock;
  o.seed = 1;
  auto sched = newScheduler(client, o);
  if (!sched->start(false)) return 1;
  // Pods of 100 ReplicaSets, as scheduler_perf's SchedulingBasic uses a pod template.
  for (int i = 0; i < pods; ++i) {
    json p = {{"metadata",
               {{"name", "pod-" + std::to_string(i)},
                {"ownerReferences", json::array({{{"apiVersion", "apps/v1"},
                                                  {"kind", "ReplicaSet"},
                                                  {"name", "rs"},
                                                  {"uid", "rs-" + std::to_string(i % 100)},
                                                  {"controller", true}}})}}},
              {"spec",
               {{"containers",
                 json::array(
                     {{{"name", "c"},
                       {"image", "pause"},
                       {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "500Mi"}}}}}}})}}}};
    if (!client.create(gvr::kPods, "default", p)) return 1;
  }
  auto start = std::chrono::steady_clock::now();
  int attempts = sched->runPendingForTest();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  SchedulerStats st = sched->stats();
  auto lat = st.attempt_latency_us;
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) {
    return lat.empty()
               ? 0.0
               : lat[std::min(lat.size() - 1, static_cast<std::size_t>(q * lat.size()))] / 1000.0;
  };
  ObjectList bound = *client.list(gvr::kPods, "default", [] {
    ListOptions lo;
    lo.field_selector = "spec.nodeName!=";
    return lo;
  }());
  std::printf("scheduler: %d pods onto %d nodes: %llu bound, %d attempts in %.2f s\n", pods, nodes,
              static_cast<unsigned long long>(st.scheduled), attempts, secs);
  std::printf("  throughput: %.0f pods/s   per-pod latency p50 %.3f ms  p99 %.3f ms\n",
              st.scheduled / secs, pct(0.50), pct(0.99));
  std::printf(
      "  reference: kube-scheduler scheduler_perf SchedulingBasic, 5000 nodes: about "
      "100-300 pods/s (published upstream perf-dash figures)\n");
  std::printf("  verified bound via list: %zu\n", bound.items.size());
  sched->stop();
  return bound.items.size() == static_cast<std::size_t>(pods) ? 0 : 1;
}
