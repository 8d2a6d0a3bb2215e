// The PersistentVolume controller: binding (class, modes, capacity, selector, smallest fit),
// WaitForFirstConsumer and local-path provisioning on the selected node, reclaim, protection.
#include <gtest/gtest.h>

#include "harness.h"
#include "skiff/master/volume/volume.h"

namespace skiff::master::testing {
namespace {

using volume::kPersistentVolumeClaims;
using volume::kPersistentVolumes;
using volume::kStorageClasses;

json pv(const std::string& name, const std::string& size, const std::string& cls = "",
        json labels = json::object()) {
  return {{"metadata", {{"name", name}, {"labels", labels}}},
          {"spec",
           {{"capacity", {{"storage", size}}},
            {"accessModes", {"ReadWriteOnce"}},
            {"persistentVolumeReclaimPolicy", "Retain"},
            {"storageClassName", cls},
            {"volumeMode", "Filesystem"},
            {"hostPath", {{"path", "/srv/" + name}}}}},
          {"status", {{"phase", "Pending"}}}};
}

json pvc(const std::string& name, const std::string& size, const std::string& cls = "") {
  return {{"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec",
           {{"accessModes", {"ReadWriteOnce"}},
            {"resources", {{"requests", {{"storage", size}}}}},
            {"storageClassName", cls},
            {"volumeMode", "Filesystem"}}},
          {"status", {{"phase", "Pending"}}}};
}

json localPathClass() {
  return {{"metadata", {{"name", "local-path"}}},
          {"provisioner", "skiff.io/local-path"},
          {"reclaimPolicy", "Delete"},
          {"volumeBindingMode", "WaitForFirstConsumer"}};
}

struct PvHarness : Harness {
  PvHarness() {
    add(newPersistentVolumeController(client, clock));
    (void)client.create(gvr::kNodes, "",
                        json{{"metadata",
                              {{"name", "n1"},
                               {"labels", {{"kubernetes.io/hostname", "n1"}}},
                               {"annotations", {{"skiff.io/storage-root", "/data/vols"}}}}}});
  }
  json claim(const std::string& name) {
    return *client.get(kPersistentVolumeClaims, "default", name);
  }
  json volume(const std::string& name) { return *client.get(kPersistentVolumes, "", name); }
  std::vector<std::string> eventReasons() {
    std::vector<std::string> out;
    auto events = client.list(gvr::kEvents, "default", {});
    for (const auto& e : events->items) out.push_back(e.value("reason", ""));
    return out;
  }
};

TEST(PersistentVolumeControllerTest, BindsTheSmallestMatchingVolume) {
  PvHarness h;
  ASSERT_TRUE(h.client.create(kPersistentVolumes, "", pv("big", "10Gi")));
  ASSERT_TRUE(h.client.create(kPersistentVolumes, "", pv("small", "2Gi")));
  ASSERT_TRUE(h.client.create(kPersistentVolumes, "", pv("tiny", "512Mi")));
  ASSERT_TRUE(h.client.create(kPersistentVolumes, "", pv("other-class", "2Gi", "fast")));
  h.start();
  h.settle();
  EXPECT_EQ(meta::str(h.volume("small"), {"status", "phase"}), "Available");
  ASSERT_TRUE(h.client.create(kPersistentVolumeClaims, "default", pvc("data", "1Gi")));
  h.settle();
  json c = h.claim("data");
  EXPECT_EQ(meta::str(c, {"spec", "volumeName"}), "small");
  EXPECT_EQ(meta::str(c, {"status", "phase"}), "Bound");
  EXPECT_EQ(meta::str(c, {"status", "capacity", "storage"}), "2Gi");
  EXPECT_EQ(meta::str(c, {"metadata", "annotations", "pv.kubernetes.io/bind-completed"}), "yes");
  EXPECT_EQ(meta::str(c, {"metadata", "annotations", "pv.kubernetes.io/bound-by-controller"}),
            "yes");
  json v = h.volume("small");
  EXPECT_EQ(meta::str(v, {"status", "phase"}), "Bound");
  EXPECT_EQ(meta::str(v, {"spec", "claimRef", "name"}), "data");
  EXPECT_EQ(meta::str(v, {"spec", "claimRef", "uid"}), meta::uid(c));
  EXPECT_EQ(meta::str(h.volume("big"), {"status", "phase"}), "Available");
}

TEST(PersistentVolumeControllerTest, SelectorAndTooLargeClaimsStayPending) {
  PvHarness h;
  ASSERT_TRUE(h.client.create(kPersistentVolumes, "", pv("a", "5Gi", "", {{"tier", "gold"}})));
  ASSERT_TRUE(h.client.create(kPersistentVolumes, "", pv("b", "5Gi", "", {{"tier", "iron"}})));
  h.start();
  json want = pvc("gold", "1Gi");
  want["spec"]["selector"] = {{"matchLabels", {{"tier", "gold"}}}};
  ASSERT_TRUE(h.client.create(kPersistentVolumeClaims, "default", want));
  ASSERT_TRUE(h.client.create(kPersistentVolumeClaims, "default", pvc("huge", "100Gi")));
  h.settle();
  EXPECT_EQ(meta::str(h.claim("gold"), {"spec", "volumeName"}), "a");
  EXPECT_EQ(meta::str(h.claim("huge"), {"status", "phase"}), "Pending");
  auto reasons = h.eventReasons();
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "FailedBinding"), reasons.end());
}

