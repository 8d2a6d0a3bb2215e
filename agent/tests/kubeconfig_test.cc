#include "skiff/agent/kubeconfig.h"

#include <gtest/gtest.h>

#include "skiff/agent/tls_util.h"
#include "skiff/common/yaml.h"

namespace skiff::agent {
namespace {

TEST(YamlTest, TypesPlainScalarsAndKeepsQuotedStrings) {
  auto j = yamlToJson("a: 1\nb: \"1\"\nc: true\nd: ~\ne: [x, 2.5]\nf: {g: h}\n");
  ASSERT_TRUE(j) << j.error().message();
  EXPECT_EQ((*j)["a"], 1);
  EXPECT_EQ((*j)["b"], "1");
  EXPECT_EQ((*j)["c"], true);
  EXPECT_TRUE((*j)["d"].is_null());
  EXPECT_EQ((*j)["e"][1], 2.5);
  EXPECT_EQ((*j)["f"]["g"], "h");
}

TEST(YamlTest, ReadsJsonAndMultipleDocuments) {
  auto docs = yamlDocumentsToJson("{\"kind\": \"Pod\"}\n---\nkind: Service\n---\n");
  ASSERT_TRUE(docs);
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[1]["kind"], "Service");
}

TEST(YamlTest, SyntaxErrorNamesTheLine) {
  auto j = yamlToJson("a: [1, 2\nb: 3\n");
  ASSERT_FALSE(j);
  EXPECT_NE(j.error().message().find("parse yaml"), std::string::npos);
}

TEST(KubeconfigTest, ParsesCurrentContextWithEmbeddedData) {
  std::string text =
      "apiVersion: v1\nkind: Config\n"
      "clusters:\n- name: other\n  cluster: {server: https://1.1.1.1:1}\n"
      "- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n"
      "    certificate-authority-data: " +
      base64Encode("CA PEM") +
      "\n"
      "users:\n- name: u\n  user:\n    token: abc.def\n"
      "contexts:\n- name: ctx\n  context: {cluster: c, user: u}\n"
      "current-context: ctx\n";
  auto cfg = parseKubeconfig(text, "/nonexistent");
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->server, "https://127.0.0.1:6443");
  EXPECT_EQ(cfg->tls.ca_pem, "CA PEM");
  EXPECT_EQ(cfg->token, "abc.def");
}

TEST(KubeconfigTest, RenderThenParseRoundTrips) {
  KubeConfig cfg;
  cfg.server = "https://10.0.0.1:6443";
  cfg.tls.ca_pem = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
  cfg.tls.client_cert_pem = "cert";
  cfg.tls.client_key_pem = "key";
  auto back = parseKubeconfig(renderKubeconfig(cfg), "/");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->server, cfg.server);
  EXPECT_EQ(back->tls.ca_pem, cfg.tls.ca_pem);
  EXPECT_EQ(back->tls.client_cert_pem, "cert");
  EXPECT_EQ(back->tls.client_key_pem, "key");
}

TEST(KubeconfigTest, MissingContextIsAClearError) {
  auto cfg = parseKubeconfig("current-context: nope\ncontexts: []\n", "/");
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().message(), "parse kubeconfig: current-context 'nope' not found");
}

TEST(KubeconfigTest, CertWithoutKeyIsRejected) {
  auto cfg = parseKubeconfig(
      "clusters: [{name: c, cluster: {server: 'https://h:1'}}]\n"
      "users: [{name: u, user: {client-certificate-data: " +
          base64Encode("c") +
          "}}]\n"
          "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
      "/");
  ASSERT_FALSE(cfg);
}

TEST(TlsUtilTest, Base64RoundTrip) {
  std::vector<std::string> cases{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)};
  for (const std::string& s : cases) {
    auto d = base64Decode(base64Encode(s));
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, s);
  }
  EXPECT_FALSE(base64Decode("abc"));
}

TEST(TlsUtilTest, CaHashIsSha256OfPublicKeyAndStable) {
  auto cert = makeSelfSignedServingCert("node-1", {"node-1"}, {"10.0.0.5"});
  ASSERT_TRUE(cert) << cert.error().message();
  auto h1 = caCertHash(cert->cert_pem);
  auto h2 = caCertHash(cert->cert_pem);
  ASSERT_TRUE(h1);
  EXPECT_EQ(*h1, *h2);
  EXPECT_EQ(h1->size(), 7u + 64u);
  EXPECT_EQ(h1->substr(0, 7), "sha256:");
  EXPECT_FALSE(caCertHash("not a cert"));
}

TEST(TlsUtilTest, CsrCarriesSubject) {
  auto csr = makeCsr("system:node:node-1", "system:nodes");
  ASSERT_TRUE(csr) << csr.error().message();
  EXPECT_NE(csr->csr_pem.find("BEGIN CERTIFICATE REQUEST"), std::string::npos);
  EXPECT_NE(csr->key_pem.find("PRIVATE KEY"), std::string::npos);
}

TEST(ServerUrlTest, Parses) {
  auto a = parseServerUrl("https://10.0.0.1:6443/");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "10.0.0.1");
  EXPECT_EQ(a->port, "6443");
  auto b = parseServerUrl("https://[::1]:6443");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_FALSE(parseServerUrl("http://h:1"));
  EXPECT_FALSE(parseServerUrl("https://h:x"));
}

}  // namespace
}  // namespace skiff::agent
