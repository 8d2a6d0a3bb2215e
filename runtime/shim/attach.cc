#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "fd_passing.h"
#include "shim.h"

namespace skiff::shim {

using runtime::sendFds;

// Attach protocol (<dir>/attach.sock, stream socket, root only: the socket is 0600 in a 0711
// dir). On connect the shim sends one line "ok <tty 0|1> <stdin 0|1>\n" with SCM_RIGHTS fds:
//   [stdout read end] [stderr read end, without tty] [control fd, with tty or stdin]
// The output pipes get a copy of everything the container writes from now on (the CRI log
// still gets all of it); a reader too slow to keep its pipe from filling loses data rather
// than stalling the container. The control fd is the pty master (write input, TIOCSWINSZ) with
// a TTY, or the stdin pipe's write end. The client sends 'c' to close stdin; with --stdin-once
// that (or the disconnect of a client that had stdin) closes the container's stdin for good;
// 'n' says the client never writes stdin. A client that shuts down its side is dropped (detach).
// When the container has exited the shim sends "exit <code>\n" and closes the connection.
int listenAttach(const std::string& dir) {
  int dfd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return -1;
  // Through the dir fd: <state dir>/containers/<64 hex>/attach.sock is longer than sun_path.
  std::string path = "/proc/self/fd/" + std::to_string(dfd) + "/attach.sock";
  struct sockaddr_un a {};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  mode_t old = ::umask(0077);
  bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a) == 0 &&
            ::listen(fd, 8) == 0;
  ::umask(old);
  ::close(dfd);
  if (!ok) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

void closeClient(Client& c) {
  for (int* f : {&c.sock, &c.out, &c.err})
    if (*f >= 0) {
      ::close(*f);
      *f = -1;
    }
}

// Sets up a new attach client: its output pipes, and the greeting with the fds.
bool acceptClient(int lfd, const Options& o, int ctl, std::vector<Client>& clients) {
  int s = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  if (s < 0) return false;
  Client c;
  c.sock = s;
  int po[2] = {-1, -1}, pe[2] = {-1, -1};
  if (::pipe2(po, O_CLOEXEC) != 0 || (!o.tty && ::pipe2(pe, O_CLOEXEC) != 0)) {
    ::close(s);
    for (int f : {po[0], po[1], pe[0], pe[1]})
      if (f >= 0) ::close(f);
    return false;
  }
  std::vector<int> send = {po[0]};
  if (!o.tty) send.push_back(pe[0]);
  if (ctl >= 0) send.push_back(ctl);
  c.has_stdin = ctl >= 0 && (o.tty ? o.stdin_open : true);
  std::string hello =
      std::string("ok ") + (o.tty ? "1" : "0") + " " + (c.has_stdin ? "1" : "0") + "\n";
  bool sent = sendFds(s, hello.data(), hello.size(), send.data(), send.size()) ==
              static_cast<ssize_t>(hello.size());
  ::close(po[0]);
  if (pe[0] >= 0) ::close(pe[0]);
  c.out = po[1];
  c.err = pe[1];
  for (int f : {c.out, c.err}) {
    if (f < 0) continue;
    ::fcntl(f, F_SETFL, O_NONBLOCK);
    // Room for bursts while the client forwards over the network (best effort: pipe-max-size).
    (void)::fcntl(f, F_SETPIPE_SZ, 1 << 20);
  }
  if (!sent) {
    closeClient(c);
    return false;
  }
  clients.push_back(c);
  return true;
}

}  // namespace skiff::shim
