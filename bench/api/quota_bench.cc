// What ResourceQuota admission costs a pod create (issue 22: goal p99 within 10 %), and that
// concurrent creates never over-admit. Part 1: two registries in the same run, both with the
// admission plugins skiff-master installs (LimitRanger, ResourceQuota); one namespace has a
// ResourceQuota (pods, requests/limits, object counts), the other none (the reference). Creates
// are interleaved one by one so that machine load hits both alike, after the same untimed
// warm-up. Part 2: 100 threads create a pod each at the same moment in a namespace whose quota
// allows 50.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "skiff/master/admission/quota.h"
#include "skiff/master/testing/temp_registry.h"

namespace {

using namespace skiff::master;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

using skiff::bench::admin;
using skiff::bench::pct;

const api::ResourceInfo& res(const char* r) { return skiff::bench::res("", r); }

json pod(const std::string& name) {
  return {
      {"metadata", {{"name", name}}},
      {"spec",
       {{"containers", json::array({{{"name", "c"},
                                     {"image", "busybox"},
                                     {"resources",
                                      {{"requests", {{"cpu", "10m"}, {"memory", "16Mi"}}},
                                       {"limits", {{"cpu", "20m"}, {"memory", "32Mi"}}}}}}})}}}};
}

std::unique_ptr<testing::TempRegistry> server(const std::string& ns, const json* hard) {
  std::string err;
  auto t = testing::TempRegistry::create({}, &err);
  if (!t) {
    std::fprintf(stderr, "registry: %s\n", err.c_str());
    return nullptr;
  }
  api::Registry& reg = t->registry();
  reg.addAdmissionPlugin(admission::newLimitRanger(reg));
  reg.addAdmissionPlugin(admission::newResourceQuotaAdmission(reg));
  if (!reg.create(res("namespaces"), "", {{"metadata", {{"name", ns}}}}, admin())) return nullptr;
  if (hard != nullptr) {
    json q = {{"metadata", {{"name", "q"}}}, {"spec", {{"hard", *hard}}}};
    // The quota controller fills status.hard and a zero status.used; admission charges against
    // them (a quota without usage for a resource refuses with "status unknown").
    auto created = reg.create(res("resourcequotas"), ns, q, admin());
    if (!created) {
      std::fprintf(stderr, "quota: %s\n", created.error().message().c_str());
      return nullptr;
    }
    json st = created->object;
    json used = json::object();
    for (const auto& [k, v] : hard->items()) used[k] = "0";
    st["status"] = {{"hard", *hard}, {"used", used}};
    if (!reg.update(res("resourcequotas"), ns, "q", st, admin(), "status")) return nullptr;
  }
  return t;
}

double loadavg() {
  double l = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = -1;
    std::fclose(f);
  }
  return l;
}

