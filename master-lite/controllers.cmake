# Scheduler, controllers and informers (issue 5), included by master-lite/CMakeLists.txt.
# skiff_master_controllers uses only skiff_common (STYLE.md §1 dependency rule).
add_library(skiff_master_controllers
  src/informer/clock.cc
  src/informer/meta.cc
  src/informer/workqueue.cc
  src/informer/informer.cc
  src/informer/shared_informers.cc
  src/controllers/controller.cc
  src/controllers/util.cc
  src/controllers/expectations.cc
  src/controllers/replicaset.cc
  src/controllers/deployment.cc
  src/controllers/daemonset.cc
  src/controllers/node_ipam.cc
  src/controllers/endpoints.cc
  src/controllers/namespace.cc
  src/controllers/garbage_collector.cc
  src/controllers/node_lifecycle.cc
  src/controllers/podgc.cc
  src/controllers/statefulset.cc
  src/controllers/job.cc
  src/controllers/cron_schedule.cc
  src/controllers/cronjob.cc
  src/controllers/controller_manager.cc
  src/controllers/event_recorder.cc
  src/scheduler/node_info.cc
  src/scheduler/scheduler.cc
)
target_include_directories(skiff_master_controllers PUBLIC ${CMAKE_CURRENT_LIST_DIR}/include)
target_link_libraries(skiff_master_controllers PUBLIC skiff_common skiff_master_selectors nlohmann_json::nlohmann_json
  Threads::Threads)

add_library(skiff_master_testing testing/fake_api_client.cc)
target_include_directories(skiff_master_testing PUBLIC ${CMAKE_CURRENT_LIST_DIR}/testing/include)
target_link_libraries(skiff_master_testing PUBLIC skiff_master_controllers)

if(SKIFF_BUILD_TESTS)
  skiff_gtest(NAME skiff_master_controllers_tests PREFIX master LABEL unit
    SOURCES
      ${CMAKE_CURRENT_LIST_DIR}/tests/informer/fake_api_client_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/informer/informer_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/scheduler/scheduler_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/expectations_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/replicaset_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/deployment_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/daemonset_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/cluster_controllers_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/workloads_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/controller_manager_test.cc
    LIBS skiff_master_testing)
endif()

# skiff-master runs the ControllerManager in process (cmd/main.cc).
if(TARGET skiff-master)
  target_link_libraries(skiff-master PRIVATE skiff_master_controllers)
endif()
