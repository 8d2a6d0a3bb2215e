#pragma once

// Authentication of bearer tokens (static token file, bootstrap tokens). Client certificates are
// authenticated by the TLS layer (CN = user, O = groups) before a request reaches here.

#include <map>
#include <mutex>
#include <string>

#include "skiff/common/result.h"
#include "skiff/master/api/registry.h"

namespace skiff::master::api {

struct TokenEntry {
  UserInfo user;
  std::string uid;
};

// kube-apiserver --token-auth-file format: token,user,uid[,"group1,group2"] per line.
Result<std::map<std::string, TokenEntry>> parseTokenFile(const std::string& text);

class Authenticator {
 public:
  Authenticator(Registry& registry, std::map<std::string, TokenEntry> static_tokens)
      : registry_(registry), tokens_(std::move(static_tokens)) {}
  // Unauthorized when the token is unknown, expired or malformed.
  Result<UserInfo> authenticateToken(const std::string& token);

 private:
  Registry& registry_;
  std::map<std::string, TokenEntry> tokens_;
};

}  // namespace skiff::master::api
