#pragma once

// Private: passing file descriptors over a unix socket (SCM_RIGHTS), the one copy shared by
// skiff-init (sends the pty master to the shim), skiff-shim (receives it; sends stdio to attach
// clients) and the attach client (receives them). Header-only and dependency-free: skiff-shim is
// a static binary without skiff_common.

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace skiff::runtime {

inline constexpr std::size_t kMaxPassedFds = 3;

// Sends `len` bytes of `data` (at least one: a message without data carries no descriptors) with
// `nfds` descriptors attached (at most kMaxPassedFds). sendmsg's result: -1 with errno.
inline ssize_t sendFds(int sock, const void* data, std::size_t len, const int* fds,
                       std::size_t nfds) {
  if (nfds > kMaxPassedFds) {
    errno = EINVAL;
    return -1;
  }
  struct iovec iov {
    const_cast<void*>(data), len
  };
  char cbuf[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  struct msghdr m {};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  if (nfds > 0) {
    m.msg_control = cbuf;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  return ::sendmsg(sock, &m, MSG_NOSIGNAL);
}

// Receives up to `len` bytes into `data` and the descriptors sent with them (O_CLOEXEC) into
// `fds` (room for kMaxPassedFds); `*nfds` gets their count. `flags` are recvmsg's (MSG_DONTWAIT);
// EINTR is retried. recvmsg's result: -1 with errno. When more descriptors came than there was
// room for, the kernel closed the rest and `*truncated` is set.
inline ssize_t recvFds(int sock, void* data, std::size_t len, int flags, int* fds,
                       std::size_t* nfds, bool* truncated) {
  struct iovec iov {
    data, len
  };
  char cbuf[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  struct msghdr m {};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  ssize_t n;
  while ((n = ::recvmsg(sock, &m, flags | MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  *nfds = 0;
  *truncated = n >= 0 && (m.msg_flags & MSG_CTRUNC) != 0;
  if (n < 0) return n;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    std::size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < k && *nfds < kMaxPassedFds; ++i)
      std::memcpy(&fds[(*nfds)++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
  }
  return n;
}

}  // namespace skiff::runtime
