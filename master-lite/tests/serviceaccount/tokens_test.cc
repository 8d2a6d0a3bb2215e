#include "skiff/master/serviceaccount/tokens.h"

#include <gtest/gtest.h>

#include "skiff/common/base64.h"

namespace skiff::master::serviceaccount {
namespace {

using json = nlohmann::json;

constexpr std::int64_t kNow = 1'800'000'000;

// RSA generation takes a while; two keys for the whole suite.
const RsaKey& key1() {
  static const RsaKey k = *RsaKey::generate();
  return k;
}
const RsaKey& key2() {
  static const RsaKey k = *RsaKey::generate();
  return k;
}

BoundTokenRequest podRequest(std::int64_t seconds = 3600) {
  BoundTokenRequest r;
  r.ns = "default";
  r.service_account = {"default", "sa-uid"};
  r.expiration_seconds = seconds;
  r.pod = ObjectRef{"web", "pod-uid"};
  r.node = ObjectRef{"node-1", "node-uid"};
  return r;
}

json payloadOf(const std::string& token) {
  auto a = token.find('.'), b = token.rfind('.');
  return json::parse(*base64UrlDecode(token.substr(a + 1, b - a - 1)));
}

std::string forge(const json& header, const json& claims, const std::string& sig) {
  return base64UrlEncode(header.dump()) + "." + base64UrlEncode(claims.dump()) + "." + sig;
}

TEST(Base64UrlTest, RoundTripsWithoutPadding) {
  std::string bytes("\xfb\xff\x00\x01?>", 6);
  std::string enc = base64UrlEncode(bytes);
  EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
  EXPECT_EQ(*base64UrlDecode(enc), bytes);
  EXPECT_EQ(base64UrlEncode("a"), "YQ");
}

TEST(Base64UrlTest, RejectsPaddingStandardAlphabetAndBadLength) {
  EXPECT_FALSE(base64UrlDecode("YQ=="));
  EXPECT_FALSE(base64UrlDecode("+/8"));
  EXPECT_FALSE(base64UrlDecode("Y"));
  EXPECT_FALSE(base64UrlDecode("Y Q"));
}

TEST(JwtTest, SignsAndVerifiesRs256WithKeyId) {
  auto token = key1().sign({{"sub", "x"}});
  ASSERT_TRUE(token);
  auto header = json::parse(*base64UrlDecode(token->substr(0, token->find('.'))));
  EXPECT_EQ(header["alg"], "RS256");
  EXPECT_EQ(header["kid"], key1().keyId());
  auto claims = key1().verify(*token);
  ASSERT_TRUE(claims);
  EXPECT_EQ((*claims)["sub"], "x");
}

TEST(JwtTest, PemRoundTripKeepsKeyIdAndPublicHalfOnlyVerifies) {
  auto priv = RsaKey::fromPrivatePem(key1().privatePem());
  ASSERT_TRUE(priv);
  EXPECT_EQ(priv->keyId(), key1().keyId());
  auto pub = RsaKey::fromPublicPem(key1().publicPem());
  ASSERT_TRUE(pub);
  EXPECT_FALSE(pub->hasPrivate());
  EXPECT_FALSE(pub->sign({{"a", 1}}));
  EXPECT_TRUE(pub->verify(*priv->sign({{"a", 1}})));
  EXPECT_FALSE(RsaKey::fromPrivatePem("not a key"));
}

TEST(JwtTest, MalformedTokensAreUnauthorized) {
  for (const std::string& t :
       {std::string(), std::string("abc"), std::string("a.b"), std::string("a.b.c.d"),
        std::string("eyJ!.eyJ.sig"), base64UrlEncode("[1]") + "." + base64UrlEncode("{}") + ".x"}) {
    auto r = key1().verify(t);
    ASSERT_FALSE(r) << t;
    EXPECT_TRUE(r.error().is(ErrorCode::Unauthorized));
  }
}

TEST(JwtTest, AlgNoneAndHmacAreRefused) {
  json claims = {{"sub", "system:serviceaccount:default:default"}};
  EXPECT_FALSE(key1().verify(forge({{"alg", "none"}}, claims, "")));
  EXPECT_FALSE(key1().verify(forge({{"alg", "HS256"}}, claims, base64UrlEncode("mac"))));
  // A valid RS256 signature under a header that was changed afterwards no longer verifies.
  std::string good = *key1().sign(claims);
  std::string swapped = base64UrlEncode(json{{"alg", "none"}}.dump()) + good.substr(good.find('.'));
  EXPECT_FALSE(key1().verify(swapped));
}

TEST(JwtTest, SignatureOfAnotherKeyOrTamperedPayloadIsRefused) {
  std::string t = *key2().sign({{"sub", "a"}});
  EXPECT_FALSE(key1().verify(t));
  std::string good = *key1().sign({{"sub", "a"}});
  auto a = good.find('.'), b = good.rfind('.');
  std::string tampered =
      good.substr(0, a + 1) + base64UrlEncode(json{{"sub", "b"}}.dump()) + good.substr(b);
  EXPECT_FALSE(key1().verify(tampered));
}

TEST(JwtTest, JwkCarriesModulusAndExponent) {
  json jwk = key1().jwk();
  EXPECT_EQ(jwk["kty"], "RSA");
  EXPECT_EQ(jwk["alg"], "RS256");
  EXPECT_EQ(jwk["use"], "sig");
  EXPECT_EQ(jwk["e"], "AQAB");
  EXPECT_EQ(base64UrlDecode(jwk["n"].get<std::string>())->size(), 256u);
}

TEST(TokenIssuerTest, BoundTokenHasUpstreamClaims) {
  TokenIssuer issuer(key1());
  auto t = issuer.issueBound(podRequest(), kNow);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->expiration, kNow + 3600);
  json c = payloadOf(t->token);
  EXPECT_EQ(c["iss"], "https://kubernetes.default.svc.cluster.local");
  EXPECT_EQ(c["aud"], json({"https://kubernetes.default.svc.cluster.local"}));
  EXPECT_EQ(c["sub"], "system:serviceaccount:default:default");
  EXPECT_EQ(c["iat"], kNow);
  EXPECT_EQ(c["nbf"], kNow);
  EXPECT_EQ(c["exp"], kNow + 3600);
  EXPECT_FALSE(c["jti"].get<std::string>().empty());
  json k = c["kubernetes.io"];
  EXPECT_EQ(k["namespace"], "default");
  EXPECT_EQ(k["serviceaccount"], json({{"name", "default"}, {"uid", "sa-uid"}}));
  EXPECT_EQ(k["pod"], json({{"name", "web"}, {"uid", "pod-uid"}}));
  EXPECT_EQ(k["node"], json({{"name", "node-1"}, {"uid", "node-uid"}}));
  EXPECT_FALSE(k.contains("warnafter"));
  auto v = issuer.validate(t->token, kNow + 10);
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->legacy);
  EXPECT_EQ(v->service_account.uid, "sa-uid");
  EXPECT_EQ(v->pod->uid, "pod-uid");
  EXPECT_EQ(v->node->name, "node-1");
}

