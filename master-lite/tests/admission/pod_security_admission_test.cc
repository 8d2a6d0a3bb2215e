// The PodSecurity plugin inside the registry: enforce rejects with 403 and stores nothing,
// warn/audit notes, workload templates, exemptions, namespace labels and their warnings, and
// which updates are re-checked.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "skiff/master/admission/pod_security.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/testing/registry_fixture.h"

namespace skiff::master::admission {
namespace {

using json = nlohmann::json;
using api::AdmissionNotes;
using api::findResource;

class PodSecurityAdmissionTest : public ::skiff::master::testing::RegistryFixture {
 protected:
  void setUpRegistry() override {
    opts_.user = {"alice", {"system:authenticated"}};
    opts_.notes = &notes_;
  }
  void install(PodSecurityConfig cfg = {}) {
    reg_->addAdmissionPlugin(newPodSecurityAdmission(*reg_, std::move(cfg)));
  }
  Result<api::WriteResult> createNs(const std::string& name, json labels) {
    json ns = {{"metadata", {{"name", name}, {"labels", labels}}}};
    return reg_->create(*findResource("", "v1", "namespaces"), "", ns, opts_);
  }
  static json pod(const std::string& name, bool privileged) {
    json c = {{"name", name}, {"image", "busybox"}};
    if (privileged) c["securityContext"] = {{"privileged", true}};
    return {{"metadata", {{"name", name}}}, {"spec", {{"containers", json::array({c})}}}};
  }
  Result<api::WriteResult> createPod(const std::string& ns, json p) {
    return reg_->create(*findResource("", "v1", "pods"), ns, std::move(p), opts_);
  }

  api::WriteOptions opts_;
  AdmissionNotes notes_;
};

TEST_F(PodSecurityAdmissionTest, EnforceRestrictedRejectsPrivilegedPod) {
  install();
  ASSERT_TRUE(createNs("psa-r", {{kEnforceLabel, "restricted"}}));
  auto r = createPod("psa-r", pod("priv", true));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::Forbidden);
  EXPECT_EQ(r.error().message().rfind(
                "pods \"priv\" is forbidden: violates PodSecurity \"restricted:latest\": "
                "privileged (container \"priv\" must not set securityContext.privileged=true), "
                "allowPrivilegeEscalation != false",
                0),
            0u)
      << r.error().message();
  EXPECT_EQ(notes_.audit_annotations["pod-security.kubernetes.io/enforce-policy"],
            "restricted:latest");
  EXPECT_FALSE(reg_->get(*findResource("", "v1", "pods"), "psa-r", "priv"));
}

TEST_F(PodSecurityAdmissionTest, WarnAndAuditDoNotReject) {
  install();
  ASSERT_TRUE(createNs("w", {{kWarnLabel, "baseline"}, {kAuditLabel, "baseline"}}));
  ASSERT_TRUE(createPod("w", pod("p", true)));
  ASSERT_EQ(notes_.warnings.size(), 1u);
  EXPECT_EQ(notes_.warnings[0],
            "would violate PodSecurity \"baseline:latest\": privileged (container \"p\" must not "
            "set securityContext.privileged=true)");
  EXPECT_EQ(notes_.audit_annotations["pod-security.kubernetes.io/audit-violations"],
            notes_.warnings[0]);
}

TEST_F(PodSecurityAdmissionTest, PrivilegedNamespaceAnnotatesOnly) {
  install();
  ASSERT_TRUE(createPod("default", pod("p", true)));
  EXPECT_TRUE(notes_.warnings.empty());
  EXPECT_EQ(notes_.audit_annotations["pod-security.kubernetes.io/enforce-policy"],
            "privileged:latest");
}

TEST_F(PodSecurityAdmissionTest, WorkloadsGetWarnButNeverEnforce) {
  install();
  ASSERT_TRUE(createNs("wl", {{kEnforceLabel, "baseline"}}));
  json d = {
      {"metadata", {{"name", "web"}}},
      {"spec",
       {{"selector", {{"matchLabels", {{"app", "web"}}}}},
        {"template",
         {{"metadata", {{"labels", {{"app", "web"}}}}},
          {"spec",
           {{"containers", json::array({{{"name", "c"}, {"image", "nginx"}}})},
            {"volumes", json::array({{{"name", "data"}, {"hostPath", {{"path", "/x"}}}}})}}}}}}}};
  auto r = reg_->create(*findResource("apps", "v1", "deployments"), "wl", d, opts_);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(notes_.warnings.size(), 1u);
  EXPECT_EQ(notes_.warnings[0],
            "would violate PodSecurity \"baseline:latest\": hostPath volumes (volume \"data\")");
}

TEST_F(PodSecurityAdmissionTest, Exemptions) {
  PodSecurityConfig cfg;
  cfg.exempt_usernames = {"alice"};
  cfg.exempt_namespaces = {"free"};
  cfg.exempt_runtime_classes = {"kata"};
  install(cfg);
  ASSERT_TRUE(createNs("free", {{kEnforceLabel, "restricted"}}));
  ASSERT_TRUE(createNs("r", {{kEnforceLabel, "restricted"}}));
  ASSERT_EQ(notes_.warnings.size(), 1u);
  EXPECT_EQ(notes_.warnings[0],
            "namespace \"free\" is exempt from Pod Security, and the policy "
            "(enforce=restricted:latest) will be ignored");
  ASSERT_TRUE(createPod("free", pod("a", true)));
  EXPECT_EQ(notes_.audit_annotations["pod-security.kubernetes.io/exempt"], "namespace");
  ASSERT_TRUE(createPod("r", pod("b", true)));
  EXPECT_EQ(notes_.audit_annotations["pod-security.kubernetes.io/exempt"], "user");
  opts_.user.name = "bob";
  json k = pod("c", true);
  k["spec"]["runtimeClassName"] = "kata";
  ASSERT_TRUE(createPod("r", k));
  EXPECT_EQ(notes_.audit_annotations["pod-security.kubernetes.io/exempt"], "runtimeClass");
  EXPECT_FALSE(createPod("r", pod("d", true)));
}

TEST_F(PodSecurityAdmissionTest, DefaultsFromConfiguration) {
  std::ofstream(dir_ + "/admission.yaml") << R"(apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults:
      enforce: baseline
      enforce-version: v1.30
    exemptions:
      usernames: [system:serviceaccount:kube-system:replicaset-controller]
)";
  auto cfg = loadAdmissionConfiguration(dir_ + "/admission.yaml");
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->defaults.enforce.str(), "baseline:v1.30");
  EXPECT_EQ(cfg->defaults.warn.str(), "privileged:latest");
  install(*cfg);
  auto r = createPod("default", pod("p", true));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("violates PodSecurity \"baseline:v1.30\""), std::string::npos);

  std::ofstream(dir_ + "/bad.yaml") << R"(kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    kind: PodSecurityConfiguration
    defaults: {enforce: strict}
    exemptions: {namespaces: [ok, ok]}
)";
  auto bad = loadAdmissionConfiguration(dir_ + "/bad.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find(
                "defaults.enforce: Invalid value: \"strict\": must be one of privileged, "
                "baseline, restricted, exemptions.namespaces[1]: Duplicate value: \"ok\""),
            std::string::npos)
      << bad.error().message();
}

