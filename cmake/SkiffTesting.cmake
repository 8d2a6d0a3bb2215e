# Test helpers. Every GoogleTest case becomes one ctest test named `<prefix>.<Suite>.<Test>`, so
# `ctest -R runtime` or `-L integration` select exactly what a reader expects.
include(GoogleTest)

# skiff_gtest(NAME <target> PREFIX <prefix> LABEL <unit|integration|e2e> SOURCES ... LIBS ...
#             [TIMEOUT s])
function(skiff_gtest)
  cmake_parse_arguments(T "" "NAME;PREFIX;LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gmock GTest::gtest GTest::gtest_main)
  target_compile_definitions(${T_NAME} PRIVATE
    SKIFF_SOURCE_DIR="${PROJECT_SOURCE_DIR}" SKIFF_BINARY_DIR="${PROJECT_BINARY_DIR}")
  # Remember unit test binaries so `ninja skiff_unit_tests` builds just those (the ASan pass).
  if(T_LABEL STREQUAL "unit")
    set_property(GLOBAL APPEND PROPERTY SKIFF_UNIT_TEST_TARGETS ${T_NAME})
  endif()
  # Integration tests of one binary share kernel objects by name (netns, bridges, cgroups):
  # they never run concurrently with each other; other suites still run beside them.
  set(_lock "")
  if(NOT T_LABEL STREQUAL "unit")
    set(_lock RESOURCE_LOCK ${T_NAME})
  endif()
  gtest_discover_tests(${T_NAME}
    TEST_PREFIX "${T_PREFIX}."
    DISCOVERY_MODE PRE_TEST
    NO_PRETTY_VALUES  # names from INSTANTIATE_TEST_SUITE_P's generator, no "# GetParam() = ..."
    PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT} ${_lock})
endfunction()

# skiff_component_unit_tests(NAME <target> PREFIX <prefix> LIBS ...)
# A component's unit test binary from every tests/*_test.cc of the calling directory: a file
# named so there is a unit test of that component by convention (STYLE.md section 9), so a new
# one cannot be left out of the build by forgetting a list. Only for components whose tests/
# holds no test of another binary.
function(skiff_component_unit_tests)
  cmake_parse_arguments(T "" "NAME;PREFIX" "LIBS" ${ARGN})
  file(GLOB _sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/tests/*_test.cc")
  skiff_gtest(NAME ${T_NAME} PREFIX ${T_PREFIX} LABEL unit SOURCES ${_sources} LIBS ${T_LIBS})
endfunction()

# skiff_script_test(NAME <ctest name> LABEL <label> COMMAND ... [TIMEOUT s])
# For tests driven from outside (real kubectl, python client): the process is the test.
function(skiff_script_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "COMMAND" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_COMMAND})
  set_tests_properties(${T_NAME} PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "SKIFF_BINARY_DIR=${PROJECT_BINARY_DIR};SKIFF_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
