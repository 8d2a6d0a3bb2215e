#pragma once

// User impersonation (kube-apiserver's WithImpersonation filter, `kubectl --as`, `--as-group`,
// `--as-uid`): Impersonate-User, Impersonate-Group (repeatable), Impersonate-Uid and
// Impersonate-Extra-<key> headers make the request act as another user, each part authorized
// for the caller with the `impersonate` verb on users, groups, serviceaccounts (for
// system:serviceaccount:<ns>:<name>), uids or userextras/<key>.

#include <map>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/master/api/registry.h"

namespace skiff::master::api {

struct ImpersonationRequest {
  std::string user;
  std::vector<std::string> groups;
  std::string uid;
  std::map<std::string, std::vector<std::string>> extra;
  bool any() const { return !user.empty() || !groups.empty() || !uid.empty() || !extra.empty(); }
};

// The impersonation headers of a request. `headers` has lower-case names; repeated headers
// carry their values separated by '\n' (the HTTPS server joins them so).
ImpersonationRequest impersonationOf(const std::map<std::string, std::string>& headers);

// The user to act as, once every part is authorized for `caller`: BadRequest when groups, uid
// or extra come without a user; Forbidden with upstream's message (`users "bob" is forbidden:
// User "alice" cannot impersonate resource "users" in API group "" at the cluster scope`) for
// the first part the caller may not impersonate.
Result<UserInfo> impersonate(Registry& registry, const UserInfo& caller,
                             const ImpersonationRequest& req);

}  // namespace skiff::master::api