// Part 2: how many of 100 simultaneous creates a quota of 50 pods admits, and what it records.
bool concurrentCreates() {
  json hard = {{"pods", "50"}};
  auto t = server("race", &hard);
  if (!t) return false;
  api::Registry& reg = t->registry();
  std::atomic<int> admitted{0}, refused{0}, other{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 100; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      auto r = reg.create(res("pods"), "race", pod("p-" + std::to_string(i)), admin());
      if (r) {
        ++admitted;
      } else if (r.error().message().find("exceeded quota: q") != std::string::npos) {
        ++refused;
      } else {
        ++other;
        std::fprintf(stderr, "unexpected: %s\n", r.error().message().c_str());
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  auto pods = reg.list(res("pods"), "race", {});
  auto q = reg.get(res("resourcequotas"), "race", "q");
  std::size_t stored = pods ? (*pods)["items"].size() : 0;
  std::string used = q ? q->value("status", json::object())
                             .value("used", json::object())
                             .value("pods", std::string("?"))
                       : "?";
  std::printf(
      "100 concurrent pod creates against a quota of pods=50: admitted %d, refused %d (exceeded "
      "quota), other errors %d; pods stored %zu; quota status.used.pods %s (goal: exactly 50)\n",
      admitted.load(), refused.load(), other.load(), stored, used.c_str());
  return admitted == 50 && stored == 50 && used == "50";
}

// Where a quota'd create's extra time goes, measured on the same registry after the run: the
// charge is written in the pod's own transaction (a store commit of pod + quota, against a
// create of the pod alone). The quotas come from memory (the plugin keeps the quota it wrote, so
// nothing is listed or decoded per create). Each piece p50 over `n` repetitions.
void breakdown(testing::TempRegistry& t, int n) {
  store::Store& s = t.store();
  const std::string qkey = t.registry().storageKey(res("resourcequotas"), "bench", "q");
  auto pods = s.list(t.registry().storageKey(res("pods"), "bench"), "", 1);
  if (!pods || pods->items.empty()) return;
  const std::string pod_value = pods->items[0].value;
  std::vector<double> alone, together;
  for (int i = 0; i < n; ++i) {
    auto q = s.get(qkey);
    if (!q) return;
    auto t1 = Clock::now();
    auto a = s.create("/breakdown/alone/" + std::to_string(i), pod_value);
    auto t2 = Clock::now();
    auto c = s.commit(
        {{store::TxnOp::Kind::Create, "/breakdown/together/" + std::to_string(i), pod_value, 0},
         {store::TxnOp::Kind::Update, qkey, q->value, q->mod_revision}});
    auto t3 = Clock::now();
    if (!a || !c) return;
    alone.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
    together.push_back(std::chrono::duration<double, std::micro>(t3 - t2).count());
  }
  std::printf(
      "  where the quota's time goes (p50 of %d each): store write of the pod alone %6.1f us, of "
      "pod + quota in one transaction %6.1f us\n",
      n, pct(alone, 0.5), pct(together, 0.5));
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 2000;
  json hard = {
      {"pods", "100000"},      {"requests.cpu", "10000"},    {"requests.memory", "10000Gi"},
      {"limits.cpu", "10000"}, {"limits.memory", "10000Gi"}, {"count/configmaps", "1000"}};
  auto quota = server("bench", &hard);
  auto none = server("bench", nullptr);
  if (!quota || !none) return 1;
  // Untimed warm-up, alike for both: the quota registry's setup (its quota's create and status
  // update) already started its caches and prepared its statements; the reference's would
  // otherwise do so in its first timed creates.
  for (int i = 0; i < 50; ++i) {
    for (auto* t : {quota.get(), none.get()}) {
      if (!t->registry().create(res("pods"), "bench", pod("warm-" + std::to_string(i)), admin()))
        return 1;
    }
  }
  std::vector<double> with_us, without_us;
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < 2; ++k) {  // which one goes first alternates
      bool q = (i + k) % 2 == 0;
      api::Registry& reg = (q ? quota : none)->registry();
      auto t0 = Clock::now();
      auto r = reg.create(res("pods"), "bench", pod("p-" + std::to_string(i)), admin());
      auto us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
      if (!r) {
        std::fprintf(stderr, "create %d: %s\n", i, r.error().message().c_str());
        return 1;
      }
      (q ? with_us : without_us).push_back(us);
    }
  }
  std::printf(
      "ResourceQuota admission cost: %d pod creates per registry (in process, LimitRanger + "
      "ResourceQuota plugins installed in both); loadavg %.2f\n",
      n, loadavg());
  std::printf(
      "  pod create  with a quota (6 resources) p50 %7.1f us p99 %7.1f us | no quota "
      "(reference) p50 %7.1f us p99 %7.1f us | p99 ratio %.3f (goal <= 1.10)\n",
      pct(with_us, 0.5), pct(with_us, 0.99), pct(without_us, 0.5), pct(without_us, 0.99),
      pct(with_us, 0.99) / pct(without_us, 0.99));
  breakdown(*quota, 500);
  return concurrentCreates() ? 0 : 1;
}
