#pragma once

// Label and field selectors as the Kubernetes list/watch parameters carry them
// (k8s.io/apimachinery pkg/labels and pkg/fields).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"

namespace skiff::master::api {

struct LabelRequirement {
  enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist, GreaterThan, LessThan };
  std::string key;
  Op op;
  std::vector<std::string> values;
};

// "app=web,tier in (a,b),!canary,env!=prod". Empty = everything.
class LabelSelector {
 public:
  static Result<LabelSelector> parse(const std::string& text);
  // From a metav1.LabelSelector object ({matchLabels, matchExpressions}).
  static Result<LabelSelector> fromObject(const nlohmann::json& sel);
  bool matches(const nlohmann::json& labels) const;  // labels: object or null
  bool empty() const { return reqs_.empty(); }
  // Canonical text form ("app=web,tier in (a,b)"), as kubectl shows selectors.
  std::string toString() const;

 private:
  std::vector<LabelRequirement> reqs_;
};

struct FieldRequirement {
  std::string field;
  bool negate = false;
  std::string value;
};

// "metadata.name=x,status.phase!=Failed". Fields are checked against what the resource
// supports (BadRequest "field label not supported: <f>" otherwise, as upstream).
class FieldSelector {
 public:
  static Result<FieldSelector> parse(const std::string& text, const std::string& kind);
  bool matches(const nlohmann::json& obj) const;
  bool empty() const { return reqs_.empty(); }
  const std::vector<FieldRequirement>& requirements() const { return reqs_; }

 private:
  std::vector<FieldRequirement> reqs_;
};

// The string value of a dotted field path ("spec.nodeName") as field selectors compare it:
// missing = "", booleans "true"/"false", numbers in decimal.
std::string fieldValue(const nlohmann::json& obj, const std::string& path);

}  // namespace skiff::master::api
