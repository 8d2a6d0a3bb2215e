#pragma once

// Builders for ListOptions / DeleteOptions (designated initializers trip -Wextra's
// missing-field-initializers on partial aggregates).

#include <cstdint>
#include <string>
#include <utility>

#include "skiff/master/client/api_client.h"

namespace skiff::master::opts {

// Options (ListOptions, DeleteOptions) with the one field `member` set to `value`.
template <typename Options, typename Field, typename Value>
Options with(Field Options::*member, Value&& value) {
  Options o;
  o.*member = std::forward<Value>(value);
  return o;
}

inline ListOptions labels(std::string selector) {
  return with(&ListOptions::label_selector, std::move(selector));
}
inline ListOptions fields(std::string selector) {
  return with(&ListOptions::field_selector, std::move(selector));
}
inline ListOptions fromRevision(std::string rv) {
  return with(&ListOptions::resource_version, std::move(rv));
}
inline DeleteOptions grace(std::int64_t seconds) {
  return with(&DeleteOptions::grace_period_seconds, seconds);
}
inline DeleteOptions propagation(std::string policy) {
  return with(&DeleteOptions::propagation_policy, std::move(policy));
}
inline DeleteOptions withUid(std::string uid) {
  return with(&DeleteOptions::precondition_uid, std::move(uid));
}

}  // namespace skiff::master::opts
