#include "skiff/netproxy/exec.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include <fmt/format.h>

#include "skiff/common/spawn.h"
#include "skiff/common/unique_fd.h"

namespace skiff::netproxy {

Result<ExecResult> runCommand(const std::vector<std::string>& argv, bool merge_stderr,
                              const std::string& stdin_data) {
  return runCommandEnv(argv, {}, merge_stderr, stdin_data);
}

Result<ExecResult> runCommandEnv(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& env, bool merge_stderr,
                                 const std::string& stdin_data) {
  if (argv.empty()) return Error(ErrorCode::Invalid, "run command: empty argv");
  int out[2], in[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return Error::fromErrno(errno, "run command: pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(in, O_CLOEXEC) != 0) return Error::fromErrno(errno, "run command: pipe");
  UniqueFd in_r(in[0]), in_w(in[1]);
  auto pid = spawnProcess(argv, {.stdin_fd = in_r.get(),
                                 .stdout_fd = out_w.get(),
                                 .stderr_fd = merge_stderr ? out_w.get() : -1,
                                 .search_path = env.empty(),
                                 .env = env.empty() ? nullptr : &env});
  if (!pid && isExecFailure(pid.error())) return ExecResult{127, ""};  // not installed
  if (!pid) return std::move(pid).error();
  out_w.reset();
  in_r.reset();
  // Feed stdin from a thread so a large input cannot deadlock against a full stdout pipe.
  std::thread feeder([fd = in_w.release(), &stdin_data] {
    std::size_t off = 0;
    ::signal(SIGPIPE, SIG_IGN);
    while (off < stdin_data.size()) {
      ssize_t n = ::write(fd, stdin_data.data() + off, stdin_data.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::close(fd);
  });
  ExecResult res;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(out_r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (res.output.size() < (64u << 20)) res.output.append(buf, static_cast<std::size_t>(n));
  }
  feeder.join();
  res.exit_code = waitForExit(*pid);
  return res;
}

}  // namespace skiff::netproxy
