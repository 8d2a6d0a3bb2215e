// Every Pod Security check: one pod that passes and one that fails with upstream's exact
// reason and detail (pod-security-admission policy/check_*_test.go).
#include <gtest/gtest.h>

#include "skiff/master/admission/pod_security_policy.h"

namespace skiff::master::admission {
namespace {

using json = nlohmann::json;

// A pod that passes restricted:latest.
json restrictedSpec() {
  return json::parse(R"({
    "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "c", "image": "busybox", "securityContext": {
      "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]})");
}

std::string detail(Level level, const json& spec, const json& meta = json::object(),
                   Version v = Version{}) {
  AggregateResult r = evaluatePod({level, v}, meta, spec);
  return r.allowed ? "" : r.forbiddenDetail();
}

// As a server of a later release would evaluate it: the checks ported ahead of v1.32.
std::string detailAtRelease(int release_minor, Level level, const json& spec,
                            Version v = Version{}) {
  AggregateResult r = evaluatePodAtRelease({level, v}, release_minor, json::object(), spec);
  return r.allowed ? "" : r.forbiddenDetail();
}

json& container(json& spec) { return spec["containers"][0]; }

TEST(PodSecurityChecksTest, CompliantPodPassesEveryLevel) {
  EXPECT_EQ(detail(Level::Restricted, restrictedSpec()), "");
  EXPECT_EQ(detail(Level::Baseline, restrictedSpec()), "");
  EXPECT_EQ(detail(Level::Baseline, json::parse(R"({"containers":[{"name":"c"}]})")), "");
}

TEST(PodSecurityChecksTest, Privileged) {
  json s = restrictedSpec();
  container(s)["securityContext"]["privileged"] = false;
  EXPECT_EQ(detail(Level::Baseline, s), "");
  container(s)["securityContext"]["privileged"] = true;
  EXPECT_EQ(detail(Level::Baseline, s),
            "privileged (container \"c\" must not set securityContext.privileged=true)");
}

TEST(PodSecurityChecksTest, CapabilitiesBaseline) {
  json s = restrictedSpec();
  container(s)["securityContext"]["capabilities"]["add"] = {"CHOWN", "KILL"};
  EXPECT_EQ(detail(Level::Baseline, s), "");
  container(s)["securityContext"]["capabilities"]["add"] = {"SYS_ADMIN", "NET_RAW", "CHOWN"};
  EXPECT_EQ(detail(Level::Baseline, s),
            "non-default capabilities (container \"c\" must not include \"NET_RAW\", "
            "\"SYS_ADMIN\" in securityContext.capabilities.add)");
}

TEST(PodSecurityChecksTest, HostNamespaces) {
  json s = restrictedSpec();
  s["hostNetwork"] = false;
  EXPECT_EQ(detail(Level::Baseline, s), "");
  s["hostNetwork"] = true;
  s["hostIPC"] = true;
  EXPECT_EQ(detail(Level::Baseline, s), "host namespaces (hostNetwork=true, hostIPC=true)");
}

TEST(PodSecurityChecksTest, HostPathVolumes) {
  json s = restrictedSpec();
  s["volumes"] = json::parse(R"([{"name":"e","emptyDir":{}}])");
  EXPECT_EQ(detail(Level::Baseline, s), "");
  s["volumes"] = json::parse(R"([{"name":"a","hostPath":{"path":"/"}},
                                 {"name":"b","hostPath":{"path":"/x"}}])");
  EXPECT_EQ(detail(Level::Baseline, s), "hostPath volumes (volumes \"a\", \"b\")");
}

TEST(PodSecurityChecksTest, HostPorts) {
  json s = restrictedSpec();
  container(s)["ports"] = json::parse(R"([{"containerPort":80}])");
  EXPECT_EQ(detail(Level::Baseline, s), "");
  container(s)["ports"] = json::parse(R"([{"containerPort":80,"hostPort":8080},
                                          {"containerPort":81,"hostPort":81}])");
  EXPECT_EQ(detail(Level::Baseline, s), "hostPort (container \"c\" uses hostPorts 8080, 81)");
}

