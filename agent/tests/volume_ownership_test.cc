// fsGroup ownership: the kubelet's walk (group, g+rw / g+r, setgid on directories, symlinks not
// chmod'ed), fsGroupChangePolicy OnRootMismatch vs Always, and which pod volumes get it.
#include "skiff/agent/volume_ownership.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "skiff/agent/testing/null_mounter.h"
#include "skiff/agent/testing/null_object_source.h"
#include "skiff/agent/volumes.h"
#include "skiff/common/testing/temp_dir.h"

namespace skiff::agent {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// In-memory tree: path -> attrs; children found by prefix. Records the order of changes.
class FakeOwnershipFs : public OwnershipFs {
 public:
  std::map<std::string, FileAttrs> nodes;
  std::vector<std::string> chowned, chmodded;
  Result<FileAttrs> lstat(const std::string& p) override {
    auto it = nodes.find(p);
    if (it == nodes.end()) return Error(ErrorCode::NotFound, "lstat '" + p + "': no such file");
    return it->second;
  }
  Result<std::vector<std::string>> list(const std::string& dir) override {
    std::vector<std::string> out;
    for (const auto& [p, _] : nodes) {
      if (p.rfind(dir + "/", 0) == 0 && p.find('/', dir.size() + 1) == std::string::npos)
        out.push_back(p.substr(dir.size() + 1));
    }
    return out;
  }
  Result<void> lchownGroup(const std::string& p, int64_t gid) override {
    chowned.push_back(p);
    nodes[p].gid = gid;
    return ok();
  }
  Result<void> chmod(const std::string& p, unsigned mode) override {
    chmodded.push_back(p);
    nodes[p].mode = mode;
    return ok();
  }
};

// The real filesystem, except that group changes are recorded instead of made (a test need not
// run as root, nor be a member of the fsGroup).
class RecordingFs : public OwnershipFs {
 public:
  std::map<std::string, int64_t> gids;
  Result<FileAttrs> lstat(const std::string& p) override {
    auto a = real->lstat(p);
    if (a && gids.count(p)) a->gid = gids[p];
    return a;
  }
  Result<std::vector<std::string>> list(const std::string& d) override { return real->list(d); }
  Result<void> lchownGroup(const std::string& p, int64_t gid) override {
    gids[p] = gid;
    ++chowns;
    return ok();
  }
  Result<void> chmod(const std::string& p, unsigned mode) override { return real->chmod(p, mode); }
  int chowns = 0;
  std::unique_ptr<OwnershipFs> real = makeRealOwnershipFs();
};

FakeOwnershipFs volumeTree() {
  FakeOwnershipFs f;
  f.nodes["/v"] = {0755, 0, true, false};
  f.nodes["/v/a"] = {0600, 0, false, false};
  f.nodes["/v/sub"] = {0700, 0, true, false};
  f.nodes["/v/sub/b"] = {04644, 0, false, false};
  f.nodes["/v/link"] = {0777, 0, false, true};
  return f;
}

TEST(VolumeOwnershipTest, AlwaysChangesEveryEntryChildrenFirstAndNeverChmodsSymlinks) {
  auto f = volumeTree();
  auto r = setVolumeOwnership(f, "/v", {2000, "", false});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(*r);
  for (const auto& [p, a] : f.nodes) EXPECT_EQ(a.gid, 2000) << p;
  EXPECT_EQ(f.nodes["/v"].mode, 02775u);
  EXPECT_EQ(f.nodes["/v/a"].mode, 0660u);
  EXPECT_EQ(f.nodes["/v/sub"].mode, 02770u);
  EXPECT_EQ(f.nodes["/v/sub/b"].mode, 04664u);  // setuid kept, as os.Chmod(info.Mode()|mask)
  EXPECT_EQ(f.nodes["/v/link"].mode, 0777u);
  EXPECT_EQ(std::count(f.chmodded.begin(), f.chmodded.end(), "/v/link"), 0);
  ASSERT_EQ(f.chowned.size(), 5u);
  EXPECT_EQ(f.chowned.back(), "/v");  // the root after its children (walkDeep)
  EXPECT_LT(std::find(f.chowned.begin(), f.chowned.end(), "/v/sub/b"),
            std::find(f.chowned.begin(), f.chowned.end(), "/v/sub"));

  // Always walks again even though nothing is left to change.
  f.chowned.clear();
  ASSERT_TRUE(*setVolumeOwnership(f, "/v", {2000, kFSGroupChangeAlways, false}));
  EXPECT_EQ(f.chowned.size(), 5u);
}

TEST(VolumeOwnershipTest, ReadOnlyVolumesGetGroupReadOnly) {
  auto f = volumeTree();
  ASSERT_TRUE(setVolumeOwnership(f, "/v", {3000, "", true}));
  EXPECT_EQ(f.nodes["/v/a"].mode, 0640u);
  EXPECT_EQ(f.nodes["/v/sub"].mode, 02750u);
}

TEST(VolumeOwnershipTest, NoFsGroupChangesNothing) {
  auto f = volumeTree();
  auto r = setVolumeOwnership(f, "/v", {std::nullopt, "", false});
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_TRUE(f.chowned.empty());
  EXPECT_TRUE(f.chmodded.empty());
}

TEST(VolumeOwnershipTest, OnRootMismatchSkipsOnlyWhenTheRootAlreadyFits) {
  auto f = volumeTree();
  // Root has the group and the bits but no setgid: mismatch, walk.
  f.nodes["/v"] = {0770, 2000, true, false};
  ASSERT_TRUE(*setVolumeOwnership(f, "/v", {2000, kFSGroupChangeOnRootMismatch, false}));
  EXPECT_EQ(f.chowned.size(), 5u);
  // Now it fits: the subtree is not looked at, even if a child was changed since.
  f.chowned.clear();
  f.nodes["/v/a"].gid = 0;
  auto r = setVolumeOwnership(f, "/v", {2000, kFSGroupChangeOnRootMismatch, false});
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_TRUE(f.chowned.empty());
  EXPECT_EQ(f.nodes["/v/a"].gid, 0);
  // Another group, or missing group write bits: walk again.
  EXPECT_TRUE(*setVolumeOwnership(f, "/v", {2001, kFSGroupChangeOnRootMismatch, false}));
  f.nodes["/v"].mode = 02750;
  f.chowned.clear();
  EXPECT_TRUE(*setVolumeOwnership(f, "/v", {2001, kFSGroupChangeOnRootMismatch, false}));
  EXPECT_EQ(f.chowned.size(), 5u);
  // A read-only volume only needs g+rx on its root.
  f.chowned.clear();
  f.nodes["/v"].mode = 02550;
  EXPECT_FALSE(*setVolumeOwnership(f, "/v", {2001, kFSGroupChangeOnRootMismatch, true}));
}

TEST(VolumeOwnershipTest, UnreadableTreeIsAnError) {
  FakeOwnershipFs f;
  auto r = setVolumeOwnership(f, "/missing", {1, "", false});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("/missing"), std::string::npos);
}

