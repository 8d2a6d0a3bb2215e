// Custom resources next to ConfigMaps (issue 20: create/get/list p99 of a custom resource with a
// 50-property schema within 1.5x of ConfigMaps), in process through the registry, in the same
// run and on the same store: the difference is what the schema costs (pruning, defaulting,
// validation) plus the live resource table.
#include <chrono>
#include <cstdio>
#include <vector>

#include "bench_util.h"
#include "skiff/master/apiextensions/apiextensions.h"
#include "skiff/master/testing/crd.h"
#include "skiff/master/testing/temp_registry.h"

namespace {

using namespace skiff::master;
using namespace skiff::bench;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

json crd() {
  json props = json::object();
  for (int i = 0; i < 50; ++i) {
    std::string k = "f" + std::to_string(i);
    if (i % 3 == 0)
      props[k] = {{"type", "integer"}, {"minimum", 0}, {"maximum", 1000000}, {"default", i}};
    else if (i % 3 == 1)
      props[k] = {{"type", "string"}, {"maxLength", 64}, {"pattern", "^[a-z0-9-]*$"}};
    else
      props[k] = {{"type", "boolean"}};
  }
  return testing::crdObject("example.com", {{"plural", "benches"}, {"kind", "Bench"}},
                            json::array({testing::crdVersion("v1", true, props)}));
}

json spec() {
  json s = json::object();
  for (int i = 0; i < 50; ++i) {
    std::string k = "f" + std::to_string(i);
    if (i % 3 == 1) s[k] = "value-" + std::to_string(i);
    if (i % 3 == 2) s[k] = true;
  }
  return s;
}

struct Figures {
  std::vector<double> create, get, list;
};

template <typename F>
double timed(F&& f) {
  auto t0 = Clock::now();
  f();
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void report(const char* what, const std::vector<double>& cr, const std::vector<double>& cm) {
  double a = pct(cr, 0.99), b = pct(cm, 0.99);
  std::printf("%-7s p50 %7.3f ms / %7.3f ms   p99 %7.3f ms / %7.3f ms   p99 ratio %.2fx\n", what,
              pct(cr, 0.5), pct(cm, 0.5), a, b, a / b);
}

}  // namespace

int main() {
  auto tmp = testing::TempRegistry::create();
  if (!tmp) return 1;
  api::Registry& reg = tmp->registry();
  auto ctl = apiextensions::startCrdController(reg, false);
  const api::WriteOptions opts = admin();
  const auto& crds = res("apiextensions.k8s.io", "customresourcedefinitions");
  if (!reg.create(crds, "", crd(), opts)) return 1;
  ctl->sync();
  const api::ResourceInfo* cr = api::findResource("example.com", "v1", "benches");
  const api::ResourceInfo& cm = res("", "configmaps");
  if (!cr) return 1;
  const int n = 1000;
  Figures a, b;
  json data = json::object();
  const json sp = spec();
  for (const auto& [k, v] : sp.items()) data[k] = v.is_string() ? v.get<std::string>() : "true";
  for (int i = 0; i < n; ++i) {
    std::string name = "o" + std::to_string(i);
    json o = {{"apiVersion", "example.com/v1"},
              {"kind", "Bench"},
              {"metadata", {{"name", name}}},
              {"spec", spec()}};
    json c = {{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", {{"name", name}}},
              {"data", data}};
    a.create.push_back(timed([&] { (void)reg.create(*cr, "default", o, opts); }));
    b.create.push_back(timed([&] { (void)reg.create(cm, "default", c, opts); }));
  }
  for (int i = 0; i < n; ++i) {
    std::string name = "o" + std::to_string(i);
    a.get.push_back(timed([&] { (void)reg.get(*cr, "default", name); }));
    b.get.push_back(timed([&] { (void)reg.get(cm, "default", name); }));
  }
  for (int i = 0; i < 30; ++i) {
    a.list.push_back(timed([&] { (void)reg.listText(*cr, "default", {}); }));
    b.list.push_back(timed([&] { (void)reg.listText(cm, "default", {}); }));
  }
  std::printf("custom resource (50-property schema) / ConfigMap, %d objects, in process\n", n);
  report("create", a.create, b.create);
  report("get", a.get, b.get);
  report("list", a.list, b.list);
  ctl.reset();
  return 0;
}
