#pragma once

// A Mounter for agent tests that do not exercise tmpfs volumes: every mount and unmount succeeds
// and changes nothing, and nothing is a mount point.

#include <cstdint>
#include <string>

#include "skiff/agent/volumes.h"

namespace skiff::agent::testing {

class NullMounter : public Mounter {
 public:
  Result<void> mountTmpfs(const std::string&, int64_t) override { return ok(); }
  Result<void> unmount(const std::string&) override { return ok(); }
  bool isMountPoint(const std::string&) override { return false; }
};

}  // namespace skiff::agent::testing