class OwnershipObjects : public testing::NullObjectSource {
 public:
  std::map<std::string, json> claims, volumes;
  Result<json> persistentVolumeClaim(const std::string& ns, const std::string& n) override {
    auto it = claims.find(ns + "/" + n);
    if (it == claims.end()) return Error(ErrorCode::NotFound, "not found");
    return it->second;
  }
  Result<json> persistentVolume(const std::string& n) override {
    auto it = volumes.find(n);
    if (it == volumes.end()) return Error(ErrorCode::NotFound, "not found");
    return it->second;
  }
  Result<json> configMap(const std::string&, const std::string& n) override {
    if (n != "cfg") return Error(ErrorCode::NotFound, "not found");
    return json{{"data", {{"k", "v"}}}};
  }
};

class PodOwnershipTest : public ::testing::Test {
 protected:
  skiff::testing::TempDir temp_dir_{"ownership"};
  void SetUp() override {
    root_ = dir_ + "/storage";
    host_ = dir_ + "/host";
    fs::create_directories(root_);
    fs::create_directories(host_);
    std::ofstream(host_ + "/f") << "x";
    ::chmod((host_ + "/f").c_str(), 0600);
    claim("data", "pv-data", root_ + "/pvc-1_default_data", true);
    claim("manual", "pv-manual", dir_ + "/manual", false);
    fs::create_directories(dir_ + "/manual");
  }
  void claim(const std::string& name, const std::string& pv, const std::string& path,
             bool provisioned) {
    objects_.claims["default/" + name] = {
        {"metadata", {{"name", name}, {"namespace", "default"}, {"uid", "u-" + name}}},
        {"spec", {{"volumeName", pv}}},
        {"status", {{"phase", "Bound"}}}};
    json v = {{"metadata", {{"name", pv}}},
              {"spec",
               {{"hostPath", {{"path", path}, {"type", "DirectoryOrCreate"}}},
                {"claimRef", {{"uid", "u-" + name}}}}}};
    if (provisioned)
      v["metadata"]["annotations"] = {{"pv.kubernetes.io/provisioned-by", "skiff.io/local-path"}};
    objects_.volumes[pv] = v;
  }
  json pod(const json& sc, bool ro_claim = false) {
    return {{"metadata", {{"name", "p"}, {"namespace", "default"}, {"uid", "pod1"}}},
            {"spec",
             {{"securityContext", sc},
              {"volumes",
               json::array({
                   {{"name", "scratch"}, {"emptyDir", json::object()}},
                   {{"name", "data"},
                    {"persistentVolumeClaim", {{"claimName", "data"}, {"readOnly", ro_claim}}}},
                   {{"name", "manual"}, {"persistentVolumeClaim", {{"claimName", "manual"}}}},
                   {{"name", "host"}, {"hostPath", {{"path", host_}}}},
                   {{"name", "cfg"}, {"configMap", {{"name", "cfg"}}}},
               })}}}};
  }
  unsigned modeOf(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
  const std::string dir_ = temp_dir_.path();
  std::string root_, host_;
  OwnershipObjects objects_;
  testing::NullMounter mounter_;
  RecordingFs fs_;
};

TEST_F(PodOwnershipTest, FsGroupReachesEmptyDirClaimAndConfigMapButNotHostPaths) {
  VolumeManager vm(dir_ + "/agent", objects_, mounter_);
  vm.setStorageRoot(root_);
  vm.setOwnershipFs(fs_);
  auto paths = vm.setupPod(pod({{"fsGroup", 1234}}), EnvContext{});
  ASSERT_TRUE(paths) << paths.error().message();
  const std::string data = paths->at("data"), scratch = paths->at("scratch"),
                    cfg = paths->at("cfg");
  EXPECT_EQ(fs_.gids[data], 1234);
  EXPECT_EQ(modeOf(data), 02777u);
  EXPECT_EQ(fs_.gids[scratch], 1234);
  EXPECT_EQ(modeOf(scratch), 02777u);
  EXPECT_EQ(fs_.gids[cfg], 1234);
  EXPECT_EQ(modeOf(cfg + "/k"), 0644u);  // 0644 | g+r: a read-only volume
  // hostPath volumes and hand-made hostPath PVs are left as they are.
  EXPECT_EQ(fs_.gids.count(host_), 0u);
  EXPECT_EQ(fs_.gids.count(host_ + "/f"), 0u);
  EXPECT_EQ(modeOf(host_ + "/f"), 0600u);
  EXPECT_EQ(fs_.gids.count(dir_ + "/manual"), 0u);

  // A file the container creates later is not re-walked on the next sync (first mount only);
  // an unchanged configMap is not rewritten either.
  std::ofstream(data + "/later") << "y";
  int before = fs_.chowns;
  ASSERT_TRUE(vm.setupPod(pod({{"fsGroup", 1234}}), EnvContext{}));
  EXPECT_EQ(fs_.chowns, before);
  EXPECT_EQ(fs_.gids.count(data + "/later"), 0u);

  // A new pod (after teardown) mounts it again: Always walks, OnRootMismatch does not.
  ASSERT_TRUE(vm.teardownPod("pod1"));
  ASSERT_TRUE(vm.setupPod(pod({{"fsGroup", 1234}, {"fsGroupChangePolicy", "OnRootMismatch"}}),
                          EnvContext{}));
  EXPECT_EQ(fs_.gids.count(data + "/later"), 0u);
  ASSERT_TRUE(vm.teardownPod("pod1"));
  ASSERT_TRUE(
      vm.setupPod(pod({{"fsGroup", 1234}, {"fsGroupChangePolicy", "Always"}}), EnvContext{}));
  EXPECT_EQ(fs_.gids[data + "/later"], 1234);
  EXPECT_EQ(modeOf(data + "/later") & 0060, 0060u);
}

TEST_F(PodOwnershipTest, ReadOnlyClaimAndNoFsGroupAreLeftAlone) {
  VolumeManager vm(dir_ + "/agent", objects_, mounter_);
  vm.setStorageRoot(root_);
  vm.setOwnershipFs(fs_);
  auto paths = vm.setupPod(pod({{"fsGroup", 1234}}, true), EnvContext{});
  ASSERT_TRUE(paths) << paths.error().message();
  EXPECT_EQ(fs_.gids.count(paths->at("data")), 0u);
  EXPECT_EQ(modeOf(paths->at("data")), 0777u);
  ASSERT_TRUE(vm.teardownPod("pod1"));
  fs_.gids.clear();
  paths = vm.setupPod(pod(json::object()), EnvContext{});
  ASSERT_TRUE(paths) << paths.error().message();
  EXPECT_TRUE(fs_.gids.empty());
  EXPECT_EQ(modeOf(paths->at("scratch")), 0777u);
}

TEST(RealOwnershipFsTest, ChangesModesOnDiskWithTheCallersOwnGroup) {
  char tmpl[] = "/tmp/skiff-ownership-real-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string d = tmpl;
  fs::create_directories(d + "/sub");
  std::ofstream(d + "/sub/f") << "x";
  ::chmod((d + "/sub/f").c_str(), 0600);
  ::chmod((d + "/sub").c_str(), 0700);
  fs::create_symlink("sub/f", d + "/link");
  auto real = makeRealOwnershipFs();
  auto r = setVolumeOwnership(*real, d, {static_cast<int64_t>(::getegid()), "", false});
  ASSERT_TRUE(r) << r.error().message();
  struct stat st {};
  ASSERT_EQ(::stat((d + "/sub/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(st.st_gid, ::getegid());
  ASSERT_EQ(::stat((d + "/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 02770u);
  fs::remove_all(d);
}

}  // namespace
}  // namespace skiff::agent
