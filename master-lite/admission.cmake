# Pod Security admission (issue 19): the Pod Security Standards' checks (pure, unit-tested) and
# the PodSecurity plugin the registry runs on pods, workload templates and namespaces.
add_library(skiff_master_pod_security
  src/admission/pod_security/admission.cc
  src/admission/pod_security/checks_baseline.cc
  src/admission/pod_security/checks_restricted.cc
  src/admission/pod_security/config.cc
  src/admission/pod_security/policy.cc)
target_link_libraries(skiff_master_pod_security PUBLIC skiff_master_api)
target_link_libraries(skiff_master_server PUBLIC skiff_master_pod_security)

if(SKIFF_BUILD_TESTS)
  skiff_gtest(NAME skiff_master_admission_tests PREFIX master.admission LABEL unit
    SOURCES tests/admission/pod_security_checks_test.cc tests/admission/pod_security_policy_test.cc
            tests/admission/pod_security_admission_test.cc
    LIBS skiff_master_pod_security skiff_master_testing_headers)
endif()
