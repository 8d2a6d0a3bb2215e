// Levels, versions, namespace labels and the order of checks (pod-security-admission
// api/helpers_test.go, policy/registry_test.go).
#include <gtest/gtest.h>

#include "skiff/master/admission/pod_security_policy.h"

namespace skiff::master::admission {
namespace {

TEST(PodSecurityPolicyTest, ParsesLevels) {
  Level l;
  EXPECT_TRUE(parseLevel("baseline", l));
  EXPECT_EQ(l, Level::Baseline);
  EXPECT_TRUE(parseLevel("restricted", l));
  EXPECT_EQ(l, Level::Restricted);
  EXPECT_FALSE(parseLevel("Restricted", l));
  EXPECT_FALSE(parseLevel("", l));
}

TEST(PodSecurityPolicyTest, ParsesVersions) {
  Version v;
  EXPECT_TRUE(parseVersion("latest", v));
  EXPECT_TRUE(v.latest);
  EXPECT_TRUE(parseVersion("v1.25", v));
  EXPECT_EQ(v.str(), "v1.25");
  EXPECT_TRUE(parseVersion("v1.0", v));
  EXPECT_EQ(v.minor, 0);
  for (const char* bad : {"v1.025", "1.25", "v2.0", "v1.", "v1.x", "Latest", ""})
    EXPECT_FALSE(parseVersion(bad, v)) << bad;
}

TEST(PodSecurityPolicyTest, VersionOrdering) {
  EXPECT_TRUE(Version::v1(9).olderThan(Version::v1(10)));
  EXPECT_TRUE(Version::v1(99).olderThan(Version{}));
  EXPECT_FALSE(Version{}.olderThan(Version::v1(99)));
  EXPECT_EQ((LevelVersion{Level::Restricted, Version{}}.str()), "restricted:latest");
}

TEST(PodSecurityPolicyTest, DefaultsWithoutLabels) {
  Policy p = policyFromLabels({}, Policy{}, nullptr);
  EXPECT_TRUE(p.fullyPrivileged());
  EXPECT_EQ(p.enforce.str(), "privileged:latest");
}

TEST(PodSecurityPolicyTest, WarnFollowsStricterEnforce) {
  Policy p = policyFromLabels({{kEnforceLabel, "baseline"}, {kEnforceVersionLabel, "v1.22"}},
                              Policy{}, nullptr);
  EXPECT_EQ(p.enforce.str(), "baseline:v1.22");
  EXPECT_EQ(p.warn.str(), "baseline:v1.22");
  EXPECT_EQ(p.audit.str(), "privileged:latest");
  // An explicit warn label is kept.
  p = policyFromLabels({{kEnforceLabel, "restricted"}, {kWarnLabel, "baseline"}}, Policy{},
                       nullptr);
  EXPECT_EQ(p.warn.str(), "baseline:latest");
}

TEST(PodSecurityPolicyTest, InvalidLabels) {
  std::vector<LabelError> errs;
  Policy p = policyFromLabels(
      {{kEnforceLabel, "strict"}, {kAuditLabel, "nope"}, {kWarnVersionLabel, "1.2"}}, Policy{},
      &errs);
  ASSERT_EQ(errs.size(), 3u);
  EXPECT_EQ(errs[0].message(),
            "metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"strict\": "
            "must be one of privileged, baseline, restricted");
  EXPECT_EQ(errs[2].message(),
            "metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: \"1.2\": "
            "must be \"latest\" or \"v1.x\"");
  // Enforce fails closed, audit fails open, warn is not defaulted from a bad enforce.
  EXPECT_EQ(p.enforce.level, Level::Restricted);
  EXPECT_EQ(p.audit.level, Level::Privileged);
  EXPECT_EQ(p.warn.level, Level::Privileged);
}

// "latest" (and any newer version) is the server's own release, v1.32: checks upstream added in
// later releases (host in probes, 1.34) are not applied.
TEST(PodSecurityPolicyTest, LatestIsTheServersRelease) {
  EXPECT_EQ(maxCheckVersion().str(), "v1.32");
  nlohmann::json probe = nlohmann::json::parse(
      R"({"containers":[{"name":"c","livenessProbe":{"httpGet":{"host":"192.0.2.1","port":80}}}]})");
  EXPECT_TRUE(evaluatePod({Level::Baseline, Version{}}, {}, probe).allowed);
  EXPECT_TRUE(evaluatePod({Level::Baseline, Version::v1(35)}, {}, probe).allowed);
  nlohmann::json spec = nlohmann::json::parse(
      R"({"containers":[{"name":"c","securityContext":{"privileged":true}}]})");
  auto a = evaluatePod({Level::Baseline, Version{}}, {}, spec);
  auto b = evaluatePod({Level::Baseline, Version::v1(500)}, {}, spec);
  EXPECT_EQ(a.forbiddenDetail(), b.forbiddenDetail());
  EXPECT_TRUE(evaluatePod({Level::Privileged, Version{}}, {}, spec).allowed);
}

TEST(PodSecurityPolicyTest, AggregateReasonsAndDetails) {
  AggregateResult r;
  r.allowed = false;
  r.reasons = {"a", "b"};
  r.details = {"x", ""};
  EXPECT_EQ(r.forbiddenReason(), "a, b");
  EXPECT_EQ(r.forbiddenDetail(), "a (x), b");
}

}  // namespace
}  // namespace skiff::master::admission