TEST(PersistentVolumeControllerTest, WaitsForFirstConsumerThenProvisionsOnTheSelectedNode) {
  PvHarness h;
  ASSERT_TRUE(h.client.create(kStorageClasses, "", localPathClass()));
  h.start();
  ASSERT_TRUE(
      h.client.create(kPersistentVolumeClaims, "default", pvc("data", "64Mi", "local-path")));
  h.settle();
  EXPECT_EQ(meta::str(h.claim("data"), {"status", "phase"}), "Pending");
  auto reasons = h.eventReasons();
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "WaitForFirstConsumer"), reasons.end());
  EXPECT_TRUE(h.client.list(kPersistentVolumes, "", {})->items.empty());

  // The scheduler picked n1.
  json patch = {{"metadata", {{"annotations", {{"volume.kubernetes.io/selected-node", "n1"}}}}}};
  ASSERT_TRUE(h.client.patch(kPersistentVolumeClaims, "default", "data", PatchType::Merge, patch));
  h.settle();
  json c = h.claim("data");
  std::string name = "pvc-" + meta::uid(c);
  EXPECT_EQ(meta::str(c, {"spec", "volumeName"}), name);
  EXPECT_EQ(meta::str(c, {"status", "phase"}), "Bound");
  json v = h.volume(name);
  EXPECT_EQ(meta::str(v, {"spec", "hostPath", "path"}),
            "/data/vols/pvc-" + meta::uid(c) + "_default_data");
  EXPECT_EQ(meta::str(v, {"spec", "persistentVolumeReclaimPolicy"}), "Delete");
  EXPECT_EQ(meta::at(v, {"spec", "nodeAffinity", "required",
                         "nodeSelectorTerms"})[0]["matchExpressions"][0]["values"],
            json::array({"n1"}));
  EXPECT_EQ(meta::str(v, {"metadata", "annotations", "pv.kubernetes.io/provisioned-by"}),
            "skiff.io/local-path");
  EXPECT_EQ(meta::str(v, {"status", "phase"}), "Bound");
  reasons = h.eventReasons();
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "ProvisioningSucceeded"), reasons.end());
}

TEST(PersistentVolumeControllerTest, UnknownClassIsReported) {
  PvHarness h;
  h.start();
  ASSERT_TRUE(h.client.create(kPersistentVolumeClaims, "default", pvc("data", "1Gi", "nope")));
  h.settle();
  EXPECT_EQ(meta::str(h.claim("data"), {"status", "phase"}), "Pending");
  bool found = false;
  auto events = h.client.list(gvr::kEvents, "default", {});
  for (const auto& e : events->items) {
    if (e.value("reason", "") == "ProvisioningFailed" &&
        e.value("message", "") == "storageclass.storage.k8s.io \"nope\" not found")
      found = true;
  }
  EXPECT_TRUE(found);
}

TEST(PersistentVolumeControllerTest, ReleasedVolumesFollowTheirReclaimPolicy) {
  PvHarness h;
  ASSERT_TRUE(h.client.create(kPersistentVolumes, "", pv("keep", "1Gi")));
  json manual_delete = pv("gone", "1Gi", "manual");
  manual_delete["spec"]["persistentVolumeReclaimPolicy"] = "Delete";
  ASSERT_TRUE(h.client.create(kPersistentVolumes, "", manual_delete));
  h.start();
  ASSERT_TRUE(h.client.create(kPersistentVolumeClaims, "default", pvc("a", "1Gi")));
  ASSERT_TRUE(h.client.create(kPersistentVolumeClaims, "default", pvc("b", "1Gi", "manual")));
  h.settle();
  ASSERT_EQ(meta::str(h.volume("keep"), {"status", "phase"}), "Bound");
  ASSERT_EQ(meta::str(h.volume("gone"), {"status", "phase"}), "Bound");
  ASSERT_TRUE(h.client.remove(kPersistentVolumeClaims, "default", "a"));
  ASSERT_TRUE(h.client.remove(kPersistentVolumeClaims, "default", "b"));
  h.settle();
  EXPECT_EQ(meta::str(h.volume("keep"), {"status", "phase"}), "Released");
  // No deleter for a hand-made hostPath volume: Failed, as kube-controller-manager reports.
  EXPECT_EQ(meta::str(h.volume("gone"), {"status", "phase"}), "Failed");
}

TEST(PersistentVolumeControllerTest, ProtectionHoldsAClaimWhilePodsUseIt) {
  PvHarness h;
  h.start();
  json c = pvc("data", "1Gi");
  c["metadata"]["finalizers"] = {"kubernetes.io/pvc-protection"};
  ASSERT_TRUE(h.client.create(kPersistentVolumeClaims, "default", c));
  json pod = {
      {"metadata", {{"name", "user"}, {"namespace", "default"}}},
      {"spec",
       {{"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})},
        {"volumes",
         json::array({{{"name", "d"}, {"persistentVolumeClaim", {{"claimName", "data"}}}}})}}}};
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", pod));
  h.settle();
  ASSERT_TRUE(h.client.remove(kPersistentVolumeClaims, "default", "data"));
  h.settle();
  auto still = h.client.get(kPersistentVolumeClaims, "default", "data");
  ASSERT_TRUE(still);
  EXPECT_TRUE(meta::isDeleting(*still));
  ASSERT_TRUE(h.client.remove(gvr::kPods, "default", "user"));
  h.settle();
  EXPECT_FALSE(h.client.get(kPersistentVolumeClaims, "default", "data"));
}

}  // namespace
}  // namespace skiff::master::testing
