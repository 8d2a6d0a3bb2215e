# Quota, LimitRange, PodDisruptionBudget, TTL-after-finished, metrics.k8s.io and the
# HorizontalPodAutoscaler (issue 22; included by master-lite/CMakeLists.txt after controllers).
#   skiff_master_quota            quota and LimitRange arithmetic (pure, unit-tested)
#   skiff_master_quota_admission  the ResourceQuota and LimitRanger admission plugins
add_library(skiff_master_quota src/quota/quota.cc src/quota/limit_range.cc)
target_include_directories(skiff_master_quota PUBLIC ${CMAKE_CURRENT_LIST_DIR}/include)
target_link_libraries(skiff_master_quota PUBLIC skiff_common nlohmann_json::nlohmann_json)

add_library(skiff_master_quota_admission src/admission/quota/quota_admission.cc)
target_link_libraries(skiff_master_quota_admission PUBLIC skiff_master_api skiff_master_quota)
target_link_libraries(skiff_master_server PUBLIC skiff_master_quota_admission)
target_link_libraries(skiff_master_api PUBLIC skiff_master_quota)

add_library(skiff_master_metrics src/metrics/metrics_cache.cc)
target_include_directories(skiff_master_metrics PUBLIC ${CMAKE_CURRENT_LIST_DIR}/include)
target_link_libraries(skiff_master_metrics PUBLIC skiff_common nlohmann_json::nlohmann_json)
target_sources(skiff_master_server PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/metrics/scraper.cc)
target_link_libraries(skiff_master_server PUBLIC skiff_master_metrics)

target_sources(skiff_master_controllers PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/src/controllers/resource_quota.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/controllers/disruption.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/controllers/hpa.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/controllers/hpa_math.cc)
target_link_libraries(skiff_master_controllers PRIVATE skiff_master_quota)

if(SKIFF_BUILD_TESTS)
  skiff_gtest(NAME skiff_master_quota_tests PREFIX master.quota LABEL unit
    SOURCES tests/quota/quota_test.cc tests/quota/limit_range_test.cc
    LIBS skiff_master_quota)
  # The ResourceQuota admission plugin over a real registry (testing/include: TempRegistry).
  skiff_gtest(NAME skiff_master_quota_admission_tests PREFIX master.quota_admission LABEL unit
    SOURCES tests/admission/quota_admission_test.cc
    LIBS skiff_master_quota_admission)
  target_include_directories(skiff_master_quota_admission_tests PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/testing/include)
endif()

if(SKIFF_BUILD_TESTS)
  skiff_gtest(NAME skiff_master_policy_controller_tests PREFIX master.policy LABEL unit
    SOURCES tests/controllers/policy_math_test.cc
    LIBS skiff_master_controllers)
  skiff_gtest(NAME skiff_master_metrics_tests PREFIX master.metrics LABEL unit
    SOURCES tests/metrics/metrics_cache_test.cc
    LIBS skiff_master_metrics)
endif()
