#pragma once

// Label and field selectors as apimachinery's labels.Selector and fields.Selector: parsed once,
// matched many times. One implementation serves the API server (?labelSelector=,
// ?fieldSelector=, spec.selector validation, Scale status) and the controllers, scheduler and
// informers, so both sides agree on what a selector selects.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"

namespace skiff::master {

// The string syntax of ?labelSelector= ("a=b,c!=d,e in (x,y),f notin (z),g,!h,n>3") and the
// metav1.LabelSelector object (matchLabels + matchExpressions).
class LabelSelector {
 public:
  enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist, GreaterThan, LessThan };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };

  // The empty selector matches everything.
  LabelSelector() = default;
  // Syntax errors are BadRequest ("unable to parse requirement: ...").
  static Result<LabelSelector> parse(const std::string& text);
  // metav1.LabelSelector. A null/absent selector matches nothing (as LabelSelectorAsSelector
  // does for nil); an empty object {} matches everything. Bad operators are Invalid.
  static Result<LabelSelector> fromJson(const nlohmann::json& selector);
  // A selector that matches nothing.
  static LabelSelector nothing();

  bool matches(const std::map<std::string, std::string>& labels) const;
  // `labels` as stored in metadata.labels: an object of strings, or null for no labels.
  bool matches(const nlohmann::json& labels) const;
  // True for the match-everything selector (not for nothing()).
  bool empty() const { return reqs_.empty() && !nothing_; }
  // The canonical string form ("app=web,tier in (a,b)"), as kubectl shows selectors and Scale
  // status.selector carries them; set values sorted as apimachinery's String() does.
  std::string toString() const;
  const std::vector<Requirement>& requirements() const { return reqs_; }

 private:
  template <typename Lookup>
  bool matchesWith(Lookup&& lookup) const;

  std::vector<Requirement> reqs_;
  bool nothing_ = false;
};

// "metadata.name=x,status.phase!=Failed": =, == and != terms over dotted field paths. Missing
// fields read as "" (as the API server's field sets hold unset values), booleans as
// "true"/"false", numbers in decimal; the API server's field aliases apply ("source" is
// source.component of an Event, "status.podIPs" the primary pod IP, an unset
// spec.unschedulable is "false").
class FieldSelector {
 public:
  struct Term {
    std::string field;  // dotted path as written
    bool equal = true;  // false for !=
    std::string value;
  };

  FieldSelector() = default;
  static Result<FieldSelector> parse(const std::string& text);
  // Like parse, and each field must be one the API server supports for `kind` (metadata.name
  // and metadata.namespace everywhere): BadRequest "field label not supported: <f>" otherwise.
  static Result<FieldSelector> parseFor(const std::string& text, const std::string& kind);

  bool matches(const nlohmann::json& obj) const;
  bool empty() const { return terms_.empty(); }
  const std::vector<Term>& terms() const { return terms_; }

 private:
  std::vector<Term> terms_;
};

}  // namespace skiff::master
