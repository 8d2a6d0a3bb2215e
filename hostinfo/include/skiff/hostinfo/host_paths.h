#pragma once

// Where hostinfo reads the host from. Every file path is resolved under `root`, so tests and
// `skiff-agent node-info --root DIR` can point at a fixture tree (STYLE.md §3).

#include <string>
#include <string_view>

#include "skiff/common/file.h"

namespace skiff::hostinfo {

struct HostPaths {
  // Prefix for /proc, /sys and /etc.
  std::string root = "/";
  // The agent's state directory (kubelet --root-dir); statfs of its filesystem gives the
  // ephemeral-storage capacity. Resolved under `root`.
  std::string state_dir = "/var/lib/skiff/agent";

  // joinRoot(root, abs_path).
  std::string path(std::string_view abs_path) const { return joinRoot(root, abs_path); }
};

}  // namespace skiff::hostinfo