TEST(PodSecurityChecksTest, HostProbesAndLifecycleFromV1_34) {
  json s = restrictedSpec();
  container(s)["livenessProbe"] = json::parse(R"({"httpGet":{"port":80}})");
  EXPECT_EQ(detail(Level::Baseline, s), "");
  container(s)["livenessProbe"]["httpGet"]["host"] = "evil.example";
  container(s)["lifecycle"] = json::parse(R"({"preStop":{"tcpSocket":{"host":"1.2.3.4"}}})");
  // Not a v1.32 check: latest on this server allows it.
  EXPECT_EQ(detail(Level::Baseline, s), "");
  EXPECT_EQ(detailAtRelease(34, Level::Baseline, s),
            "probe or lifecycle host (container \"c\" uses probe or lifecycle hosts "
            "\"1.2.3.4\", \"evil.example\")");
  EXPECT_EQ(detailAtRelease(34, Level::Baseline, s, Version::v1(33)), "");
}

TEST(PodSecurityChecksTest, ProcMount) {
  json s = restrictedSpec();
  container(s)["securityContext"]["procMount"] = "Default";
  EXPECT_EQ(detail(Level::Baseline, s), "");
  container(s)["securityContext"]["procMount"] = "Unmasked";
  EXPECT_EQ(detail(Level::Baseline, s),
            "procMount (container \"c\" must not set securityContext.procMount to \"Unmasked\")");
  // v1.35: a user-namespaced pod may unmask at baseline, not at restricted; not on v1.32.
  s["hostUsers"] = false;
  EXPECT_NE(detail(Level::Baseline, s), "");
  EXPECT_EQ(detailAtRelease(35, Level::Baseline, s), "");
  EXPECT_EQ(detailAtRelease(35, Level::Restricted, s),
            "procMount (container \"c\" must not set securityContext.procMount to \"Unmasked\")");
}

TEST(PodSecurityChecksTest, SeLinuxOptions) {
  json s = restrictedSpec();
  s["securityContext"]["seLinuxOptions"] = {{"type", "container_t"}, {"level", "s0:c1"}};
  EXPECT_EQ(detail(Level::Baseline, s), "");
  container(s)["securityContext"]["seLinuxOptions"] = {{"type", "bad_t"}, {"user", "u"}};
  s["securityContext"]["seLinuxOptions"] = {{"role", "r"}};
  EXPECT_EQ(detail(Level::Baseline, s),
            "seLinuxOptions (pod and container \"c\" set forbidden "
            "securityContext.seLinuxOptions: type \"bad_t\"; user may not be set; role may not "
            "be set)");
  // container_engine_t is allowed from v1.31.
  json e = restrictedSpec();
  container(e)["securityContext"]["seLinuxOptions"] = {{"type", "container_engine_t"}};
  EXPECT_EQ(detail(Level::Baseline, e), "");
  EXPECT_NE(detail(Level::Baseline, e, json::object(), Version::v1(30)), "");
}

TEST(PodSecurityChecksTest, SeccompBaseline) {
  json s = json::parse(R"({"containers":[{"name":"c"}]})");
  s["securityContext"]["seccompProfile"]["type"] = "Localhost";
  EXPECT_EQ(detail(Level::Baseline, s), "");
  s["securityContext"]["seccompProfile"]["type"] = "Unconfined";
  EXPECT_EQ(detail(Level::Baseline, s),
            "seccompProfile (pod must not set securityContext.seccompProfile.type to "
            "\"Unconfined\")");
  // Before v1.19 the annotations are what count.
  json meta = {{"annotations", {{"seccomp.security.alpha.kubernetes.io/pod", "unconfined"}}}};
  EXPECT_EQ(detail(Level::Baseline, json::parse(R"({"containers":[{"name":"c"}]})"), meta,
                   Version::v1(18)),
            "seccompProfile (forbidden annotation "
            "seccomp.security.alpha.kubernetes.io/pod=\"unconfined\")");
}

