#pragma once

// Authentication of bearer tokens (static token file, bootstrap tokens, ServiceAccount tokens).
// Client certificates are authenticated by the TLS layer (CN = user, O = groups) before a
// request reaches here.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/serviceaccount/tokens.h"

namespace skiff::master::api {

struct TokenEntry {
  UserInfo user;
  std::string uid;
};

// kube-apiserver --token-auth-file format: token,user,uid[,"group1,group2"] per line.
Result<std::map<std::string, TokenEntry>> parseTokenFile(const std::string& text);

class Authenticator {
 public:
  // `service_account_tokens` null: ServiceAccount tokens are not accepted.
  Authenticator(Registry& registry, std::map<std::string, TokenEntry> static_tokens,
                std::shared_ptr<const serviceaccount::TokenIssuer> service_account_tokens = nullptr)
      : registry_(registry),
        tokens_(std::move(static_tokens)),
        sa_tokens_(std::move(service_account_tokens)) {}
  // Unauthorized (message "Unauthorized", nothing more) when the token is unknown, expired,
  // malformed, signed by another key, for another audience, or names a ServiceAccount, Secret
  // or Pod that no longer exists (or exists with another uid). A ServiceAccount token's user is
  // system:serviceaccount:<ns>:<name> in system:serviceaccounts,
  // system:serviceaccounts:<ns> and system:authenticated, with the bound pod/node and the
  // token's id in extra (authentication.kubernetes.io/pod-name, pod-uid, node-name, node-uid,
  // credential-id), as kube-apiserver's ServiceAccount authenticator.
  Result<UserInfo> authenticateToken(const std::string& token);

  // A TokenReview's answer (pkg/registry/authentication/tokenreview): whether the token
  // authenticates for one of `audiences` (empty: the API server's), as whom, for which of them,
  // and why not when the reason may be told (an audience mismatch, in upstream's words).
  // Static and bootstrap tokens are valid for the API server's audiences only, as upstream's
  // audience-agnostic authenticators.
  struct Review {
    bool authenticated = false;
    UserInfo user;
    std::vector<std::string> audiences;
    std::string error;
  };
  Review reviewToken(const std::string& token, const std::vector<std::string>& audiences);

 private:
  // `audiences` as reviewToken's; fills `matched`; the error's message says why (for reviews).
  Result<UserInfo> authenticateServiceAccount(const std::string& token,
                                              const std::vector<std::string>& audiences,
                                              std::vector<std::string>& matched);
  Result<UserInfo> authenticateOther(const std::string& token);
  const std::vector<std::string>& apiAudiences() const;

  Registry& registry_;
  std::map<std::string, TokenEntry> tokens_;
  std::shared_ptr<const serviceaccount::TokenIssuer> sa_tokens_;
};

}  // namespace skiff::master::api
