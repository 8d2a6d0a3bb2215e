#pragma once

// A GoogleTest fixture over a TempRegistry: SetUp() opens it with registryOptions(), leaves
// `reg_`, `store_` and `dir_` pointing into it and then calls setUpRegistry(), where a fixture
// that needs more does it (ASSERTs there fail the test); TearDown() removes it.
// BootstrappedRegistryFixture adds the bootstrap RBAC policy.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "skiff/master/rbac/bootstrap_policy.h"
#include "skiff/master/testing/temp_registry.h"

namespace skiff::master::testing {

// `r` failed as a refusal does (admission, authorization): Forbidden, with exactly `message`.
template <typename T>
void expectForbidden(const Result<T>& r, const std::string& message) {
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::Forbidden)) << r.error().message();
  EXPECT_EQ(r.error().message(), message);
}

class RegistryFixture : public ::testing::Test {
 protected:
  virtual api::RegistryOptions registryOptions() const { return {}; }
  virtual void setUpRegistry() {}
  // The writes of a cluster admin (system:masters) with field manager "test".
  static api::WriteOptions adminWrites() {
    api::WriteOptions o;
    o.user = {"admin", {"system:masters"}};
    o.field_manager = "test";
    return o;
  }
  void SetUp() override {
    std::string err;
    tmp_ = TempRegistry::create(registryOptions(), &err);
    ASSERT_NE(tmp_, nullptr) << err;
    reg_ = &tmp_->registry();
    store_ = &tmp_->store();
    dir_ = tmp_->dir();
    setUpRegistry();
  }
  void TearDown() override { tmp_.reset(); }

  std::unique_ptr<TempRegistry> tmp_;
  std::string dir_;
  store::Store* store_ = nullptr;
  api::Registry* reg_ = nullptr;
};

// A registry with the bootstrap roles and bindings reconciled, as the API server has them once
// started: for tests of who may do what beyond system:masters. A fixture that needs more calls
// this setUpRegistry() first.
class BootstrappedRegistryFixture : public RegistryFixture {
 protected:
  void setUpRegistry() override {
    auto rep = rbac::reconcileBootstrapPolicy(*reg_);
    ASSERT_TRUE(rep) << rep.error().message();
  }
};

}  // namespace skiff::master::testing