TEST(TokenIssuerTest, KubeletsPodTokenIsExtendedWithWarnAfter) {
  TokenIssuer issuer(key1());
  auto t = issuer.issueBound(podRequest(3607), kNow);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->expiration, kNow + kExtendedExpirationSeconds);
  EXPECT_EQ(payloadOf(t->token)["kubernetes.io"]["warnafter"], kNow + 3607);
  TokenIssuer strict(key1(), kDefaultIssuer, {}, false);
  EXPECT_EQ(strict.issueBound(podRequest(3607), kNow)->expiration, kNow + 3607);
}

TEST(TokenIssuerTest, ExpiredAndNotYetValidTokensAreRefused) {
  TokenIssuer issuer(key1());
  std::string t = issuer.issueBound(podRequest(600), kNow)->token;
  EXPECT_TRUE(issuer.validate(t, kNow + 600 + kLeewaySeconds));
  auto late = issuer.validate(t, kNow + 600 + kLeewaySeconds + 1);
  ASSERT_FALSE(late);
  EXPECT_TRUE(late.error().is(ErrorCode::Unauthorized));
  EXPECT_FALSE(issuer.validate(t, kNow - kLeewaySeconds - 1));
  EXPECT_TRUE(issuer.validate(t, kNow - kLeewaySeconds));
}

