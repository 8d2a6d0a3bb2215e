// Impersonation (staging/src/k8s.io/apiserver/pkg/endpoints/filters/impersonation.go).
#include "skiff/master/api/impersonation.h"

#include <algorithm>

#include "skiff/common/split_list.h"
#include "skiff/master/api/authorizer.h"
#include "skiff/master/api/handler.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api {
namespace {

// A request header's values (a repeated header arrives joined with '\n').
std::vector<std::string> values(const std::string& joined) {
  std::vector<std::string_view> parts = splitAt(joined, '\n');
  return {parts.begin(), parts.end()};
}

// One part to authorize: resource (group "" or authentication.k8s.io), namespace, name.
struct Part {
  std::string kind;  // as upstream prints the ObjectReference: User, Group, ServiceAccount...
  std::string group, resource, subresource, ns, name;
};

std::string describe(const Part& p) {
  // Go's %v of an ObjectReference {Kind Namespace Name UID APIVersion ResourceVersion FieldPath}.
  std::string field_path = p.resource == "userextras" ? p.subresource : "";
  return "{" + p.kind + " " + p.ns + " " + p.name + "    " + field_path + "}";
}

}  // namespace

ImpersonationRequest impersonationOf(const std::map<std::string, std::string>& headers) {
  ImpersonationRequest r;
  const std::string extra_prefix = "impersonate-extra-";
  for (const auto& [name, value] : headers) {
    if (name == "impersonate-user") r.user = values(value).back();
    if (name == "impersonate-uid") r.uid = values(value).back();
    if (name == "impersonate-group") {
      for (auto& g : values(value)) r.groups.push_back(g);
    }
    if (name.rfind(extra_prefix, 0) == 0 && name.size() > extra_prefix.size()) {
      // Keys are percent-encoded in header names (and case-insensitive, so lower case).
      std::string key = urlDecode(name.substr(extra_prefix.size()), false);
      for (auto& v : values(value)) r.extra[key].push_back(v);
    }
  }
  return r;
}

Result<UserInfo> impersonate(Registry& registry, const UserInfo& caller,
                             const ImpersonationRequest& req) {
  std::vector<Part> parts;
  UserInfo u;
  bool groups_given = !req.groups.empty();
  const std::string sa = "system:serviceaccount:";
  if (!req.user.empty()) {
    u.name = req.user;
    std::string rest = req.user.rfind(sa, 0) == 0 ? req.user.substr(sa.size()) : "";
    auto colon = rest.find(':');
    if (colon != std::string::npos && colon > 0 && colon + 1 < rest.size()) {
      std::string ns = rest.substr(0, colon), name = rest.substr(colon + 1);
      parts.push_back({"ServiceAccount", "", "serviceaccounts", "", ns, name});
      if (!groups_given) u.groups = {"system:serviceaccounts", "system:serviceaccounts:" + ns};
    } else {
      parts.push_back({"User", "", "users", "", "", req.user});
    }
  }
  for (const auto& g : req.groups) {
    parts.push_back({"Group", "", "groups", "", "", g});
    u.groups.push_back(g);
  }
  for (const auto& [k, vs] : req.extra) {
    for (const auto& v : vs) {
      parts.push_back({"UserExtra", "authentication.k8s.io", "userextras", k, "", v});
      u.extra[k].push_back(v);
    }
  }
  if (!req.uid.empty()) {
    parts.push_back({"UID", "authentication.k8s.io", "uids", "", "", req.uid});
    u.uid = req.uid;
  }
  if (req.user.empty()) {
    std::string list;
    for (std::size_t i = 0; i < parts.size(); ++i) list += (i ? " " : "") + describe(parts[i]);
    return Error(ErrorCode::BadRequest, "requested [" + list + "] without impersonating a user");
  }
  for (const auto& p : parts) {
    rbac::Attributes a;
    a.user = caller.name;
    a.verb = "impersonate";
    a.api_group = p.group;
    a.resource = p.resource;
    a.subresource = p.subresource;
    a.ns = p.ns;
    a.name = p.name;
    AuthzDecision d = authorizeAttributes(registry, caller, a);
    if (!d.allowed) return forbidden(caller, a, d.reason);
  }
  auto has = [&](const char* g) {
    return std::find(u.groups.begin(), u.groups.end(), g) != u.groups.end();
  };
  if (u.name != "system:anonymous") {
    if (!has("system:authenticated") && !has("system:unauthenticated"))
      u.groups.push_back("system:authenticated");
  } else if (!has("system:unauthenticated")) {
    u.groups.push_back("system:unauthenticated");
  }
  return u;
}

}  // namespace skiff::master::api
