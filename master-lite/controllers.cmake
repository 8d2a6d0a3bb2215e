# Scheduler, controllers and what they share (issue 5; included by master-lite/CMakeLists.txt).
# Neither includes the other's private headers:
#   skiff_master_informer   informers, work queue, clock, event recorder (client-go's share)
#   skiff_master_nodeinfo   NodeInfo/PodInfo and the fit predicates (scheduler framework types)
#   skiff_master_scheduler  the scheduler
#   skiff_master_controllers the controllers and the ControllerManager, which also runs the
#                           scheduler in process (its only use of skiff_master_scheduler)
# All of them use only skiff_common and the master's own headers (STYLE.md §1 dependency rule).
add_library(skiff_master_informer
  src/informer/clock.cc
  src/informer/meta.cc
  src/informer/workqueue.cc
  src/informer/informer.cc
  src/informer/shared_informers.cc
  src/informer/event_recorder.cc
)
target_include_directories(skiff_master_informer PUBLIC ${CMAKE_CURRENT_LIST_DIR}/include)
target_link_libraries(skiff_master_informer PUBLIC skiff_common skiff_master_selectors
  nlohmann_json::nlohmann_json Threads::Threads)

add_library(skiff_master_nodeinfo
  src/nodeinfo/node_info.cc
)
target_include_directories(skiff_master_nodeinfo PUBLIC ${CMAKE_CURRENT_LIST_DIR}/include)
target_link_libraries(skiff_master_nodeinfo PUBLIC skiff_common skiff_master_selectors
  nlohmann_json::nlohmann_json)

# Persistent volume matching and the local-path volume (API admission, PV controller, scheduler).
add_library(skiff_master_volume src/volume/volume.cc)
target_link_libraries(skiff_master_volume PUBLIC skiff_master_informer skiff_master_nodeinfo)

add_library(skiff_master_scheduler src/scheduler/scheduler.cc src/scheduler/volume_binding.cc)
target_link_libraries(skiff_master_scheduler PUBLIC skiff_master_informer skiff_master_nodeinfo
  PRIVATE skiff_master_volume)

add_library(skiff_master_controllers
  src/controllers/controller.cc
  src/controllers/clusterrole_aggregation.cc
  src/controllers/util.cc
  src/controllers/go_template_form.cc
  src/controllers/expectations.cc
  src/controllers/replicaset.cc
  src/controllers/deployment.cc
  src/controllers/deployment_rollout.cc
  src/controllers/daemonset.cc
  src/controllers/node_ipam.cc
  src/controllers/endpoints.cc
  src/controllers/namespace.cc
  src/controllers/root_ca_publisher.cc
  src/controllers/garbage_collector.cc
  src/controllers/node_lifecycle.cc
  src/controllers/podgc.cc
  src/controllers/statefulset.cc
  src/controllers/persistent_volume.cc
  src/controllers/ephemeral_volume.cc
  src/controllers/volume_expand.cc
  src/controllers/job.cc
  src/controllers/cron_schedule.cc
  src/controllers/cronjob.cc
  src/controllers/controller_manager.cc
)
target_link_libraries(skiff_master_controllers PUBLIC skiff_master_informer skiff_master_nodeinfo
  PRIVATE skiff_master_scheduler skiff_master_volume)

add_library(skiff_master_testing testing/fake_api_client.cc)
target_link_libraries(skiff_master_testing PUBLIC skiff_master_testing_headers skiff_master_controllers
  skiff_master_scheduler)

if(SKIFF_BUILD_TESTS)
  skiff_gtest(NAME skiff_master_controllers_tests PREFIX master LABEL unit
    SOURCES
      ${CMAKE_CURRENT_LIST_DIR}/tests/informer/fake_api_client_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/informer/informer_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/scheduler/scheduler_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/expectations_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/clusterrole_aggregation_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/replicaset_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/deployment_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/daemonset_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/cluster_controllers_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/workloads_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/controller_manager_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/root_ca_publisher_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/persistent_volume_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/ephemeral_volume_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/volume_expand_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/hpa_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/controllers/resource_quota_test.cc
      ${CMAKE_CURRENT_LIST_DIR}/tests/volume/volume_test.cc
    LIBS skiff_master_testing skiff_master_volume)
  skiff_script_test(NAME master.includes.scheduler_controllers_apart LABEL unit
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/tests/check_includes.sh TIMEOUT 30)
endif()

# skiff-master runs the ControllerManager in process (cmd/main.cc).
if(TARGET skiff-master)
  target_link_libraries(skiff-master PRIVATE skiff_master_controllers)
endif()
