#include "skiff/agent/pod_status.h"

#include <gtest/gtest.h>

namespace skiff::agent {
namespace {

using nlohmann::json;

constexpr int64_t kSec = 1'000'000'000;

// computePodStatus over a hand-made runtime view: the pod conditions of
// pkg/kubelet/status/generate.go and the init container statuses the conformance tests read.
class PodStatusTest : public ::testing::Test {
 protected:
  json pod(const std::string& policy, json inits, json containers) {
    return {{"metadata", {{"name", "p"}, {"namespace", "default"}, {"uid", "u1"}}},
            {"spec",
             {{"restartPolicy", policy},
              {"initContainers", std::move(inits)},
              {"containers", std::move(containers)}}},
            {"status", json::object()}};
  }
  static json named(const std::string& name) { return {{"name", name}, {"image", "busybox"}}; }
  void exited(const std::string& name, int code, uint32_t attempt = 0) {
    ContainerInfo c;
    c.id = name + "-" + std::to_string(attempt);
    c.name = name;
    c.attempt = attempt;
    c.state = ContainerState::Exited;
    c.exit_code = code;
    c.started_at_ns = 10 * kSec;
    c.finished_at_ns = 11 * kSec;
    auto& list = view_.containers[name];
    list.insert(list.begin(), c);
  }
  void running(const std::string& name) {
    ContainerInfo c;
    c.id = name + "-run";
    c.name = name;
    c.state = ContainerState::Running;
    c.started_at_ns = 10 * kSec;
    view_.containers[name].insert(view_.containers[name].begin(), c);
  }
  json status(const json& p) {
    StatusInputs in{p, view_, waiting_, probes_, "10.0.0.5", "2024-01-01T00:00:00Z", {}};
    return computePodStatus(in);
  }
  static json cond(const json& st, const std::string& type) {
    for (const auto& c : st["conditions"]) {
      if (c["type"] == type) return c;
    }
    return nullptr;
  }
  static void expectCondition(const json& st, const std::string& type, const std::string& value,
                              const std::string& reason, const std::string& message) {
    json c = cond(st, type);
    ASSERT_TRUE(c.is_object()) << type;
    EXPECT_EQ(c["status"], value) << type;
    EXPECT_EQ(c.value("reason", ""), reason) << type;
    EXPECT_EQ(c.value("message", ""), message) << type;
  }

