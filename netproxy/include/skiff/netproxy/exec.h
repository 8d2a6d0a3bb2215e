#pragma once

#include <string>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::netproxy {

struct ExecResult {
  int exit_code = -1;
  std::string output;  // stdout (stderr is discarded unless merge_stderr)
};

// Runs argv[0] (looked up in PATH) with no shell, in the calling thread's namespaces, and
// collects its stdout (capped at 64 MiB). A missing binary gives exit code 127, not an error;
// errors are for fork/pipe failures.
Result<ExecResult> runCommand(const std::vector<std::string>& argv, bool merge_stderr = false,
                              const std::string& stdin_data = {});

}  // namespace skiff::netproxy
