#include "skiff/agent/lifecycle_hooks.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace skiff::agent {
namespace {

using nlohmann::json;

TEST(HttpHookTargetTest, HostDefaultsToThePodIpAndNamedPortsComeFromTheContainer) {
  json container = {{"name", "c"}, {"ports", {{{"name", "web"}, {"containerPort", 8080}}}}};
  auto t =
      httpHookTarget({{"path", "/echo?msg=poststart"}, {"port", "web"}}, container, "10.244.1.7");
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->host, "10.244.1.7");
  EXPECT_EQ(t->port, 8080);
  EXPECT_EQ(t->url(), "http://10.244.1.7:8080/echo?msg=poststart");

  // The conformance test names another pod's IP as host.
  t = httpHookTarget({{"host", "10.244.2.9"}, {"path", "echo"}, {"port", 8080}}, container,
                     "10.244.1.7");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->url(), "http://10.244.2.9:8080/echo");

  t = httpHookTarget({{"port", ""}}, container, "10.244.1.7");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->port, 80);
  EXPECT_EQ(t->path, "/");
  t = httpHookTarget({{"port", "9090"}}, container, "10.244.1.7");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->port, 9090);

  EXPECT_FALSE(httpHookTarget({{"port", "metrics"}}, container, "10.244.1.7"));
  EXPECT_FALSE(httpHookTarget({{"port", 80}}, container, ""));  // no pod IP yet
}

// A one-shot HTTP server on a loopback port: records the request head, answers `status`.
class OneShotServer {
 public:
  explicit OneShotServer(int status) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    EXPECT_EQ(::listen(fd_, 1), 0);
    thread_ = std::thread([this, status] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[1024];
      while (request_.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        request_.append(buf, static_cast<std::size_t>(n));
      }
      std::string resp = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n\r\n";
      (void)::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::close(c);
    });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  std::string request() {
    thread_.join();
    thread_ = std::thread([] {});
    return request_;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::string request_;
  std::thread thread_;
};

TEST(HookHttpGetterTest, SendsOneGetWithTheHeadersAndAnyStatusIsAnAnswer) {
  OneShotServer server(500);
  auto getter = makeHookHttpGetter();
  json h = {{"httpHeaders", {{{"name", "X-Hook"}, {"value", "poststart"}}}}};
  auto code =
      getter->get({"127.0.0.1", server.port(), "/echo?msg=poststart"}, h, std::chrono::seconds(5));
  ASSERT_TRUE(code) << code.error().message();
  EXPECT_EQ(*code, 500);
  std::string req = server.request();
  EXPECT_EQ(req.rfind("GET /echo?msg=poststart HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("\r\nX-Hook: poststart\r\n"), std::string::npos) << req;
}

TEST(HookHttpGetterTest, RefusedConnectionIsAnError) {
  int port = 0;
  {
    OneShotServer closed(200);  // a port that was free a moment ago
    port = closed.port();
  }
  auto code =
      makeHookHttpGetter()->get({"127.0.0.1", port, "/"}, json::object(), std::chrono::seconds(2));
  ASSERT_FALSE(code);
  EXPECT_NE(code.error().message().find("connection refused"), std::string::npos)
      << code.error().message();
}

}  // namespace
}  // namespace skiff::agent
