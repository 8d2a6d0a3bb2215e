#include "skiff/runtime/image_ref.h"

#include <gtest/gtest.h>

namespace skiff::runtime {
namespace {

std::string norm(const std::string& s) {
  auto r = parseImageRef(s);
  return r ? r->str() : "ERR: " + r.error().message();
}

TEST(ImageRefTest, NormalisesDockerHubShortNames) {
  EXPECT_EQ(norm("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(norm("busybox:1.36"), "docker.io/library/busybox:1.36");
  EXPECT_EQ(norm("docker.io/library/busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(norm("index.docker.io/library/busybox:1"), "docker.io/library/busybox:1");
  EXPECT_EQ(norm("user/app"), "docker.io/user/app:latest");
}

TEST(ImageRefTest, KeepsRegistryHostPortAndDigest) {
  const std::string d = "sha256:" + std::string(64, 'a');
  EXPECT_EQ(norm("registry:5000/a/b@" + d), "registry:5000/a/b@" + d);
  EXPECT_EQ(norm("registry:5000/a/b"), "registry:5000/a/b:latest");
  EXPECT_EQ(norm("localhost/app"), "localhost/app:latest");
  EXPECT_EQ(norm("127.0.0.1:5000/x:v1"), "127.0.0.1:5000/x:v1");
  auto r = parseImageRef("registry:5000/a/b:1@" + d);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tag, "1");
  EXPECT_EQ(r->digest, d);
  EXPECT_EQ(r->registryHost(), "registry:5000");
  EXPECT_EQ(parseImageRef("busybox")->registryHost(), "registry-1.docker.io");
}

TEST(ImageRefTest, RejectsBadReferences) {
  for (const char* ref : {"", "BusyBox", "busybox:bad/tag", "busybox@sha256:1234", "a//b", "-a"}) {
    EXPECT_FALSE(parseImageRef(ref)) << ref;
  }
}

}  // namespace
}  // namespace skiff::runtime
