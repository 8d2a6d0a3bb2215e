#pragma once

// A small builder of FieldErrors for the strategies of issue 20's kinds (networking, node,
// admissionregistration, apiregistration): upstream's field.Required/Invalid/NotSupported/
// Duplicate with the same messages validation.cc produces.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/master/api/validation.h"

namespace skiff::master::api {

struct FieldChecks {
  FieldErrors errs;
  void required(const std::string& f, const std::string& detail = "") {
    errs.push_back({FieldError::Type::Required, f, nlohmann::json(), detail});
  }
  void invalid(const std::string& f, const nlohmann::json& v, const std::string& detail) {
    errs.push_back({FieldError::Type::Invalid, f, v, detail});
  }
  void notSupported(const std::string& f, const nlohmann::json& v,
                    const std::vector<std::string>& supported) {
    std::string d = "supported values: ";
    for (std::size_t i = 0; i < supported.size(); ++i) {
      d += (i ? ", " : "") + nlohmann::json(supported[i]).dump();
    }
    errs.push_back({FieldError::Type::NotSupported, f, v, d});
  }
  void duplicate(const std::string& f, const nlohmann::json& v) {
    errs.push_back({FieldError::Type::Duplicate, f, v, ""});
  }
  void forbidden(const std::string& f, const std::string& d) {
    errs.push_back({FieldError::Type::Forbidden, f, nlohmann::json(), d});
  }
  // `value` (a string field) must be one of `supported` when present.
  void oneOf(const nlohmann::json& obj, const char* key, const std::string& path,
             const std::vector<std::string>& supported) {
    if (!obj.is_object() || !obj.contains(key) || obj[key].is_null()) return;
    for (const auto& s : supported) {
      if (obj[key] == s) return;
    }
    notSupported(path, obj[key], supported);
  }
  void append(FieldErrors more) {
    for (auto& e : more) errs.push_back(std::move(e));
  }
};

// Whether obj[key] is present and not null.
inline bool has(const nlohmann::json& obj, const char* key) {
  return obj.is_object() && obj.contains(key) && !obj[key].is_null();
}

// "must be a valid port number" check of IsValidPortNum; empty when valid.
inline bool validPort(const nlohmann::json& v) {
  return v.is_number_integer() && v.get<long long>() >= 1 && v.get<long long>() <= 65535;
}

}  // namespace skiff::master::api
