// Claim/volume matching, node affinity and the default class (volume.h).
#include "skiff/master/volume/volume.h"

#include <gtest/gtest.h>

namespace skiff::master::volume {
namespace {

json vol(const std::string& name, const std::string& size, json modes = {"ReadWriteOnce"}) {
  return {{"metadata", {{"name", name}}},
          {"spec", {{"capacity", {{"storage", size}}}, {"accessModes", modes}}},
          {"status", {{"phase", "Available"}}}};
}

json claim(const std::string& size, json modes = {"ReadWriteOnce"}) {
  return {{"metadata", {{"name", "c"}, {"namespace", "default"}, {"uid", "u1"}}},
          {"spec", {{"accessModes", modes}, {"resources", {{"requests", {{"storage", size}}}}}}}};
}

TEST(VolumeTest, MatchingPicksSmallestFitWithEveryMode) {
  std::vector<json> pvs{vol("a", "10Gi"), vol("b", "1Gi"), vol("c", "2Gi"),
                        vol("d", "1500Mi", {"ReadOnlyMany"})};
  EXPECT_EQ(findMatchingVolume(pvs, claim("1200Mi")), 2);  // c: b too small, d wrong mode
  EXPECT_EQ(findMatchingVolume(pvs, claim("1Gi")), 1);
  EXPECT_EQ(findMatchingVolume(pvs, claim("11Gi")), -1);
  EXPECT_EQ(findMatchingVolume(pvs, claim("1Gi", {"ReadWriteOnce", "ReadOnlyMany"})), -1);
  // A volume pre-bound to another claim is not taken; one pre-bound to this claim wins.
  pvs[1]["spec"]["claimRef"] = {{"namespace", "default"}, {"name", "other"}};
  EXPECT_EQ(findMatchingVolume(pvs, claim("1Gi")), 2);
  pvs[0]["spec"]["claimRef"] = {{"namespace", "default"}, {"name", "c"}, {"uid", "u1"}};
  EXPECT_EQ(findMatchingVolume(pvs, claim("1Gi")), 0);
  // Block and Filesystem never match each other.
  json block = claim("1Gi");
  block["spec"]["volumeMode"] = "Block";
  EXPECT_EQ(findMatchingVolume({vol("x", "1Gi")}, block), -1);
}

TEST(VolumeTest, NodeAffinity) {
  json pv = vol("a", "1Gi");
  json node = {{"metadata", {{"name", "n1"}, {"labels", {{"kubernetes.io/hostname", "n1"}}}}}};
  json other = {{"metadata", {{"name", "n2"}, {"labels", {{"kubernetes.io/hostname", "n2"}}}}}};
  EXPECT_TRUE(nodeAffinityAdmits(pv, other));
  pv["spec"]["nodeAffinity"] = {
      {"required",
       {{"nodeSelectorTerms",
         {{{"matchExpressions",
            {{{"key", "kubernetes.io/hostname"}, {"operator", "In"}, {"values", {"n1"}}}}}}}}}}};
  EXPECT_TRUE(nodeAffinityAdmits(pv, node));
  EXPECT_FALSE(nodeAffinityAdmits(pv, other));
  EXPECT_EQ(findMatchingVolume({pv}, claim("1Gi"), &other), -1);
  EXPECT_EQ(findMatchingVolume({pv}, claim("1Gi"), &node), 0);
}

TEST(VolumeTest, DefaultClassAndModes) {
  json a = {{"metadata",
             {{"name", "a"},
              {"creationTimestamp", "2024-01-01T00:00:00Z"},
              {"annotations", {{kAnnDefaultClass, "true"}}}}}};
  json b = {{"metadata",
             {{"name", "b"},
              {"creationTimestamp", "2024-02-01T00:00:00Z"},
              {"annotations", {{kAnnBetaDefaultClass, "true"}}}}}};
  json c = {{"metadata", {{"name", "c"}, {"creationTimestamp", "2025-01-01T00:00:00Z"}}}};
  EXPECT_EQ(defaultStorageClass(json::array({a, b, c})), "b");
  EXPECT_EQ(defaultStorageClass(json::array({c})), "");
  EXPECT_EQ(accessModesString({"ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"}),
            "RWO,RWX,RWOP");
}

TEST(VolumeTest, LocalPathVolume) {
  json sc = {{"metadata", {{"name", "local-path"}}},
             {"provisioner", kLocalPathProvisioner},
             {"reclaimPolicy", "Retain"}};
  json pv = provisionLocalPathVolume(claim("64Mi"), sc, "n1", "/var/lib/skiff/storage");
  EXPECT_EQ(pv["metadata"]["name"], "pvc-u1");
  EXPECT_EQ(pv["spec"]["hostPath"]["path"], "/var/lib/skiff/storage/pvc-u1_default_c");
  EXPECT_EQ(pv["spec"]["capacity"]["storage"], "64Mi");
  EXPECT_EQ(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
  EXPECT_EQ(pv["spec"]["claimRef"]["uid"], "u1");
  EXPECT_TRUE(volumeSatisfies(pv, [] {
    json c = claim("64Mi");
    c["spec"]["storageClassName"] = "local-path";
    return c;
  }()));
}

}  // namespace
}  // namespace skiff::master::volume
