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
// errors are for spawn/pipe failures. Started with spawnProcess (skiff/common/spawn.h).
Result<ExecResult> runCommand(const std::vector<std::string>& argv, bool merge_stderr = false,
                              const std::string& stdin_data = {});

// The same with an explicit environment ("K=V" entries, replacing the inherited one); argv[0]
// must be an absolute path. stderr is discarded unless merge_stderr.
Result<ExecResult> runCommandEnv(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& env, bool merge_stderr,
                                 const std::string& stdin_data);

}  // namespace skiff::netproxy
