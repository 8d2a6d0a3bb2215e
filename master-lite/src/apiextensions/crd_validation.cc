// ValidateCustomResourceDefinition(Update) (pkg/apis/apiextensions/validation/validation.go):
// what a CRD must say before it is stored, with upstream's field paths and messages.
#include <algorithm>
#include <cctype>
#include <set>

#include "skiff/master/api/object_util.h"
#include "skiff/master/apiextensions/apiextensions.h"

namespace skiff::master::apiextensions {
namespace {

using api::at;
using api::FieldError;
using api::FieldErrors;
using api::str;
using Type = FieldError::Type;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string index(const std::string& p, std::size_t i) { return p + "[" + std::to_string(i) + "]"; }

void notSupported(FieldErrors& errs, const std::string& f, const json& v,
                  const std::vector<std::string>& ok) {
  std::string d = "supported values: ";
  for (std::size_t i = 0; i < ok.size(); ++i) d += (i ? ", " : "") + json(ok[i]).dump();
  errs.push_back({Type::NotSupported, f, v, d});
}

// An enum field: required, and one of `ok`.
void enumField(FieldErrors& errs, const json& obj, const char* key, const std::string& path,
               const std::vector<std::string>& ok) {
  std::string v = obj.is_object() ? obj.value(key, "") : "";
  if (v.empty()) {
    errs.push_back({Type::Required, path, json(), ""});
  } else if (std::find(ok.begin(), ok.end(), v) == ok.end()) {
    notSupported(errs, path, v, ok);
  }
}

void validateNames(FieldErrors& errs, const json& names, const std::string& p, bool required) {
  auto get = [&](const char* k) { return names.is_object() ? names.value(k, "") : std::string(); };
  std::string plural = get("plural"), singular = get("singular"), kind = get("kind"),
              list_kind = get("listKind");
  if (required) {
    if (plural.empty()) errs.push_back({Type::Required, p + ".plural", json(), ""});
    if (singular.empty()) errs.push_back({Type::Required, p + ".singular", json(), ""});
    if (kind.empty()) errs.push_back({Type::Required, p + ".kind", json(), ""});
    if (list_kind.empty()) errs.push_back({Type::Required, p + ".listKind", json(), ""});
  }
  auto dns = [&](const std::string& v, const std::string& f, const std::string& prefix) {
    if (v.empty()) return;
    std::string m = api::checkDns1035Label(prefix.empty() ? v : lower(v));
    if (!m.empty()) errs.push_back({Type::Invalid, f, v, prefix + m});
  };
  dns(plural, p + ".plural", "");
  dns(singular, p + ".singular", "");
  const std::string mixed = "may have mixed case, but should otherwise match: ";
  dns(kind, p + ".kind", mixed);
  dns(list_kind, p + ".listKind", mixed);
  if (names.is_object() && names.contains("shortNames") && names["shortNames"].is_array()) {
    for (std::size_t i = 0; i < names["shortNames"].size(); ++i)
      dns(names["shortNames"][i].get<std::string>(), index(p + ".shortNames", i), "");
  }
  if (!kind.empty() && kind == list_kind)
    errs.push_back(
        {Type::Invalid, p + ".listKind", list_kind, "kind and listKind may not be the same"});
  if (names.is_object() && names.contains("categories") && names["categories"].is_array()) {
    for (std::size_t i = 0; i < names["categories"].size(); ++i)
      dns(names["categories"][i].get<std::string>(), index(p + ".categories", i), "");
  }
}

void validatePrinterColumns(FieldErrors& errs, const json& cols, const std::string& p) {
  if (!cols.is_array()) return;
  static const std::vector<std::string> types{"boolean", "date", "integer", "number", "string"};
  static const std::vector<std::string> formats{"byte",  "date",  "date-time", "double",
                                                "float", "int32", "int64",     "password"};
  for (std::size_t i = 0; i < cols.size(); ++i) {
    const json& c = cols[i];
    std::string cp = index(p, i);
    if (c.value("name", "").empty()) errs.push_back({Type::Required, cp + ".name", json(), ""});
    std::string t = c.value("type", "");
    if (t.empty()) {
      errs.push_back({Type::Required, cp + ".type", json(),
                      "must be one of boolean,date,integer,number,string"});
    } else if (std::find(types.begin(), types.end(), t) == types.end()) {
      errs.push_back(
          {Type::Invalid, cp + ".type", t, "must be one of boolean,date,integer,number,string"});
    }
    std::string f = c.value("format", "");
    if (!f.empty() && std::find(formats.begin(), formats.end(), f) == formats.end()) {
      errs.push_back({Type::Invalid, cp + ".format", f,
                      "must be one of byte,date,date-time,double,float,int32,int64,password"});
    }
    if (c.value("jsonPath", "").empty())
      errs.push_back({Type::Required, cp + ".JSONPath", json(), ""});
  }
}

void validateSubresources(FieldErrors& errs, const json& subs, const std::string& p) {
  if (!subs.is_object() || !subs.contains("scale")) return;
  const json& sc = subs["scale"];
  auto path = [&](const char* k, const char* prefix, bool required) {
    std::string v = sc.value(k, "");
    std::string fp = p + ".scale." + k;
    if (v.empty()) {
      if (required) errs.push_back({Type::Required, fp, json(), ""});
      return;
    }
    if (v.rfind(prefix, 0) != 0) {
      errs.push_back({Type::Invalid, fp, v,
                      std::string("should be a json path under ") + (prefix + 1) +
                          ", of the form " + prefix + "field"});
    }
  };
  path("specReplicasPath", ".spec.", true);
  path("statusReplicasPath", ".status.", true);
  path("labelSelectorPath", "", false);
}

void validateVersions(FieldErrors& errs, const json& spec) {
  const json& versions = spec.contains("versions") ? spec["versions"] : json();
  if (!versions.is_array() || versions.empty()) {
    errs.push_back({Type::Invalid, "spec.versions", json::array(),
                    "must have exactly one version marked as storage version"});
    return;
  }
  std::set<std::string> names;
  int storage = 0;
  for (std::size_t i = 0; i < versions.size(); ++i) {
    const json& v = versions[i];
    std::string vp = index("spec.versions", i);
    std::string name = v.value("name", "");
    std::string m = api::checkDns1035Label(name);
    if (!m.empty()) errs.push_back({Type::Invalid, vp + ".name", name, m});
    names.insert(name);
    if (v.value("storage", false)) ++storage;
    const json& schema = at(v, {"schema", "openAPIV3Schema"});
    if (schema.is_null()) {
      errs.push_back({Type::Required, vp + ".schema.openAPIV3Schema", json(), ""});
    } else {
      for (auto& e : validateSchema(schema, vp + ".schema.openAPIV3Schema")) errs.push_back(e);
      if (schema.is_object() && schema.value("nullable", false))
        errs.push_back({Type::Forbidden, vp + ".schema.openAPIV3Schema.nullable", json(),
                        "nullable cannot be true at the root"});
    }
    validateSubresources(errs, v.value("subresources", json()), vp + ".subresources");
    validatePrinterColumns(errs, v.value("additionalPrinterColumns", json()),
                           vp + ".additionalPrinterColumns");
  }
  if (names.size() != versions.size())
    errs.push_back({Type::Invalid, "spec.versions", json("<value omitted>"),
                    "must contain unique version names"});
  if (storage != 1)
    errs.push_back({Type::Invalid, "spec.versions", json("<value omitted>"),
                    "must have exactly one version marked as storage version"});
}

void validateConversion(FieldErrors& errs, const json& spec) {
  const json& c = spec.contains("conversion") ? spec["conversion"] : json();
  if (!c.is_object()) return;
  enumField(errs, c, "strategy", "spec.conversion.strategy", {"None", "Webhook"});
  std::string s = c.value("strategy", "");
  if (s == "Webhook") {
    const json& cc = at(c, {"webhook", "clientConfig"});
    if (!cc.is_object()) {
      errs.push_back({Type::Required, "spec.conversion.webhook.clientConfig", json(),
                      "required when strategy is set to Webhook"});
    } else if (cc.contains("url") == cc.contains("service")) {
      errs.push_back({Type::Required, "spec.conversion.webhook.clientConfig", json(),
                      "exactly one of url or service is required"});
    }
  } else if (s == "None" && c.contains("webhook")) {
    errs.push_back({Type::Forbidden, "spec.conversion.webhookClientConfig", json(),
                    "should not be set when strategy is not set to Webhook"});
  }
}

}  // namespace

FieldErrors validateCrd(const json& crd, const json* old) {
  FieldErrors errs;
  const json& spec = crd.contains("spec") ? crd["spec"] : json::object();
  std::string name = str(crd, {"metadata", "name"});
  std::string group = spec.value("group", "");
  std::string plural = str(spec, {"names", "plural"});
  if (name.empty()) {
    errs.push_back({Type::Required, "metadata.name", json(), "name or generateName is required"});
  } else {
    std::string m = api::checkDns1123Subdomain(name);
    if (!m.empty()) errs.push_back({Type::Invalid, "metadata.name", name, m});
    if (name != plural + "." + group)
      errs.push_back(
          {Type::Invalid, "metadata.name", name, "must be spec.names.plural+\".\"+spec.group"});
  }
  if (group.empty()) {
    errs.push_back({Type::Required, "spec.group", json(), ""});
  } else if (auto m = api::checkDns1123Subdomain(group); !m.empty()) {
    errs.push_back({Type::Invalid, "spec.group", group, m});
  } else if (group.find('.') == std::string::npos) {
    errs.push_back(
        {Type::Invalid, "spec.group", group, "should be a domain with at least one dot"});
  }
  enumField(errs, spec, "scope", "spec.scope", {"Cluster", "Namespaced"});
  validateVersions(errs, spec);
  validateNames(errs, spec.value("names", json::object()), "spec.names", true);
  validateConversion(errs, spec);
  validateNames(errs, at(crd, {"status", "acceptedNames"}), "status.acceptedNames", false);
  if (old) {
    std::string was = str(*old, {"spec", "scope"});
    if (!was.empty() && spec.value("scope", "") != was)
      errs.push_back({Type::Invalid, "spec.scope", spec.value("scope", ""), "field is immutable"});
    if (str(*old, {"spec", "group"}) != group)
      errs.push_back({Type::Invalid, "spec.group", group, "field is immutable"});
  }
  return errs;
}

}  // namespace skiff::master::apiextensions
