// Validation of a custom object by its OpenAPI v3 schema, reported as apiextensions-apiserver
// reports kube-openapi's results (pkg/apiserver/validation/validation.go
// kubeOpenAPIResultToFieldErrors): `<path> in body should be ...` details under the field.
#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "go_regexp.h"
#include "schema_internal.h"
#include "skiff/master/apiextensions/apiextensions.h"

namespace skiff::master::apiextensions {
namespace {

using api::FieldError;
using api::FieldErrors;
using Type = FieldError::Type;

std::string typeName(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

bool isIntegral(const json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return true;
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool typeMatches(const std::string& want, const json& v) {
  if (want == "integer") return isIntegral(v);
  if (want == "number") return v.is_number();
  if (want == "string") return v.is_string();
  if (want == "boolean") return v.is_boolean();
  if (want == "array") return v.is_array();
  if (want == "object") return v.is_object();
  return true;
}

// How Go's %v prints a float64 bound (10, 1.5, 1e+21).
std::string goNumber(const json& n) {
  if (isIntegral(n) && std::fabs(n.get<double>()) < 1e21) {
    if (n.is_number_float()) return std::to_string(static_cast<long long>(n.get<double>()));
    return n.dump();
  }
  return n.dump();
}

class Checker {
 public:
  FieldErrors errs;

  void check(const json& s, const json& v, const std::string& path) {
    if (!s.is_object()) return;
    if (v.is_null()) {
      if (s.value("nullable", false)) return;
      if (s.value("x-kubernetes-int-or-string", false))
        invalidType(path, "integer,string", "null");
      else if (s.contains("type") && s["type"].is_string())
        invalidType(path, s["type"].get<std::string>(), "null");
      return;
    }
    if (s.value("x-kubernetes-int-or-string", false)) {
      if (!isIntegral(v) && !v.is_string()) invalidType(path, "integer,string", typeName(v));
    } else if (s.contains("type") && s["type"].is_string() &&
               !typeMatches(s["type"].get<std::string>(), v)) {
      invalidType(path, s["type"].get<std::string>(), typeName(v));
      return;
    }
    checkEnum(s, v, path);
    if (v.is_number()) checkNumber(s, v, path);
    if (v.is_string()) checkString(s, v.get<std::string>(), path);
    if (v.is_array()) checkArray(s, v, path);
    if (v.is_object()) checkObject(s, v, path);
    checkCombinators(s, v, path);
  }

 private:
  static std::string body(const std::string& path) { return path.empty() ? "." : path; }

  void invalidType(const std::string& path, const std::string& want, const std::string& got) {
    errs.push_back({Type::Invalid, path, json(got),
                    body(path) + " in body must be of type " + want + ": " + json(got).dump()});
  }
  void invalid(const std::string& path, const json& v, const std::string& what) {
    errs.push_back({Type::Invalid, path, v, body(path) + " in body " + what});
  }

  void checkEnum(const json& s, const json& v, const std::string& path) {
    if (!s.contains("enum") || !s["enum"].is_array()) return;
    for (const auto& e : s["enum"]) {
      if (e == v) return;
    }
    std::string d = "supported values: ";
    bool first = true;
    for (const auto& e : s["enum"]) {
      d += (first ? "" : ", ") +
           (e.is_string() ? json(e.get<std::string>()).dump() : json(e.dump()).dump());
      first = false;
    }
    errs.push_back({Type::NotSupported, path, v, d});
  }

  void checkNumber(const json& s, const json& v, const std::string& path) {
    double x = v.get<double>();
    if (s.contains("maximum") && s["maximum"].is_number()) {
      double m = s["maximum"].get<double>();
      bool excl = s.value("exclusiveMaximum", false);
      if (excl ? x >= m : x > m)
        invalid(path, v,
                std::string("should be less than ") + (excl ? "" : "or equal to ") +
                    goNumber(s["maximum"]));
    }
    if (s.contains("minimum") && s["minimum"].is_number()) {
      double m = s["minimum"].get<double>();
      bool excl = s.value("exclusiveMinimum", false);
      if (excl ? x <= m : x < m)
        invalid(path, v,
                std::string("should be greater than ") + (excl ? "" : "or equal to ") +
                    goNumber(s["minimum"]));
    }
    if (s.contains("multipleOf") && s["multipleOf"].is_number()) {
      double m = s["multipleOf"].get<double>();
      if (m > 0 && std::fabs(std::remainder(x, m)) > 1e-9)
        invalid(path, v, "should be a multiple of " + goNumber(s["multipleOf"]));
    }
  }

  void checkString(const json& s, const std::string& str, const std::string& path) {
    // Lengths count characters (runes), as Go's utf8.RuneCountInString.
    std::size_t runes = 0;
    for (unsigned char c : str) runes += (c & 0xC0) != 0x80;
    if (s.contains("maxLength") && s["maxLength"].is_number() &&
        runes > s["maxLength"].get<std::size_t>()) {
      auto max = s["maxLength"].get<long long>();
      errs.push_back(
          {Type::TooLong, path, json("<value omitted>"),
           "may not be more than " + std::to_string(max) + (max == 1 ? " byte" : " bytes")});
    }
    if (s.contains("minLength") && s["minLength"].is_number() &&
        runes < s["minLength"].get<std::size_t>()) {
      invalid(
          path, str,
          "should be at least " + std::to_string(s["minLength"].get<long long>()) + " chars long");
    }
    if (s.contains("pattern") && s["pattern"].is_string()) {
      const std::string& p = s["pattern"].get_ref<const std::string&>();
      // The CRD's validation rejected invalid patterns (the same engine), so nullopt is not
      // expected here; an unenforceable pattern never fails every write.
      if (goRegexpSearch(p, str) == false) invalid(path, str, "should match '" + p + "'");
    }
    if (s.contains("format") && s["format"].is_string()) {
      const std::string& f = s["format"].get_ref<const std::string&>();
      if (!formatMatches(f, str)) {
        errs.push_back({Type::Invalid, path, json(str),
                        body(path) + " in body must be of type " + f + ": " + json(str).dump()});
      }
    }
  }

  // maxItems/minItems of an array, maxProperties/minProperties of an object (upstream says
  // "item(s)" in the TooMany message of both).
  void checkSize(const json& s, const json& v, const std::string& path, const char* max_key,
                 const char* min_key, const char* min_noun) {
    if (s.contains(max_key) && s[max_key].is_number() && v.size() > s[max_key].get<std::size_t>()) {
      auto max = s[max_key].get<long long>();
      errs.push_back(
          {Type::TooMany, path, json(v.size()),
           "must have at most " + std::to_string(max) + (max == 1 ? " item" : " items")});
    }
    if (s.contains(min_key) && s[min_key].is_number() && v.size() < s[min_key].get<std::size_t>()) {
      invalid(
          path, v,
          "should have at least " + std::to_string(s[min_key].get<long long>()) + " " + min_noun);
    }
  }

  void checkArray(const json& s, const json& v, const std::string& path) {
    checkSize(s, v, path, "maxItems", "minItems", "items");
    if (s.value("uniqueItems", false)) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        for (std::size_t j = i + 1; j < v.size(); ++j) {
          if (v[i] == v[j]) {
            invalid(path, v, "shouldn't contain duplicates");
            i = j = v.size();
          }
        }
      }
    }
    if (s.contains("items") && s["items"].is_object()) {
      for (std::size_t i = 0; i < v.size(); ++i)
        check(s["items"], v[i], path + "[" + std::to_string(i) + "]");
    }
    checkListType(s, v, path, errs);
  }

  void checkObject(const json& s, const json& v, const std::string& path) {
    auto child = [&](const std::string& k) { return path.empty() ? k : path + "." + k; };
    if (s.contains("required") && s["required"].is_array()) {
      for (const auto& r : s["required"]) {
        if (r.is_string() && !v.contains(r.get<std::string>()))
          errs.push_back({Type::Required, child(r.get<std::string>()), json(), ""});
      }
    }
    checkSize(s, v, path, "maxProperties", "minProperties", "properties");
    const json& props = s.contains("properties") ? s["properties"] : json::object();
    const json* additional =
        s.contains("additionalProperties") && s["additionalProperties"].is_object()
            ? &s["additionalProperties"]
            : nullptr;
    for (const auto& [k, x] : v.items()) {
      if (path.empty() && (k == "metadata" || k == "apiVersion" || k == "kind")) continue;
      if (props.is_object() && props.contains(k)) {
        check(props[k], x, child(k));
      } else if (additional) {
        check(*additional, x, child(k));
      }
    }
    if (s.value("x-kubernetes-embedded-resource", false)) checkEmbedded(v, path);
  }

  void checkEmbedded(const json& v, const std::string& path) {
    auto child = [&](const std::string& k) { return path.empty() ? k : path + "." + k; };
    for (const char* k : {"apiVersion", "kind"}) {
      if (!v.contains(k) || !v[k].is_string() || v[k].get<std::string>().empty())
        errs.push_back({Type::Required, child(k), json(), "must not be empty"});
    }
  }

  void checkCombinators(const json& s, const json& v, const std::string& path) {
    auto passes = [&](const json& sub) {
      Checker c;
      c.check(sub, v, path);
      return c.errs.empty();
    };
    if (s.contains("allOf") && s["allOf"].is_array()) {
      for (const auto& sub : s["allOf"]) check(sub, v, path);
    }
    if (s.contains("anyOf") && s["anyOf"].is_array() && !s["anyOf"].empty()) {
      bool any = std::any_of(s["anyOf"].begin(), s["anyOf"].end(), passes);
      if (!any) invalid(path, v, "must validate at least one schema (anyOf)");
    }
    if (s.contains("oneOf") && s["oneOf"].is_array() && !s["oneOf"].empty()) {
      auto n = std::count_if(s["oneOf"].begin(), s["oneOf"].end(), passes);
      if (n != 1) invalid(path, v, "must validate one and only one schema (oneOf)");
    }
    if (s.contains("not") && s["not"].is_object() && passes(s["not"]))
      invalid(path, v, "must not validate the schema (not)");
  }
};

}  // namespace

FieldErrors validateBySchema(const json& schema, const json& obj) {
  Checker c;
  c.check(schema, obj, "");
  return c.errs;
}

}  // namespace skiff::master::apiextensions
