#include "skiff/agent/static_pods.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace skiff::agent {
namespace {

TEST(StaticPodsTest, ReadsManifestsWithStableUidsAndSkipsBadOnes) {
  auto dir =
      std::filesystem::temp_directory_path() / ("skiff-static-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "web.yaml") << "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n"
                                     "spec: {containers: [{name: c, image: busybox}]}\n";
  std::ofstream(dir / "bad.yaml") << "kind: Service\nmetadata: {name: x}\n";
  std::ofstream(dir / ".hidden.yaml") << "kind: Pod\n";
  auto a = scanStaticPods(dir.string(), "node-1");
  ASSERT_EQ(a.pods.size(), 1u);
  EXPECT_EQ(a.errors.size(), 1u);
  EXPECT_EQ(a.pods[0]["metadata"]["name"], "web-node-1");
  EXPECT_EQ(a.pods[0]["metadata"]["namespace"], "default");
  EXPECT_EQ(a.pods[0]["spec"]["nodeName"], "node-1");
  auto b = scanStaticPods(dir.string(), "node-1");
  EXPECT_EQ(a.pods[0]["metadata"]["uid"], b.pods[0]["metadata"]["uid"]);
  std::ofstream(dir / "web.yaml") << "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n"
                                     "spec: {containers: [{name: c, image: busybox:1}]}\n";
  auto c = scanStaticPods(dir.string(), "node-1");
  EXPECT_NE(a.pods[0]["metadata"]["uid"], c.pods[0]["metadata"]["uid"]);
  EXPECT_TRUE(scanStaticPods("/nonexistent", "n").pods.empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace skiff::agent
