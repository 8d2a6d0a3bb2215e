// The storage kinds through the registry: defaults, validation messages, DefaultStorageClass
// admission, the protection finalizers, the built-in local-path class and kubectl's columns.
#include "skiff/master/api/storage.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "skiff/master/api/registry.h"
#include "skiff/master/api/tables.h"
#include "skiff/master/testing/registry_fixture.h"

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

class StorageTest : public ::skiff::master::testing::RegistryFixture {
 protected:
  const ResourceInfo& pvcs() { return *findResource("", "v1", "persistentvolumeclaims"); }
  const ResourceInfo& pvs() { return *findResource("", "v1", "persistentvolumes"); }
  const ResourceInfo& classes() { return *findResource("storage.k8s.io", "v1", "storageclasses"); }
  static json claim(const std::string& name, const json& storage = "1Gi") {
    return {{"metadata", {{"name", name}}},
            {"spec",
             {{"accessModes", {"ReadWriteOnce"}},
              {"resources", {{"requests", {{"storage", storage}}}}}}}};
  }
  static json hostPathVolume(const std::string& name) {
    return {{"metadata", {{"name", name}}},
            {"spec",
             {{"capacity", {{"storage", "5Gi"}}},
              {"accessModes", {"ReadWriteOnce"}},
              {"hostPath", {{"path", "/srv/" + name}}}}}};
  }

  // Creates a claim or volume and checks what every new one gets: volumeMode Filesystem, phase
  // Pending and its protection finalizer. Returns it as stored (null when the create failed).
  json createNew(const ResourceInfo& r, const std::string& ns, const json& obj,
                 const char* finalizer) {
    auto made = reg_->create(r, ns, obj, opts_);
    EXPECT_TRUE(made) << made.error().message();
    if (!made) return json();
    const json& o = made->object;
    EXPECT_EQ(o["spec"]["volumeMode"], "Filesystem");
    EXPECT_EQ(o["status"]["phase"], "Pending");
    EXPECT_EQ(o["metadata"]["finalizers"], json::array({finalizer}));
    return o;
  }

  WriteOptions opts_ = adminWrites();
};

TEST_F(StorageTest, LocalPathClassIsTheDefaultAndClaimsGetIt) {
  ASSERT_TRUE(ensureLocalPathStorageClass(*reg_));
  ASSERT_TRUE(ensureLocalPathStorageClass(*reg_));  // idempotent
  auto sc = reg_->get(classes(), "", "local-path");
  ASSERT_TRUE(sc);
  EXPECT_EQ((*sc)["provisioner"], "skiff.io/local-path");
  EXPECT_EQ((*sc)["volumeBindingMode"], "WaitForFirstConsumer");
  EXPECT_EQ((*sc)["reclaimPolicy"], "Delete");
  EXPECT_EQ((*sc)["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"],
            "true");

  json pvc = createNew(pvcs(), "default", claim("data"), "kubernetes.io/pvc-protection");
  EXPECT_EQ(pvc["spec"]["storageClassName"], "local-path");

  // An explicit "" means no class: admission leaves it alone.
  json none = claim("none");
  none["spec"]["storageClassName"] = "";
  auto n = reg_->create(pvcs(), "default", none, opts_);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->object["spec"]["storageClassName"], json("")) << n->object.dump();
}

TEST_F(StorageTest, NewestDefaultClassWins) {
  ASSERT_TRUE(ensureLocalPathStorageClass(*reg_));
  json fast = {{"metadata",
                {{"name", "fast"},
                 {"annotations", {{"storageclass.kubernetes.io/is-default-class", "true"}}}}},
               {"provisioner", "example.com/fast"}};
  // Created in the same second: the name breaks the tie (fast < local-path).
  auto made = reg_->create(classes(), "", fast, opts_);
  ASSERT_TRUE(made);
  EXPECT_EQ(made->object["reclaimPolicy"], "Delete");
  EXPECT_EQ(made->object["volumeBindingMode"], "Immediate");
  auto pvc = reg_->create(pvcs(), "default", claim("c"), opts_);
  ASSERT_TRUE(pvc);
  std::string got = pvc->object["spec"]["storageClassName"];
  EXPECT_TRUE(got == "fast" || got == "local-path");
}

