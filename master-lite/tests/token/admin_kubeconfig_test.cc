#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "skiff/master/token/admin_client.h"

namespace skiff::master::token {
namespace {

// base64 of "CA", "CERT", "KEY".
constexpr const char* kWithData = R"(apiVersion: v1
kind: Config
clusters:
- name: other
  cluster: {server: "https://10.0.0.9:6443", certificate-authority-data: T1RIRVI=}
- name: default
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: Q0E=
users:
- name: default
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
contexts:
- name: default
  context: {cluster: default, user: default}
current-context: default
)";

TEST(AdminKubeconfig, ReadsTheCurrentContextsClusterAndUser) {
  auto kc = parseAdminKubeconfig(kWithData, "/nonexistent");
  ASSERT_TRUE(kc) << kc.error().message();
  EXPECT_EQ(kc->server, "https://127.0.0.1:6443");
  EXPECT_EQ(kc->ca_pem, "CA");
  EXPECT_EQ(kc->client_cert_pem, "CERT");
  EXPECT_EQ(kc->client_key_pem, "KEY");
}

TEST(AdminKubeconfig, ReadsRelativeFilesAndTokens) {
  std::string dir = ::testing::TempDir() + "/skiff-kc-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir + "/pki");
  std::ofstream(dir + "/pki/ca.crt") << "CA-FROM-FILE";
  auto kc = parseAdminKubeconfig(R"(clusters:
- name: c
  cluster: {server: "https://[::1]:6443", certificate-authority: pki/ca.crt}
users:
- name: u
  user: {token: "abcdef.0123456789abcdef"}
contexts:
- {name: x, context: {cluster: c, user: u}}
current-context: x
)",
                                 dir);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(kc) << kc.error().message();
  EXPECT_EQ(kc->ca_pem, "CA-FROM-FILE");
  EXPECT_EQ(kc->token, "abcdef.0123456789abcdef");
  EXPECT_TRUE(kc->client_cert_pem.empty());
}

TEST(AdminKubeconfig, RefusesWhatCannotBeUsedSafely) {
  // No CA: credentials would go to an unverified server.
  auto no_ca = parseAdminKubeconfig(R"(clusters: [{name: c, cluster: {server: "https://h:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
)",
                                    "/");
  ASSERT_FALSE(no_ca);
  EXPECT_NE(no_ca.error().message().find("certificate-authority"), std::string::npos);
  auto no_ctx = parseAdminKubeconfig("current-context: missing\n", "/");
  ASSERT_FALSE(no_ctx);
  EXPECT_NE(no_ctx.error().message().find("'missing' not found"), std::string::npos);
  auto no_user = parseAdminKubeconfig(
      R"(clusters: [{name: c, cluster: {server: "https://h:1", certificate-authority-data: Q0E=}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
)",
      "/");
  EXPECT_FALSE(no_user);
  EXPECT_FALSE(parseAdminKubeconfig("clusters: [unclosed", "/"));
  EXPECT_FALSE(parseAdminKubeconfig("- just\n- a list\n", "/"));
}

TEST(AdminKubeconfig, MissingFileNamesThePath) {
  auto kc = loadAdminKubeconfig("/nonexistent/admin.kubeconfig");
  ASSERT_FALSE(kc);
  EXPECT_NE(kc.error().message().find("/nonexistent/admin.kubeconfig"), std::string::npos);
}

TEST(AdminKubeconfig, BadCaIsInvalidBeforeAnyConnection) {
  AdminKubeconfig kc{"https://127.0.0.1:1", "not a PEM", "", "", "tok"};
  auto r = apiRequest(kc, "GET", "/version", nullptr, std::chrono::seconds(5));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::Invalid)) << r.error().message();
}

TEST(AdminKubeconfig, ServerUrlMustBeHttps) {
  AdminKubeconfig kc{"http://127.0.0.1:8080", "CA", "", "", "tok"};
  auto r = apiRequest(kc, "GET", "/version", nullptr, std::chrono::seconds(5));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("https://"), std::string::npos);
}

}  // namespace
}  // namespace skiff::master::token
