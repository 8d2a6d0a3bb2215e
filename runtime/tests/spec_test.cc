// Pure logic of the container spec: capabilities, seccomp rules, the OCI config for runc, the
// launch spec round trip, registry auth challenges.
#include <gtest/gtest.h>

#include <algorithm>

#include "image_store_impl.h"
#include "launch_spec.h"
#include "oci_config.h"
#include "seccomp_profile.h"

namespace skiff::runtime {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(CapabilitiesTest, DefaultSetWithAddAndDrop) {
  ContainerConfig c;
  auto caps = effectiveCapabilities(c);
  ASSERT_TRUE(caps);
  EXPECT_EQ(caps->size(), 14u);
  EXPECT_FALSE(contains(*caps, "CAP_SYS_ADMIN"));
  c.cap_add = {"net_admin", "CAP_SYS_TIME"};
  c.cap_drop = {"MKNOD"};
  caps = effectiveCapabilities(c);
  ASSERT_TRUE(caps);
  EXPECT_TRUE(contains(*caps, "CAP_NET_ADMIN"));
  EXPECT_TRUE(contains(*caps, "CAP_SYS_TIME"));
  EXPECT_FALSE(contains(*caps, "CAP_MKNOD"));
  c.cap_drop = {"ALL"};
  c.cap_add = {"CHOWN"};
  EXPECT_EQ(*effectiveCapabilities(c), std::vector<std::string>{"CAP_CHOWN"});
  c.cap_add = {"CAP_BOGUS"};
  EXPECT_FALSE(effectiveCapabilities(c));
  ContainerConfig priv;
  priv.privileged = true;
  EXPECT_TRUE(contains(*effectiveCapabilities(priv), "CAP_SYS_ADMIN"));
}

TEST(SeccompTest, AdminSyscallsDependOnCapSysAdmin) {
  auto names = [](const std::vector<SeccompRule>& r) {
    std::vector<std::string> n;
    for (const auto& x : r) n.push_back(x.syscall);
    return n;
  };
  auto def = names(defaultSeccompRules(defaultCapabilities()));
  for (const char* s :
       {"mount", "unshare", "setns", "keyctl", "add_key", "init_module", "finit_module",
        "delete_module", "kexec_load", "bpf", "reboot", "clone3", "open_by_handle_at"})
    EXPECT_TRUE(contains(def, s)) << s;
  auto caps = defaultCapabilities();
  caps.push_back("CAP_SYS_ADMIN");
  auto admin = names(defaultSeccompRules(caps));
  EXPECT_FALSE(contains(admin, "mount"));
  EXPECT_TRUE(contains(admin, "keyctl"))
      << "keyctl stays refused even with CAP_SYS_ADMIN (Docker default)";
}

LaunchSpec sampleSpec() {
  LaunchSpec s;
  s.id = "abc";
  s.rootfs = "/state/containers/abc/rootfs";
  s.args = {"sh", "-c", "true"};
  s.env = {"PATH=/bin"};
  s.uid = 33;
  s.gid = 33;
  s.additional_gids = {100};
  s.netns = "/run/netns/pod";
  s.ipcns = "/state/sandboxes/x/ipc";
  s.utsns = "/state/sandboxes/x/uts";
  s.mounts = {{"/data", "/host/data", true}};
  s.masked_paths = defaultMaskedPaths();
  s.readonly_paths = defaultReadonlyPaths();
  s.capabilities = defaultCapabilities();
  s.rlimits = {{"RLIMIT_NOFILE", 1024, 4096}};
  s.start_fifo = "/state/containers/abc/start.fifo";
  return s;
}

TEST(SeccompTest, CompilesOncePerCapabilitySetToClassicBpf) {
  auto a = compileDefaultSeccomp(defaultCapabilities());
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_GT(a->size(), 8u * 50) << "a program with the deny list";
  EXPECT_EQ(a->size() % 8, 0u) << "whole struct sock_filter instructions";
  auto again = compileDefaultSeccomp(defaultCapabilities());
  ASSERT_TRUE(again);
  EXPECT_EQ(*a, *again) << "deterministic: the runtime names the file by its digest";
  auto admin = defaultCapabilities();
  admin.push_back("CAP_SYS_ADMIN");
  auto b = compileDefaultSeccomp(admin);
  ASSERT_TRUE(b);
  EXPECT_LT(b->size(), a->size()) << "CAP_SYS_ADMIN lifts the admin group";
  EXPECT_FALSE(loadSeccompProgram("")) << "empty program";
  EXPECT_FALSE(loadSeccompProgram(std::string(13, '\0'))) << "not whole instructions";
}

TEST(LaunchSpecTest, SeccompProgramIsOptionalInOlderSpecs) {
  LaunchSpec s;
  s.args = {"true"};
  s.seccomp_program = "/state/seccomp/abc.bpf";
  auto back = launchSpecFromJson(toJson(s).dump());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->seccomp_program, "/state/seccomp/abc.bpf");
  auto j = toJson(s);
  j.erase("seccompProgram");
  auto old = launchSpecFromJson(j.dump());
  ASSERT_TRUE(old) << old.error().message();
  EXPECT_EQ(old->seccomp_program, "");
}

