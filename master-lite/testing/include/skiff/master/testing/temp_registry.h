#pragma once

// A Registry over a fresh SQLite store in its own temporary directory, bootstrapped as
// skiff-master bootstraps it (the `kubernetes` Service, default namespaces; the bootstrap RBAC
// policy on request), for tests of the registry, the handler and admission. The directory is
// removed on destruction. Header-only, so test binaries of any master library can use it.

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "skiff/master/api/registry.h"
#include "skiff/master/rbac/bootstrap_policy.h"
#include "skiff/master/store/store.h"

namespace skiff::master::testing {

class TempRegistry {
 public:
  // Null (and the reason in `error`) when the store cannot be opened or bootstrapped.
  static std::unique_ptr<TempRegistry> create(api::RegistryOptions options = {},
                                              std::string* error = nullptr) {
    auto t = std::unique_ptr<TempRegistry>(new TempRegistry);
    char tmpl[] = "/tmp/skiff-registry-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      if (error) *error = "mkdtemp failed";
      return nullptr;
    }
    t->dir_ = tmpl;
    store::Options so;
    so.fsync_every_write = false;
    auto s = store::openSqliteStore(t->dir_ + "/db", so);
    if (!s) {
      if (error) *error = s.error().message();
      return nullptr;
    }
    t->store_ = std::move(s).value();
    t->registry_ = std::make_unique<api::Registry>(*t->store_, std::move(options));
    if (auto b = t->registry_->bootstrap("192.0.2.10", 6443); !b) {
      if (error) *error = b.error().message();
      return nullptr;
    }
    return t;
  }
  ~TempRegistry() {
    registry_.reset();
    store_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  TempRegistry(const TempRegistry&) = delete;
  TempRegistry& operator=(const TempRegistry&) = delete;

  // The default roles and bindings kube-apiserver creates at start (skiff-master reconciles
  // them at every start too).
  Result<void> addBootstrapPolicy() {
    auto r = rbac::reconcileBootstrapPolicy(*registry_);
    if (!r) return r.error();
    return ok();
  }

  api::Registry& registry() { return *registry_; }
  store::Store& store() { return *store_; }
  const std::string& dir() const { return dir_; }

 private:
  TempRegistry() = default;
  std::string dir_;
  store::StorePtr store_;
  std::unique_ptr<api::Registry> registry_;
};

}  // namespace skiff::master::testing
