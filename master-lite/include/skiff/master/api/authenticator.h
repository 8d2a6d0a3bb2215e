#pragma once

// Authentication of bearer tokens (static token file, bootstrap tokens, ServiceAccount tokens).
// Client certificates are authenticated by the TLS layer (CN = user, O = groups) before a
// request reaches here.

#include <map>
#include <memory>
#include <mutex>
#include <string>

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

 private:
  Result<UserInfo> authenticateServiceAccount(const std::string& token);

  Registry& registry_;
  std::map<std::string, TokenEntry> tokens_;
  std::shared_ptr<const serviceaccount::TokenIssuer> sa_tokens_;
};

}  // namespace skiff::master::api
