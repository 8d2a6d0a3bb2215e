// The generic ephemeral volume controller: the claim <pod>-<volume> from the template, owned by
// the pod (so the garbage collector deletes it with the pod); a claim of that name the pod does
// not own is reported, never adopted.
#include <gtest/gtest.h>

#include "harness.h"
#include "skiff/master/volume/volume.h"

namespace skiff::master::testing {
namespace {

using volume::kPersistentVolumeClaims;

json ephemeralPod(const std::string& name) {
  return json::parse(R"({"metadata": {"name": ")" + name + R"(", "namespace": "default"},
    "spec": {"containers": [{"name": "c", "image": "busybox"}],
      "volumes": [{"name": "scratch", "emptyDir": {}},
        {"name": "data", "ephemeral": {"volumeClaimTemplate": {
          "metadata": {"labels": {"type": "scratch"}, "annotations": {"note": "x"}},
          "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "local-path",
                   "resources": {"requests": {"storage": "1Gi"}}}}}}]}})");
}

struct EphemeralHarness : Harness {
  EphemeralHarness() { add(newEphemeralVolumeController(client, clock)); }
  std::optional<json> claim(const std::string& name) {
    auto c = client.get(kPersistentVolumeClaims, "default", name);
    if (!c) return std::nullopt;
    return *c;
  }
  std::vector<json> events(const std::string& reason) {
    return client.list(gvr::kEvents, "default", opts::fields("reason=" + reason))->items;
  }
};

TEST(EphemeralVolumeControllerTest, CreatesTheClaimFromTheTemplateOwnedByThePod) {
  EphemeralHarness h;
  h.start();
  auto pod = h.client.create(gvr::kPods, "default", ephemeralPod("web"));
  ASSERT_TRUE(pod);
  h.settle();
  auto c = h.claim("web-data");
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)["metadata"]["labels"], json({{"type", "scratch"}}));
  EXPECT_EQ((*c)["metadata"]["annotations"]["note"], "x");
  EXPECT_EQ((*c)["spec"]["storageClassName"], "local-path");
  EXPECT_EQ((*c)["spec"]["resources"]["requests"]["storage"], "1Gi");
  EXPECT_EQ((*c)["metadata"]["ownerReferences"], json::array({{{"apiVersion", "v1"},
                                                               {"kind", "Pod"},
                                                               {"name", "web"},
                                                               {"uid", meta::uid(*pod)},
                                                               {"controller", true},
                                                               {"blockOwnerDeletion", true}}}));
  EXPECT_EQ(volume::ephemeralClaimNotForPod(*pod, *c), "");
  // No claim for the emptyDir; nothing reported.
  EXPECT_FALSE(h.claim("web-scratch"));
  EXPECT_TRUE(h.events("FailedBinding").empty());

  // Deleted behind the pod's back: made again for the pod that still uses it.
  ASSERT_TRUE(h.client.forceRemove(kPersistentVolumeClaims, "default", "web-data"));
  h.settle();
  ASSERT_TRUE(h.claim("web-data"));
}

TEST(EphemeralVolumeControllerTest, AClaimThePodDoesNotOwnIsReportedAndLeftAlone) {
  EphemeralHarness h;
  json other = {
      {"metadata", {{"name", "web-data"}, {"namespace", "default"}}},
      {"spec",
       {{"accessModes", {"ReadWriteOnce"}}, {"resources", {{"requests", {{"storage", "5Gi"}}}}}}}};
  ASSERT_TRUE(h.client.create(kPersistentVolumeClaims, "default", other));
  h.start();
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", ephemeralPod("web")));
  h.settle();
  auto c = h.claim("web-data");
  ASSERT_TRUE(c);
  EXPECT_FALSE((*c)["metadata"].contains("ownerReferences"));
  EXPECT_EQ((*c)["spec"]["resources"]["requests"]["storage"], "5Gi");
  auto ev = h.events("FailedBinding");
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev[0]["message"],
            "ephemeral volume data: PVC default/web-data was not created for pod default/web "
            "(pod is not owner)");
  EXPECT_EQ(ev[0]["type"], "Warning");
  EXPECT_EQ(ev[0]["involvedObject"]["kind"], "Pod");
  EXPECT_EQ(ev[0]["source"]["component"], "ephemeral_volume");
}

TEST(EphemeralVolumeControllerTest, PodsBeingDeletedGetNoClaimAndTheCollectorRemovesIt) {
  EphemeralHarness h;
  h.add(newGarbageCollector(h.client, h.clock));
  h.start();
  ASSERT_TRUE(h.client.create(gvr::kPods, "default", ephemeralPod("web")));
  h.settle();
  ASSERT_TRUE(h.claim("web-data"));
  ASSERT_TRUE(h.client.forceRemove(gvr::kPods, "default", "web"));
  for (int i = 0; i < 20 && h.claim("web-data"); ++i) {
    h.clock->advance(std::chrono::seconds(1));
    h.settle();
  }
  EXPECT_FALSE(h.claim("web-data"));
}

}  // namespace
}  // namespace skiff::master::testing
