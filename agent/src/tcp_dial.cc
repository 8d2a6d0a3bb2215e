#include "tcp_dial.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace skiff::agent {

int dialTcp(const std::string& ip, int port, int timeout_ms, std::string& why) {
  std::string target = ip + ":" + std::to_string(port);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
    why = "dial tcp " + target + ": invalid address";
    return -1;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    why = std::string("dial tcp ") + target + ": socket: " + std::strerror(errno);
    return -1;
  }
  int r = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (r != 0 && errno != EINPROGRESS) {
    why = std::string("dial tcp ") + target + ": connect: " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  if (r != 0 && (::poll(&p, 1, timeout_ms) != 1)) {
    why = "dial tcp " + target + ": i/o timeout";
    ::close(fd);
    return -1;
  }
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    std::string msg = std::strerror(err);
    for (auto& ch : msg) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    why = "dial tcp " + target + ": connect: " + msg;
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace skiff::agent
