// pods/log over a WebSocket (log_websocket.h), as k8s.io/apimachinery's wsstream.Reader.
#include "log_websocket.h"

#include "body_piece.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <sstream>

#include "skiff/common/base64.h"
#include "skiff/master/https/beast_names.h"

namespace skiff::master::server {
using namespace beast_names;
namespace websocket = beast::websocket;
using error_code = boost::system::error_code;

namespace {
auto tok(error_code& ec) { return net::redirect_error(net::use_awaitable, ec); }
}  // namespace

std::optional<std::string> logWebSocketProtocol(std::string_view offered) {
  std::stringstream in{std::string(offered)};
  std::string item;
  bool any = false;
  while (std::getline(in, item, ',')) {
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b == std::string::npos) continue;
    item = item.substr(b, e - b + 1);
    any = true;
    if (item == "binary.k8s.io" || item == "base64.binary.k8s.io") return item;
  }
  if (any) return std::nullopt;
  return std::string();
}

net::awaitable<void> relayLogAsWebSocket(LogStream& client,
                                         const http::request<http::string_body>& req,
                                         const std::string& protocol, LogStream& up,
                                         beast::flat_buffer& up_buf,
                                         http::response_parser<http::buffer_body>& p) {
  error_code ec;
  websocket::stream<LogStream&> ws(client);
  ws.set_option(websocket::stream_base::decorator([protocol](websocket::response_type& res) {
    if (!protocol.empty()) res.set(http::field::sec_websocket_protocol, protocol);
  }));
  beast::get_lowest_layer(client).expires_never();
  co_await ws.async_accept(req, tok(ec));
  if (ec) co_return;
  bool text = protocol == "base64.binary.k8s.io";
  ws.binary(!text);
  BodyPieces pieces(up, up_buf, p);
  for (;;) {
    std::string_view piece = co_await pieces.next(ec);
    if (piece.empty()) break;
    if (text) {
      std::string encoded = base64Encode(piece);
      co_await ws.async_write(net::buffer(encoded), tok(ec));
    } else {
      co_await ws.async_write(net::buffer(piece.data(), piece.size()), tok(ec));
    }
    if (ec) co_return;
  }
  co_await ws.async_close(websocket::close_code::normal, tok(ec));
}

}  // namespace skiff::master::server
