// The rules a CRD version's schema must follow: structural (pkg/apiserver/schema/validation.go,
// ValidateStructural) and the CRD validation's per-schema checks
// (pkg/apis/apiextensions/validation/validation.go, ValidateCustomResourceDefinitionOpenAPISchema),
// with upstream's paths and messages.
#include <algorithm>
#include <set>

#include "go_regexp.h"
#include "skiff/master/apiextensions/apiextensions.h"

namespace skiff::master::apiextensions {
namespace {

using api::FieldError;
using api::FieldErrors;
using Type = FieldError::Type;

enum class Level { Root, Item, Field };

const std::vector<std::string> kTypes{"array", "boolean", "integer", "number", "object", "string"};

class StructuralChecker {
 public:
  FieldErrors errs;

  void node(const json& s, Level lvl, const std::string& p) {
    if (!s.is_object()) {
      errs.push_back({Type::Invalid, p, s, "must be a JSON schema object"});
      return;
    }
    std::string type = s.value("type", "");
    bool int_or_string = s.value("x-kubernetes-int-or-string", false);
    bool preserve = s.value("x-kubernetes-preserve-unknown-fields", false);
    bool embedded = s.value("x-kubernetes-embedded-resource", false);
    if (!type.empty() && std::find(kTypes.begin(), kTypes.end(), type) == kTypes.end())
      notSupported(p + ".type", type, kTypes);
    if (type == "array" && !s.contains("items"))
      errs.push_back({Type::Required, p + ".items", json(), "must be specified"});
    if (s.contains("items")) {
      if (s["items"].is_array())
        errs.push_back({Type::Forbidden, p + ".items", json(),
                        "items must be a schema object and not an array"});
      else
        node(s["items"], Level::Item, p + ".items");
    }
    if (s.contains("properties") && s["properties"].is_object()) {
      for (const auto& [k, v] : s["properties"].items())
        node(v, Level::Field, p + ".properties[" + k + "]");
    }
    if (s.contains("additionalProperties")) {
      if (lvl == Level::Root)
        errs.push_back(
            {Type::Forbidden, p + ".additionalProperties", json(), "must not be used at the root"});
      if (s.contains("properties") && s["additionalProperties"].is_object())
        errs.push_back({Type::Forbidden, p + ".additionalProperties", json(),
                        "additionalProperties and properties are mutual exclusive"});
      if (embedded)
        errs.push_back({Type::Forbidden, p + ".additionalProperties", json(),
                        "must not be used if x-kubernetes-embedded-resource is set"});
      if (s["additionalProperties"].is_object())
        node(s["additionalProperties"], Level::Field, p + ".additionalProperties");
    }
    if (embedded && type != "object") {
      wrongType(p, type, "must be object if x-kubernetes-embedded-resource is true");
    } else if (type.empty() && !int_or_string && !preserve) {
      const char* d = lvl == Level::Root   ? "must not be empty at the root"
                      : lvl == Level::Item ? "must not be empty for specified array items"
                                           : "must not be empty for specified object fields";
      errs.push_back({Type::Required, p + ".type", json(), d});
    }
    if (lvl == Level::Root && !type.empty() && type != "object")
      errs.push_back({Type::Invalid, p + ".type", type, "must be object at the root"});
    if (embedded && !preserve && !(s.contains("properties") && !s["properties"].empty()))
      errs.push_back({Type::Required, p + ".properties", json(),
                      "must not be empty if x-kubernetes-embedded-resource is true without "
                      "x-kubernetes-preserve-unknown-fields"});
    if (int_or_string && preserve)
      errs.push_back({Type::Invalid, p + ".x-kubernetes-preserve-unknown-fields", true,
                      "must be false if x-kubernetes-int-or-string is true"});
    if (s.contains("x-kubernetes-preserve-unknown-fields") && !preserve)
      errs.push_back({Type::Invalid, p + ".x-kubernetes-preserve-unknown-fields", false,
                      "must be true or undefined"});
    if (s.value("uniqueItems", false))
      errs.push_back(
          {Type::Forbidden, p + ".uniqueItems", json(),
           "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"});
    metadata(s, lvl == Level::Root || embedded, lvl, p);
    pattern(s, p);
    listType(s, type, p);
    for (const char* c : {"allOf", "anyOf", "oneOf"}) {
      if (!s.contains(c) || !s[c].is_array()) continue;
      for (std::size_t i = 0; i < s[c].size(); ++i) {
        bool int_or_string_pattern = int_or_string && std::string(c) != "oneOf";
        valueValidation(s[c][i], p + "." + c + "[" + std::to_string(i) + "]",
                        int_or_string_pattern);
      }
    }
    if (s.contains("not")) valueValidation(s["not"], p + ".not", false);
    defaultValue(s, p);
  }

