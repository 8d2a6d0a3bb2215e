#pragma once

// An api::Handler over a TempRegistry with the bootstrap RBAC policy, and an Authenticator with
// no static tokens (client certificates, service account tokens, anonymous): the request path
// of skiff-master without its HTTPS server, for tests and benches that send HttpRequests.
// Header-only, like TempRegistry.

#include <map>
#include <memory>
#include <string>

#include "skiff/master/api/authenticator.h"
#include "skiff/master/api/handler.h"
#include "skiff/master/testing/temp_registry.h"

namespace skiff::master::testing {

class TempHandler {
 public:
  // Null (and the reason in `error`) when the registry cannot be set up.
  static std::unique_ptr<TempHandler> create(api::RegistryOptions registry_options,
                                             api::HandlerOptions handler_options,
                                             std::string* error = nullptr) {
    auto t = std::unique_ptr<TempHandler>(new TempHandler);
    t->tmp_ = TempRegistry::create(std::move(registry_options), error);
    if (!t->tmp_) return nullptr;
    if (auto b = t->tmp_->addBootstrapPolicy(); !b) {
      if (error) *error = b.error().message();
      return nullptr;
    }
    t->authn_ = std::make_unique<api::Authenticator>(t->registry(),
                                                     std::map<std::string, api::TokenEntry>{});
    t->handler_ =
        std::make_unique<api::Handler>(t->registry(), *t->authn_, std::move(handler_options));
    return t;
  }
  TempHandler(const TempHandler&) = delete;
  TempHandler& operator=(const TempHandler&) = delete;

  api::Registry& registry() { return tmp_->registry(); }
  api::Handler& handler() { return *handler_; }

 private:
  TempHandler() = default;
  // Destroyed in reverse: the handler, then the authenticator, then the registry.
  std::unique_ptr<TempRegistry> tmp_;
  std::unique_ptr<api::Authenticator> authn_;
  std::unique_ptr<api::Handler> handler_;
};

}  // namespace skiff::master::testing
