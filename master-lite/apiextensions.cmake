# apiextensions.k8s.io (issue 20): CustomResourceDefinitions, the custom resources they serve
# (schema validation, defaulting, pruning, printer columns, scale) and the OpenAPI documents.
# Part of skiff_master_api: the registry, the handler and the resource table call into it.
target_sources(skiff_master_api PRIVATE
  src/api/custom_resource_table.cc
  src/apiextensions/cr_strategy.cc
  src/apiextensions/crd_controller.cc
  src/apiextensions/crd_strategy.cc
  src/apiextensions/crd_validation.cc
  src/apiextensions/go_regexp.cc
  src/apiextensions/jsonpath.cc
  src/apiextensions/openapi.cc
  src/apiextensions/printer_columns.cc
  src/apiextensions/schema_apply.cc
  src/apiextensions/schema_formats.cc
  src/apiextensions/schema_structural.cc
  src/apiextensions/schema_validate.cc)
target_link_libraries(skiff_master_api PRIVATE PkgConfig::RE2)

if(SKIFF_BUILD_TESTS)
  skiff_gtest(NAME skiff_master_apiextensions_tests PREFIX master.apiextensions LABEL unit
    SOURCES tests/apiextensions/schema_test.cc tests/apiextensions/crd_test.cc
    LIBS skiff_master_api skiff_master_testing_headers)
endif()
