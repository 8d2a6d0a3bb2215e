#pragma once

// Builders for ListOptions / DeleteOptions (designated initializers trip -Wextra's
// missing-field-initializers on partial aggregates).

#include <cstdint>
#include <string>

#include "skiff/master/client/api_client.h"

namespace skiff::master::opts {

inline ListOptions labels(std::string selector) {
  ListOptions o;
  o.label_selector = std::move(selector);
  return o;
}
inline ListOptions fields(std::string selector) {
  ListOptions o;
  o.field_selector = std::move(selector);
  return o;
}
inline ListOptions fromRevision(std::string rv) {
  ListOptions o;
  o.resource_version = std::move(rv);
  return o;
}
inline DeleteOptions grace(std::int64_t seconds) {
  DeleteOptions o;
  o.grace_period_seconds = seconds;
  return o;
}
inline DeleteOptions propagation(std::string policy) {
  DeleteOptions o;
  o.propagation_policy = std::move(policy);
  return o;
}
inline DeleteOptions withUid(std::string uid) {
  DeleteOptions o;
  o.precondition_uid = std::move(uid);
  return o;
}

}  // namespace skiff::master::opts
