#pragma once

// Label and field selectors as apimachinery's labels.Selector / fields.Selector: parsed once,
// matched many times. Accepts the string syntax of ?labelSelector= ("a=b,c!=d,e in (x,y),
// f notin (z),g,!h") and the metav1.LabelSelector JSON (matchLabels + matchExpressions).

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"

namespace skiff::master {

using json = nlohmann::json;

class LabelSelector {
 public:
  enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };

  // The empty selector matches everything.
  LabelSelector() = default;
  static Result<LabelSelector> parse(const std::string& text);
  // metav1.LabelSelector. A null/absent selector matches nothing (as LabelSelectorAsSelector
  // does for nil); an empty object {} matches everything.
  static Result<LabelSelector> fromJson(const json& selector);
  // A selector that matches nothing.
  static LabelSelector nothing();

  bool matches(const std::map<std::string, std::string>& labels) const;
  bool empty() const { return reqs_.empty() && !nothing_; }
  // The canonical string form ("app=web,tier in (a,b)"), used in Scale status.selector.
  std::string toString() const;
  const std::vector<Requirement>& requirements() const { return reqs_; }

 private:
  std::vector<Requirement> reqs_;
  bool nothing_ = false;
};

// A field selector with =, == and != terms over dotted paths ("spec.nodeName=n1").
class FieldSelector {
 public:
  struct Term {
    std::vector<std::string> path;
    bool equal;
    std::string value;
  };
  FieldSelector() = default;
  static Result<FieldSelector> parse(const std::string& text);
  // Missing fields read as "" (as the API server's field sets do for unset values).
  bool matches(const json& obj) const;
  bool empty() const { return terms_.empty(); }
  const std::vector<Term>& terms() const { return terms_; }

 private:
  std::vector<Term> terms_;
};

}  // namespace skiff::master
