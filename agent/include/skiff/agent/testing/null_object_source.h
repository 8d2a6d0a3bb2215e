#pragma once

// An ObjectSource for agent tests that do not exercise API objects: every ConfigMap and Secret is
// missing (with the API's NotFound text), there are no Services, tokens and the CA are fixed
// strings. Tests that need claims, volumes or objects derive from it and override what they use.

#include <string>
#include <vector>

#include "skiff/agent/object_source.h"

namespace skiff::agent::testing {

class NullObjectSource : public ObjectSource {
 public:
  Result<nlohmann::json> configMap(const std::string&, const std::string& n) override {
    return Error(ErrorCode::NotFound, "configmaps \"" + n + "\" not found");
  }
  Result<nlohmann::json> secret(const std::string&, const std::string& n) override {
    return Error(ErrorCode::NotFound, "secrets \"" + n + "\" not found");
  }
  Result<std::vector<nlohmann::json>> services(const std::string&) override {
    return std::vector<nlohmann::json>{};
  }
  Result<std::string> serviceAccountToken(const std::string&, const std::string&,
                                          const std::string&, const std::string&,
                                          const std::string&, int64_t) override {
    return std::string("t");
  }
  Result<std::string> rootCa(const std::string&) override { return std::string("ca"); }
};

}  // namespace skiff::agent::testing
