// The root CA publisher: kube-root-ca.crt in every namespace, restored after edits and deletes.
#include <gtest/gtest.h>

#include "harness.h"

namespace skiff::master::testing {
namespace {

constexpr char kCa[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

std::string caOf(Harness& h, const std::string& ns) {
  auto cm = h.client.get(gvr::kConfigMaps, ns, "kube-root-ca.crt");
  return cm ? meta::at(*cm, {"data", "ca.crt"}).get<std::string>() : "";
}

TEST(RootCaPublisherTest, PublishesInEveryNamespaceAndRestores) {
  Harness h;
  h.add(newRootCaPublisher(h.client, h.clock, kCa));
  ASSERT_TRUE(h.client.create(gvr::kNamespaces, "", json{{"metadata", {{"name", "default"}}}}));
  h.start();
  h.settle();
  EXPECT_EQ(caOf(h, "default"), kCa);
  auto cm = h.client.get(gvr::kConfigMaps, "default", "kube-root-ca.crt");
  ASSERT_TRUE(cm);
  EXPECT_NE(meta::at(*cm, {"metadata", "annotations", "kubernetes.io/description"})
                .get<std::string>()
                .find("kube-apiserver"),
            std::string::npos);
  ASSERT_TRUE(h.client.create(gvr::kNamespaces, "", json{{"metadata", {{"name", "team"}}}}));
  h.settle();
  EXPECT_EQ(caOf(h, "team"), kCa);
  // Edited: put back, other metadata kept.
  json edited = *h.client.get(gvr::kConfigMaps, "team", "kube-root-ca.crt");
  edited["data"] = {{"ca.crt", "forged"}, {"extra", "x"}};
  edited["metadata"]["labels"] = {{"mine", "yes"}};
  ASSERT_TRUE(h.client.update(gvr::kConfigMaps, "team", edited));
  h.settle();
  auto back = h.client.get(gvr::kConfigMaps, "team", "kube-root-ca.crt");
  EXPECT_EQ(back->at("data"), json({{"ca.crt", kCa}}));
  EXPECT_EQ(meta::at(*back, {"metadata", "labels", "mine"}), "yes");
  // Deleted: created again.
  ASSERT_TRUE(h.client.remove(gvr::kConfigMaps, "team", "kube-root-ca.crt"));
  h.settle();
  EXPECT_EQ(caOf(h, "team"), kCa);
  // Other ConfigMaps are not its business.
  ASSERT_TRUE(h.client.create(gvr::kConfigMaps, "team", json{{"metadata", {{"name", "app"}}}}));
  ASSERT_TRUE(h.client.remove(gvr::kConfigMaps, "team", "app"));
  h.settle();
  EXPECT_FALSE(h.client.get(gvr::kConfigMaps, "team", "app"));
}

TEST(RootCaPublisherTest, LeavesTerminatingNamespacesAlone) {
  Harness h;
  h.add(newRootCaPublisher(h.client, h.clock, kCa));
  json ns = {{"metadata", {{"name", "gone"}, {"finalizers", {"x"}}}}};
  ASSERT_TRUE(h.client.create(gvr::kNamespaces, "", ns));
  h.start();
  h.settle();
  ASSERT_TRUE(h.client.remove(gvr::kNamespaces, "", "gone"));
  ASSERT_TRUE(h.client.remove(gvr::kConfigMaps, "gone", "kube-root-ca.crt"));
  h.settle();
  EXPECT_EQ(caOf(h, "gone"), "");
}

}  // namespace
}  // namespace skiff::master::testing
