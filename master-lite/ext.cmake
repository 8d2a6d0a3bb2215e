# Issue 20 (helper "ext"): the built-in kinds still missing (networking.k8s.io, node.k8s.io,
# core PodTemplate, admissionregistration.k8s.io, apiregistration.k8s.io), their strategies and
# table columns; admission webhooks and APIService aggregation.
target_sources(skiff_master_api PRIVATE
  src/api/registry/networking_strategy.cc
  src/api/registry/webhook_config_strategy.cc
  src/api/handler/aggregated.cc
  src/api/tables_ext.cc)

if(SKIFF_BUILD_TESTS)
  skiff_gtest(NAME skiff_master_ext_tests PREFIX master.ext LABEL unit
    SOURCES tests/api/ext_kinds_test.cc
    LIBS skiff_master_api skiff_master_testing_headers)
endif()

# Admission webhooks (src/admission/webhook/): AdmissionReview v1 over HTTPS, wired in by
# api_server.cc after PodSecurity; CRD conversion webhooks (ConversionReview) over the same client.
add_library(skiff_master_webhook
  src/admission/webhook/matching.cc
  src/admission/webhook/webhook_admission.cc
  src/admission/webhook/webhook_call.cc
  src/admission/priority.cc
  src/admission/runtimeclass.cc
  src/aggregator/aggregator.cc
  src/apiextensions/conversion_webhook.cc)
target_link_libraries(skiff_master_webhook PUBLIC skiff_master_api skiff_master_https
  PRIVATE Boost::boost OpenSSL::SSL OpenSSL::Crypto)
target_link_libraries(skiff_master_server PUBLIC skiff_master_webhook)

if(SKIFF_BUILD_TESTS)
  skiff_gtest(NAME skiff_master_webhook_tests PREFIX master.webhook LABEL unit
    SOURCES tests/admission/webhook_test.cc tests/apiextensions/conversion_webhook_test.cc
            tests/admission/priority_test.cc
    LIBS skiff_master_webhook Boost::boost OpenSSL::SSL OpenSSL::Crypto Threads::Threads
      skiff_master_testing_headers)
endif()
