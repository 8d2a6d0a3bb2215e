#include "skiff/agent/lifecycle_hooks.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "tcp_dial.h"

namespace skiff::agent {

using nlohmann::json;

Result<HttpHookTarget> httpHookTarget(const json& http_get, const json& container,
                                      const std::string& pod_ip) {
  HttpHookTarget t;
  t.host = http_get.value("host", "");
  if (t.host.empty()) t.host = pod_ip;
  if (t.host.empty()) return Error(ErrorCode::Unavailable, "failed to find networking container");
  const json port = http_get.value("port", json(nullptr));
  if (port.is_number_integer()) {
    t.port = port.get<int>();
  } else if (port.is_string() && port.get<std::string>().empty()) {
    t.port = 80;  // handlers.go: an empty string port is 80
  } else if (port.is_string()) {
    std::string name = port.get<std::string>();
    for (const auto& p : container.value("ports", json::array())) {
      if (p.value("name", "") == name) t.port = p.value("containerPort", 0);
    }
    if (t.port == 0 && name.find_first_not_of("0123456789") == std::string::npos) {
      t.port = std::atoi(name.c_str());
    }
    if (t.port == 0) {
      return Error(ErrorCode::Invalid,
                   "couldn't find port: " + name + " in " + container.value("name", std::string()));
    }
  }
  if (t.port <= 0 || t.port > 65535) {
    return Error(ErrorCode::Invalid, "invalid port number: " + std::to_string(t.port));
  }
  t.path = http_get.value("path", "");
  // 1.20 builds "http://host:port/" + path, which a Go client sends as "//echo..." and the
  // server's mux redirects to "/echo..."; asking for the absolute path directly ends the same.
  if (t.path.empty() || t.path[0] != '/') t.path = "/" + t.path;
  return t;
}

namespace {

class SocketHookHttpGetter final : public HookHttpGetter {
 public:
  Result<int> get(const HttpHookTarget& t, const json& http_get,
                  std::chrono::seconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string why;
    int fd = dialTcp(t.host, t.port, static_cast<int>(timeout.count() * 1000), why);
    if (fd < 0) return Error(ErrorCode::Unavailable, "Get \"" + t.url() + "\": " + why);
    std::string req = "GET " + t.path + " HTTP/1.1\r\nHost: " + t.host + ":" +
                      std::to_string(t.port) +
                      "\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n";
    for (const auto& h : http_get.value("httpHeaders", json::array())) {
      req += h.value("name", "") + ": " + h.value("value", "") + "\r\n";
    }
    req += "Connection: close\r\n\r\n";
    std::size_t sent = 0;
    while (sent < req.size()) {
      pollfd p{fd, POLLOUT, 0};
      int left = remainingMs(deadline);
      if (left <= 0 || ::poll(&p, 1, left) != 1) break;
      ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    if (sent < req.size()) {
      ::close(fd);
      return Error(ErrorCode::Unavailable, "Get \"" + t.url() + "\": write failed");
    }
    // The status line is all a hook needs; the handler has run once the server answers.
    std::string resp;
    char buf[512];
    while (resp.find("\r\n") == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      int left = remainingMs(deadline);
      if (left <= 0 || ::poll(&p, 1, left) != 1) break;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      resp.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    auto sp = resp.find(' ');
    if (resp.rfind("HTTP/", 0) != 0 || sp == std::string::npos) {
      return Error(ErrorCode::Timeout,
                   "Get \"" + t.url() + "\": " +
                       (resp.empty() ? "EOF or timeout awaiting response headers"
                                     : "malformed HTTP response"));
    }
    return std::atoi(resp.c_str() + sp + 1);
  }

 private:
  static int remainingMs(std::chrono::steady_clock::time_point deadline) {
    return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                deadline - std::chrono::steady_clock::now())
                                .count());
  }
};

}  // namespace

HookHttpGetterPtr makeHookHttpGetter() { return std::make_unique<SocketHookHttpGetter>(); }

}  // namespace skiff::agent
