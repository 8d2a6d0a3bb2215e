// Claim-backed volumes: claim -> bound PV -> host path, the storage-root confinement of
// local-path volumes, and the unbound-claim message the pod waits with.
#include "skiff/agent/local_storage.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "skiff/agent/testing/null_mounter.h"
#include "skiff/agent/testing/null_object_source.h"
#include "skiff/agent/volumes.h"
#include "skiff/common/testing/temp_dir.h"

namespace skiff::agent {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class ClaimObjects : public testing::NullObjectSource {
 public:
  std::map<std::string, json> claims, volumes;
  Result<json> persistentVolumeClaim(const std::string& ns, const std::string& n) override {
    auto it = claims.find(ns + "/" + n);
    if (it == claims.end())
      return Error(ErrorCode::NotFound, "persistentvolumeclaims \"" + n + "\" not found");
    return it->second;
  }
  Result<json> persistentVolume(const std::string& n) override {
    auto it = volumes.find(n);
    if (it == volumes.end())
      return Error(ErrorCode::NotFound, "persistentvolumes \"" + n + "\" not found");
    return it->second;
  }
};

class LocalStorageTest : public ::testing::Test {
 protected:
  skiff::testing::TempDir temp_dir_{"localstorage"};
  void SetUp() override {
    root_ = dir_ + "/storage";
    fs::create_directories(root_);
  }

  void bound(const std::string& path, bool provisioned = true) {
    objects_.claims["default/data"] = {
        {"metadata", {{"name", "data"}, {"namespace", "default"}, {"uid", "u1"}}},
        {"spec", {{"volumeName", "pvc-u1"}}},
        {"status", {{"phase", "Bound"}}}};
    json pv = {{"metadata", {{"name", "pvc-u1"}}},
               {"spec",
                {{"hostPath", {{"path", path}, {"type", "DirectoryOrCreate"}}},
                 {"claimRef", {{"uid", "u1"}}}}}};
    if (provisioned)
      pv["metadata"]["annotations"] = {{"pv.kubernetes.io/provisioned-by", "skiff.io/local-path"}};
    objects_.volumes["pvc-u1"] = pv;
  }

  json pod_ = {
      {"metadata", {{"name", "p"}, {"namespace", "default"}, {"uid", "pod1"}}},
      {"spec",
       {{"volumes",
         json::array({{{"name", "d"}, {"persistentVolumeClaim", {{"claimName", "data"}}}}})}}}};
  const std::string dir_ = temp_dir_.path();
  std::string root_;
  ClaimObjects objects_;
};

TEST_F(LocalStorageTest, BoundClaimResolvesToItsDirectoryWhichIsCreated) {
  std::string path = root_ + "/pvc-u1_default_data";
  bound(path);
  auto src = claimVolumeSource(objects_, pod_, pod_["spec"]["volumes"][0], root_);
  ASSERT_TRUE(src) << src.error().message();
  EXPECT_EQ((*src)["hostPath"]["path"], path);
  EXPECT_EQ((*src)["name"], "d");
  EXPECT_TRUE(fs::is_directory(path));
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, fs::perms::all);

  testing::NullMounter m;
  VolumeManager vm(dir_ + "/agent", objects_, m);
  vm.setStorageRoot(root_);
  auto paths = vm.setupPod(pod_, EnvContext{});
  ASSERT_TRUE(paths) << paths.error().message();
  EXPECT_EQ(paths->at("d"), path);
}