TEST(LaunchSpecTest, RoundTripsThroughJson) {
  LaunchSpec s = sampleSpec();
  auto back = launchSpecFromJson(toJson(s).dump());
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->args, s.args);
  EXPECT_EQ(back->additional_gids, s.additional_gids);
  EXPECT_EQ(back->mounts.size(), 1u);
  EXPECT_TRUE(back->mounts[0].readonly);
  EXPECT_EQ(back->rlimits[0].hard, 4096u);
  EXPECT_FALSE(launchSpecFromJson("{\"id\":1}"));
  EXPECT_FALSE(launchSpecFromJson("not json"));
}

TEST(OciConfigTest, JoinsSandboxNamespacesAndCarriesTheSecurityDefaults) {
  Resources r;
  r.memory_limit_bytes = 1 << 26;
  r.cpu_quota_us = 20000;
  auto j = ociConfig(sampleSpec(), "/kubepods/besteffort/podu/abc", r);
  EXPECT_EQ(j["root"]["path"], "/state/containers/abc/rootfs");
  EXPECT_EQ(j["process"]["user"]["uid"], 33);
  EXPECT_EQ(j["process"]["noNewPrivileges"], true);
  EXPECT_TRUE(j["process"]["capabilities"]["effective"].empty())
      << "non-root gets no effective capabilities";
  EXPECT_EQ(j["linux"]["cgroupsPath"], "/kubepods/besteffort/podu/abc");
  EXPECT_EQ(j["linux"]["resources"]["memory"]["limit"], 1 << 26);
  EXPECT_EQ(j["linux"]["resources"]["cpu"]["quota"], 20000);
  bool net = false;
  for (const auto& ns : j["linux"]["namespaces"])
    if (ns["type"] == "network") net = ns["path"] == "/run/netns/pod";
  EXPECT_TRUE(net);
  EXPECT_EQ(j["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ALLOW");
  EXPECT_TRUE(std::find(j["linux"]["maskedPaths"].begin(), j["linux"]["maskedPaths"].end(),
                        "/proc/kcore") != j["linux"]["maskedPaths"].end());
  bool ro_volume = false;
  for (const auto& m : j["mounts"])
    if (m["destination"] == "/data")
      ro_volume = std::find(m["options"].begin(), m["options"].end(), "ro") != m["options"].end();
  EXPECT_TRUE(ro_volume);
}

TEST(RegistryAuthTest, ParsesBearerChallenges) {
  auto c = parseAuthChallenge(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  EXPECT_EQ(c["scheme"], "Bearer");
  EXPECT_EQ(c["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(c["service"], "registry.docker.io");
  EXPECT_EQ(c["scope"], "repository:library/busybox:pull");
  EXPECT_EQ(parseAuthChallenge("Basic realm=\"x\"")["scheme"], "Basic");
  EXPECT_TRUE(parseAuthChallenge("").empty());
}

TEST(PlatformTest, SelectsTheManifestForThisPlatform) {
  std::string a(64, 'a'), b(64, 'b');
  std::string idx = R"({"manifests":[{"digest":"sha256:)" + a +
                    R"(","platform":{"os":"linux","architecture":"arm64"}},)" +
                    R"({"digest":"sha256:)" + b +
                    R"(","platform":{"os":"linux","architecture":"amd64"}}]})";
  auto d = selectPlatform(idx, "linux", "amd64");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->digest, "sha256:" + b);
  EXPECT_FALSE(selectPlatform(idx, "linux", "riscv64"));
}

}  // namespace
}  // namespace skiff::runtime
