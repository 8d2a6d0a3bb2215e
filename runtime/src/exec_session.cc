#include "exec_session.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "skiff/common/file.h"
#include "skiff/common/unique_fd.h"

namespace skiff::runtime {
namespace {

class ExecSessionImpl : public ExecSession {
 public:
  ExecSessionImpl(std::shared_ptr<sys::Syscalls> sys, pid_t pid, UniqueFd in, UniqueFd out,
                  UniqueFd err, bool tty)
      : sys_(std::move(sys)),
        pid_(pid),
        in_(std::move(in)),
        out_(std::move(out)),
        err_(std::move(err)),
        tty_(tty) {}
  ~ExecSessionImpl() override {
    if (pid_ > 0) {
      (void)sys_->kill(pid_, SIGKILL);
      (void)sys_->waitPid(pid_);
    }
  }
  int stdinFd() const override { return in_.get(); }
  int stdoutFd() const override { return out_.get(); }
  int stderrFd() const override { return err_.get(); }
  void closeStdin() override {
    if (tty_) {
      // EOF on a terminal is ^D at the start of a line.
      if (in_) (void)!::write(in_.get(), "\x04", 1);
      return;
    }
    in_.reset();
  }
  Result<void> resize(std::uint16_t cols, std::uint16_t rows) override {
    if (!tty_) return Error(ErrorCode::Invalid, "resize: the exec session has no TTY");
    return sys_->setWindowSize(out_.get(), cols, rows);
  }
  Result<int> wait() override {
    if (pid_ <= 0) return Error(ErrorCode::Conflict, "exec session already waited for");
    auto code = sys_->waitPid(pid_);
    if (!code) return std::move(code).error().wrap("wait for exec");
    pid_ = -1;
    return *code;
  }

 private:
  std::shared_ptr<sys::Syscalls> sys_;
  pid_t pid_;
  UniqueFd in_, out_, err_;
  bool tty_;
};

}  // namespace

Result<std::vector<std::string>> execArgv(const std::string& init_path,
                                          const std::string& spec_path, int init_pid,
                                          const std::vector<std::string>& env,
                                          const std::vector<std::string>& cmd) {
  if (cmd.empty()) return Error(ErrorCode::Invalid, "exec: empty command");
  std::vector<std::string> argv = {init_path, "exec", spec_path, std::to_string(init_pid)};
  for (const auto& e : env) {
    if (e.find('=') == std::string::npos || e[0] == '=')
      return Error(ErrorCode::Invalid, "exec: bad env '" + e + "'");
    argv.insert(argv.end(), {"-e", e});
  }
  argv.push_back("--");
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  return argv;
}

Result<std::unique_ptr<ExecSession>> startExecSession(std::shared_ptr<sys::Syscalls> sys,
                                                      const std::vector<std::string>& argv,
                                                      int init_pid, const ExecOptions& opts) {
  UniqueFd in_w, out_r, err_r;               // ours
  UniqueFd keep_in, keep_out, keep_err;      // the child's ends, closed here once it runs
  SpawnOptions so{.new_session = opts.tty};  // a tty session is its pty's foreground session
  if (opts.tty) {
    // The pty comes from the container's own devpts instance (as runc's console socket does),
    // so the process sees /dev/pts/N inside the container.
    auto pty = sys->openPty("/proc/" + std::to_string(init_pid) + "/root/dev/pts/ptmx");
    if (!pty) return std::move(pty).error().wrap("exec");
    keep_in = std::move(pty->slave);
    so.stdin_fd = so.stdout_fd = so.stderr_fd = keep_in.get();
    out_r.reset(::fcntl(pty->master.get(), F_DUPFD_CLOEXEC, 0));
    in_w = std::move(pty->master);
  } else {
    if (opts.stdin_open) {
      SKIFF_TRY(makePipe(keep_in, in_w));
      so.stdin_fd = keep_in.get();
    }
    SKIFF_TRY(makePipe(out_r, keep_out));
    so.stdout_fd = keep_out.get();
    SKIFF_TRY(makePipe(err_r, keep_err));
    so.stderr_fd = keep_err.get();
  }
  SKIFF_ASSIGN_OR_RETURN(pid_t pid, sys->spawn(argv, so));
  return std::unique_ptr<ExecSession>(std::make_unique<ExecSessionImpl>(
      std::move(sys), pid, std::move(in_w), std::move(out_r), std::move(err_r), opts.tty));
}

}  // namespace skiff::runtime
