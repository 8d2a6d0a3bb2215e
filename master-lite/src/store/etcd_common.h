#pragma once

// What the etcd store (etcd_store.cc) and its watch cache (etcd_watch_cache.cc) share: the
// store's logger and the reading of the base64 fields of etcd's JSON gateway messages.

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "skiff/common/base64.h"
#include "skiff/common/log.h"
#include "skiff/common/result.h"

namespace skiff::master::store {

// STYLE.md §8: one named logger per component.
inline const std::shared_ptr<spdlog::logger>& lg() {
  static const auto l = skiff::log::get("store");
  return l;
}

// The decoded base64 field `name` of `obj`, "" when it is absent (etcd leaves out empty
// fields); `what` names the message in the error ("reply from etcd", "watch event").
inline Result<std::string> base64Field(const nlohmann::json& obj, const char* name,
                                       const char* what) {
  auto it = obj.find(name);
  if (it == obj.end()) return std::string();
  if (!it->is_string())
    return Error(ErrorCode::Internal, std::string("malformed ") + what + ": '" + name + "'");
  return base64Decode(it->get<std::string>());
}

}  // namespace skiff::master::store