TEST(TokenIssuerTest, OtherAudiencesAndIssuersAreRefused) {
  TokenIssuer issuer(key1());
  BoundTokenRequest r = podRequest();
  r.audiences = {"vault"};
  std::string t = issuer.issueBound(r, kNow)->token;
  EXPECT_EQ(payloadOf(t)["aud"], json({"vault"}));
  EXPECT_FALSE(issuer.validate(t, kNow));
  auto asked = issuer.validate(t, kNow, {"x", "vault"});  // a TokenReview naming the audience
  ASSERT_TRUE(asked);
  EXPECT_EQ(asked->audiences, std::vector<std::string>{"vault"});
  TokenIssuer vault(key1(), kDefaultIssuer, {"vault"});
  EXPECT_TRUE(vault.validate(t, kNow));
  TokenIssuer other(key1(), "https://elsewhere");
  EXPECT_FALSE(issuer.validate(other.issueBound(podRequest(), kNow)->token, kNow));
}

TEST(TokenIssuerTest, ClaimsMustNameTheServiceAccount) {
  TokenIssuer issuer(key1());
  json c = payloadOf(issuer.issueBound(podRequest(), kNow)->token);
  c["sub"] = "system:serviceaccount:default:admin";
  EXPECT_FALSE(issuer.validate(*key1().sign(c), kNow));
  c = payloadOf(issuer.issueBound(podRequest(), kNow)->token);
  c["kubernetes.io"].erase("serviceaccount");
  EXPECT_FALSE(issuer.validate(*key1().sign(c), kNow));
  c = payloadOf(issuer.issueBound(podRequest(), kNow)->token);
  c.erase("exp");
  EXPECT_FALSE(issuer.validate(*key1().sign(c), kNow));
}

TEST(TokenIssuerTest, LegacyTokenHasNoExpiryAndNamesItsSecret) {
  TokenIssuer issuer(key1());
  auto t = issuer.issueLegacy("kube-system", {"builder", "sa-uid"}, "builder-token");
  ASSERT_TRUE(t);
  json c = payloadOf(*t);
  EXPECT_EQ(c["iss"], "kubernetes/serviceaccount");
  EXPECT_EQ(c["kubernetes.io/serviceaccount/secret.name"], "builder-token");
  EXPECT_FALSE(c.contains("exp"));
  auto v = issuer.validate(*t, kNow + 100LL * 365 * 24 * 3600);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->legacy);
  EXPECT_EQ(v->ns, "kube-system");
  EXPECT_EQ(v->secret->name, "builder-token");
  EXPECT_FALSE(TokenIssuer(key2()).validate(*t, kNow));
}

TEST(TokenIssuerTest, DiscoveryDocuments) {
  TokenIssuer issuer(key1());
  json conf = issuer.openidConfiguration("https://192.0.2.1:6443/openid/v1/jwks");
  EXPECT_EQ(conf["issuer"], kDefaultIssuer);
  EXPECT_EQ(conf["jwks_uri"], "https://192.0.2.1:6443/openid/v1/jwks");
  EXPECT_EQ(conf["id_token_signing_alg_values_supported"], json({"RS256"}));
  EXPECT_EQ(issuer.jwks()["keys"][0]["kid"], key1().keyId());
}

}  // namespace
}  // namespace skiff::master::serviceaccount
