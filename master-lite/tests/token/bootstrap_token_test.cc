#include "skiff/master/token/bootstrap_token.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "skiff/common/ca_cert_hash.h"

namespace skiff::master::token {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// 2026-11-23T20:00:00Z
const Clock::time_point kNow = Clock::from_time_t(1795464000);

std::string decode(const json& v) {
  std::string in = v.get<std::string>();
  std::string out(in.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '\0') out.pop_back();
  return out;
}

// Bytes 0, 1, 2, ... as the random source.
RandomBytes counting() {
  auto next = std::make_shared<int>(0);
  return [next](std::size_t n) -> Result<std::string> {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<char>((*next)++ & 0xff));
    return out;
  };
}

TEST(BootstrapToken, ParsesTheKubeadmFormat) {
  auto t = parseBootstrapToken("abcdef.0123456789abcdef");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->id, "abcdef");
  EXPECT_EQ(t->secret, "0123456789abcdef");
  EXPECT_EQ(t->str(), "abcdef.0123456789abcdef");
}

TEST(BootstrapToken, RejectsMalformedTokens) {
  for (const char* bad :
       {"", "abcdef", "abcdef.0123456789abcde", "ABCDEF.0123456789abcdef",
        "abcdef:0123456789abcdef", "abcde.f0123456789abcdef", "abcdef.0123456789abcdeg!"}) {
    auto t = parseBootstrapToken(bad);
    ASSERT_FALSE(t) << bad;
    EXPECT_TRUE(t.error().is(ErrorCode::Invalid));
    EXPECT_NE(t.error().message().find("[a-z0-9]{6}.[a-z0-9]{16}"), std::string::npos);
  }
}

TEST(BootstrapToken, GeneratesFromTheRandomSource) {
  auto t = generateBootstrapToken(counting());
  ASSERT_TRUE(t);
  EXPECT_EQ(t->id, "abcdef");
  EXPECT_EQ(t->secret, "ghijklmnopqrstuv");
  EXPECT_TRUE(parseBootstrapToken(t->str()));
}

TEST(BootstrapToken, RedrawsBytesThatWouldBiasTheAlphabet) {
  // 252..255 would map unevenly onto 36 characters: they are skipped, not folded.
  auto calls = std::make_shared<int>(0);
  RandomBytes src = [calls](std::size_t n) -> Result<std::string> {
    ++*calls;
    return std::string(n, *calls == 1 ? static_cast<char>(0xfd) : static_cast<char>(36));
  };
  auto t = generateBootstrapToken(src);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->id, "aaaaaa");
  EXPECT_GE(*calls, 2);
}

TEST(BootstrapToken, RandomSourceFailureIsAnError) {
  RandomBytes broken = [](std::size_t) -> Result<std::string> {
    return Error(ErrorCode::Internal, "no entropy");
  };
  EXPECT_FALSE(generateBootstrapToken(broken));
}

TEST(BootstrapToken, SystemRandomTokensAreWellFormedAndDiffer) {
  auto a = generateBootstrapToken(systemRandom());
  auto b = generateBootstrapToken(systemRandom());
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(parseBootstrapToken(a->str()));
  EXPECT_NE(a->str(), b->str());
}

TEST(BootstrapToken, ParsesGoDurations) {
  EXPECT_EQ(*parseTtl("24h0m0s"), 24h);
  EXPECT_EQ(*parseTtl("24h"), 24h);
  EXPECT_EQ(*parseTtl("1h30m"), 90min);
  EXPECT_EQ(*parseTtl("90s"), 90s);
  EXPECT_EQ(*parseTtl("0"), 0s);
  EXPECT_EQ(*parseTtl("1500ms"), 2s);
  for (const char* bad : {"", "h", "24", "-1h", "1d", "1h 30m", "10000000000s"}) {
    auto t = parseTtl(bad);
    ASSERT_FALSE(t) << bad;
    EXPECT_NE(t.error().message().find("--ttl"), std::string::npos);
  }
}

TEST(BootstrapToken, ValidatesUsagesAndGroups) {
  TokenOptions o;
  EXPECT_TRUE(validateTokenOptions(o));
  o.usages = {"signing", "encryption"};
  EXPECT_FALSE(validateTokenOptions(o));
  o.usages = {};
  EXPECT_FALSE(validateTokenOptions(o));
  o = TokenOptions{};
  o.groups = {"system:masters"};
  auto r = validateTokenOptions(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("system:bootstrappers:"), std::string::npos);
  o.groups = {"system:bootstrappers:"};
  EXPECT_FALSE(validateTokenOptions(o));
}

