// Volume expansion: a bound local-path claim asking for more gets it at once (volume capacity,
// claim capacity and allocatedResources, conditions cleared, events); volumes no plugin here can
// expand wait for an external controller.
#include <gtest/gtest.h>

#include "harness.h"
#include "skiff/master/volume/volume.h"

namespace skiff::master::testing {
namespace {

using volume::kPersistentVolumeClaims;
using volume::kPersistentVolumes;
using volume::kStorageClasses;

struct ExpandHarness : Harness {
  ExpandHarness() {
    add(newPersistentVolumeController(client, clock));
    add(newVolumeExpandController(client, clock));
    (void)client.create(kStorageClasses, "",
                        json{{"metadata", {{"name", "grow"}}},
                             {"provisioner", "skiff.io/local-path"},
                             {"allowVolumeExpansion", true},
                             {"volumeBindingMode", "Immediate"}});
  }
  // A bound claim `name` on volume pv-<name> of 1Gi; `provisioner` annotates the volume.
  void bound(const std::string& name, const std::string& provisioner) {
    auto pvc = client.create(kPersistentVolumeClaims, "default",
                             json{{"metadata", {{"name", name}, {"namespace", "default"}}},
                                  {"spec",
                                   {{"accessModes", {"ReadWriteOnce"}},
                                    {"storageClassName", "grow"},
                                    {"volumeName", "pv-" + name},
                                    {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}});
    ASSERT_TRUE(pvc);
    json pv = {
        {"metadata",
         {{"name", "pv-" + name},
          {"annotations", {{"pv.kubernetes.io/provisioned-by", provisioner}}}}},
        {"spec",
         {{"capacity", {{"storage", "1Gi"}}},
          {"accessModes", {"ReadWriteOnce"}},
          {"storageClassName", "grow"},
          {"persistentVolumeReclaimPolicy", "Delete"},
          {"hostPath", {{"path", "/var/lib/skiff/storage/pvc-" + name}}},
          {"claimRef", {{"namespace", "default"}, {"name", name}, {"uid", meta::uid(*pvc)}}}}}};
    ASSERT_TRUE(client.create(kPersistentVolumes, "", pv));
  }
  void grow(const std::string& name, const std::string& size) {
    json c = *client.get(kPersistentVolumeClaims, "default", name);
    c["spec"]["resources"]["requests"]["storage"] = size;
    ASSERT_TRUE(client.update(kPersistentVolumeClaims, "default", c));
  }
  std::map<std::string, std::string> events() {
    std::map<std::string, std::string> out;
    auto list = client.list(gvr::kEvents, "default", {});
    for (const auto& e : list->items) out[e.value("reason", "")] = e.value("message", "");
    return out;
  }
};

TEST(VolumeExpandControllerTest, LocalPathClaimGrowsAtOnce) {
  ExpandHarness h;
  h.bound("data", "skiff.io/local-path");
  h.start();
  h.settle();
  json c = *h.client.get(kPersistentVolumeClaims, "default", "data");
  ASSERT_EQ(meta::str(c, {"status", "phase"}), "Bound");
  EXPECT_EQ(meta::str(c, {"status", "capacity", "storage"}), "1Gi");
  // A leftover of an earlier attempt, as the resizer would have written it.
  c["status"]["conditions"] = json::array({{{"type", "Resizing"}, {"status", "True"}}});
  c["status"]["allocatedResourceStatuses"] = {{"storage", "ControllerResizeInProgress"}};
  ASSERT_TRUE(h.client.update(kPersistentVolumeClaims, "default", c, "status"));
  h.grow("data", "3Gi");
  h.settle();

  json pv = *h.client.get(kPersistentVolumes, "", "pv-data");
  EXPECT_EQ(meta::str(pv, {"spec", "capacity", "storage"}), "3Gi");
  c = *h.client.get(kPersistentVolumeClaims, "default", "data");
  EXPECT_EQ(meta::str(c, {"status", "capacity", "storage"}), "3Gi");
  EXPECT_EQ(meta::str(c, {"status", "allocatedResources", "storage"}), "3Gi");
  EXPECT_FALSE(c["status"].contains("conditions"));
  EXPECT_FALSE(c["status"].contains("allocatedResourceStatuses"));
  EXPECT_EQ(meta::str(c, {"status", "phase"}), "Bound");
  auto ev = h.events();
  EXPECT_EQ(ev["Resizing"], "External resizer is resizing volume pv-data");
  EXPECT_EQ(ev["VolumeResizeSuccessful"], "Resize volume succeeded");

  // Nothing more to do once capacity matches; a resync changes nothing.
  std::string rv = meta::str(c, {"metadata", "resourceVersion"});
  h.clock->advance(std::chrono::seconds(30));
  h.settle();
  EXPECT_EQ(meta::str(*h.client.get(kPersistentVolumeClaims, "default", "data"),
                      {"metadata", "resourceVersion"}),
            rv);
}

TEST(VolumeExpandControllerTest, OtherVolumesWaitForAnExternalController) {
  ExpandHarness h;
  h.bound("ext", "example.com/csi");
  h.start();
  h.settle();
  h.grow("ext", "2Gi");
  h.settle();
  EXPECT_EQ(
      meta::str(*h.client.get(kPersistentVolumes, "", "pv-ext"), {"spec", "capacity", "storage"}),
      "1Gi");
  json c = *h.client.get(kPersistentVolumeClaims, "default", "ext");
  EXPECT_EQ(meta::str(c, {"status", "capacity", "storage"}), "1Gi");
  EXPECT_EQ(h.events()["ExternalExpanding"],
            "waiting for an external controller to expand this PVC");
}

}  // namespace
}  // namespace skiff::master::testing
