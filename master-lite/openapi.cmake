# /openapi/v2 and /openapi/v3 (issue 20): the built-in kinds' definitions generated from the
# Kubernetes API types (src/openapi/gen/main.go -> src/openapi/definitions.json, compiled in as a
# string) and the custom kinds' schemas. Part of skiff_master_api: the handler serves them.
set(SKIFF_OPENAPI_JSON ${CMAKE_CURRENT_LIST_DIR}/src/openapi/definitions.json)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${SKIFF_OPENAPI_JSON}
  ${CMAKE_CURRENT_LIST_DIR}/src/openapi/definitions_text.cc.in)
file(READ ${SKIFF_OPENAPI_JSON} SKIFF_OPENAPI_DEFINITIONS)
file(READ ${CMAKE_CURRENT_LIST_DIR}/src/openapi/definitions_text.cc.in SKIFF_OPENAPI_TEMPLATE)
string(REPLACE "@SKIFF_OPENAPI_DEFINITIONS@" "${SKIFF_OPENAPI_DEFINITIONS}" SKIFF_OPENAPI_TEXT
  "${SKIFF_OPENAPI_TEMPLATE}")
# Written only when it changes, so a reconfigure does not recompile it.
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/definitions_text.cc.tmp "${SKIFF_OPENAPI_TEXT}")
file(COPY_FILE ${CMAKE_CURRENT_BINARY_DIR}/definitions_text.cc.tmp
  ${CMAKE_CURRENT_BINARY_DIR}/definitions_text.cc ONLY_IF_DIFFERENT)
target_sources(skiff_master_api PRIVATE
  src/openapi/builtin_definitions.cc
  src/openapi/documents.cc
  src/openapi/unknown_fields.cc
  src/openapi/v2_protobuf.cc
  ${CMAKE_CURRENT_BINARY_DIR}/definitions_text.cc)

if(SKIFF_BUILD_TESTS)
  skiff_gtest(NAME skiff_master_openapi_tests PREFIX master.openapi LABEL unit
    SOURCES tests/openapi/openapi_test.cc
    LIBS skiff_master_api skiff_master_testing_headers)
  target_include_directories(skiff_master_openapi_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/openapi)
endif()
