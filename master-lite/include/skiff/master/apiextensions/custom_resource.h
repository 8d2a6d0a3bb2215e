#pragma once

// What a resource served from a CustomResourceDefinition version carries (ResourceInfo::custom):
// the version's OpenAPI v3 schema, its printer columns, the scale subresource's paths and how
// objects convert between versions.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/master/api/resources.h"

namespace skiff::master::api {

struct CustomResourceInfo {
  std::string crd_name;   // "widgets.example.com"
  std::string list_kind;  // "WidgetList"
  nlohmann::json schema;  // spec.versions[].schema.openAPIV3Schema (null: none)
  nlohmann::json printer_columns = nlohmann::json::array();  // additionalPrinterColumns
  bool scale = false;                                        // subresources.scale
  std::string spec_replicas_path;                            // ".spec.replicas"
  std::string status_replicas_path;                          // ".status.replicas"
  std::string label_selector_path;                           // "" = none
  // x-kubernetes-validations rules ("<path>: <rule>"), not enforced here (no CEL): each write
  // gets a Warning naming them.
  std::vector<std::string> validation_rules;
  // spec.conversion.webhook (clientConfig, conversionReviewVersions) when the CRD's conversion
  // strategy is Webhook; null for None (versions differ only in apiVersion).
  nlohmann::json conversion_webhook;
  // The schema has `default`s: objects read from the store get them too (defaulting on read),
  // but only objects last written before this revision (the CRD's when it was served) can lack
  // one; later ones were defaulted on write and are read as stored. 0: no defaults.
  std::int64_t defaults_before_rev = 0;
};

}  // namespace skiff::master::api
