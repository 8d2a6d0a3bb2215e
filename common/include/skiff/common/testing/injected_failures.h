#pragma once

// Errors a fake returns once from a named method: a test arms one with failNext("mount", e); the
// fake's "mount" asks take("mount") first and returns the error when one is armed (then it is
// gone). Shared by the runtime's FakeKernel and netproxy's fake network.

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "skiff/common/error.h"

namespace skiff::testing {

class InjectedFailures {
 public:
  // Replaces an error already armed for `method`.
  void failNext(const std::string& method, Error e) {
    armed_.insert_or_assign(method, std::move(e));
  }
  std::optional<Error> take(const std::string& method) {
    auto it = armed_.find(method);
    if (it == armed_.end()) return std::nullopt;
    Error e = std::move(it->second);
    armed_.erase(it);
    return e;
  }

 private:
  std::map<std::string, Error> armed_;
};

}  // namespace skiff::testing