TEST(PodSecurityChecksTest, Sysctls) {
  json s = restrictedSpec();
  s["securityContext"]["sysctls"] = json::parse(R"([{"name":"net.ipv4.tcp_rmem","value":"1"}])");
  EXPECT_EQ(detail(Level::Baseline, s), "");
  EXPECT_EQ(detail(Level::Baseline, s, json::object(), Version::v1(31)),
            "forbidden sysctls (net.ipv4.tcp_rmem)");
  s["securityContext"]["sysctls"] =
      json::parse(R"([{"name":"kernel.msgmax","value":"1"},{"name":"vm.x","value":"1"}])");
  EXPECT_EQ(detail(Level::Baseline, s), "forbidden sysctls (kernel.msgmax, vm.x)");
}

TEST(PodSecurityChecksTest, WindowsHostProcess) {
  json s = restrictedSpec();
  s["securityContext"]["windowsOptions"]["hostProcess"] = false;
  EXPECT_EQ(detail(Level::Baseline, s), "");
  s["securityContext"]["windowsOptions"]["hostProcess"] = true;
  container(s)["securityContext"]["windowsOptions"]["hostProcess"] = true;
  EXPECT_EQ(detail(Level::Baseline, s),
            "hostProcess (pod and container \"c\" must not set "
            "securityContext.windowsOptions.hostProcess=true)");
}

TEST(PodSecurityChecksTest, AppArmorProfile) {
  json s = restrictedSpec();
  s["securityContext"]["appArmorProfile"]["type"] = "RuntimeDefault";
  EXPECT_EQ(detail(Level::Baseline, s), "");
  container(s)["securityContext"]["appArmorProfile"]["type"] = "Unconfined";
  json meta = {
      {"annotations", {{"container.apparmor.security.beta.kubernetes.io/c", "unconfined"}}}};
  EXPECT_EQ(detail(Level::Baseline, s, meta),
            "forbidden AppArmor profiles (container \"c\" and annotation must not set AppArmor "
            "profile type to \"Unconfined\", "
            "\"container.apparmor.security.beta.kubernetes.io/c=\"unconfined\"\")");
}

TEST(PodSecurityChecksTest, AllowPrivilegeEscalation) {
  json s = restrictedSpec();
  EXPECT_EQ(detail(Level::Restricted, s), "");
  container(s)["securityContext"].erase("allowPrivilegeEscalation");
  EXPECT_EQ(detail(Level::Restricted, s),
            "allowPrivilegeEscalation != false (container \"c\" must set "
            "securityContext.allowPrivilegeEscalation=false)");
  s["os"]["name"] = "windows";
  EXPECT_EQ(detail(Level::Restricted, s), "");
  // Before v1.8 the check did not exist.
  s.erase("os");
  EXPECT_EQ(detail(Level::Restricted, s, json::object(), Version::v1(7)), "");
}

TEST(PodSecurityChecksTest, CapabilitiesRestricted) {
  json s = restrictedSpec();
  container(s)["securityContext"]["capabilities"]["add"] = {"NET_BIND_SERVICE"};
  EXPECT_EQ(detail(Level::Restricted, s), "");
  container(s)["securityContext"]["capabilities"] = {{"add", {"CHOWN"}}};
  EXPECT_EQ(detail(Level::Restricted, s),
            "unrestricted capabilities (container \"c\" must set "
            "securityContext.capabilities.drop=[\"ALL\"]; container \"c\" must not include "
            "\"CHOWN\" in securityContext.capabilities.add)");
}

