#pragma once

// Private: `kubectl exec` sessions. skiff-init (`skiff-init exec <spec> <pid> -- cmd`) joins the
// container's namespaces and cgroup and runs the command; the session owns its streams.

#include <memory>
#include <string>
#include <vector>

#include "skiff/common/result.h"
#include "skiff/runtime/runtime.h"
#include "skiff/runtime/sys/syscalls.h"

namespace skiff::runtime {

// The argv of skiff-init running `cmd` with `env` (KEY=VALUE, Invalid otherwise) in the
// container whose spec is `spec_path` and whose init is `init_pid`.
Result<std::vector<std::string>> execArgv(const std::string& init_path,
                                          const std::string& spec_path, int init_pid,
                                          const std::vector<std::string>& env,
                                          const std::vector<std::string>& cmd);

// Starts an interactive session: a pty from the container's devpts with `opts.tty`, pipes
// otherwise (stdin only with `opts.stdin_open`).
Result<std::unique_ptr<ExecSession>> startExecSession(std::shared_ptr<sys::Syscalls> sys,
                                                      const std::vector<std::string>& argv,
                                                      int init_pid, const ExecOptions& opts);

}  // namespace skiff::runtime
