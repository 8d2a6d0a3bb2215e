// What RBAC costs a request (issue 19: goal within 10 %): ConfigMap creates (mutating) and
// LISTs of 100 ConfigMaps, through the in-process api::Handler (authentication by client
// certificate, authorization, admission, the store), by a user whom a RoleBinding to a Role
// allows, with 1,000 other RoleBindings in the cluster. Two servers in the same run and on the
// same objects: --authorization-mode=Node,RBAC (the default) and AlwaysAllow (no RBAC: the
// reference). The two are interleaved request by request so that machine load hits both alike.
#include <chrono>
#include <cstdio>
#include <vector>

#include "bench_util.h"
#include "skiff/master/testing/temp_handler.h"

namespace {

using namespace skiff::master;
using namespace skiff::bench;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Server {
  std::unique_ptr<testing::TempHandler> tmp;
  std::vector<double> create_us, list_us;
};

bool setUp(Server& s, std::vector<std::string> modes) {
  api::RegistryOptions ro;
  ro.authorization_modes = std::move(modes);
  std::string err;
  s.tmp = testing::TempHandler::create(ro, api::HandlerOptions{}, &err);
  if (!s.tmp) {
    std::fprintf(stderr, "registry: %s\n", err.c_str());
    return false;
  }
  api::Registry& reg = s.tmp->registry();
  const api::WriteOptions admin = skiff::bench::admin();
  for (const char* ns : {"bench", "listed"})
    if (!reg.create(res("", "namespaces"), "", {{"metadata", {{"name", ns}}}}, admin)) return false;
  for (int i = 0; i < 1000; ++i) {
    std::string ns = "ns-" + std::to_string(i % 100);
    if (i < 100) (void)reg.create(res("", "namespaces"), "", {{"metadata", {{"name", ns}}}}, admin);
    json b = {{"metadata", {{"name", "rb-" + std::to_string(i)}}},
              {"roleRef", {{"kind", "ClusterRole"}, {"name", "view"}}},
              {"subjects", json::array({{{"kind", "User"}, {"name", "u-" + std::to_string(i)}}})}};
    if (!reg.create(res("rbac.authorization.k8s.io", "rolebindings"), ns, b, admin)) return false;
  }
  // A Role, not the aggregated `edit` (no aggregation controller runs in this process).
  for (const char* ns : {"bench", "listed"}) {
    json role = {{"metadata", {{"name", "cm-editor"}}},
                 {"rules", json::array({{{"verbs", {"create", "get", "list", "update", "delete"}},
                                         {"apiGroups", {""}},
                                         {"resources", {"configmaps"}}}})}};
    if (!reg.create(res("rbac.authorization.k8s.io", "roles"), ns, role, admin)) return false;
    json b = {{"metadata", {{"name", "alice-edit"}}},
              {"roleRef", {{"kind", "Role"}, {"name", "cm-editor"}}},
              {"subjects", json::array({{{"kind", "User"}, {"name", "alice"}}})}};
    if (!reg.create(res("rbac.authorization.k8s.io", "rolebindings"), ns, b, admin)) return false;
  }
  for (int i = 0; i < 100; ++i) {
    json cm = {{"metadata", {{"name", "cm-" + std::to_string(i)}}},
               {"data", {{"k", std::string(200, 'x')}}}};
    if (!reg.create(res("", "configmaps"), "listed", cm, admin)) return false;
  }
  return true;
}

api::HttpRequest request(const std::string& method, const std::string& target, std::string body) {
  api::HttpRequest r;
  r.method = method;
  r.target = target;
  r.headers = {{"content-type", "application/json"},
               {"accept", "application/json"},
               {"user-agent", "kubectl/v1.32.0"}};
  r.body = std::move(body);
  r.cert_user = api::UserInfo{"alice", {"system:authenticated"}};
  return r;
}

// One create and one list on `s`; false when a request was not answered as expected.
bool round(Server& s, int i) {
  std::string body = json{{"apiVersion", "v1"},
                          {"kind", "ConfigMap"},
                          {"metadata", {{"name", "c-" + std::to_string(i)}}},
                          {"data", {{"k", std::string(200, 'y')}}}}
                         .dump();
  auto t0 = Clock::now();
  api::HttpResponse c = s.tmp->handler().handle(
      request("POST", "/api/v1/namespaces/bench/configmaps", std::move(body)));
  auto t1 = Clock::now();
  api::HttpResponse l =
      s.tmp->handler().handle(request("GET", "/api/v1/namespaces/listed/configmaps", ""));
  auto t2 = Clock::now();
  s.create_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  s.list_us.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
  if (c.status != 201 || l.status != 200) {
    std::fprintf(stderr, "create %d, list %d: %s\n", c.status, l.status, c.body.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 3000;
  Server rbac, none;
  if (!setUp(rbac, {"Node", "RBAC"}) || !setUp(none, {"AlwaysAllow"})) return 1;
  for (int i = 0; i < n; ++i) {  // which mode goes first alternates
    Server& first = i % 2 ? rbac : none;
    Server& second = i % 2 ? none : rbac;
    if (!round(first, i) || !round(second, i)) return 1;
  }
  double load[3] = {0, 0, 0};
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
    std::fclose(f);
  }
  std::printf(
      "RBAC cost per request: %d creates and %d LISTs (100 ConfigMaps) per mode as a user "
      "bound to a Role, 1,000 other RoleBindings; loadavg %.2f %.2f %.2f\n",
      n, n, load[0], load[1], load[2]);
  auto line = [](const char* what, const std::vector<double>& on, const std::vector<double>& off) {
    std::printf(
        "  %-6s Node,RBAC p50 %7.1f us p99 %7.1f us | AlwaysAllow (reference) p50 %7.1f "
        "us p99 %7.1f us | p99 ratio %.3f (goal <= 1.10)\n",
        what, pct(on, 0.5), pct(on, 0.99), pct(off, 0.5), pct(off, 0.99),
        pct(on, 0.99) / pct(off, 0.99));
  };
  line("create", rbac.create_us, none.create_us);
  line("list", rbac.list_us, none.list_us);
  return 0;
}