TEST(BootstrapToken, SecretCarriesWhatTheAuthenticatorReads) {
  BootstrapToken t{"abcdef", "0123456789abcdef"};
  TokenOptions o;
  o.description = "worker join";
  json s = bootstrapTokenSecret(t, o, kNow);
  EXPECT_EQ(s["kind"], "Secret");
  EXPECT_EQ(s["type"], "bootstrap.kubernetes.io/token");
  EXPECT_EQ(s["metadata"]["name"], "bootstrap-token-abcdef");
  EXPECT_EQ(s["metadata"]["namespace"], "kube-system");
  const json& d = s["data"];
  EXPECT_EQ(decode(d["token-id"]), "abcdef");
  EXPECT_EQ(decode(d["token-secret"]), "0123456789abcdef");
  EXPECT_EQ(decode(d["expiration"]), "2026-11-24T20:00:00Z");  // default TTL 24h, as kubeadm
  EXPECT_EQ(decode(d["usage-bootstrap-authentication"]), "true");
  EXPECT_EQ(decode(d["usage-bootstrap-signing"]), "true");
  EXPECT_EQ(decode(d["description"]), "worker join");
  EXPECT_EQ(decode(d["auth-extra-groups"]), "system:bootstrappers:skiff:default-node-token");
}

TEST(BootstrapToken, ZeroTtlNeverExpires) {
  TokenOptions o;
  o.ttl = 0s;
  o.usages = {"authentication"};
  json s = bootstrapTokenSecret({"abcdef", "0123456789abcdef"}, o, kNow);
  EXPECT_FALSE(s["data"].contains("expiration"));
  EXPECT_FALSE(s["data"].contains("usage-bootstrap-signing"));
}

TEST(BootstrapToken, ListReadsSecretsBack) {
  TokenOptions o;
  o.ttl = 2h;
  auto info = tokenFromSecret(bootstrapTokenSecret({"abcdef", "0123456789abcdef"}, o, kNow));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->token.str(), "abcdef.0123456789abcdef");
  ASSERT_TRUE(info->expires);
  EXPECT_EQ(*info->expires, kNow + 2h);
  EXPECT_EQ(info->usages, (std::vector<std::string>{"authentication", "signing"}));

  o.ttl = 0s;
  auto forever = tokenFromSecret(bootstrapTokenSecret({"ghijkl", "0123456789abcdef"}, o, kNow));
  ASSERT_TRUE(forever);
  std::string table = formatTokenTable({*info, *forever}, kNow + 30min);
  EXPECT_NE(table.find("TOKEN"), std::string::npos);
  EXPECT_NE(table.find("abcdef.0123456789abcdef   1h "), std::string::npos) << table;
  EXPECT_NE(table.find("2026-11-23T22:00:00Z"), std::string::npos);
  EXPECT_NE(table.find("<forever>"), std::string::npos);
  EXPECT_NE(table.find("<never>"), std::string::npos);
  EXPECT_NE(formatTokenTable({*info}, kNow + 3h).find("<invalid>"), std::string::npos);
}

TEST(BootstrapToken, ListSkipsOtherSecrets) {
  EXPECT_FALSE(tokenFromSecret(json{{"type", "Opaque"}, {"data", json::object()}}));
  json s = bootstrapTokenSecret({"abcdef", "0123456789abcdef"}, TokenOptions{}, kNow);
  s["data"]["token-secret"] = "c2hvcnQ=";  // "short"
  EXPECT_FALSE(tokenFromSecret(s));
  s = bootstrapTokenSecret({"abcdef", "0123456789abcdef"}, TokenOptions{}, kNow);
  s["data"]["expiration"] = "bm90IGEgZGF0ZQ==";  // "not a date"
  EXPECT_FALSE(tokenFromSecret(s));
}

TEST(BootstrapToken, CaCertHashIsTheSha256OfThePublicKeyInfo) {
  // Expected value from: openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum
  const std::string pem = R"(-----BEGIN CERTIFICATE-----
MIIBezCCASGgAwIBAgIUVdQ3JvauAu+03dX+DWNLCXqEVt4wCgYIKoZIzj0EAwIw
EzERMA8GA1UEAwwIc2tpZmYtY2EwHhcNMjYxMTIzMjA0MjIxWhcNMzYxMTIwMjA0
MjIxWjATMREwDwYDVQQDDAhza2lmZi1jYTBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABL/t/dWxEIGymXUGhyxOuQ08IHUNbdMtzHmtB0qpcbcrplFUgLeTcbDfZ6Ir
fhfnhDgsbFmrTuntlkOQzSVmyc6jUzBRMB0GA1UdDgQWBBQ+kwavNjmHEBgewcQs
MA8oT9UYzjAfBgNVHSMEGDAWgBQ+kwavNjmHEBgewcQsMA8oT9UYzjAPBgNVHRMB
Af8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQDGiOKpi3yChsX6miha27BSj1Ai
Vvz53qV8f5m7XadVMgIgME9FFH2kYg6qClu4WAuF5F3dluXLBIZQw53YI0+EOFM=
-----END CERTIFICATE-----
)";
  auto h = caCertHash(pem);
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, "sha256:ec357c0f8596e5f6efa8f2dc630519e680c84e78f66ceb65a62baa646b99430f");
  EXPECT_FALSE(caCertHash("not a certificate"));
}

TEST(BootstrapToken, JoinCommandUsesTheAgentsFlags) {
  EXPECT_EQ(joinCommand("https://192.0.2.1:6443", {"abcdef", "0123456789abcdef"}, "sha256:00"),
            "skiff-agent --server https://192.0.2.1:6443 --token abcdef.0123456789abcdef "
            "--ca-cert-hash sha256:00");
}

}  // namespace
}  // namespace skiff::master::token
