#pragma once

// The kubelet API server's parts (server.cc accepts and routes; logs.cc, exec.cc and
// port_forward.cc serve one endpoint each): the request types, the query, replies with a
// metav1.Status, SPDY upgrade helpers and the byte channels the streaming sessions run on.
// Internal to agent/src/kubelet_server/.

#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "skiff/agent/byte_channel.h"
#include "skiff/agent/kubelet_server.h"

// GCC 12 pairs Asio's coroutine frame operator delete with the global operator new when it
// inlines a coroutine's destroy path and warns (GCC PR 109224); the frame is allocated and freed
// by awaitable_frame_base's own pair. Every file including this one defines coroutines.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace skiff::agent::kubelet_api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using nlohmann::json;
using Request = http::request<http::string_body>;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using WsStream = websocket::stream<TlsStream>;

struct Query {
  std::map<std::string, std::vector<std::string>> values;
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = values.find(k);
    return it == values.end() || it->second.empty() ? def : it->second.front();
  }
  bool flag(const std::string& k) const {
    std::string v = get(k);
    return v == "1" || v == "true" || v == "True";
  }
};

// Splits a request target into unescaped path segments and query values.
void splitTarget(std::string_view target, std::vector<std::string>& segs, Query& q);

json statusBody(int code, const std::string& reason, const std::string& message);
http::response<http::string_body> reply(const Request& req, int code, const std::string& ct,
                                        std::string body);
http::response<http::string_body> replyStatus(const Request& req, int code,
                                              const std::string& reason,
                                              const std::string& message);

template <typename Res>
asio::awaitable<void> sendReply(TlsStream& s, Res res) {
  co_await http::async_write(s, res, asio::use_awaitable);
}

// Whether a comma-separated header value lists `want`.
bool offers(beast::string_view list, const std::string& want);
// `Upgrade: SPDY/3.1`?
bool spdyUpgrade(const Request& req);
// httpstream.Handshake: the client lists the versions it speaks in X-Stream-Protocol-Version.
bool offeredVersion(const Request& req, const std::string& version);
asio::awaitable<void> switchToSpdy(TlsStream& stream, const Request& req,
                                   const std::string& version);

// The raw TLS connection after `Upgrade: SPDY/3.1`.
class RawChannel final : public ByteChannel {
 public:
  RawChannel(std::shared_ptr<TlsStream> s, std::string leftover)
      : s_(std::move(s)), leftover_(std::move(leftover)) {}
  asio::awaitable<bool> read(std::string& out) override {
    if (!leftover_.empty()) {
      out += std::exchange(leftover_, {});
      co_return true;
    }
    std::array<char, 32 * 1024> b{};
    boost::system::error_code ec;
    std::size_t n = co_await s_->async_read_some(asio::buffer(b),
                                                 asio::redirect_error(asio::use_awaitable, ec));
    out.append(b.data(), n);
    co_return !ec || n > 0;
  }
  asio::awaitable<bool> write(std::string bytes) override {
    boost::system::error_code ec;
    co_await asio::async_write(*s_, asio::buffer(bytes),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }
  asio::awaitable<void> close() override {
    boost::system::error_code ignored;
    beast::get_lowest_layer(*s_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(*s_).close();
    co_return;
  }

 private:
  std::shared_ptr<TlsStream> s_;
  std::string leftover_;
};

// kubectl's tunnel: each binary message carries the next bytes of the SPDY connection.
class WebSocketChannel final : public ByteChannel {
 public:
  explicit WebSocketChannel(std::shared_ptr<websocket::stream<TlsStream>> ws)
      : ws_(std::move(ws)) {}
  asio::awaitable<bool> read(std::string& out) override {
    beast::flat_buffer in;
    boost::system::error_code ec;
    co_await ws_->async_read(in, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !ws_->got_binary()) co_return false;  // client-go refuses text messages too
    out += beast::buffers_to_string(in.data());
    co_return true;
  }
  asio::awaitable<bool> write(std::string bytes) override {
    boost::system::error_code ec;
    co_await ws_->async_write(asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }
  asio::awaitable<void> close() override {
    boost::system::error_code ec;
    co_await ws_->async_close(websocket::close_code::normal,
                              asio::redirect_error(asio::use_awaitable, ec));
  }

 private:
  std::shared_ptr<websocket::stream<TlsStream>> ws_;
};

struct Resolved {
  json pod;
  ContainerInfo container;
};

// Finds the pod and the container instance (latest, or the previous one).
Result<Resolved> resolve(KubeletApiSource& src, const std::string& ns, const std::string& name,
                         const std::string& container, bool previous);

// GET /containerLogs/{ns}/{pod}/{container}: true when the connection can serve another request.
asio::awaitable<bool> handleContainerLogs(KubeletApiSource& src, TlsStream& stream, Request& req,
                                          const std::string& ns, const std::string& name,
                                          const std::string& container, const Query& q);
// /exec and /attach: true once the stream was moved into the WebSocket or SPDY session.
asio::awaitable<bool> handleExec(KubeletApiSource& src, std::shared_ptr<TlsStream> stream,
                                 Request& req, beast::flat_buffer& buf, const std::string& ns,
                                 const std::string& name, const std::string& container,
                                 const Query& q, bool attach);
// /portForward: true once the stream was handed to the session.
asio::awaitable<bool> handlePortForward(KubeletApiSource& src, std::shared_ptr<TlsStream> stream,
                                        Request& req, beast::flat_buffer& buf,
                                        const std::string& ns, const std::string& name,
                                        const Query& q);

}  // namespace skiff::agent::kubelet_api
