#pragma once

// A GoogleTest fixture over a TempRegistry: SetUp() opens it with registryOptions() and leaves
// `reg_`, `store_` and `dir_` pointing into it; TearDown() removes it. Fixtures that need more
// call RegistryFixture::SetUp() first and return on HasFatalFailure().

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "skiff/master/testing/temp_registry.h"

namespace skiff::master::testing {

class RegistryFixture : public ::testing::Test {
 protected:
  virtual api::RegistryOptions registryOptions() const { return {}; }
  void SetUp() override {
    std::string err;
    tmp_ = TempRegistry::create(registryOptions(), &err);
    ASSERT_NE(tmp_, nullptr) << err;
    reg_ = &tmp_->registry();
    store_ = &tmp_->store();
    dir_ = tmp_->dir();
  }
  void TearDown() override { tmp_.reset(); }

  std::unique_ptr<TempRegistry> tmp_;
  std::string dir_;
  store::Store* store_ = nullptr;
  api::Registry* reg_ = nullptr;
};

}  // namespace skiff::master::testing
