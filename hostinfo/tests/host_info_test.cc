// collectHostInfo against a copy of a fixture tree that each test damages: a missing, empty,
// truncated or binary file gives an error naming the file, or the documented fallback.
#include "skiff/hostinfo/host_info.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "skiff/common/file.h"
#include "skiff/hostinfo/testing/fake_host_sys.h"
#include "test_util.h"

namespace skiff::hostinfo {
namespace {

namespace fs = std::filesystem;

class HostInfoDamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "skiff-hostinfo-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    fs::copy(test::fixtureDir("ubuntu2204-x86_64-cgroupv2"), root_, fs::copy_options::recursive);
    auto fake = testing::FakeHostSys::fromFixture(root_);
    ASSERT_TRUE(fake.has_value());
    fake_ = *fake;
    paths_.root = root_;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  void write(const std::string& abs, std::string_view data) {
    ASSERT_TRUE(writeFileAtomic(paths_.path(abs), data).has_value());
  }
  void remove(const std::string& abs) { fs::remove(paths_.path(abs)); }
  std::string errorOf() {
    auto r = collectHostInfo(paths_, fake_);
    return r ? std::string("<no error>") : r.error().message();
  }

  std::string root_;
  HostPaths paths_;
  testing::FakeHostSys fake_;
};

TEST_F(HostInfoDamageTest, IntactCopyCollects) {
  auto r = collectHostInfo(paths_, fake_);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->usable_cpus.size(), 4u);
}

TEST_F(HostInfoDamageTest, RequiredFilesMissingOrEmptyAreNamed) {
  remove("/proc/sys/kernel/random/boot_id");
  EXPECT_NE(errorOf().find(paths_.path("/proc/sys/kernel/random/boot_id")), std::string::npos);
  write("/proc/sys/kernel/random/boot_id", "");
  EXPECT_EQ(errorOf(), "parse '" + paths_.path("/proc/sys/kernel/random/boot_id") +
                           "': expected a UUID, got ''");
  write("/proc/sys/kernel/random/boot_id", "5b2d4f0e-8c3a-4e7b-9f12-6a0d3c8e1b47\n");
  write("/proc/meminfo", "");
  EXPECT_EQ(errorOf(), "parse '" + paths_.path("/proc/meminfo") +
                           "': no MemTotal (empty or truncated file)");
  write("/proc/meminfo", "MemTotal:       16071972 kB\n");
  remove("/proc/cpuinfo");
  EXPECT_NE(errorOf().find("read '" + paths_.path("/proc/cpuinfo") + "'"), std::string::npos);
}

TEST_F(HostInfoDamageTest, BinaryAndGarbageAreRejected) {
  write("/proc/cpuinfo", std::string("\x7f" "ELF\x02\x01\x01\0\0\0", 10));
  EXPECT_EQ(errorOf(), "parse '" + paths_.path("/proc/cpuinfo") + "': binary data at offset 0");
  fs::copy_file(test::fixtureDir("ubuntu2204-x86_64-cgroupv2") + "/proc/cpuinfo",
                paths_.path("/proc/cpuinfo"), fs::copy_options::overwrite_existing);
  write("/etc/machine-id", "not-a-machine-id\n");
  EXPECT_NE(errorOf().find("expected 32 hexadecimal digits"), std::string::npos);
  write("/etc/machine-id", "ec2a5f0c3e1b4c6f9a7d2b8e4f1c6d3a\n");
  write("/sys/fs/cgroup/system.slice/skiff-agent.service/memory.max", "lots\n");
  EXPECT_NE(errorOf().find("memory.max': expected a byte count or 'max'"), std::string::npos);
  write("/sys/fs/cgroup/system.slice/skiff-agent.service/memory.max", "max\n");
  write("/sys/devices/system/cpu/online", "\n");
  EXPECT_NE(errorOf().find("no online cpus"), std::string::npos);
}

TEST_F(HostInfoDamageTest, DocumentedFallbacks) {
  remove("/etc/os-release");
  remove("/etc/machine-id");
  remove("/sys/class/dmi/id/product_uuid");
  remove("/sys/devices/system/cpu/online");
  fs::remove_all(paths_.path("/sys/kernel/mm/hugepages"));
  auto r = collectHostInfo(paths_, fake_);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->os_image, "Linux");
  EXPECT_EQ(r->machine_id, "");
  EXPECT_EQ(r->system_uuid, "");
  EXPECT_EQ(r->online_cpus, (std::vector<int>{0, 1, 2, 3}));
  ASSERT_EQ(r->hugepages.size(), 1u);  // default size from /proc/meminfo
  EXPECT_EQ(r->hugepages[0].page_size_bytes, 2u << 20);
}

TEST_F(HostInfoDamageTest, NoUsableCpuIsAnError) {
  fake_.affinity = {7};
  EXPECT_EQ(errorOf(),
            "compute cpu capacity: no usable cpu (online '0-3', affinity '7', cpuset '0-3')");
}

}  // namespace
}  // namespace skiff::hostinfo
