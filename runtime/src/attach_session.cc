#include "attach_session.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "fd_passing.h"
#include "skiff/common/unique_fd.h"

namespace skiff::runtime {
namespace {

class AttachSession : public ExecSession {
 public:
  AttachSession(UniqueFd sock, UniqueFd out, UniqueFd err, UniqueFd ctl, bool tty, bool with_stdin)
      : sock_(std::move(sock)),
        out_(std::move(out)),
        err_(std::move(err)),
        ctl_(std::move(ctl)),
        tty_(tty),
        stdin_(with_stdin) {}

  int stdinFd() const override { return stdin_ ? ctl_.get() : -1; }
  int stdoutFd() const override { return out_.get(); }
  int stderrFd() const override { return err_.get(); }

  void closeStdin() override {
    if (!stdin_) return;
    stdin_ = false;
    // The shim closes the container's stdin when it was created stdin_once.
    (void)::send(sock_.get(), "c", 1, MSG_NOSIGNAL);
    if (!tty_) ctl_.reset();
  }

  Result<void> resize(std::uint16_t cols, std::uint16_t rows) override {
    if (!tty_ || !ctl_) return Error(ErrorCode::Invalid, "resize: the container has no TTY");
    struct winsize ws {};
    ws.ws_col = cols;
    ws.ws_row = rows;
    if (::ioctl(ctl_.get(), TIOCSWINSZ, &ws) != 0)
      return Error::fromErrno(errno, "resize terminal");
    return ok();
  }

  // The shim sends "exit <code>\n" when the container has exited, then closes.
  Result<int> wait() override {
    std::string got;
    char buf[64];
    while (got.find('\n') == std::string::npos && got.size() < 256) {
      ssize_t n = ::recv(sock_.get(), buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    if (got.rfind("exit ", 0) == 0) return std::atoi(got.c_str() + 5);
    if (detached_) return Error(ErrorCode::Cancelled, "attach: detached");
    return Error(ErrorCode::Unavailable,
                 "attach: the container's shim closed the connection without an exit status");
  }

  void detach() override {
    detached_ = true;
    // The shim drops this client: closes our output pipes (EOF for readers) and the socket.
    (void)::shutdown(sock_.get(), SHUT_WR);
  }

 private:
  UniqueFd sock_, out_, err_, ctl_;
  bool tty_;
  bool stdin_;
  bool detached_ = false;
};

}  // namespace

Result<std::unique_ptr<ExecSession>> connectAttach(const std::string& dir, const std::string& name,
                                                   bool want_stdin) {
  UniqueFd dfd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return Error::fromErrno(errno, "attach: open container dir");
  // Through the dir fd: the socket's full path can be longer than sun_path.
  std::string path = "/proc/self/fd/" + std::to_string(dfd.get()) + "/attach.sock";
  struct sockaddr_un a {};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return Error::fromErrno(errno, "attach: socket");
  if (::connect(sock.get(), reinterpret_cast<struct sockaddr*>(&a), sizeof a) != 0)
    return Error::fromErrno(errno, "attach: connect to the shim of container '" + name + "'");
  char line[64] = {};
  int got[kMaxPassedFds];
  std::size_t nfds = 0;
  bool truncated = false;
  ssize_t n = recvFds(sock.get(), line, sizeof line - 1, 0, got, &nfds, &truncated);
  if (n < 0) return Error::fromErrno(errno, "attach: read the shim's greeting");
  std::vector<UniqueFd> fds;
  for (std::size_t i = 0; i < nfds; ++i) fds.emplace_back(got[i]);
  int tty = -1, has_stdin = -1;
  if (std::sscanf(line, "ok %d %d", &tty, &has_stdin) != 2 || truncated)
    return Error(ErrorCode::Internal,
                 "attach: bad greeting from the shim of container '" + name + "'");
  std::size_t want = 1 + (tty ? 0 : 1) + ((tty || has_stdin) ? 1 : 0);
  if (fds.size() != want)
    return Error(ErrorCode::Internal, "attach: the shim passed " + std::to_string(fds.size()) +
                                          " fds, want " + std::to_string(want));
  if (want_stdin && !has_stdin)
    return Error(ErrorCode::Invalid,
                 "attach: container '" + name + "' was not created with stdin or tty enabled");
  UniqueFd out = std::move(fds[0]);
  UniqueFd err = tty ? UniqueFd() : std::move(fds[1]);
  UniqueFd ctl = fds.size() > (tty ? 1u : 2u) ? std::move(fds.back()) : UniqueFd();
  if (!want_stdin) {
    // Tell the shim this session never writes stdin (its end must not close a stdin_once stdin).
    (void)::send(sock.get(), "n", 1, MSG_NOSIGNAL);
    if (!tty) ctl.reset();  // with a TTY the master stays, for resize
  }
  return std::unique_ptr<ExecSession>(std::make_unique<AttachSession>(
      std::move(sock), std::move(out), std::move(err), std::move(ctl), tty != 0, want_stdin));
}

}  // namespace skiff::runtime
