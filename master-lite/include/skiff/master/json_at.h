#pragma once

// The one walk down an object's fields that the master's json readers share (api::at,
// meta::at, the quota evaluators).

#include <initializer_list>

#include <nlohmann/json.hpp>

namespace skiff::master {

// obj[a][b]... or a null json when a step is missing or not an object (never inserts).
inline const nlohmann::json& jsonAt(const nlohmann::json& obj,
                                    std::initializer_list<const char*> path) {
  static const nlohmann::json kNull;
  const nlohmann::json* cur = &obj;
  for (const char* p : path) {
    if (!cur->is_object()) return kNull;
    auto it = cur->find(p);
    if (it == cur->end()) return kNull;
    cur = &*it;
  }
  return *cur;
}

}  // namespace skiff::master
