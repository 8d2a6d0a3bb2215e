#include "skiff/hostinfo/node_resources.h"

#include <gtest/gtest.h>

namespace skiff::hostinfo {
namespace {

using F = Quantity::Format;

Quantity q(std::string_view s) { return *Quantity::parse(s); }

HostInfo host(int cpus, std::uint64_t mem, std::uint64_t disk) {
  HostInfo h;
  for (int i = 0; i < cpus; ++i) h.usable_cpus.push_back(i);
  h.memory_capacity_bytes = mem;
  h.state_fs = sys::FsStats{disk, disk, disk, 1000, 1000};
  return h;
}

// The worked example of the kubelet "Reserve Compute Resources" page: 16 CPU, 32Gi, 100Gi.
TEST(NodeResourcesTest, ReserveComputeResourcesWorkedExample) {
  const HostInfo h = host(16, 32ull << 30, 100ull << 30);
  NodeConfig config;
  config.kube_reserved = *parseReservedFlag("cpu=1,memory=2Gi,ephemeral-storage=1Gi", "--kube-reserved");
  config.system_reserved =
      *parseReservedFlag("cpu=500m,memory=1Gi,ephemeral-storage=1Gi", "--system-reserved");
  config.eviction_hard = *parseEvictionThresholds("memory.available<500Mi,nodefs.available<10%");
  auto r = computeNodeResources(h, config);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->capacity.at("cpu").toString(), "16");
  EXPECT_EQ(r->capacity.at("memory").toString(), "32Gi");
  EXPECT_EQ(r->capacity.at("ephemeral-storage").toString(), "100Gi");
  EXPECT_EQ(r->allocatable.at("cpu").toString(), "14500m");
  // "28.5Gi" on the docs page, which rounds 500Mi to 0.5Gi: 32768 - 2048 - 1024 - 500 Mi.
  EXPECT_EQ(r->allocatable.at("memory").toString(), "29196Mi");
  // 88Gi on the docs page; kubelet's float32 10% holds back 160 bytes more than 10Gi.
  const std::int64_t disk = 100ll << 30;
  const auto held = static_cast<std::int64_t>(static_cast<double>(disk) * double(0.1f));
  EXPECT_EQ(held, (10ll << 30) + 160);
  EXPECT_EQ(r->allocatable.at("ephemeral-storage").value(), disk - (2ll << 30) - held);
  EXPECT_EQ(r->allocatable.at("pods").toString(), "110");
}

TEST(NodeResourcesTest, AllocatableNeverNegativeAndHugePagesComeOffMemory) {
  HostInfo h = host(1, 1ull << 30, 0);
  h.hugepages = {{2ull << 20, 128}, {1ull << 30, 0}};
  NodeConfig config;
  config.kube_reserved = *parseReservedFlag("cpu=2,memory=512Mi", "--kube-reserved");
  config.eviction_hard = std::vector<EvictionThreshold>{};
  auto r = computeNodeResources(h, config);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->capacity.at("hugepages-2Mi").toString(), "256Mi");
  EXPECT_EQ(r->capacity.at("hugepages-1Gi").toString(), "0");
  EXPECT_EQ(r->allocatable.at("cpu").toString(), "0");
  EXPECT_EQ(r->allocatable.at("memory").toString(), "256Mi");  // 1Gi - 512Mi - 256Mi
  config.kube_reserved = *parseReservedFlag("memory=900Mi", "--kube-reserved");
  r = computeNodeResources(h, config);
  EXPECT_EQ(r->allocatable.at("memory").toString(), "0");
}

TEST(NodeResourcesTest, ReservationsForResourcesWithoutCapacityAreIgnored) {
  HostInfo h = host(2, 4ull << 30, 0);
  h.state_fs.reset();
  NodeConfig config;
  config.kube_reserved = *parseReservedFlag("pid=1000,ephemeral-storage=1Gi", "--kube-reserved");
  auto r = computeNodeResources(h, config);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->allocatable.count("pid"), 0u);
  EXPECT_EQ(r->allocatable.count("ephemeral-storage"), 0u);
  config.max_pods = -1;
  auto bad = computeNodeResources(h, config);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "invalid --max-pods -1: must not be a negative number");
}

TEST(NodeResourcesTest, EvictionReservationUsesOnlyMemoryAndNodefs) {
  ResourceList cap = {{"memory", Quantity::fromInt(1000, F::BinarySI)},
                      {"ephemeral-storage", Quantity::fromInt(1000, F::BinarySI)}};
  auto res = hardEvictionReservation(defaultEvictionHard(), cap);
  EXPECT_EQ(res.size(), 2u);
  EXPECT_EQ(res.at("memory"), q("100Mi"));
  EXPECT_EQ(res.at("ephemeral-storage").value(), 100);
}

}  // namespace
}  // namespace skiff::hostinfo
