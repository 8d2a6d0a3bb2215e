// ServiceAccount token claims, as kube-apiserver writes them (pkg/serviceaccount/claims.go for
// bound tokens, legacy.go for Secret-based ones) and checks them (Validate in the same files).
#include "skiff/master/serviceaccount/tokens.h"

#include <algorithm>

#include "skiff/master/api/object_util.h"

namespace skiff::master::serviceaccount {
namespace {

using json = nlohmann::json;

Error unauthorized(const std::string& why) {
  return Error(ErrorCode::Unauthorized, "invalid bearer token: " + why);
}

json refJson(const ObjectRef& r) { return {{"name", r.name}, {"uid", r.uid}}; }

std::optional<ObjectRef> refOf(const json& k8s, const char* key) {
  const json& r = k8s.contains(key) ? k8s[key] : json();
  if (!r.is_object() || !r["name"].is_string() || !r["uid"].is_string()) return std::nullopt;
  return ObjectRef{r["name"].get<std::string>(), r["uid"].get<std::string>()};
}

std::string sub(const std::string& ns, const std::string& name) {
  return "system:serviceaccount:" + ns + ":" + name;
}

std::string strClaim(const json& c, const char* key) {
  return c.contains(key) && c[key].is_string() ? c[key].get<std::string>() : "";
}

Result<TokenClaims> legacyClaims(const json& c) {
  TokenClaims t;
  t.legacy = true;
  t.ns = strClaim(c, "kubernetes.io/serviceaccount/namespace");
  t.service_account.name = strClaim(c, "kubernetes.io/serviceaccount/service-account.name");
  t.service_account.uid = strClaim(c, "kubernetes.io/serviceaccount/service-account.uid");
  std::string secret = strClaim(c, "kubernetes.io/serviceaccount/secret.name");
  if (t.ns.empty() || t.service_account.name.empty() || secret.empty())
    return unauthorized("legacy token claims incomplete");
  if (strClaim(c, "sub") != sub(t.ns, t.service_account.name))
    return unauthorized("subject does not match the service account");
  t.secret = ObjectRef{secret, ""};
  return t;
}

// exp and nbf are required for bound tokens; iat is informational.
Result<void> checkTimes(const json& c, std::int64_t now) {
  if (!c.contains("exp") || !c["exp"].is_number_integer()) return unauthorized("no expiry");
  if (now > c["exp"].get<std::int64_t>() + kLeewaySeconds) return unauthorized("token expired");
  if (c.contains("nbf")) {
    if (!c["nbf"].is_number_integer()) return unauthorized("bad nbf");
    if (now + kLeewaySeconds < c["nbf"].get<std::int64_t>())
      return unauthorized("token not valid yet");
  }
  return ok();
}

// The audiences of `have` that are also in `want`, in `want`'s order (authenticator.Audiences'
// Intersect).
std::vector<std::string> intersect(const std::vector<std::string>& want,
                                   const std::vector<std::string>& have) {
  std::vector<std::string> out;
  for (const auto& a : want) {
    if (std::find(have.begin(), have.end(), a) != have.end() &&
        std::find(out.begin(), out.end(), a) == out.end())
      out.push_back(a);
  }
  return out;
}

// Go's %q of a []string: ["a" "b"].
std::string goQuoted(const std::vector<std::string>& list) {
  std::string out = "[";
  for (std::size_t i = 0; i < list.size(); ++i) out += (i ? " " : "") + json(list[i]).dump();
  return out + "]";
}

}  // namespace

TokenIssuer::TokenIssuer(RsaKey key, std::string issuer, std::vector<std::string> api_audiences,
                         bool extend_expiration)
    : key_(std::move(key)),
      issuer_(std::move(issuer)),
      audiences_(std::move(api_audiences)),
      extend_(extend_expiration) {
  if (audiences_.empty()) audiences_.push_back(issuer_);
}

Result<IssuedToken> TokenIssuer::issueBound(const BoundTokenRequest& r, std::int64_t now) const {
  IssuedToken out;
  out.audiences = r.audiences.empty() ? audiences_ : r.audiences;
  std::int64_t exp = now + r.expiration_seconds;
  json k8s = {{"namespace", r.ns}, {"serviceaccount", refJson(r.service_account)}};
  if (r.pod) k8s["pod"] = refJson(*r.pod);
  if (r.secret) k8s["secret"] = refJson(*r.secret);
  if (r.node) k8s["node"] = refJson(*r.node);
  if (extend_ && r.pod && r.expiration_seconds == kWarnOnlyExpirationSeconds) {
    k8s["warnafter"] = exp;
    exp = now + kExtendedExpirationSeconds;
  }
  json claims = {{"aud", out.audiences}, {"exp", exp},
                 {"iat", now},           {"iss", issuer_},
                 {"jti", api::newUid()}, {"kubernetes.io", k8s},
                 {"nbf", now},           {"sub", sub(r.ns, r.service_account.name)}};
  SKIFF_ASSIGN_OR_RETURN(out.token, key_.sign(claims));
  out.expiration = exp;
  return out;
}

Result<std::string> TokenIssuer::issueLegacy(const std::string& ns, const ObjectRef& sa,
                                             const std::string& secret_name) const {
  json claims = {{"iss", kLegacyIssuer},
                 {"kubernetes.io/serviceaccount/namespace", ns},
                 {"kubernetes.io/serviceaccount/secret.name", secret_name},
                 {"kubernetes.io/serviceaccount/service-account.name", sa.name},
                 {"kubernetes.io/serviceaccount/service-account.uid", sa.uid},
                 {"sub", sub(ns, sa.name)}};
  return key_.sign(claims);
}

Result<std::vector<std::string>> TokenIssuer::matchAudiences(
    const std::vector<std::string>& token_audiences,
    const std::vector<std::string>& requested) const {
  const std::vector<std::string>& want = requested.empty() ? audiences_ : requested;
  std::vector<std::string> auds = intersect(want, token_audiences);
  if (auds.empty()) {
    return Error(ErrorCode::Unauthorized, "token audiences " + goQuoted(token_audiences) +
                                              " is invalid for the target audiences " +
                                              goQuoted(want));
  }
  return auds;
}

Result<TokenClaims> TokenIssuer::validate(std::string_view token, std::int64_t now,
                                          const std::vector<std::string>& requested) const {
  SKIFF_ASSIGN_OR_RETURN(json c, key_.verify(token));
  std::string iss = strClaim(c, "iss");
  if (iss == kLegacyIssuer) {
    // A legacy token carries no audience: it is valid for the API server's own (jwt.go).
    SKIFF_ASSIGN_OR_RETURN(TokenClaims t, legacyClaims(c));
    SKIFF_ASSIGN_OR_RETURN(t.audiences, matchAudiences(audiences_, requested));
    return t;
  }
  if (iss != issuer_) return unauthorized("unknown issuer");
  SKIFF_TRY(checkTimes(c, now));
  std::vector<std::string> aud;
  if (c["aud"].is_string()) aud.push_back(c["aud"].get<std::string>());
  if (c["aud"].is_array()) {
    for (const auto& a : c["aud"])
      if (a.is_string()) aud.push_back(a.get<std::string>());
  }
  if (aud.empty()) aud = audiences_;
  SKIFF_ASSIGN_OR_RETURN(std::vector<std::string> matched, matchAudiences(aud, requested));
  const json& k8s = c.contains("kubernetes.io") ? c["kubernetes.io"] : json();
  if (!k8s.is_object()) return unauthorized("no kubernetes.io claims");
  TokenClaims t;
  t.ns = strClaim(k8s, "namespace");
  auto sa = refOf(k8s, "serviceaccount");
  if (t.ns.empty() || !sa || sa->name.empty() || sa->uid.empty())
    return unauthorized("service account claims incomplete");
  t.service_account = *sa;
  if (strClaim(c, "sub") != sub(t.ns, sa->name))
    return unauthorized("subject does not match the service account");
  t.pod = refOf(k8s, "pod");
  t.secret = refOf(k8s, "secret");
  t.node = refOf(k8s, "node");
  t.jti = strClaim(c, "jti");
  t.audiences = std::move(matched);
  return t;
}

json TokenIssuer::openidConfiguration(const std::string& jwks_uri) const {
  return {{"issuer", issuer_},
          {"jwks_uri", jwks_uri},
          {"response_types_supported", {"id_token"}},
          {"subject_types_supported", {"public"}},
          {"id_token_signing_alg_values_supported", {"RS256"}}};
}

json TokenIssuer::jwks() const { return {{"keys", json::array({key_.jwk()})}}; }

}  // namespace skiff::master::serviceaccount
