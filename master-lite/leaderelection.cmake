# Issue 23: leader election through coordination.k8s.io/v1 Leases (several masters on one etcd).
add_library(skiff_master_leaderelection ${CMAKE_CURRENT_LIST_DIR}/src/leaderelection/leader_elector.cc)
target_link_libraries(skiff_master_leaderelection PUBLIC skiff_master_informer)
target_link_libraries(skiff-master PRIVATE skiff_master_leaderelection)

if(SKIFF_BUILD_TESTS)
  skiff_gtest(NAME skiff_master_leaderelection_tests PREFIX master.leaderelection LABEL unit
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tests/leaderelection/leader_elector_test.cc
    LIBS skiff_master_leaderelection skiff_master_testing)
endif()
