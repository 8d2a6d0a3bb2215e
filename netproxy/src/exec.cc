#include "skiff/netproxy/exec.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include <fmt/format.h>

#include "skiff/common/unique_fd.h"

namespace skiff::netproxy {

Result<ExecResult> runCommand(const std::vector<std::string>& argv, bool merge_stderr,
                              const std::string& stdin_data) {
  if (argv.empty()) return Error(ErrorCode::Invalid, "run command: empty argv");
  int out[2], in[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return Error::fromErrno(errno, "run command: pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(in, O_CLOEXEC) != 0) return Error::fromErrno(errno, "run command: pipe");
  UniqueFd in_r(in[0]), in_w(in[1]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return Error::fromErrno(errno, fmt::format("run '{}': fork", argv[0]));
  if (pid == 0) {
    ::dup2(in_r.get(), 0);
    ::dup2(out_w.get(), 1);
    if (merge_stderr) {
      ::dup2(out_w.get(), 2);
    } else {
      int devnull = ::open("/dev/null", O_WRONLY);
      if (devnull >= 0) ::dup2(devnull, 2);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
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
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return res;
}

}  // namespace skiff::netproxy
