#pragma once

// Validation of the built-in types with Kubernetes' field paths and messages
// (k8s.io/apimachinery pkg/util/validation/field, kubernetes pkg/apis/*/validation).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/error.h"
#include "skiff/master/api/resources.h"

namespace skiff::master::api {

struct FieldError {
  enum class Type { Required, Invalid, NotSupported, Duplicate, Forbidden, TooLong, TooMany };
  Type type;
  std::string field;
  nlohmann::json bad_value;
  std::string detail;

  // "spec.template.spec.containers: Required value", "metadata.name: Invalid value: \"A\": ..."
  std::string message() const;
  // Without the field: "Required value", as StatusCause.message carries it.
  std::string causeMessage() const;
  // "FieldValueRequired", "FieldValueInvalid", ...
  std::string reason() const;
};
using FieldErrors = std::vector<FieldError>;

// Validates `obj` (already defaulted) for `r`; `old` is the stored object on update (nullptr on
// create) for the immutability rules.
FieldErrors validateObject(const ResourceInfo& r, const nlohmann::json& obj,
                           const nlohmann::json* old);

// The Invalid error for these field errors: `<Kind>.<group> "<name>" is invalid: <errors>`.
Error invalidError(const ResourceInfo& r, const std::string& name, const FieldErrors& errs);

}  // namespace skiff::master::api
