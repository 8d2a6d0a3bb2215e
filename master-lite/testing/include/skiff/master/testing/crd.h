#pragma once

// CustomResourceDefinitions as the tests and benches write them: a Namespaced kind whose versions
// each have an object schema with a `spec` of given properties.

#include <string>

#include <nlohmann/json.hpp>

namespace skiff::master::testing {

// A served version `name` whose schema is an object with a `spec` object of `spec_properties`.
inline nlohmann::json crdVersion(const std::string& name, bool storage,
                                 nlohmann::json spec_properties) {
  return {{"name", name},
          {"served", true},
          {"storage", storage},
          {"schema",
           {{"openAPIV3Schema",
             {{"type", "object"},
              {"properties",
               {{"spec", {{"type", "object"}, {"properties", std::move(spec_properties)}}}}}}}}}};
}

// The CRD of `names` (plural, kind, ...) in `group`, named <plural>.<group>, with `versions`.
inline nlohmann::json crdObject(const std::string& group, const nlohmann::json& names,
                                nlohmann::json versions) {
  return {{"apiVersion", "apiextensions.k8s.io/v1"},
          {"kind", "CustomResourceDefinition"},
          {"metadata", {{"name", names.value("plural", "") + "." + group}}},
          {"spec",
           {{"group", group},
            {"scope", "Namespaced"},
            {"names", names},
            {"versions", std::move(versions)}}}};
}

}  // namespace skiff::master::testing
