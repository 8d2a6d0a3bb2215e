#include "skiff/agent/probe_manager.h"

#include <gtest/gtest.h>

#include <atomic>

namespace skiff::agent {
namespace {

using nlohmann::json;

class ScriptedRunner : public ProbeRunner {
 public:
  bool run(const json& probe, const json&, const std::string&, const std::string&,
           std::string& output) override {
    output = "scripted";
    ++calls;
    std::string file = probe["exec"]["command"][1];
    return results[file];
  }
  std::map<std::string, bool> results;
  int calls = 0;
};

TEST(ProbeManagerTest, ThresholdsDriveReadinessAndLiveness) {
  ScriptedRunner runner;
  std::vector<std::string> changed;
  ProbeManager pm(runner, [&](const std::string& uid) { changed.push_back(uid); });
  json pod = {
      {"metadata", {{"uid", "u1"}}},
      {"spec",
       {{"containers",
         {{{"name", "c"},
           {"livenessProbe", {{"exec", {{"command", {"cat", "alive"}}}}, {"failureThreshold", 2}}},
           {"readinessProbe", {{"exec", {{"command", {"cat", "ready"}}}}}}}}}}}};
  PodRuntimeView rt;
  ContainerInfo c;
  c.id = "cid";
  c.name = "c";
  c.state = ContainerState::Running;
  c.started_at_ns = 1;
  rt.containers["c"] = {c};
  runner.results = {{"alive", true}, {"ready", false}};
  ProbeView v = pm.view(pod, rt);  // registers workers; no results yet
  EXPECT_TRUE(v.has_readiness["c"]);
  EXPECT_FALSE(v.ready.count("cid"));
  pm.stop();  // drive time by hand from here
  auto t = std::chrono::steady_clock::now() + std::chrono::hours(1);
  pm.runDueForTest(t);
  v = pm.view(pod, rt);
  EXPECT_FALSE(v.ready.at("cid"));
  runner.results["ready"] = true;
  pm.runDueForTest(t += std::chrono::seconds(10));
  EXPECT_TRUE(pm.view(pod, rt).ready.at("cid"));
  EXPECT_FALSE(pm.shouldRestart("cid"));
  runner.results["alive"] = false;
  pm.runDueForTest(t += std::chrono::seconds(10));
  EXPECT_FALSE(pm.shouldRestart("cid"));  // one failure < failureThreshold 2
  pm.runDueForTest(t += std::chrono::seconds(10));
  EXPECT_TRUE(pm.shouldRestart("cid"));
  EXPECT_FALSE(changed.empty());
  pm.forget("cid");
  EXPECT_FALSE(pm.shouldRestart("cid"));
}

}  // namespace
}  // namespace skiff::agent