 private:
  void notSupported(const std::string& f, const json& v, const std::vector<std::string>& ok) {
    std::string d = "supported values: ";
    for (std::size_t i = 0; i < ok.size(); ++i) d += (i ? ", " : "") + json(ok[i]).dump();
    errs.push_back({Type::NotSupported, f, v, d});
  }

  void metadata(const json& s, bool check, Level lvl, const std::string& p) {
    if (!s.contains("properties") || !s["properties"].is_object()) return;
    const json& props = s["properties"];
    for (const char* k : {"kind", "apiVersion"}) {
      if (check && props.contains(k) && props[k].value("type", "") != "string")
        errs.push_back({Type::Invalid, p + ".properties[" + k + "].type",
                        props[k].value("type", ""), "must be string"});
    }
    if (!props.contains("metadata")) return;
    const json& m = props["metadata"];
    std::string mp = p + ".properties[metadata]";
    if (check && m.value("type", "") != "object")
      errs.push_back({Type::Invalid, mp + ".type", m.value("type", ""), "must be object"});
    if (lvl != Level::Root) return;
    for (const auto& [k, v] : m.items()) {
      bool allowed = k == "type" || k == "default";
      if (k == "properties" && v.is_object()) {
        allowed = std::all_of(v.items().begin(), v.items().end(), [](const auto& it) {
          return it.key() == "name" || it.key() == "generateName";
        });
      }
      if (!allowed) {
        errs.push_back({Type::Forbidden, mp, json(),
                        "must not specify anything other than name and generateName, but "
                        "metadata is implicitly specified"});
        return;
      }
    }
  }

  void pattern(const json& s, const std::string& p) {
    if (!s.contains("pattern") || !s["pattern"].is_string()) return;
    if (auto why = goRegexpError(s["pattern"].get<std::string>())) {
      errs.push_back({Type::Invalid, p + ".pattern", s["pattern"],
                      "must be a valid regular expression, but isn't: " + *why});
    }
  }

  // `p`.type is not the one an extension needs: Required when unset, else Invalid.
  void wrongType(const std::string& p, const std::string& type, const char* detail) {
    if (type.empty())
      errs.push_back({Type::Required, p + ".type", json(), detail});
    else
      errs.push_back({Type::Invalid, p + ".type", type, detail});
  }

  void listType(const json& s, const std::string& type, const std::string& p) {
    if (!s.contains("x-kubernetes-list-type")) {
      if (s.contains("x-kubernetes-list-map-keys") && !s["x-kubernetes-list-map-keys"].empty())
        errs.push_back({Type::Required, p + ".x-kubernetes-list-type", json(),
                        "must be map if x-kubernetes-list-map-keys is non-empty"});
      return;
    }
    std::string lt = s.value("x-kubernetes-list-type", "");
    if (type != "array") {
      wrongType(p, type, "must be array if x-kubernetes-list-type is specified");
    }
    if (lt != "atomic" && lt != "set" && lt != "map") {
      notSupported(p + ".x-kubernetes-list-type", lt, {"atomic", "set", "map"});
      return;
    }
    const json& items = s.contains("items") ? s["items"] : json();
    if (lt == "set" && items.is_object() &&
        (items.value("type", "") == "object" || items.value("type", "") == "array")) {
      errs.push_back({Type::Invalid, p + ".items.x-kubernetes-list-type", items.value("type", ""),
                      "must be atomic as item of a list with x-kubernetes-list-type=set"});
    }
    if (lt == "map") {
      if (!s.contains("x-kubernetes-list-map-keys") || s["x-kubernetes-list-map-keys"].empty())
        errs.push_back({Type::Required, p + ".x-kubernetes-list-map-keys", json(),
                        "must not be empty if x-kubernetes-list-type is map"});
      if (!items.is_object())
        errs.push_back({Type::Required, p + ".items", json(),
                        "must have a schema if x-kubernetes-list-type is map"});
      else if (items.value("type", "") != "object")
        errs.push_back({Type::Invalid, p + ".items.type", items.value("type", ""),
                        "must be object if parent array's x-kubernetes-list-type is map"});
    } else if (s.contains("x-kubernetes-list-map-keys") &&
               !s["x-kubernetes-list-map-keys"].empty()) {
      errs.push_back({Type::Invalid, p + ".x-kubernetes-list-type", lt,
                      "must be map if x-kubernetes-list-map-keys is non-empty"});
    }
  }