TEST(PodSecurityChecksTest, RestrictedVolumes) {
  json s = restrictedSpec();
  s["volumes"] =
      json::parse(R"([{"name":"cm","configMap":{"name":"x"}},{"name":"p","projected":{}}])");
  EXPECT_EQ(detail(Level::Restricted, s), "");
  s["volumes"] = json::parse(R"([{"name":"h","hostPath":{"path":"/"}},{"name":"n","nfs":{}}])");
  EXPECT_EQ(detail(Level::Restricted, s),
            "restricted volume types (volumes \"h\", \"n\" use restricted volume types "
            "\"hostPath\", \"nfs\")");
}

TEST(PodSecurityChecksTest, RunAsNonRoot) {
  json s = restrictedSpec();
  EXPECT_EQ(detail(Level::Restricted, s), "");
  s["securityContext"].erase("runAsNonRoot");
  EXPECT_EQ(detail(Level::Restricted, s),
            "runAsNonRoot != true (pod or container \"c\" must set "
            "securityContext.runAsNonRoot=true)");
  s["securityContext"]["runAsNonRoot"] = false;
  container(s)["securityContext"]["runAsNonRoot"] = false;
  EXPECT_EQ(detail(Level::Restricted, s),
            "runAsNonRoot != true (pod and container \"c\" must not set "
            "securityContext.runAsNonRoot=false)");
}

TEST(PodSecurityChecksTest, RunAsUser) {
  json s = restrictedSpec();
  s["securityContext"]["runAsUser"] = 1000;
  EXPECT_EQ(detail(Level::Restricted, s), "");
  container(s)["securityContext"]["runAsUser"] = 0;
  EXPECT_EQ(detail(Level::Restricted, s), "runAsUser=0 (container \"c\" must not set runAsUser=0)");
  EXPECT_EQ(detail(Level::Restricted, s, json::object(), Version::v1(22)), "");
}

TEST(PodSecurityChecksTest, SeccompRestricted) {
  json s = restrictedSpec();
  s["securityContext"].erase("seccompProfile");
  container(s)["securityContext"]["seccompProfile"]["type"] = "RuntimeDefault";
  EXPECT_EQ(detail(Level::Restricted, s), "");
  container(s)["securityContext"].erase("seccompProfile");
  EXPECT_EQ(detail(Level::Restricted, s),
            "seccompProfile (pod or container \"c\" must set securityContext.seccompProfile.type "
            "to \"RuntimeDefault\" or \"Localhost\")");
}

// kubectl run priv --privileged in a restricted namespace: the acceptance check's message.
TEST(PodSecurityChecksTest, KubectlRunPrivilegedAgainstRestricted) {
  json s = json::parse(R"({"containers":[{"name":"priv","image":"busybox",
                                          "securityContext":{"privileged":true}}]})");
  EXPECT_EQ(detail(Level::Restricted, s),
            "privileged (container \"priv\" must not set securityContext.privileged=true), "
            "allowPrivilegeEscalation != false (container \"priv\" must set "
            "securityContext.allowPrivilegeEscalation=false), unrestricted capabilities "
            "(container \"priv\" must set securityContext.capabilities.drop=[\"ALL\"]), "
            "runAsNonRoot != true (pod or container \"priv\" must set "
            "securityContext.runAsNonRoot=true), seccompProfile (pod or container \"priv\" must "
            "set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")");
}

TEST(PodSecurityChecksTest, InitAndEphemeralContainersAreChecked) {
  json s = json::parse(R"({"initContainers":[{"name":"i","securityContext":{"privileged":true}}],
    "containers":[{"name":"c","securityContext":{"privileged":true}}],
    "ephemeralContainers":[{"name":"e","securityContext":{"privileged":true}}]})");
  EXPECT_EQ(detail(Level::Baseline, s),
            "privileged (containers \"i\", \"c\", \"e\" must not set "
            "securityContext.privileged=true)");
}

}  // namespace
}  // namespace skiff::master::admission