  PodRuntimeView view_;
  std::map<std::string, WaitingReason> waiting_;
  ProbeView probes_;
};

TEST_F(PodStatusTest, InitContainerFailingOnRestartNeverFailsThePodUninitialized) {
  // The conformance test "should not start app containers and fail the pod if init containers
  // fail on a RestartNever pod".
  json p = pod("Never", {named("init1"), named("init2")}, {named("run1")});
  exited("init1", 0);
  exited("init2", 1);
  json st = status(p);
  EXPECT_EQ(st["phase"], "Failed");
  expectCondition(st, "Initialized", "False", "ContainersNotInitialized",
                  "containers with incomplete status: [init2]");
  expectCondition(st, "ContainersReady", "False", "ContainersNotReady",
                  "containers with unready status: [run1]");
  expectCondition(st, "Ready", "False", "ContainersNotReady",
                  "containers with unready status: [run1]");
  EXPECT_EQ(st["initContainerStatuses"][0]["ready"], true);
  EXPECT_EQ(st["initContainerStatuses"][1]["ready"], false);
  EXPECT_EQ(st["containerStatuses"][0]["state"]["waiting"]["reason"], "PodInitializing");
}

TEST_F(PodStatusTest, InitContainerFailingOnRestartAlwaysListsEveryIncompleteOneInSpecOrder) {
  json p = pod("Always", {named("init1"), named("init2")}, {named("run1")});
  exited("init1", 1, 0);
  exited("init1", 1, 1);
  waiting_["init1"] = {"CrashLoopBackOff", "back-off 10s restarting failed container"};
  json st = status(p);
  EXPECT_EQ(st["phase"], "Pending");
  expectCondition(st, "Initialized", "False", "ContainersNotInitialized",
                  "containers with incomplete status: [init1 init2]");
  EXPECT_EQ(st["initContainerStatuses"][1]["state"]["waiting"]["reason"], "PodInitializing");
  EXPECT_EQ(st["initContainerStatuses"][0]["lastState"]["terminated"]["exitCode"], 1);
  expectCondition(st, "Ready", "False", "ContainersNotReady",
                  "containers with unready status: [run1]");
}

TEST_F(PodStatusTest, RunningRestartedInitContainerIsNotReadyAndStaysIncomplete) {
  // The conformance test "should not start app containers if init containers fail on a
  // RestartAlways pod" reads the pod while init1 runs its fourth attempt.
  json p = pod("Always", {named("init1"), named("init2")}, {named("run1")});
  exited("init1", 1, 2);
  running("init1");
  view_.containers["init1"][0].attempt = 3;
  json st = status(p);
  EXPECT_EQ(st["phase"], "Pending");
  EXPECT_EQ(st["initContainerStatuses"][0]["ready"], false);
  EXPECT_EQ(st["initContainerStatuses"][0]["restartCount"], 3);
  expectCondition(st, "Initialized", "False", "ContainersNotInitialized",
                  "containers with incomplete status: [init1 init2]");
}

TEST_F(PodStatusTest, CompletedInitContainersAreReadyAndInitializeThePod) {
  json p = pod("Always", {named("init1"), named("init2")}, {named("run1")});
  exited("init1", 0);
  exited("init2", 0);
  running("run1");
  json st = status(p);
  EXPECT_EQ(st["phase"], "Running");
  for (const auto& s : st["initContainerStatuses"]) {
    EXPECT_EQ(s["ready"], true);
    EXPECT_EQ(s["started"], false);
  }
  expectCondition(st, "Initialized", "True", "", "");
  expectCondition(st, "ContainersReady", "True", "", "");
  expectCondition(st, "Ready", "True", "", "");
}

TEST_F(PodStatusTest, SucceededPodIsPodCompletedAndStillInitialized) {
  json p = pod("Never", {named("init1")}, {named("run1"), named("run2")});
  exited("init1", 0);
  exited("run1", 0);
  exited("run2", 0);
  json st = status(p);
  EXPECT_EQ(st["phase"], "Succeeded");
  expectCondition(st, "Initialized", "True", "PodCompleted", "");
  expectCondition(st, "ContainersReady", "False", "PodCompleted", "");
  expectCondition(st, "Ready", "False", "PodCompleted", "");
}

TEST_F(PodStatusTest, FailedAppContainerIsNotReadyWithItsName) {
  json p = pod("Never", json::array(), {named("ok"), named("bad")});
  exited("ok", 0);
  exited("bad", 2);
  json st = status(p);
  EXPECT_EQ(st["phase"], "Failed");
  expectCondition(st, "Initialized", "True", "", "");
  expectCondition(st, "ContainersReady", "False", "ContainersNotReady",
                  "containers with unready status: [ok bad]");
}

TEST_F(PodStatusTest, ARestartingSidecarDoesNotUninitializeAPodWhoseAppRan) {
  json sidecar = named("log");
  sidecar["restartPolicy"] = "Always";
  json p = pod("Always", {sidecar}, {named("run1")});
  exited("log", 1);
  waiting_["log"] = {"CrashLoopBackOff", "back-off"};
  running("run1");
  json st = status(p);
  expectCondition(st, "Initialized", "True", "", "");
}

TEST_F(PodStatusTest, ReadinessGatesSayWhichConditionIsMissingOrNotTrue) {
  json p = pod("Always", json::array(), {named("run1")});
  p["spec"]["readinessGates"] = {{{"conditionType", "example.com/lb"}},
                                 {{"conditionType", "example.com/db"}}};
  p["status"]["conditions"] = {{{"type", "example.com/db"}, {"status", "False"}}};
  running("run1");
  json st = status(p);
  expectCondition(st, "ContainersReady", "True", "", "");
  expectCondition(st, "Ready", "False", "ReadinessGatesNotReady",
                  "corresponding condition of pod readiness gate \"example.com/lb\" does not "
                  "exist., the status of pod readiness gate \"example.com/db\" is not \"True\", "
                  "but False");
  p["status"]["conditions"] = {{{"type", "example.com/db"}, {"status", "True"}},
                               {{"type", "example.com/lb"}, {"status", "True"}}};
  st = status(p);
  expectCondition(st, "Ready", "True", "", "");
}

}  // namespace
}  // namespace skiff::agent