TEST_F(LocalStorageTest, UnboundOrMissingClaimKeepsThePodWaiting) {
  testing::NullMounter m;
  VolumeManager vm(dir_ + "/agent", objects_, m);
  vm.setStorageRoot(root_);
  auto r = vm.setupPod(pod_, EnvContext{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "Unable to attach or mount volumes: unmounted volumes=[d], unattached volumes=[d]: "
            "error processing PVC default/data: persistentvolumeclaim \"data\" not found");
  objects_.claims["default/data"] = {{"metadata", {{"name", "data"}, {"uid", "u1"}}},
                                     {"status", {{"phase", "Pending"}}}};
  r = vm.setupPod(pod_, EnvContext{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "Unable to attach or mount volumes: unmounted volumes=[d], unattached volumes=[d]: "
            "error processing PVC default/data: PVC is not bound");
}

TEST_F(LocalStorageTest, LocalPathOutsideTheRootIsRefusedAndNothingCreated) {
  bound(dir_ + "/elsewhere");
  auto src = claimVolumeSource(objects_, pod_, pod_["spec"]["volumes"][0], root_);
  ASSERT_FALSE(src);
  EXPECT_NE(src.error().message().find("is outside the storage root"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ + "/elsewhere"));
  // A symlink planted in the root does not lead out either.
  fs::create_directory_symlink(dir_, root_ + "/link");
  EXPECT_FALSE(insideStorageRoot(root_, root_ + "/link/x"));
  EXPECT_FALSE(insideStorageRoot(root_, root_ + "/../x"));
  EXPECT_FALSE(insideStorageRoot(root_, root_));
  EXPECT_TRUE(insideStorageRoot(root_, root_ + "/pvc-1_a_b"));
}

TEST_F(LocalStorageTest, HandMadeHostPathVolumeIsUsedAsIs) {
  std::string path = dir_ + "/manual";
  bound(path, false);
  auto src = claimVolumeSource(objects_, pod_, pod_["spec"]["volumes"][0], root_);
  ASSERT_TRUE(src) << src.error().message();
  EXPECT_EQ((*src)["hostPath"]["type"], "DirectoryOrCreate");
  EXPECT_EQ((*src)["hostPath"]["path"], path);
}

TEST_F(LocalStorageTest, EphemeralVolumeUsesThePodsOwnClaimOnly) {
  std::string path = root_ + "/pvc-u1_default_p-d";
  bound(path);
  json claim = objects_.claims["default/data"];
  claim["metadata"]["name"] = "p-d";
  objects_.claims.erase("default/data");
  json pod = pod_;
  pod["spec"]["volumes"] = json::array(
      {{{"name", "d"}, {"ephemeral", {{"volumeClaimTemplate", {{"spec", json::object()}}}}}}});
  testing::NullMounter m;
  VolumeManager vm(dir_ + "/agent", objects_, m);
  vm.setStorageRoot(root_);
  // Not created for this pod (no controller reference, or another pod's).
  objects_.claims["default/p-d"] = claim;
  auto r = vm.setupPod(pod, EnvContext{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "Unable to attach or mount volumes: unmounted volumes=[d], unattached volumes=[d]: "
            "PVC default/p-d was not created for pod default/p (pod is not owner)");
  claim["metadata"]["ownerReferences"] =
      json::array({{{"kind", "Pod"}, {"name", "p"}, {"uid", "other"}, {"controller", true}}});
  objects_.claims["default/p-d"] = claim;
  EXPECT_FALSE(vm.setupPod(pod, EnvContext{}));
  EXPECT_FALSE(fs::exists(path));
  claim["metadata"]["ownerReferences"][0]["uid"] = "pod1";
  objects_.claims["default/p-d"] = claim;
  auto paths = vm.setupPod(pod, EnvContext{});
  ASSERT_TRUE(paths) << paths.error().message();
  EXPECT_EQ(paths->at("d"), path);
  EXPECT_TRUE(fs::is_directory(path));
}

// A disk that is full (ENOSPC from the directory seam) until told otherwise.
class FullDisk : public VolumeDirs {
 public:
  bool full = true;
  int calls = 0;
  Result<void> create(const std::string& path) override {
    ++calls;
    if (full) return Error::fromErrno(ENOSPC, "create volume directory " + path);
    return makeRealVolumeDirs()->create(path);
  }
};

TEST_F(LocalStorageTest, FullDiskIsReportedOnTheClaimAndRetriedWithBackoff) {
  std::string path = root_ + "/pvc-u1_default_data";
  bound(path);
  objects_.claims["default/data"]["spec"]["storageClassName"] = "local-path";
  testing::NullMounter m;
  FullDisk disk;
  VolumeManager vm(dir_ + "/agent", objects_, m);
  vm.setStorageRoot(root_);
  vm.setVolumeDirs(disk);
  auto now = std::chrono::system_clock::time_point{} + std::chrono::hours(1000);
  vm.setClock([&] { return now; });
  std::vector<std::pair<std::string, std::string>> events;
  vm.setClaimEvents([&](const json& pvc, const std::string& reason, const std::string& msg) {
    EXPECT_EQ(pvc["metadata"]["name"], "data");
    events.emplace_back(reason, msg);
  });

  auto r = vm.setupPod(pod_, EnvContext{});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("o space left on device"), std::string::npos)
      << r.error().message();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].first, "ProvisioningFailed");
  EXPECT_EQ(events[0].second.rfind("failed to provision volume with StorageClass \"local-path\": "
                                   "create volume directory " +
                                       path,
                                   0),
            0u)
      << events[0].second;
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(dir_ + "/agent/pods/pod1"));  // nothing of the pod set up either

  // Within the backoff the disk is not tried again; the pod keeps waiting.
  now += std::chrono::milliseconds(500);
  r = vm.setupPod(pod_, EnvContext{});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("Back-off creating the volume directory of PVC default/data"),
            std::string::npos)
      << r.error().message();
  EXPECT_EQ(disk.calls, 1);
  // After it: tried again, fails again, the delay doubles (2 s).
  now += std::chrono::milliseconds(600);
  EXPECT_FALSE(vm.setupPod(pod_, EnvContext{}));
  EXPECT_EQ(disk.calls, 2);
  EXPECT_EQ(events.size(), 2u);
  now += std::chrono::milliseconds(1500);
  EXPECT_FALSE(vm.setupPod(pod_, EnvContext{}));
  EXPECT_EQ(disk.calls, 2);
  // Space freed: the next attempt after the backoff makes the volume.
  disk.full = false;
  now += std::chrono::seconds(1);
  auto paths = vm.setupPod(pod_, EnvContext{});
  ASSERT_TRUE(paths) << paths.error().message();
  EXPECT_EQ(paths->at("d"), path);
  EXPECT_TRUE(fs::is_directory(path));
  EXPECT_EQ(disk.calls, 3);
  EXPECT_EQ(events.size(), 2u);
}

}  // namespace
}  // namespace skiff::agent
