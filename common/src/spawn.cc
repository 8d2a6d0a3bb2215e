#include "skiff/common/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>

#include "skiff/common/scope_exit.h"

extern char** environ;

namespace skiff {

namespace {

std::vector<char*> pointersTo(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

Result<pid_t> spawnProcess(const std::vector<std::string>& argv, const SpawnOptions& opts) {
  if (argv.empty()) return Error(ErrorCode::Invalid, "spawn: empty command");
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&fa);
  ::posix_spawnattr_init(&attr);
  ScopeExit destroy([&] {
    ::posix_spawn_file_actions_destroy(&fa);
    ::posix_spawnattr_destroy(&attr);
  });
  // Each standard stream in order; a dup2 onto itself still clears close-on-exec.
  const int stdio[3] = {opts.stdin_fd, opts.stdout_fd, opts.stderr_fd};
  for (int target = 0; target < 3; ++target) {
    if (stdio[target] >= 0) {
      ::posix_spawn_file_actions_adddup2(&fa, stdio[target], target);
    } else {
      ::posix_spawn_file_actions_addopen(&fa, target, "/dev/null",
                                         target == 0 ? O_RDONLY : O_WRONLY, 0);
    }
  }
  for (std::size_t i = 0; i < opts.extra_fds.size(); ++i) {
    ::posix_spawn_file_actions_adddup2(&fa, opts.extra_fds[i], 3 + static_cast<int>(i));
  }
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (opts.new_session) flags |= POSIX_SPAWN_SETSID;
  ::posix_spawnattr_setflags(&attr, flags);
  auto args = pointersTo(argv);
  std::vector<char*> envp;
  if (opts.env) envp = pointersTo(*opts.env);
  char* const* env = opts.env ? envp.data() : environ;
  pid_t pid = -1;
  int rc = opts.search_path ? ::posix_spawnp(&pid, args[0], &fa, &attr, args.data(), env)
                            : ::posix_spawn(&pid, args[0], &fa, &attr, args.data(), env);
  if (rc != 0) return Error::fromErrno(rc, "run '" + argv[0] + "'");
  return pid;
}

int waitForExit(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

bool isExecFailure(const Error& e) {
  switch (e.sysErrno()) {
    case ENOENT:
    case EACCES:
    case EPERM:
    case ENOEXEC:
    case ENOTDIR:
    case ELOOP:
    case ENAMETOOLONG:
      return true;
    default:
      return false;
  }
}

}  // namespace skiff
