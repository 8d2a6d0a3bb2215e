// Every fixture tree under tests/data/hostinfo/<name>/ (one with a fixture.json) is collected
// with the fake seam and must produce exactly <name>/expected-node.json. Run with
// SKIFF_UPDATE_GOLDEN=1 to rewrite the expected files after an intended change, then review the
// diff. Per-fixture tests below pin the values each fixture exists for.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "skiff/common/file.h"
#include "skiff/hostinfo/host_info.h"
#include "skiff/hostinfo/node_object.h"
#include "skiff/hostinfo/testing/fake_host_sys.h"
#include "test_util.h"

namespace skiff::hostinfo {
namespace {

using testing::FakeHostSys;

struct Collected {
  HostInfo host;
  nlohmann::json node;
};

Collected collect(const std::string& name) {
  const std::string dir = test::fixtureDir(name);
  auto fake = FakeHostSys::fromFixture(dir);
  EXPECT_TRUE(fake.has_value()) << (fake ? "" : fake.error().message());
  auto config = testing::nodeConfigFromFixture(dir);
  EXPECT_TRUE(config.has_value()) << (config ? "" : config.error().message());
  if (!fake || !config) return {};
  HostPaths paths;
  paths.root = dir;
  auto host = collectHostInfo(paths, *fake);
  EXPECT_TRUE(host.has_value()) << name << ": " << (host ? "" : host.error().message());
  if (!host) return {};
  auto node = buildNodeObject(*host, *config);
  EXPECT_TRUE(node.has_value()) << name << ": " << (node ? "" : node.error().message());
  if (!node) return {};
  return {*host, *node};
}

std::vector<std::string> fixtureNames() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(test::fixtureDir(""), ec)) {
    if (std::filesystem::exists(e.path() / "fixture.json")) {
      names.push_back(e.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(FixturesTest, EveryFixtureMatchesItsExpectedNode) {
  const auto names = fixtureNames();
  ASSERT_GE(names.size(), 7u);
  const bool update = std::getenv("SKIFF_UPDATE_GOLDEN") != nullptr;
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    Collected c = collect(name);
    ASSERT_FALSE(c.node.is_null());
    const std::string expected_path = test::fixtureDir(name) + "/expected-node.json";
    if (update) {
      ASSERT_TRUE(writeFileAtomic(expected_path, c.node.dump(2) + "\n").has_value());
      continue;
    }
    auto text = readFile(expected_path);
    ASSERT_TRUE(text.has_value()) << text.error().message();
    auto expected = nlohmann::json::parse(*text, nullptr, false);
    ASSERT_FALSE(expected.is_discarded()) << expected_path;
    EXPECT_EQ(c.node, expected) << "got:\n" << c.node.dump(2);
  }
}

TEST(FixturesTest, Debian12HybridIsThisBuildMachine) {
  Collected c = collect("debian12-x86_64-hybrid");
  EXPECT_EQ(c.host.cgroups.mode, CgroupMode::Hybrid);
  EXPECT_EQ(c.host.cgroups.unified_mount, "/sys/fs/cgroup/unified");
  EXPECT_EQ(c.host.cgroups.controllers.at("memory").self_dir, "/sys/fs/cgroup/memory/skiff/agent");
  EXPECT_EQ(c.host.cgroups.controllers.at("hugetlb").version, 2);  // not bound to v1 here
  EXPECT_EQ(c.host.cpuinfo.layout, CpuInfo::Layout::X86);
  const auto& status = c.node["status"];
  EXPECT_EQ(status["capacity"]["cpu"], "2");
  EXPECT_EQ(status["capacity"]["memory"], "24684084Ki");
  // --kube-reserved cpu=500m,memory=1Gi --eviction-hard memory.available<100Mi
  EXPECT_EQ(status["allocatable"]["cpu"], "1500m");
  EXPECT_EQ(status["allocatable"]["memory"], std::to_string(24684084 - 1048576 - 102400) + "Ki");
  EXPECT_EQ(status["capacity"]["hugepages-2Mi"], "0");
  EXPECT_EQ(status["capacity"]["hugepages-1Gi"], "0");
  EXPECT_EQ(status["nodeInfo"]["osImage"], "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(status["nodeInfo"]["architecture"], "amd64");
  EXPECT_EQ(status["nodeInfo"]["systemUUID"], "");  // no DMI on this VM
  EXPECT_EQ(c.node["metadata"]["name"], "worker-1");
}

TEST(FixturesTest, Ubuntu2204CgroupV2UsesKubeletDefaultEviction) {
  Collected c = collect("ubuntu2204-x86_64-cgroupv2");
  EXPECT_EQ(c.host.cgroups.mode, CgroupMode::V2);
  EXPECT_EQ(c.host.cgroups.controllers.at("memory").self_dir,
            "/sys/fs/cgroup/system.slice/skiff-agent.service");
  const auto& status = c.node["status"];
  EXPECT_EQ(status["capacity"]["cpu"], "4");
  EXPECT_EQ(status["capacity"]["memory"], "16071972Ki");
  // Default memory.available<100Mi.
  EXPECT_EQ(status["allocatable"]["memory"], std::to_string(16071972 - 102400) + "Ki");
  // Default nodefs.available<10%: int64(float64(capacity) * float64(float32(0.1))).
  const std::int64_t cap = 25364219LL * 4096;
  const auto reserved = static_cast<std::int64_t>(static_cast<double>(cap) *
                                                  static_cast<double>(10.0f / 100.0f));
  EXPECT_EQ(status["allocatable"]["ephemeral-storage"],
            Quantity::fromInt(cap - reserved, Quantity::Format::BinarySI).toString());
  EXPECT_EQ(status["nodeInfo"]["systemUUID"], "ec2a5f0c-3e1b-4c6f-9a7d-2b8e4f1c6d3a");
  EXPECT_EQ(c.node["metadata"]["name"], "ip-172-31-20-7");
  EXPECT_EQ(status["capacity"]["pods"], "110");
}

TEST(FixturesTest, Rhel9SubtractsReservationsAndHugePages) {
  Collected c = collect("rhel9-x86_64");
  const auto& status = c.node["status"];
  EXPECT_EQ(status["nodeInfo"]["osImage"], "Red Hat Enterprise Linux 9.3 (Plow)");
  EXPECT_EQ(status["capacity"]["cpu"], "16");
  EXPECT_EQ(status["allocatable"]["cpu"], "14500m");  // 16 - 1 - 500m
  EXPECT_EQ(status["capacity"]["hugepages-2Mi"], "2Gi");
  EXPECT_EQ(status["capacity"]["hugepages-1Gi"], "2Gi");
  EXPECT_EQ(status["allocatable"]["hugepages-2Mi"], "2Gi");
  // 65401256Ki - 2Gi - 1Gi - 500Mi (eviction) - 2Gi - 2Gi (huge pages)
  EXPECT_EQ(status["allocatable"]["memory"],
            std::to_string(65401256 - 2097152 - 1048576 - 512000 - 2097152 - 2097152) + "Ki");
  EXPECT_EQ(status["capacity"]["pods"], "250");
  EXPECT_EQ(c.node["metadata"]["name"], "node-07.lab.example.com");
}

TEST(FixturesTest, AlpineUsesDocumentedFallbacks) {
  Collected c = collect("alpine319-x86_64");
  EXPECT_TRUE(c.host.os_release_path.ends_with("/usr/lib/os-release"));
  EXPECT_EQ(c.host.online_cpus, (std::vector<int>{0, 1}));  // from /proc/cpuinfo
  const auto& status = c.node["status"];
  EXPECT_EQ(status["nodeInfo"]["osImage"], "Alpine Linux v3.19");
  EXPECT_EQ(status["nodeInfo"]["machineID"], "");
  EXPECT_EQ(status["capacity"]["hugepages-2Mi"], "0");  // from /proc/meminfo
  EXPECT_FALSE(status["capacity"].contains("hugepages-1Gi"));
  EXPECT_EQ(status["capacity"]["pods"], "50");
}

TEST(FixturesTest, RaspberryPiReportsArm64WithoutMemoryCgroup) {
  Collected c = collect("raspios-bookworm-arm64");
  EXPECT_EQ(c.host.cpuinfo.layout, CpuInfo::Layout::Arm64);
  EXPECT_EQ(c.host.cpuinfo.model_name, "Raspberry Pi 4 Model B Rev 1.4");
  EXPECT_EQ(c.host.cgroups.controllers.count("memory"), 0u);
  EXPECT_EQ(c.host.cgroups.disabled, (std::vector<std::string>{"memory"}));
  const auto& status = c.node["status"];
  EXPECT_EQ(status["nodeInfo"]["architecture"], "arm64");
  EXPECT_EQ(c.node["metadata"]["labels"]["kubernetes.io/arch"], "arm64");
  EXPECT_EQ(status["capacity"]["memory"], "3882604Ki");
  EXPECT_EQ(status["allocatable"]["memory"], std::to_string(3882604 - 262144 - 131072 - 102400) + "Ki");
  EXPECT_EQ(status["allocatable"]["cpu"], "3900m");
  for (auto it = status["capacity"].begin(); it != status["capacity"].end(); ++it) {
    EXPECT_FALSE(it.key().starts_with("hugepages-")) << it.key();
  }
}

TEST(FixturesTest, GravitonListsEveryHugePageSize) {
  Collected c = collect("graviton3-al2023-arm64");
  EXPECT_EQ(c.host.cpuinfo.model_name, "Neoverse-V1");
  const auto& cap = c.node["status"]["capacity"];
  for (const char* size : {"hugepages-64Ki", "hugepages-2Mi", "hugepages-32Mi", "hugepages-1Gi"}) {
    EXPECT_EQ(cap[size], "0") << size;
  }
  EXPECT_EQ(cap["cpu"], "8");
  EXPECT_EQ(cap["pods"], "58");
  EXPECT_EQ(c.node["status"]["allocatable"]["cpu"], "7910m");
  EXPECT_EQ(c.node["status"]["nodeInfo"]["osImage"], "Amazon Linux 2023.3.20240131");
}

TEST(FixturesTest, ContainerCapacityFollowsCpusetAndMemoryCgroup) {
  Collected c = collect("container-cpuset-memcg");
  EXPECT_EQ(c.host.online_cpus.size(), 16u);
  EXPECT_EQ(c.host.cgroup_cpuset, (std::vector<int>{2, 3}));
  EXPECT_EQ(c.host.cgroup_memory_limit, 2147483648u);
  const auto& status = c.node["status"];
  EXPECT_EQ(status["capacity"]["cpu"], "2");
  EXPECT_EQ(status["capacity"]["memory"], "2Gi");
  EXPECT_EQ(status["allocatable"]["memory"], "1692Mi");  // 2Gi - 256Mi - 100Mi
  EXPECT_EQ(status["nodeInfo"]["machineID"], "");        // empty /etc/machine-id
  EXPECT_EQ(c.node["metadata"]["name"], "4f1c8e2a9b7d");
}

}  // namespace
}  // namespace skiff::hostinfo
