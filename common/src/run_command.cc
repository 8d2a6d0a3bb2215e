#include "skiff/common/run_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "skiff/common/file.h"
#include "skiff/common/spawn.h"
#include "skiff/common/unique_fd.h"

namespace skiff {
namespace {

constexpr std::size_t kMaxCapture = 64u << 20;
constexpr const char* kPipe = "run command: pipe";  // the context of makePipe errors

// Feeds stdin and drains stdout/stderr in one poll loop (no thread: a large input cannot
// deadlock against a full output pipe). false when the deadline passed.
bool pump(UniqueFd& in_w, const std::string& in_data, UniqueFd& out_r, UniqueFd& err_r,
          RunResult& res, std::chrono::steady_clock::time_point deadline, bool has_deadline) {
  std::size_t in_off = 0;
  char buf[16384];
  while (out_r || err_r) {
    int wait_ms = -1;
    if (has_deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      wait_ms = static_cast<int>(left.count());
    }
    struct pollfd p[3];
    UniqueFd* fds[3];
    std::string* dst[3] = {};
    nfds_t n = 0;
    auto watch = [&](UniqueFd& fd, short events, std::string* into) {
      if (!fd) return;
      p[n] = {fd.get(), events, 0};
      fds[n] = &fd;
      dst[n++] = into;
    };
    watch(in_w, POLLOUT, nullptr);
    watch(out_r, POLLIN, &res.out);
    watch(err_r, POLLIN, &res.err);
    int r = ::poll(p, n, wait_ms);
    if (r <= 0) continue;  // EINTR, or the deadline check above ends it
    for (nfds_t i = 0; i < n; ++i) {
      if (!p[i].revents) continue;
      if (fds[i] == &in_w) {
        ssize_t k = (p[i].revents & POLLOUT)
                        ? ::write(in_w.get(), in_data.data() + in_off, in_data.size() - in_off)
                        : -1;
        if (k > 0) in_off += static_cast<std::size_t>(k);
        if (k < 0 ? errno != EINTR && errno != EAGAIN : in_off == in_data.size()) in_w.reset();
        continue;
      }
      ssize_t k = ::read(fds[i]->get(), buf, sizeof buf);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) {
        fds[i]->reset();
        continue;
      }
      if (dst[i]->size() < kMaxCapture) dst[i]->append(buf, static_cast<std::size_t>(k));
    }
  }
  return true;
}

}  // namespace

Result<RunResult> runCommand(const std::vector<std::string>& argv, const RunOptions& opts) {
  if (argv.empty()) return Error(ErrorCode::Invalid, "run command: empty argv");
  UniqueFd out_r, out_w, err_r, err_w, in_r, in_w;
  SKIFF_TRY(makePipe(out_r, out_w, kPipe));
  if (!opts.merge_stderr) SKIFF_TRY(makePipe(err_r, err_w, kPipe));
  if (opts.stdin_fd < 0) {
    SKIFF_TRY(makePipe(in_r, in_w, kPipe));
    // A program that does not read its stdin must not block us: writes that cannot proceed
    // return EAGAIN and poll tells when to retry.
    ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
  }
  auto pid = spawnProcess(argv, {.stdin_fd = opts.stdin_fd >= 0 ? opts.stdin_fd : in_r.get(),
                                 .stdout_fd = out_w.get(),
                                 .stderr_fd = opts.merge_stderr ? out_w.get() : err_w.get(),
                                 .search_path = opts.env == nullptr,
                                 .env = opts.env});
  if (!pid && isExecFailure(pid.error()))
    return RunResult{127, "", pid.error().message() + "\n"};  // what a shell reports
  if (!pid) return std::move(pid).error();
  out_w.reset();
  err_w.reset();
  in_r.reset();
  if (opts.stdin_data.empty()) in_w.reset();
  // A program that exits without reading its input closes the pipe: EPIPE, not SIGPIPE (the
  // daemons ignore SIGPIPE anyway; a CLI may not).
  if (in_w) ::signal(SIGPIPE, SIG_IGN);
  RunResult res;
  bool in_time = pump(in_w, opts.stdin_data, out_r, err_r, res,
                      std::chrono::steady_clock::now() + opts.timeout, opts.timeout.count() > 0);
  if (!in_time) ::kill(*pid, SIGKILL);
  res.exit_code = waitForExit(*pid);
  if (!in_time)
    return Error(ErrorCode::Timeout, "'" + argv[0] + "' timed out after " +
                                         std::to_string(opts.timeout.count()) + "ms");
  return res;
}

}  // namespace skiff