TEST_F(StorageTest, ClaimValidationMessages) {
  json no_modes = claim("a");
  no_modes["spec"].erase("accessModes");
  auto r = reg_->create(pvcs(), "default", no_modes, opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(
                "spec.accessModes: Required value: at least 1 access mode is required"),
            std::string::npos)
      << r.error().message();

  json no_storage = claim("b");
  no_storage["spec"].erase("resources");
  r = reg_->create(pvcs(), "default", no_storage, opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("spec.resources[storage]: Required value"), std::string::npos);

  r = reg_->create(pvcs(), "default", claim("c", "lots"), opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("spec.resources.requests[storage]: Invalid value: \"lots\""),
            std::string::npos)
      << r.error().message();

  r = reg_->create(pvcs(), "default", claim("d", "0"), opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("must be greater than zero"), std::string::npos);

  json bad_mode = claim("e");
  bad_mode["spec"]["accessModes"] = {"ReadWriteSometimes"};
  r = reg_->create(pvcs(), "default", bad_mode, opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("spec.accessModes: Unsupported value: "
                                     "\"ReadWriteSometimes\": supported values: \"ReadOnlyMany\""),
            std::string::npos)
      << r.error().message();
  // Nothing half-written.
  auto list = reg_->list(pvcs(), "default", {});
  ASSERT_TRUE(list);
  EXPECT_TRUE((*list)["items"].empty());
}

TEST_F(StorageTest, ClaimSpecIsImmutableButMayGrowWhenTheClassAllows) {
  auto made = reg_->create(pvcs(), "default", claim("data"), opts_);
  ASSERT_TRUE(made);
  json next = made->object;
  next["spec"]["accessModes"] = {"ReadOnlyMany"};
  auto r = reg_->update(pvcs(), "default", "data", next, opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("spec: Forbidden: spec is immutable after creation"),
            std::string::npos);
  // An unbound claim's request is part of its immutable spec (validation runs before the
  // resize admission, as upstream's).
  next = made->object;
  next["spec"]["resources"]["requests"]["storage"] = "2Gi";
  r = reg_->update(pvcs(), "default", "data", next, opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("spec: Forbidden: spec is immutable after creation"),
            std::string::npos)
      << r.error().message();
}

TEST_F(StorageTest, BoundClaimGrowsOnlyWhenItsClassAllowsAndNeverShrinksBelowCapacity) {
  json fixed = {{"metadata", {{"name", "fixed"}}}, {"provisioner", "skiff.io/local-path"}};
  json growing = {{"metadata", {{"name", "growing"}}},
                  {"provisioner", "skiff.io/local-path"},
                  {"allowVolumeExpansion", true}};
  ASSERT_TRUE(reg_->create(classes(), "", fixed, opts_));
  ASSERT_TRUE(reg_->create(classes(), "", growing, opts_));
  auto bind = [&](const std::string& name, const std::string& cls) {
    json c = claim(name);
    c["spec"]["storageClassName"] = cls;
    auto made = reg_->create(pvcs(), "default", c, opts_);
    EXPECT_TRUE(made) << made.error().message();
    json next = made->object;
    next["spec"]["volumeName"] = "pv-" + name;
    auto r = reg_->update(pvcs(), "default", name, next, opts_);
    EXPECT_TRUE(r) << r.error().message();
    next = r->object;
    next["status"] = {{"phase", "Bound"}, {"capacity", {{"storage", "1Gi"}}}};
    r = reg_->update(pvcs(), "default", name, next, opts_, "status");
    EXPECT_TRUE(r) << r.error().message();
    return r->object;
  };
  json f = bind("f", "fixed");
  f["spec"]["resources"]["requests"]["storage"] = "2Gi";
  auto r = reg_->update(pvcs(), "default", "f", f, opts_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "only dynamically provisioned pvc can be resized and the storageclass that "
            "provisions the pvc must support resize");
  EXPECT_TRUE(r.error().is(ErrorCode::Forbidden));

  json g = bind("g", "growing");
  g["spec"]["resources"]["requests"]["storage"] = "3Gi";
  r = reg_->update(pvcs(), "default", "g", g, opts_);
  ASSERT_TRUE(r) << r.error().message();
  // Taking back part of a growth that has not happened yet is fine; going to or below the
  // capacity is not.
  g = r->object;
  g["spec"]["resources"]["requests"]["storage"] = "2Gi";
  r = reg_->update(pvcs(), "default", "g", g, opts_);
  ASSERT_TRUE(r) << r.error().message();
  g = r->object;
  g["spec"]["resources"]["requests"]["storage"] = "1Gi";
  r = reg_->update(pvcs(), "default", "g", g, opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("spec.resources.requests.storage: Forbidden: field can not "
                                     "be less than status.capacity"),
            std::string::npos)
      << r.error().message();
  // Other spec fields stay immutable on a bound claim.
  g["spec"]["resources"]["requests"]["storage"] = "2Gi";
  g["spec"]["accessModes"] = {"ReadWriteMany"};
  r = reg_->update(pvcs(), "default", "g", g, opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("spec is immutable"), std::string::npos);
}