  // Inside allOf/anyOf/oneOf/not only value validations may appear.
  void valueValidation(const json& s, const std::string& p, bool int_or_string_pattern) {
    if (!s.is_object()) return;
    auto forbid = [&](const char* k, const char* d) {
      if (s.contains(k)) errs.push_back({Type::Forbidden, p + "." + k, json(), d});
    };
    if (!int_or_string_pattern) forbid("type", "must be empty to be structural");
    forbid("additionalProperties", "must be undefined to be structural");
    forbid("default", "must be undefined to be structural");
    forbid("title", "must be empty to be structural");
    forbid("description", "must be empty to be structural");
    if (s.value("nullable", false)) forbid("nullable", "must be false to be structural");
    forbid("x-kubernetes-preserve-unknown-fields", "must be false to be structural");
    forbid("x-kubernetes-embedded-resource", "must be false to be structural");
    forbid("x-kubernetes-int-or-string", "must be false to be structural");
    forbid("x-kubernetes-list-map-keys", "must be empty to be structural");
    forbid("x-kubernetes-list-type", "must be undefined to be structural");
    forbid("x-kubernetes-map-type", "must be undefined to be structural");
    forbid("x-kubernetes-validations", "must be empty to be structural");
    if (s.contains("properties") && s["properties"].is_object()) {
      for (const auto& [k, v] : s["properties"].items()) {
        if (k == "metadata") {
          errs.push_back({Type::Forbidden, p + ".properties[metadata]", json(),
                          "must not be specified in a nested context"});
        }
        valueValidation(v, p + ".properties[" + k + "]", false);
      }
    }
    if (s.contains("items") && s["items"].is_object())
      valueValidation(s["items"], p + ".items", false);
    for (const char* c : {"allOf", "anyOf", "oneOf"}) {
      if (!s.contains(c) || !s[c].is_array()) continue;
      for (std::size_t i = 0; i < s[c].size(); ++i)
        valueValidation(s[c][i], p + "." + c + "[" + std::to_string(i) + "]",
                        int_or_string_pattern);
    }
    if (s.contains("not")) valueValidation(s["not"], p + ".not", false);
  }

  // A default must validate against its own schema and survive pruning.
  void defaultValue(const json& s, const std::string& p) {
    if (!s.contains("default")) return;
    const json& d = s["default"];
    std::vector<std::string> dropped;
    json sub = s;
    sub.erase("default");
    if (d.is_object()) {
      pruneValue(sub, d, dropped);
      if (!dropped.empty()) {
        errs.push_back({Type::Invalid, p + ".default", d,
                        "must not have unknown fields, got: " + dropped.front()});
      }
    }
    for (auto e : validateBySchema(sub, d)) {
      // Errors at the default itself name it "default" ("default in body should be ...").
      if (e.field.empty() && e.detail.rfind(". in body", 0) == 0)
        e.detail = "default" + e.detail.substr(1);
      e.field = p + ".default" + (e.field.empty() ? "" : "." + e.field);
      errs.push_back(std::move(e));
      break;
    }
  }

  // The top-level fields of an object default the schema does not specify.
  static void pruneValue(const json& s, const json& v, std::vector<std::string>& dropped) {
    if (!v.is_object() || s.value("x-kubernetes-preserve-unknown-fields", false)) return;
    if (s.contains("additionalProperties") && s["additionalProperties"].is_object()) return;
    for (const auto& [k, x] : v.items()) {
      if (!(s.contains("properties") && s["properties"].contains(k))) dropped.push_back(k);
    }
  }
};

}  // namespace

FieldErrors validateSchema(const json& schema, const std::string& path) {
  StructuralChecker c;
  c.node(schema, Level::Root, path);
  // Upstream sorts by message so the order does not depend on map iteration.
  std::stable_sort(c.errs.begin(), c.errs.end(), [](const FieldError& a, const FieldError& b) {
    return a.message() < b.message();
  });
  return c.errs;
}

}  // namespace skiff::master::apiextensions
