#pragma once

// A loopback port nothing listens on right now, for a test or benchmark that must name its
// server's port before starting it (an external program, a URL written into a config). The
// kernel picks it by binding port 0; another process may take it before the caller does, which
// on a test machine is rare enough to accept.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace skiff::testing {

// `socket_type`: SOCK_STREAM for a TCP port, SOCK_DGRAM for a UDP one.
inline std::uint16_t freeLoopbackPort(int socket_type = SOCK_STREAM) {
  int fd = ::socket(AF_INET, socket_type | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace skiff::testing