TEST_F(StorageTest, VolumeDefaultsAndValidation) {
  json pv = createNew(pvs(), "", hostPathVolume("v1"), "kubernetes.io/pv-protection");
  EXPECT_EQ(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");

  json none = hostPathVolume("v2");
  none["spec"].erase("hostPath");
  auto r = reg_->create(pvs(), "", none, opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("spec: Required value: must specify a volume type"),
            std::string::npos);

  json back = hostPathVolume("v3");
  back["spec"]["hostPath"]["path"] = "/srv/../etc";
  r = reg_->create(pvs(), "", back, opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("spec.hostPath.path: Invalid value: \"/srv/../etc\": must "
                                     "not contain '..'"),
            std::string::npos);

  json local = hostPathVolume("v4");
  local["spec"].erase("hostPath");
  local["spec"]["local"] = {{"path", "/mnt/disk"}};
  r = reg_->create(pvs(), "", local, opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(
                "spec.nodeAffinity: Required value: Local volume requires node affinity"),
            std::string::npos);
}

TEST_F(StorageTest, StorageClassUpdatesAreRestricted) {
  ASSERT_TRUE(ensureLocalPathStorageClass(*reg_));
  auto sc = reg_->get(classes(), "", "local-path");
  ASSERT_TRUE(sc);
  json next = *sc;
  next["provisioner"] = "example.com/other";
  next["reclaimPolicy"] = "Retain";
  auto r = reg_->update(classes(), "", "local-path", next, opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("provisioner: Forbidden: updates to provisioner are "
                                     "forbidden."),
            std::string::npos);
  EXPECT_NE(r.error().message().find("reclaimPolicy: Forbidden: updates to reclaimPolicy are "
                                     "forbidden."),
            std::string::npos);
  // The annotation may change (the user picks another default).
  next = *sc;
  next["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] = "false";
  EXPECT_TRUE(reg_->update(classes(), "", "local-path", next, opts_));
}

TEST_F(StorageTest, KubectlColumns) {
  ASSERT_TRUE(ensureLocalPathStorageClass(*reg_));
  auto sc = reg_->get(classes(), "", "local-path");
  json row = tableRow(classes(), *sc, Clock::now(), TableObject::None)["cells"];
  EXPECT_EQ(row[0], "local-path (default)");
  EXPECT_EQ(row[1], "skiff.io/local-path");
  EXPECT_EQ(row[2], "Delete");
  EXPECT_EQ(row[3], "WaitForFirstConsumer");
  EXPECT_EQ(row[4], "false");
  EXPECT_EQ(tableColumns(classes())[1]["name"], "Provisioner");

  json pvc = claim("data");
  pvc["metadata"]["creationTimestamp"] = formatTime(Clock::now());
  pvc["spec"]["volumeName"] = "pvc-1";
  pvc["spec"]["storageClassName"] = "local-path";
  pvc["spec"]["volumeMode"] = "Filesystem";
  pvc["status"] = {{"phase", "Bound"},
                   {"accessModes", {"ReadWriteOnce", "ReadOnlyMany"}},
                   {"capacity", {{"storage", "1024Mi"}}}};
  row = tableRow(pvcs(), pvc, Clock::now(), TableObject::None)["cells"];
  EXPECT_EQ(row, json::array({"data", "Bound", "pvc-1", "1Gi", "RWO,ROX", "local-path", "<unset>",
                              "0s", "Filesystem"}));
  json pv = hostPathVolume("pv1");
  pv["spec"]["persistentVolumeReclaimPolicy"] = "Retain";
  pv["spec"]["claimRef"] = {{"namespace", "default"}, {"name", "data"}};
  pv["status"] = {{"phase", "Bound"}};
  row = tableRow(pvs(), pv, Clock::now(), TableObject::None)["cells"];
  EXPECT_EQ(row[1], "5Gi");
  EXPECT_EQ(row[2], "RWO");
  EXPECT_EQ(row[3], "Retain");
  EXPECT_EQ(row[4], "Bound");
  EXPECT_EQ(row[5], "default/data");
  EXPECT_EQ(tableColumns(pvs()).size(), 11u);
}

}  // namespace
}  // namespace skiff::master::api