TEST_F(PodSecurityAdmissionTest, InvalidNamespaceLabelsRejected) {
  install();
  auto r = createNs("bad", {{kEnforceLabel, "strict"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::Invalid);
  EXPECT_EQ(r.error().message(),
            "Namespace \"bad\" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: "
            "Invalid value: \"strict\": must be one of privileged, baseline, restricted");
}

TEST_F(PodSecurityAdmissionTest, StricterEnforceWarnsAboutExistingPods) {
  install();
  ASSERT_TRUE(createNs("x", json::object()));
  for (const char* n : {"b", "a", "c"}) ASSERT_TRUE(createPod("x", pod(n, true)));
  ASSERT_TRUE(createPod("x", pod("ok", false)));
  const api::ResourceInfo& nsr = *findResource("", "v1", "namespaces");
  auto cur = reg_->get(nsr, "", "x");
  ASSERT_TRUE(cur);
  json next = *cur;
  next["metadata"]["labels"][kEnforceLabel] = "baseline";
  notes_ = {};
  ASSERT_TRUE(reg_->update(nsr, "", "x", next, opts_));
  ASSERT_EQ(notes_.warnings.size(), 2u);
  EXPECT_EQ(notes_.warnings[0],
            "existing pods in namespace \"x\" violate the new PodSecurity enforce level "
            "\"baseline:latest\"");
  EXPECT_EQ(notes_.warnings[1], "a (and 2 other pods): privileged");
}

TEST_F(PodSecurityAdmissionTest, MetadataOnlyPodUpdateIsNotRechecked) {
  install();
  ASSERT_TRUE(createNs("m", json::object()));
  ASSERT_TRUE(createPod("m", pod("p", true)));
  const api::ResourceInfo& nsr = *findResource("", "v1", "namespaces");
  json ns = *reg_->get(nsr, "", "m");
  ns["metadata"]["labels"][kEnforceLabel] = "baseline";
  ASSERT_TRUE(reg_->update(nsr, "", "m", ns, opts_));
  const api::ResourceInfo& pr = *findResource("", "v1", "pods");
  json p = *reg_->get(pr, "m", "p");
  p["metadata"]["labels"]["x"] = "y";
  EXPECT_TRUE(reg_->update(pr, "m", "p", p, opts_));
  p = *reg_->get(pr, "m", "p");
  p["spec"]["containers"][0]["image"] = "busybox:2";
  auto r = reg_->update(pr, "m", "p", p, opts_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::Forbidden);
}

TEST(PodSecuritySpecTest, ExtractsTemplates) {
  json meta, spec;
  json cj = {{"spec", {{"jobTemplate", {{"spec", {{"template", {{"spec", {{"x", 1}}}}}}}}}}}};
  ASSERT_TRUE(extractPodSpec("batch", "cronjobs", cj, meta, spec));
  EXPECT_EQ(spec["x"], 1);
  EXPECT_FALSE(extractPodSpec("", "services", json::object(), meta, spec));
  EXPECT_FALSE(extractPodSpec("apps", "deployments", json::object(), meta, spec));
}

}  // namespace
}  // namespace skiff::master::admission
