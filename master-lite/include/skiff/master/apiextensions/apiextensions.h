#pragma once

// apiextensions.k8s.io/v1: CustomResourceDefinitions and the resources they define
// (k8s.io/apiextensions-apiserver). The schema functions work on the OpenAPI v3 schema as JSON
// (JSONSchemaProps); field paths and messages are upstream's.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/master/api/object_util.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/api/strategy.h"
#include "skiff/master/api/validation.h"
#include "skiff/master/apiextensions/custom_resource.h"

namespace skiff::master::apiextensions {

using json = nlohmann::json;

// The finalizer a deleted CRD carries until its objects are gone (crd_finalizer.go).
inline constexpr const char* kCleanupFinalizer = "customresourcecleanup.apiextensions.k8s.io";

// ---- schemas (schema_*.cc) --------------------------------------------------------------------
// The structural-schema rules of a CRD version's schema (pkg/apiserver/schema/validation.go and
// the CRD validation's schema checks), paths under `path`
// ("spec.versions[0].schema.openAPIV3Schema").
api::FieldErrors validateSchema(const json& schema, const std::string& path);
// Validates a custom object against its schema (kube-openapi's validator as upstream reports it):
// `spec.size: Invalid value: 20: spec.size in body should be less than or equal to 10`.
api::FieldErrors validateBySchema(const json& schema, const json& obj);
// Applies `default`s of the schema where a field is absent (or null and not nullable).
void applySchemaDefaults(const json& schema, json& obj);
// Removes fields the schema does not specify (unless x-kubernetes-preserve-unknown-fields);
// apiVersion, kind and metadata at the root and in embedded resources stay. The removed paths
// go to `pruned` when given ("spec.extra").
void pruneBySchema(const json& schema, json& obj, std::vector<std::string>* pruned = nullptr);
// "<path>: <rule>" of every x-kubernetes-validations rule in the schema.
std::vector<std::string> celRules(const json& schema);

// ---- CustomResourceDefinitions (crd_*.cc) ------------------------------------------------------
// ValidateCustomResourceDefinition(Update): metadata.name, group, names, scope, versions
// (exactly one storage version), schemas, subresources, printer columns, conversion.
api::FieldErrors validateCrd(const json& crd, const json* old);
// The resources a CRD serves (one per served version), from its accepted names.
std::vector<api::ResourceInfo> resourcesOf(const json& crd);
// The scale subresource of a custom resource with subresources.scale: the autoscaling/v1 Scale
// read from, and the replicas written to, the CRD's paths.
json customScale(const api::ResourceInfo& r, const json& obj);
void setCustomReplicas(const api::ResourceInfo& r, json& obj, const json& replicas);
// The strategies: CustomResourceDefinition itself, and every custom resource.
api::StrategyPtr newCrdStrategy();
api::StrategyPtr newCustomResourceStrategy();

// The controllers of apiextensions-apiserver in one loop: naming (NamesAccepted and
// status.acceptedNames, conflicts with other CRDs), establishing (Established, then the kind is
// served: resource table, strategy, discovery), and finalizing (a deleted CRD's objects are
// deleted, its kind stops being served, the cleanup finalizer is removed).
class CrdController {
 public:
  virtual ~CrdController() = default;
  // One pass over every CRD (also what the loop runs every 200 ms).
  virtual void sync() = 0;
  virtual void stop() = 0;
};
// `run_loop` false: no thread, the caller calls sync() (tests).
std::unique_ptr<CrdController> startCrdController(api::Registry& registry, bool run_loop = true);

// ---- Tables (printer_columns.cc, jsonpath.cc) ---------------------------------------------------
// Name and the version's additionalPrinterColumns (Age when it has none).
json customTableColumns(const api::ResourceInfo& r);
json customTableCells(const api::ResourceInfo& r, const json& obj, api::Clock::time_point now);
// The values a printer column's JSONPath selects (`.status.conditions[?(@.type=="Ready")].status`).
std::vector<json> evalJsonPath(const std::string& path, const json& obj);

// ---- OpenAPI (openapi.cc; the documents: skiff/master/openapi/openapi.h) ---------------------
// The definitions of a custom kind as the CRD OpenAPI builder publishes them, by name: the kind
// ("com.example.v1.Widget", its version's schema with apiVersion, kind and metadata) and its
// list. Refs point at "#/components/schemas/" (v3) or "#/definitions/" (v2).
json customKindDefinitions(const api::ResourceInfo& r, bool v3);
// "com.example.v1.Widget"
std::string customKindDefinitionName(const api::ResourceInfo& r);

}  // namespace skiff::master::apiextensions
