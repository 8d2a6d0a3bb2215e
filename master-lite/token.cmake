# Bootstrap tokens for `skiff-master token create|list|delete` (issue 9): token/Secret logic
# (pure, unit-tested) and the admin-kubeconfig HTTPS client the command talks to the master with.
add_library(skiff_master_token src/token/bootstrap_token.cc src/token/admin_client.cc)
target_include_directories(skiff_master_token PUBLIC include)
target_link_libraries(skiff_master_token PUBLIC skiff_common nlohmann_json::nlohmann_json
  PRIVATE skiff_master_https OpenSSL::Crypto)

if(SKIFF_BUILD_TESTS)
  skiff_gtest(NAME skiff_master_token_tests PREFIX master.token LABEL unit
    SOURCES tests/token/bootstrap_token_test.cc tests/token/admin_kubeconfig_test.cc
    LIBS skiff_master_token)
  # A real master on loopback (no root): create/list/delete, the token authenticates, an expired
  # or deleted one does not, the printed CA hash matches openssl's.
  skiff_script_test(NAME e2e.token.create_list_delete LABEL e2e
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/tests/token/token_e2e.sh TIMEOUT 120)
endif()
