#pragma once

// ServiceAccount tokens as kube-apiserver issues and checks them (pkg/serviceaccount/claims.go,
// legacy.go, jwt.go): bound tokens from the TokenRequest API (issuer
// https://kubernetes.default.svc.cluster.local, audiences, expiry, bound to a pod/secret/node)
// and legacy tokens kept in kubernetes.io/service-account-token Secrets (issuer
// kubernetes/serviceaccount, no expiry). This class signs and verifies; whether the
// ServiceAccount and the bound object still exist is the authenticator's check (it has the
// registry). Immutable after construction, thread-safe.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/master/serviceaccount/jwt.h"

namespace skiff::master::serviceaccount {

inline constexpr char kDefaultIssuer[] = "https://kubernetes.default.svc.cluster.local";
inline constexpr char kLegacyIssuer[] = "kubernetes/serviceaccount";
// A TokenRequest for exactly 3607 s bound to a pod is what the kubelet's projected volume asks
// for; with --service-account-extend-token-expiration (default true) the API server makes it
// valid for a year and records warnafter = iat + 3607 (pkg/registry/core/serviceaccount/storage).
inline constexpr std::int64_t kWarnOnlyExpirationSeconds = 3607;
inline constexpr std::int64_t kExtendedExpirationSeconds = 365LL * 24 * 3600;
inline constexpr std::int64_t kMinExpirationSeconds = 600;
// Clock skew accepted on exp/nbf (go-jose's DefaultLeeway).
inline constexpr std::int64_t kLeewaySeconds = 60;

struct ObjectRef {
  std::string name;
  std::string uid;
};

struct BoundTokenRequest {
  std::string ns;
  ObjectRef service_account;
  std::vector<std::string> audiences;  // empty: the API server's audiences
  std::int64_t expiration_seconds = 3600;
  std::optional<ObjectRef> pod, secret, node;
};

struct IssuedToken {
  std::string token;
  std::int64_t expiration = 0;  // unix seconds (status.expirationTimestamp)
  std::vector<std::string> audiences;
};

// What a verified token says.
struct TokenClaims {
  bool legacy = false;
  std::string ns;
  ObjectRef service_account;
  std::optional<ObjectRef> pod, secret, node;
  std::string jti;
  // The requested audiences the token is valid for (never empty for a valid token).
  std::vector<std::string> audiences;
};

class TokenIssuer {
 public:
  // `key` must hold a private key to issue. `api_audiences` empty: {issuer}.
  explicit TokenIssuer(RsaKey key, std::string issuer = kDefaultIssuer,
                       std::vector<std::string> api_audiences = {}, bool extend_expiration = true);

  const std::string& issuer() const { return issuer_; }
  const std::vector<std::string>& apiAudiences() const { return audiences_; }

  // Signs a bound token issued at `now` (unix seconds). The request is assumed validated.
  Result<IssuedToken> issueBound(const BoundTokenRequest& request, std::int64_t now) const;
  // Signs a legacy Secret-based token for `service_account` of `ns`, stored in `secret_name`.
  Result<std::string> issueLegacy(const std::string& ns, const ObjectRef& service_account,
                                  const std::string& secret_name) const;

  // The claims of a token this issuer signed: signature, issuer, exp/nbf at `now` (with
  // kLeewaySeconds), an audience shared with `requested` (empty: apiAudiences(); a legacy token
  // counts as issued for apiAudiences(), as upstream), the claims' shape. Every failure is
  // Unauthorized; its message is for logs and TokenReview only (an audience mismatch reads as
  // upstream's: `token audiences ["a"] is invalid for the target audiences ["b"]`).
  Result<TokenClaims> validate(std::string_view token, std::int64_t now,
                               const std::vector<std::string>& requested = {}) const;
  // The audiences of `requested` (empty: apiAudiences()) that `token_audiences` holds, or the
  // audience mismatch error.
  Result<std::vector<std::string>> matchAudiences(const std::vector<std::string>& token_audiences,
                                                  const std::vector<std::string>& requested) const;

  // /.well-known/openid-configuration; `jwks_uri` is where /openid/v1/jwks is reachable.
  nlohmann::json openidConfiguration(const std::string& jwks_uri) const;
  // /openid/v1/jwks: {"keys":[<jwk>]}.
  nlohmann::json jwks() const;

 private:
  RsaKey key_;
  std::string issuer_;
  std::vector<std::string> audiences_;
  bool extend_;
};

}  // namespace skiff::master::serviceaccount
