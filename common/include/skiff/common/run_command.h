#pragma once

// Running a program to completion and collecting its output: the one process runner the
// components share (runc and skiff-init exec in the runtime; iptables-save, CNI plugins and
// backend probes in netproxy). Started with spawnProcess (spawn.h), so never a fork of the agent.

#include <chrono>
#include <string>
#include <vector>

#include "skiff/common/result.h"

namespace skiff {

struct RunOptions {
  // Killed (SIGKILL) when it runs longer: a Timeout error. 0: no deadline.
  std::chrono::milliseconds timeout{0};
  // Written to the program's stdin, then EOF. Ignored when stdin_fd is set.
  std::string stdin_data{};
  // Becomes the program's stdin; -1: stdin_data (empty: EOF at once).
  int stdin_fd = -1;
  // Replaces the environment ("K=V" entries); argv[0] is then not looked up in PATH.
  const std::vector<std::string>* env = nullptr;
  // stderr goes into `out` (interleaved as written) instead of `err`.
  bool merge_stderr = false;
};

struct RunResult {
  int exit_code = -1;  // 128+signal when killed
  std::string out;     // capped at 64 MiB, as is err
  std::string err;
};

// Runs `argv` (argv[0] looked up in PATH unless an env is given) with no shell. A program that
// cannot be executed gives exit code 127 and the reason in `err`, as a shell would; errors are
// for pipe/spawn failures and the timeout.
Result<RunResult> runCommand(const std::vector<std::string>& argv, const RunOptions& opts = {});

}  // namespace skiff
