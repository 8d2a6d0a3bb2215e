// ServiceAccount token authentication (pkg/serviceaccount/jwt.go, claims.go, legacy.go): the
// signature and claims are the TokenIssuer's check; here the objects the token names must
// still exist with the uids it recorded, so a token dies with its ServiceAccount, its Secret
// (legacy tokens and Secret-bound ones) and its Pod.
#include <chrono>

#include "skiff/common/base64.h"
#include "skiff/master/api/authenticator.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api {
namespace {

namespace sa = serviceaccount;

Error unauthorized() { return Error(ErrorCode::Unauthorized, "Unauthorized"); }

// Upstream lets a pod's token live on for 60 s after the pod was marked for deletion.
constexpr auto kDeletedPodGrace = std::chrono::seconds(60);

bool deletedBefore(const json& obj, Clock::time_point limit) {
  std::string ts = str(obj, {"metadata", "deletionTimestamp"});
  return !ts.empty() && parseTime(ts) < limit;
}

// The object `ref` names, when it exists with that uid (any uid when `ref.uid` is empty) and
// is not being deleted (before `deleted_limit`).
Result<json> live(Registry& reg, const char* resource, const std::string& ns,
                  const sa::ObjectRef& ref, Clock::time_point deleted_limit) {
  auto obj = reg.get(*findResource("", "v1", resource), ns, ref.name);
  if (!obj) return unauthorized();
  if (!ref.uid.empty() && str(*obj, {"metadata", "uid"}) != ref.uid) return unauthorized();
  if (deletedBefore(*obj, deleted_limit)) return unauthorized();
  return obj;
}

}  // namespace

bool looksLikeJwt(const std::string& token) {
  std::size_t dots = 0;
  for (char c : token) dots += c == '.';
  return dots == 2 && token.rfind("eyJ", 0) == 0;
}

Result<UserInfo> Authenticator::authenticateServiceAccount(
    const std::string& token, const std::vector<std::string>& audiences,
    std::vector<std::string>& matched) {
  Clock::time_point now = Clock::now();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  SKIFF_ASSIGN_OR_RETURN(sa::TokenClaims c, sa_tokens_->validate(token, secs, audiences));
  matched = c.audiences;
  SKIFF_ASSIGN_OR_RETURN(json account,
                         live(registry_, "serviceaccounts", c.ns, c.service_account, now));
  UserInfo u;
  u.name = "system:serviceaccount:" + c.ns + ":" + c.service_account.name;
  u.uid = str(account, {"metadata", "uid"});
  u.groups = {"system:serviceaccounts", "system:serviceaccounts:" + c.ns, "system:authenticated"};
  if (c.legacy) {
    // The Secret must still hold exactly this token.
    SKIFF_ASSIGN_OR_RETURN(json secret, live(registry_, "secrets", c.ns, *c.secret, now));
    auto stored = base64Decode(str(secret, {"data", "token"}));
    if (!stored || *stored != token) return unauthorized();
    u.extra["authentication.kubernetes.io/credential-id"] = {"JTI=" +
                                                             str(secret, {"metadata", "uid"})};
    return u;
  }
  if (c.secret) SKIFF_TRY(live(registry_, "secrets", c.ns, *c.secret, now));
  if (c.pod) {
    SKIFF_TRY(live(registry_, "pods", c.ns, *c.pod, now - kDeletedPodGrace));
    u.extra["authentication.kubernetes.io/pod-name"] = {c.pod->name};
    u.extra["authentication.kubernetes.io/pod-uid"] = {c.pod->uid};
  }
  if (c.node) {
    // A token bound to the node itself dies with it; for pod-bound ones the node is context.
    if (!c.pod && !c.secret) SKIFF_TRY(live(registry_, "nodes", "", *c.node, now));
    u.extra["authentication.kubernetes.io/node-name"] = {c.node->name};
    u.extra["authentication.kubernetes.io/node-uid"] = {c.node->uid};
  }
  if (!c.jti.empty()) u.extra["authentication.kubernetes.io/credential-id"] = {"JTI=" + c.jti};
  return u;
}

}  // namespace skiff::master::api
