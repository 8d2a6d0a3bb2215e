#pragma once

// Shared helpers for the runtime integration tests: a throwaway environment (temp dir, a cgroup
// subtree named skiff-test-<pid>-<n> in every hierarchy) cleaned up even after failures, and
// image archives for image import tests (their tars from skiff/runtime/testing/tar_builder.h).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "skiff/runtime/testing/tar_builder.h"

namespace skiff::runtime::testing {

bool isRoot();

class TestEnv {
 public:
  TestEnv();
  ~TestEnv();  // unmounts everything under dir(), removes the cgroup subtree and the dir
  const std::string& dir() const { return dir_; }
  const std::string& cgroupParent() const { return cgroup_parent_; }

 private:
  std::string dir_;
  std::string cgroup_parent_;
};

// Unmounts (lazily) every mount point under `prefix`, deepest first. Returns how many.
int unmountUnder(const std::string& prefix);
// Mount points currently under `prefix`.
std::vector<std::string> mountsUnder(const std::string& prefix);
// Removes <cgroup root>/<hierarchy>/<rel> recursively (killing what is left inside).
void removeCgroupTree(const std::string& rel);

std::string sha256Hex(const std::string& data);

// An OCI image-layout archive with the given (uncompressed) layers, named `name`.
// `corrupt_blob` replaces a blob's content after its digest was computed.
struct OciArchiveOptions {
  std::string name = "docker.io/library/test:latest";
  bool corrupt_layer = false;
  std::vector<std::string> cmd = {"sh"};
};
std::string ociArchive(const std::vector<std::string>& layers, const OciArchiveOptions& opts = {});
// A `docker save` (legacy layout) archive.
std::string dockerSaveArchive(const std::vector<std::string>& layers, const std::string& repo_tag);

void writeFile(const std::string& path, const std::string& data);

}  // namespace skiff::runtime::testing
