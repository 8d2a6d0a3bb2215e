#include "skiff/master/api/tables.h"

#include <gtest/gtest.h>

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

TEST(PodStatusReasonTest, MirrorsKubectlPrinter) {
  EXPECT_EQ(podStatusReason(R"({"status":{"phase":"Pending"}})"_json), "Pending");
  EXPECT_EQ(podStatusReason(R"({"status":{"phase":"Pending","containerStatuses":[
      {"name":"c","state":{"waiting":{"reason":"ContainerCreating"}}}]}})"_json),
            "ContainerCreating");
  EXPECT_EQ(podStatusReason(R"({"status":{"phase":"Running","containerStatuses":[
      {"name":"c","state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}})"_json),
            "CrashLoopBackOff");
  EXPECT_EQ(podStatusReason(R"({"status":{"phase":"Succeeded","containerStatuses":[
      {"name":"c","state":{"terminated":{"reason":"Completed","exitCode":0}}}]}})"_json),
            "Completed");
  EXPECT_EQ(podStatusReason(R"({"status":{"phase":"Failed","containerStatuses":[
      {"name":"c","state":{"terminated":{"exitCode":3}}}]}})"_json),
            "ExitCode:3");
  EXPECT_EQ(
      podStatusReason(R"({"spec":{"initContainers":[{"name":"i"}]},"status":{"phase":"Pending",
      "initContainerStatuses":[{"name":"i","state":{"running":{}}}]}})"_json),
      "Init:0/1");
  EXPECT_EQ(podStatusReason(R"({"metadata":{"deletionTimestamp":"2025-01-01T00:00:00Z"},
      "status":{"phase":"Running"}})"_json),
            "Terminating");
}

TEST(TableTest, DeploymentColumnsAndCells) {
  const ResourceInfo* r = findResource("apps", "v1", "deployments");
  ASSERT_NE(r, nullptr);
  json d = R"({"metadata":{"name":"web","creationTimestamp":"2025-01-01T00:00:00Z"},
      "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},
        "template":{"spec":{"containers":[{"name":"c","image":"nginx"}]}}},
      "status":{"readyReplicas":1,"updatedReplicas":2,"availableReplicas":1}})"_json;
  auto now = parseTime("2025-01-01T00:05:30Z");
  json t = renderTable(*r, {d}, "7", "", now, TableObject::Metadata);
  std::vector<std::string> names;
  for (const auto& c : t["columnDefinitions"]) names.push_back(c["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"Name", "Ready", "Up-to-date", "Available", "Age",
                                             "Containers", "Images", "Selector"}));
  EXPECT_EQ(t["rows"][0]["cells"], json({"web", "1/3", 2, 1, "5m30s", "c", "nginx", "app=web"}));
  EXPECT_EQ(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
}

TEST(TableTest, NodeStatusAsKubectlPrintsIt) {
  const ResourceInfo* r = findResource("", "v1", "nodes");
  ASSERT_NE(r, nullptr);
  auto now = parseTime("2025-01-01T00:05:30Z");
  auto status = [&](const std::string& ready, bool cordoned) {
    json n = {{"metadata", {{"name", "node-a"}, {"creationTimestamp", "2025-01-01T00:00:00Z"}}},
              {"spec", json::object()},
              {"status", {{"conditions", json::array()}}}};
    if (!ready.empty()) n["status"]["conditions"].push_back({{"type", "Ready"}, {"status", ready}});
    if (cordoned) n["spec"]["unschedulable"] = true;
    json t = renderTable(*r, {n}, "1", "", now, TableObject::None);
    return t["rows"][0]["cells"][1].get<std::string>();
  };
  EXPECT_EQ(status("True", false), "Ready");
  EXPECT_EQ(status("False", false), "NotReady");
  // The node controller sets Ready=Unknown when the kubelet stops posting; kubectl prints NotReady.
  EXPECT_EQ(status("Unknown", false), "NotReady");
  EXPECT_EQ(status("", false), "Unknown");
  EXPECT_EQ(status("True", true), "Ready,SchedulingDisabled");
  EXPECT_EQ(status("Unknown", true), "NotReady,SchedulingDisabled");
}

TEST(TableTest, HumanDuration) {
  using std::chrono::seconds;
  EXPECT_EQ(humanDuration(seconds(5)), "5s");
  EXPECT_EQ(humanDuration(seconds(150)), "2m30s");
  EXPECT_EQ(humanDuration(seconds(3600 * 5 + 60)), "5h1m");
  EXPECT_EQ(humanDuration(seconds(3600 * 30)), "30h");
  EXPECT_EQ(humanDuration(seconds(3600 * 24 * 3 + 3600)), "3d1h");
}

}  // namespace
}  // namespace skiff::master::api
