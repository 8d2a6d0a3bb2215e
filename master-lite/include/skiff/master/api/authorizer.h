#pragma once

// Authorization of a request's attributes for an authenticated user: kube-apiserver's
// --authorization-mode=Node,RBAC. The Node authorizer (a node's kubelet reads what its pods
// use and writes its own Node, Lease and pod status) decides first; RBAC then allows what a
// role bound to the user or one of the groups allows (rbac/policy_index.h). Everything else,
// system:masters and discovery included, is allowed only through RBAC objects (the bootstrap
// policy binds cluster-admin to system:masters, system:discovery to system:authenticated...).

#include <string>

#include "skiff/common/result.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/rbac/rules.h"

namespace skiff::master::api {

struct RequestAttributes {
  std::string verb;  // get list watch create update patch delete deletecollection
  const ResourceInfo* resource = nullptr;  // nullptr for non-resource paths
  std::string subresource;
  std::string ns;
  std::string name;
  std::string path;  // non-resource requests
};

struct AuthzDecision {
  bool allowed = false;
  // Why: "RBAC: allowed by ClusterRoleBinding ..." when allowed; on a denial "" or the
  // authorizers' reasons ("RBAC: clusterrole.rbac.authorization.k8s.io \"x\" not found").
  std::string reason;
};

// Forbidden with the upstream message when the user may not do this.
Result<void> authorize(Registry& registry, const UserInfo& user, const RequestAttributes& a);

// The chain's decision for attributes given as strings (SubjectAccessReview, the escalate,
// bind and impersonate checks).
AuthzDecision authorizeAttributes(Registry& registry, const UserInfo& user,
                                  const rbac::Attributes& a);
// The Forbidden error kube-apiserver answers a denied request with: `pods is forbidden: User
// "alice" cannot list resource "pods" in API group "" in the namespace "default"`, followed
// by ": <reason>" when the authorizers gave one.
Error forbidden(const UserInfo& user, const rbac::Attributes& a, const std::string& reason);
// RequestAttributes in the authorizer's string form.
rbac::Attributes attributesOf(const UserInfo& user, const RequestAttributes& a);

}  // namespace skiff::master::api
