// TokenRequest, ServiceAccount admission, legacy token Secrets and the ServiceAccount token
// authenticator, against a real registry over SQLite.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "skiff/common/base64.h"
#include "skiff/master/api/authenticator.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/testing/registry_fixture.h"

namespace skiff::master::api {
namespace {

using json = nlohmann::json;
namespace sa = serviceaccount;

std::shared_ptr<const sa::TokenIssuer> issuer() {
  static const auto i = std::make_shared<const sa::TokenIssuer>(*sa::RsaKey::generate());
  return i;
}

class ServiceAccountTest : public ::skiff::master::testing::RegistryFixture {
 protected:
  RegistryOptions registryOptions() const override {
    RegistryOptions ro;
    ro.service_account_tokens = issuer();
    ro.service_account_admission = true;
    ro.root_ca_pem = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
    return ro;
  }
  void setUpRegistry() override {
    authn_ = std::make_unique<Authenticator>(*reg_, std::map<std::string, TokenEntry>{}, issuer());
    opts_.user = {"admin", {"system:masters"}};
    sa_uid_ = createAccount("default", json());
  }
  void TearDown() override {
    authn_.reset();
    tmp_.reset();
  }
  const ResourceInfo& res(const std::string& r) { return *findResource("", "v1", r); }
  std::string createAccount(const std::string& name, const json& automount) {
    json obj = {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", name}}}};
    if (!automount.is_null()) obj["automountServiceAccountToken"] = automount;
    auto r = reg_->create(res("serviceaccounts"), "default", obj, opts_);
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    return r ? r->object["metadata"]["uid"].get<std::string>() : "";
  }
  Result<WriteResult> createPod(json spec, const std::string& name = "web") {
    if (!spec.contains("containers"))
      spec["containers"] = json::array({{{"name", "c"}, {"image", "busybox"}}});
    return reg_->create(
        res("pods"), "default",
        {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", name}}}, {"spec", spec}},
        opts_);
  }
  Result<WriteResult> requestToken(const json& spec, const std::string& sa = "default") {
    json body = {{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenRequest"}};
    if (!spec.is_null()) body["spec"] = spec;
    return reg_->create(res("serviceaccounts"), "default", body, opts_, "token", sa);
  }
  json podRef(const json& pod) {
    return {{"kind", "Pod"},
            {"apiVersion", "v1"},
            {"name", pod["metadata"]["name"]},
            {"uid", pod["metadata"]["uid"]}};
  }

  std::unique_ptr<Authenticator> authn_;
  WriteOptions opts_;
  std::string sa_uid_;
};

TEST_F(ServiceAccountTest, TokenRequestDefaults) {
  auto r = requestToken(json());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->created);
  const json& o = r->object;
  EXPECT_EQ(o["kind"], "TokenRequest");
  EXPECT_EQ(o["apiVersion"], "authentication.k8s.io/v1");
  EXPECT_EQ(o["spec"]["expirationSeconds"], 3600);
  EXPECT_EQ(o["spec"]["audiences"], json({"https://kubernetes.default.svc.cluster.local"}));
  std::string token = o["status"]["token"];
  EXPECT_EQ(token.rfind("eyJ", 0), 0u);
  auto exp = parseTime(o["status"]["expirationTimestamp"].get<std::string>());
  auto left = std::chrono::duration_cast<std::chrono::seconds>(exp - Clock::now()).count();
  EXPECT_NEAR(left, 3600, 5);
  auto user = authn_->authenticateToken(token);
  ASSERT_TRUE(user);
  EXPECT_EQ(user->name, "system:serviceaccount:default:default");
  EXPECT_EQ(user->groups,
            (std::vector<std::string>{"system:serviceaccounts", "system:serviceaccounts:default",
                                      "system:authenticated"}));
  EXPECT_EQ(user->uid, sa_uid_);
  EXPECT_EQ(user->extra["authentication.kubernetes.io/credential-id"][0].rfind("JTI=", 0), 0u);
}

TEST_F(ServiceAccountTest, TokenRequestLimits) {
  auto r = requestToken({{"expirationSeconds", 599}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::Invalid));
  EXPECT_EQ(r.error().message(),
            "TokenRequest.authentication.k8s.io \"default\" is invalid: spec.expirationSeconds: "
            "Invalid value: 599: may not specify a duration less than 10 minutes");
  EXPECT_TRUE(requestToken({{"expirationSeconds", 600}}));
  EXPECT_FALSE(requestToken({{"expirationSeconds", (1LL << 32) + 1}}));
  auto missing = requestToken(json(), "nope");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(ErrorCode::NotFound));
  EXPECT_EQ(missing.error().message(), "serviceaccounts \"nope\" not found");
}

TEST_F(ServiceAccountTest, WrongAudienceIsUnauthorized) {
  auto r = requestToken({{"audiences", {"vault"}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->object["spec"]["audiences"], json({"vault"}));
  auto u = authn_->authenticateToken(r->object["status"]["token"]);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().message(), "Unauthorized");
}

// TokenReview's audiences (tokenreview/storage.go, serviceaccount/jwt.go): the token is valid
// for the asked audiences it carries; none in common is upstream's error, not a bare false.
TEST_F(ServiceAccountTest, ReviewTellsTheAudiencesTheTokenIsValidFor) {
  auto r = requestToken({{"audiences", {"vault", "api"}}});
  ASSERT_TRUE(r) << r.error().message();
  std::string token = r->object["status"]["token"];
  auto both = authn_->reviewToken(token, {"api", "other", "vault"});
  EXPECT_TRUE(both.authenticated);
  EXPECT_EQ(both.user.name, "system:serviceaccount:default:default");
  EXPECT_EQ(both.audiences, (std::vector<std::string>{"api", "vault"}));
  EXPECT_EQ(both.error, "");
  auto none = authn_->reviewToken(token, {"other"});
  EXPECT_FALSE(none.authenticated);
  EXPECT_TRUE(none.audiences.empty());
  EXPECT_EQ(none.error,
            "token audiences [\"vault\" \"api\"] is invalid for the target audiences "
            "[\"other\"]");
  // No audiences asked: the API server's, which this token was not issued for.
  auto api = authn_->reviewToken(token, {});
  EXPECT_FALSE(api.authenticated);
  EXPECT_EQ(api.error,
            "token audiences [\"vault\" \"api\"] is invalid for the target audiences "
            "[\"https://kubernetes.default.svc.cluster.local\"]");
  auto plain = requestToken(json());
  ASSERT_TRUE(plain);
  auto ok = authn_->reviewToken(plain->object["status"]["token"], {});
  EXPECT_TRUE(ok.authenticated);
  EXPECT_EQ(ok.audiences,
            (std::vector<std::string>{"https://kubernetes.default.svc.cluster.local"}));
}

// A static token knows no audience: it serves the API server's own only (upstream's
// audience-agnostic wrapper), and another audience is a plain "not authenticated".
TEST_F(ServiceAccountTest, StaticTokensReviewOnlyForTheApiServersAudiences) {
  std::map<std::string, TokenEntry> tokens;
  tokens["static-secret"] = TokenEntry{UserInfo{"alice", {"dev"}}, "1"};
  Authenticator authn(*reg_, tokens, issuer());
  auto api = authn.reviewToken("static-secret", {});
  EXPECT_TRUE(api.authenticated);
  EXPECT_EQ(api.user.name, "alice");
  EXPECT_EQ(api.audiences,
            (std::vector<std::string>{"https://kubernetes.default.svc.cluster.local"}));
  auto other = authn.reviewToken("static-secret", {"vault"});
  EXPECT_FALSE(other.authenticated);
  EXPECT_EQ(other.error, "");
}

TEST_F(ServiceAccountTest, BoundObjectMustExistWithItsUid) {
  auto pod = createPod(json::object());
  ASSERT_TRUE(pod) << pod.error().message();
  json ref = podRef(pod->object);
  ref["uid"] = "other";
  auto r = requestToken({{"boundObjectRef", ref}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::Conflict));
  EXPECT_NE(r.error().message().find("does not match the UID in record"), std::string::npos);
  auto gone = requestToken({{"boundObjectRef", {{"kind", "Pod"}, {"name", "nope"}}}});
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().message(), "pods \"nope\" not found");
  auto kind = requestToken(
      {{"boundObjectRef", {{"kind", "ConfigMap"}, {"apiVersion", "v1"}, {"name", "x"}}}});
  ASSERT_FALSE(kind);
  EXPECT_EQ(kind.error().message(), "cannot bind token to object of type /v1, Kind=ConfigMap");
  createAccount("other", json());
  auto wrong_sa = requestToken({{"boundObjectRef", podRef(pod->object)}}, "other");
  ASSERT_FALSE(wrong_sa);
  EXPECT_TRUE(wrong_sa.error().is(ErrorCode::BadRequest));
}

TEST_F(ServiceAccountTest, TokenOfADeletedPodIsUnauthorized) {
  auto pod = createPod(json::object());
  ASSERT_TRUE(pod);
  auto r = requestToken({{"boundObjectRef", podRef(pod->object)}, {"expirationSeconds", 3607}});
  ASSERT_TRUE(r) << r.error().message();
  std::string token = r->object["status"]["token"];
  auto user = authn_->authenticateToken(token);
  ASSERT_TRUE(user);
  EXPECT_EQ(user->extra["authentication.kubernetes.io/pod-name"], std::vector<std::string>{"web"});
  EXPECT_EQ(user->extra["authentication.kubernetes.io/pod-uid"][0], pod->object["metadata"]["uid"]);
  ASSERT_TRUE(reg_->remove(res("pods"), "default", "web", DeleteOptions{}, opts_));
  auto after = authn_->authenticateToken(token);
  ASSERT_FALSE(after);
  EXPECT_TRUE(after.error().is(ErrorCode::Unauthorized));
  EXPECT_EQ(after.error().message(), "Unauthorized");
  // A new pod of the same name is another pod.
  ASSERT_TRUE(createPod(json::object()));
  EXPECT_FALSE(authn_->authenticateToken(token));
}

TEST_F(ServiceAccountTest, TokenOfADeletedServiceAccountIsUnauthorized) {
  createAccount("builder", json());
  auto r = requestToken(json(), "builder");
  ASSERT_TRUE(r);
  std::string token = r->object["status"]["token"];
  EXPECT_TRUE(authn_->authenticateToken(token));
  ASSERT_TRUE(reg_->remove(res("serviceaccounts"), "default", "builder", DeleteOptions{}, opts_));
  createAccount("builder", json());  // same name, new uid
  EXPECT_FALSE(authn_->authenticateToken(token));
}

TEST_F(ServiceAccountTest, GarbageTokensAreUnauthorized) {
  for (const std::string& t : {std::string("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
                               std::string("eyJ.eyJ.eyJ"), std::string("eyJhbGciOi")}) {
    auto u = authn_->authenticateToken(t);
    ASSERT_FALSE(u) << t;
    EXPECT_EQ(u.error().message(), "Unauthorized");
  }
}

TEST_F(ServiceAccountTest, AdmissionMountsTheProjectedVolume) {
  auto pod = createPod({{"initContainers", json::array({{{"name", "i"}, {"image", "busybox"}}})}});
  ASSERT_TRUE(pod) << pod.error().message();
  const json& spec = pod->object["spec"];
  EXPECT_EQ(spec["serviceAccountName"], "default");
  EXPECT_EQ(spec["serviceAccount"], "default");
  ASSERT_EQ(spec["volumes"].size(), 1u);
  const json& vol = spec["volumes"][0];
  std::string name = vol["name"];
  ASSERT_EQ(name.size(), std::string("kube-api-access-").size() + 5);
  EXPECT_EQ(name.rfind("kube-api-access-", 0), 0u);
  json want = json::parse(R"({"defaultMode":420,"sources":[
      {"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},
      {"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},
      {"downwardAPI":{"items":[{"path":"namespace",
          "fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}]})");
  EXPECT_EQ(vol["projected"], want);
  json mount = {{"name", name},
                {"readOnly", true},
                {"mountPath", "/var/run/secrets/kubernetes.io/serviceaccount"}};
  EXPECT_EQ(spec["containers"][0]["volumeMounts"], json::array({mount}));
  EXPECT_EQ(spec["initContainers"][0]["volumeMounts"], json::array({mount}));
}

TEST_F(ServiceAccountTest, AdmissionHonoursAutomountAndExistingMounts) {
  auto off = createPod({{"automountServiceAccountToken", false}}, "off");
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->object["spec"].contains("volumes"));
  createAccount("quiet", false);
  auto quiet = createPod({{"serviceAccountName", "quiet"}}, "quiet");
  ASSERT_TRUE(quiet);
  EXPECT_FALSE(quiet->object["spec"].contains("volumes"));
  auto forced = createPod({{"serviceAccountName", "quiet"}, {"automountServiceAccountToken", true}},
                          "forced");
  ASSERT_TRUE(forced);
  EXPECT_EQ(forced->object["spec"]["volumes"].size(), 1u);
  json own = {{"name", "mine"}, {"mountPath", "/var/run/secrets/kubernetes.io/serviceaccount"}};
  auto taken = createPod(
      {{"volumes", json::array({{{"name", "mine"}, {"emptyDir", json::object()}}})},
       {"containers", json::array({{{"name", "c"}, {"image", "b"}, {"volumeMounts", {own}}}})}},
      "taken");
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->object["spec"]["volumes"].size(), 1u);
  EXPECT_EQ(taken->object["spec"]["containers"][0]["volumeMounts"], json::array({own}));
}

TEST_F(ServiceAccountTest, AdmissionRefusesAMissingServiceAccount) {
  auto r = createPod({{"serviceAccountName", "ghost"}});
  testing::expectForbidden(
      r,
      "pods \"web\" is forbidden: error looking up service account default/ghost: "
      "serviceaccount \"ghost\" not found");
  EXPECT_FALSE(reg_->get(res("pods"), "default", "web"));
}

TEST_F(ServiceAccountTest, LegacyTokenSecretIsFilledAndLivesWithTheSecret) {
  json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"type", "kubernetes.io/service-account-token"},
                 {"metadata",
                  {{"name", "default-token"},
                   {"annotations", {{"kubernetes.io/service-account.name", "default"}}}}}};
  auto r = reg_->create(res("secrets"), "default", secret, opts_);
  ASSERT_TRUE(r) << r.error().message();
  const json& data = r->object["data"];
  EXPECT_EQ(r->object["metadata"]["annotations"]["kubernetes.io/service-account.uid"], sa_uid_);
  EXPECT_EQ(*base64Decode(data["namespace"].get<std::string>()), "default");
  EXPECT_NE(base64Decode(data["ca.crt"].get<std::string>())->find("BEGIN CERTIFICATE"),
            std::string::npos);
  std::string token = *base64Decode(data["token"].get<std::string>());
  auto user = authn_->authenticateToken(token);
  ASSERT_TRUE(user);
  EXPECT_EQ(user->name, "system:serviceaccount:default:default");
  ASSERT_TRUE(reg_->remove(res("secrets"), "default", "default-token", DeleteOptions{}, opts_));
  EXPECT_FALSE(authn_->authenticateToken(token));
  secret["metadata"]["annotations"] = json::object();
  auto bad = reg_->create(res("secrets"), "default", secret, opts_);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find(
                "metadata.annotations[kubernetes.io/service-account.name]: Required value"),
            std::string::npos);
}

TEST_F(ServiceAccountTest, NodeGetsTokensOnlyForPodsBoundToIt) {
  auto pod = createPod(json::object());
  ASSERT_TRUE(pod);
  WriteOptions node;
  node.user = {"system:node:n1", {"system:nodes", "system:authenticated"}};
  json body = {{"apiVersion", "authentication.k8s.io/v1"},
               {"kind", "TokenRequest"},
               {"spec", {{"boundObjectRef", podRef(pod->object)}}}};
  auto r = reg_->create(res("serviceaccounts"), "default", body, node, "token", "default");
  ASSERT_FALSE(r);  // the pod is not on n1
  EXPECT_TRUE(r.error().is(ErrorCode::Forbidden));
  body.erase("spec");
  EXPECT_FALSE(reg_->create(res("serviceaccounts"), "default", body, node, "token", "default"));
}

}  // namespace
}  // namespace skiff::master::api
