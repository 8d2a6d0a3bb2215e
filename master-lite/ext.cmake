# Issue 20 (helper "ext"): the built-in kinds still missing (networking.k8s.io, node.k8s.io,
# core PodTemplate, admissionregistration.k8s.io, apiregistration.k8s.io), their strategies and
# table columns; admission webhooks and APIService aggregation.
target_sources(skiff_master_api PRIVATE
  src/api/registry/networking_strategy.cc
  src/api/registry/webhook_config_strategy.cc
  src/api/tables_ext.cc)

if(SKIFF_BUILD_TESTS)
  skiff_gtest(NAME skiff_master_ext_tests PREFIX master.ext LABEL unit
    SOURCES tests/api/ext_kinds_test.cc
    LIBS skiff_master_api)
endif()
