# The audit log (issue 19): policy matching, Event lines, lumberjack rotation and the writer
# thread; the handler calls it through api::RequestAuditor.
add_library(skiff_master_audit
  src/audit/auditor.cc
  src/audit/event.cc
  src/audit/log_writer.cc
  src/audit/policy.cc)
target_link_libraries(skiff_master_audit PUBLIC skiff_master_api PRIVATE Threads::Threads)
target_link_libraries(skiff_master_server PUBLIC skiff_master_audit)

if(SKIFF_BUILD_TESTS)
  skiff_gtest(NAME skiff_master_audit_tests PREFIX master.audit LABEL unit
    SOURCES tests/audit/policy_test.cc tests/audit/event_test.cc tests/audit/log_writer_test.cc
            tests/audit/auditor_test.cc tests/audit/handler_audit_test.cc
            tests/audit/in_process_audit_test.cc
    LIBS skiff_master_audit skiff_master_pod_security skiff_master_testing_headers)
endif()
