#pragma once

// The live half of the resource table (resources.h): what established CustomResourceDefinitions
// serve. resources.cc consults it after the built-in table.

#include <string>

#include "skiff/master/api/resources.h"

namespace skiff::master::api {

const ResourceInfo* findCustomResource(const std::string& group, const std::string& version,
                                       const std::string& resource);
const ResourceInfo* findCustomResourceByKind(const std::string& group, const std::string& version,
                                             const std::string& kind);

}  // namespace skiff::master::api
