// What ResourceQuota admission costs a pod create (issue 22: goal p99 within 10 %), and that
// concurrent creates never over-admit. Part 1: two servers in the same run, both with the
// admission plugins skiff-master installs (LimitRanger, ResourceQuota); one namespace has a
// ResourceQuota (pods, requests/limits, object counts), the other none (the reference). A pod
// create is timed twice over: as a client's request through skiff-master's request path
// (api::Handler: decoding, authentication, authorization, admission, the store, the response;
// everything but TLS and the socket), the figure the goal is about, and as the registry's
// create alone (the same work without the request's), which shows the quota's share most
// starkly. Creates are interleaved one by one so that machine load hits both servers alike,
// after the same untimed warm-up. Part 2: 100 threads create a pod each at the same moment in a
// namespace whose quota allows 50.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "bench_util.h"
#include "skiff/master/admission/quota.h"
#include "skiff/master/testing/create_race.h"
#include "skiff/master/testing/temp_handler.h"

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

std::unique_ptr<testing::TempHandler> server(const std::string& ns, const json* hard) {
  std::string err;
  auto t = testing::TempHandler::create({}, {}, &err);
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
  auto race = testing::raceCreates(
      100,
      [&](int i) {
        return reg.create(res("pods"), "race", pod("p-" + std::to_string(i)), admin());
      },
      "exceeded quota: q",
      [](const skiff::Error& e) { std::fprintf(stderr, "unexpected: %s\n", e.message().c_str()); });
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
      race.admitted, race.refused, race.other, stored, used.c_str());
  return race.admitted == 50 && stored == 50 && used == "50";
}

// Where a quota'd create's extra time goes, measured on the same registry after the run: the
// charge is written in the pod's own transaction (a store commit of pod + quota, against a
// create of the pod alone). The quotas come from memory (the plugin keeps the quota it wrote, so
// nothing is listed or decoded per create). Each piece p50 over `n` repetitions.
void breakdown(testing::TempHandler& t, int n) {
  store::Store& s = t.registry().store();
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

// A pod create as kubectl sends it, by a cluster admin's client certificate.
api::HttpRequest createRequest(const std::string& name) {
  api::HttpRequest r;
  r.method = "POST";
  r.target = "/api/v1/namespaces/bench/pods?fieldManager=kubectl-create&fieldValidation=Strict";
  r.headers = {{"content-type", "application/json"},
               {"accept", "application/json"},
               {"user-agent", "kubectl/v1.32.0"}};
  json body = pod(name);
  body["apiVersion"] = "v1";
  body["kind"] = "Pod";
  r.body = body.dump();
  r.cert_user = api::UserInfo{"admin", {"system:masters", "system:authenticated"}};
  return r;
}

// Times one pod create on each server, the quota's and the reference's (which goes first
// alternates with `i`); false when one was not created.
template <typename Create>
bool timedPair(int i, testing::TempHandler& quota, testing::TempHandler& none,
               std::vector<double>& with_us, std::vector<double>& without_us, Create create) {
  for (int k = 0; k < 2; ++k) {
    bool q = (i + k) % 2 == 0;
    auto t0 = Clock::now();
    bool created = create(q ? quota : none);
    auto us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    if (!created) return false;
    (q ? with_us : without_us).push_back(us);
  }
  return true;
}

void report(const char* what, const std::vector<double>& with_us,
            const std::vector<double>& without_us) {
  std::printf(
      "  %-8s with a quota (6 resources) p50 %7.1f us p99 %7.1f us | no quota (reference) p50 "
      "%7.1f us p99 %7.1f us | p99 ratio %.3f\n",
      what, pct(with_us, 0.5), pct(with_us, 0.99), pct(without_us, 0.5), pct(without_us, 0.99),
      pct(with_us, 0.99) / pct(without_us, 0.99));
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
  auto request = [](const std::string& name) {
    return [name](testing::TempHandler& t) {
      api::HttpResponse r = t.handler().handle(createRequest(name));
      if (r.status != 201)
        std::fprintf(stderr, "create %s: %d %s\n", name.c_str(), r.status, r.body.c_str());
      return r.status == 201;
    };
  };
  auto direct = [](const std::string& name) {
    return [name](testing::TempHandler& t) {
      auto r = t.registry().create(res("pods"), "bench", pod(name), admin());
      if (!r) std::fprintf(stderr, "create %s: %s\n", name.c_str(), r.error().message().c_str());
      return r.has_value();
    };
  };
  // Untimed warm-up, alike for both: the quota server's setup (its quota's create and status
  // update) already started its caches and prepared its statements; the reference's would
  // otherwise do so in its first timed creates.
  std::vector<double> ignored_with, ignored_without;
  for (int i = 0; i < 50; ++i) {
    if (!timedPair(i, *quota, *none, ignored_with, ignored_without,
                   request("warm-" + std::to_string(i))))
      return 1;
  }
  std::vector<double> req_with, req_without, reg_with, reg_without;
  for (int i = 0; i < n; ++i) {
    if (!timedPair(i, *quota, *none, req_with, req_without, request("r-" + std::to_string(i))) ||
        !timedPair(i, *quota, *none, reg_with, reg_without, direct("p-" + std::to_string(i))))
      return 1;
  }
  std::printf(
      "ResourceQuota admission cost: %d pod creates per server and path (in process, LimitRanger "
      "+ ResourceQuota plugins installed in both); loadavg %.2f\n",
      n, loadavg());
  report("request", req_with, req_without);
  std::printf("           (goal: the request's p99 ratio <= 1.10)\n");
  report("registry", reg_with, reg_without);
  breakdown(*quota, 500);
  return concurrentCreates() ? 0 : 1;
}
