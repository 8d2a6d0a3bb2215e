// Connecting to a port inside a pod's network namespace, for port-forward.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "skiff/agent/port_forward.h"

namespace skiff::agent {
namespace {

std::string lowerFirst(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// One attempt, worded like Go's net.Dial errors ("dial tcp4 127.0.0.1:80: connect: connection
// refused"), which is what kubectl users see from the kubelet.
Result<UniqueFd> connectLoopback(bool v6, int port) {
  std::string where = v6 ? "dial tcp6 [::1]:" + std::to_string(port)
                         : "dial tcp4 127.0.0.1:" + std::to_string(port);
  UniqueFd fd(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd)
    return Error(ErrorCode::Unavailable, errno,
                 where + ": socket: " + lowerFirst(std::strerror(errno)));
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  }
  int err = 0;
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      // containerd gives each attempt one second.
      pollfd p{fd.get(), POLLOUT, 0};
      int n = ::poll(&p, 1, 1000);
      if (n == 0) return Error(ErrorCode::Timeout, where + ": i/o timeout");
      socklen_t el = sizeof err;
      if (n < 0 || ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &el) != 0) err = errno;
    }
  }
  if (err != 0) {
    return Error(ErrorCode::Unavailable, err,
                 where + ": connect: " + lowerFirst(std::strerror(err)));
  }
  return fd;
}

}  // namespace

Result<UniqueFd> dialPodPort(const std::string& netns_path, const std::string& sandbox_id,
                             int port) {
  // setns() changes only the calling thread; a throwaway thread keeps the agent's own threads
  // where they are. The socket stays in the namespace it was made in.
  Result<UniqueFd> out = Error(ErrorCode::Internal, "port-forward dial did not run");
  std::thread([&] {
    if (!netns_path.empty()) {
      UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!ns) {
        out = Error::fromErrno(errno, "open network namespace '" + netns_path + "'");
        return;
      }
      if (::setns(ns.get(), CLONE_NEWNET) != 0) {
        out = Error::fromErrno(errno, "enter network namespace '" + netns_path + "'");
        return;
      }
    }
    auto v4 = connectLoopback(false, port);
    if (v4) {
      out = std::move(v4);
      return;
    }
    auto v6 = connectLoopback(true, port);
    if (v6) {
      out = std::move(v6);
      return;
    }
    out = Error(ErrorCode::Unavailable, "failed to connect to localhost:" + std::to_string(port) +
                                            " inside namespace \"" + sandbox_id +
                                            "\", IPv4: " + v4.error().message() + " IPv6 " +
                                            v6.error().message() + " ");
  }).join();
  if (out) {
    // Back to blocking: asio sets its own mode when it takes the socket over.
    int flags = ::fcntl(out->get(), F_GETFL);
    if (flags >= 0) ::fcntl(out->get(), F_SETFL, flags & ~O_NONBLOCK);
  }
  return out;
}

}  // namespace skiff::agent
