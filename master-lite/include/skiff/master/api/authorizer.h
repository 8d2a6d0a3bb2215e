#pragma once

// Authorization of a request's attributes for an authenticated user.

#include <string>

#include "skiff/common/result.h"
#include "skiff/master/api/registry.h"

namespace skiff::master::api {

struct RequestAttributes {
  std::string verb;  // get list watch create update patch delete deletecollection
  const ResourceInfo* resource = nullptr;  // nullptr for non-resource paths
  std::string subresource;
  std::string ns;
  std::string name;
  std::string path;  // non-resource requests
};

// Forbidden with the upstream message when the user may not do this.
Result<void> authorize(Registry& registry, const UserInfo& user, const RequestAttributes& a);

}  // namespace skiff::master::api
