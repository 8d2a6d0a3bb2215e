#pragma once

// The access reviews: authorization.k8s.io/v1 SubjectAccessReview, LocalSubjectAccessReview,
// SelfSubjectAccessReview, SelfSubjectRulesReview and authentication.k8s.io/v1
// SelfSubjectReview are registered with the RBAC strategies (the registry answers them);
// TokenReview needs the authenticator, which exists after the registry, and is registered here.
// All of them are create-only and never stored (ResourceInfo::createOnly).

#include "skiff/master/api/authenticator.h"
#include "skiff/master/api/registry.h"

namespace skiff::master::api {

// TokenReview answers with Authenticator::authenticateToken. `authn` must outlive `registry`'s
// use of it.
void registerTokenReview(Registry& registry, Authenticator& authn);

}  // namespace skiff::master::api
