#pragma once

// A runtime over FakeKernel, a FakeImageStore holding busybox, and a temporary state dir: the
// whole container lifecycle of either backend, unprivileged.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "runtime_impl.h"
#include "skiff/common/testing/temp_dir.h"
#include "skiff/runtime/testing/fake_kernel.h"

namespace skiff::runtime {

class FakeRuntimeTest : public ::testing::Test {
 protected:
  skiff::testing::TempDir temp_dir_{"rtfake"};
  void SetUp() override {
    std::filesystem::create_directories(tmp_ + "/images");
    options_.state_dir = tmp_ + "/state";
    options_.log_dir = tmp_ + "/logs";
    options_.shim_path = "/usr/lib/skiff/skiff-shim";
    options_.runc_path = "runc";
    kernel_ = std::make_shared<testing::FakeKernel>();
  }
  void TearDown() override { rt_.reset(); }

  // Opens (or re-opens, as after an agent restart) the runtime on the same kernel and state.
  void open(Backend backend) {
    rt_.reset();
    options_.backend = backend;
    auto images = std::make_unique<testing::FakeImageStore>(tmp_ + "/images");
    images_ = images.get();
    ImageConfig busybox;
    busybox.cmd = {"sh"};
    image_ = images_->add("docker.io/library/busybox:latest", busybox);
    auto rt = openRuntime(options_, {std::move(images), kernel_, kernel_->cgroupManager()});
    ASSERT_TRUE(rt) << rt.error().message();
    rt_ = std::move(*rt);
  }

  PodSandboxConfig sandboxConfig(const std::string& name = "web-0") {
    PodSandboxConfig c;
    c.metadata = {name, "uid-" + name, "default", 0};
    c.labels = {{"app", "web"}};
    return c;
  }

  ContainerConfig containerConfig(const std::string& name = "app") {
    ContainerConfig c;
    c.name = name;
    c.image = "docker.io/library/busybox:latest";
    c.command = {"sleep", "1000"};
    return c;
  }

  std::string runSandbox(const PodSandboxConfig& c) {
    auto id = rt_->runPodSandbox(c);
    EXPECT_TRUE(id) << id.error().message();
    return id ? *id : "";
  }

  std::string create(const std::string& sandbox, const ContainerConfig& c) {
    auto id = rt_->createContainer(sandbox, c);
    EXPECT_TRUE(id) << id.error().message();
    return id ? *id : "";
  }

  ContainerStatus status(const std::string& id) {
    auto s = rt_->containerStatus(id);
    EXPECT_TRUE(s) << s.error().message();
    return s ? *s : ContainerStatus{};
  }

  std::string containerDir(const std::string& id) {
    return options_.state_dir + "/containers/" + id;
  }
  bool exists(const std::string& p) { return std::filesystem::exists(p); }

  const std::string tmp_ = temp_dir_.path();
  RuntimeOptions options_;
  std::shared_ptr<testing::FakeKernel> kernel_;
  testing::FakeImageStore* images_ = nullptr;  // owned by rt_
  Image image_;
  RuntimePtr rt_;
};

// The same tests for both backends.
class BothBackendsTest : public FakeRuntimeTest, public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override {
    FakeRuntimeTest::SetUp();
    open(GetParam());
  }
};

inline std::string backendTestName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::Runc ? "Runc" : "Native";
}

}  // namespace skiff::runtime
