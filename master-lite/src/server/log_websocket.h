#pragma once

// pods/log read over a WebSocket (`wss://.../log`, what the conformance suite and websocket
// clients use): the agent's plain log stream framed as kube-apiserver's wsstream.Reader does.
// Private to the HTTPS server (https_server.cc).
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace skiff::master::server {

using LogStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// The subprotocol to answer for a client's Sec-WebSocket-Protocol list: the first of
// "binary.k8s.io" and "base64.binary.k8s.io" it offers, "" when it offers none (plain binary);
// nullopt when it offers only others (upstream refuses the handshake).
std::optional<std::string> logWebSocketProtocol(std::string_view offered);

// Accepts the client's upgrade `req` and sends what `up` (whose response header `p` has read)
// carries: each read one binary message, or one base64 text message under
// base64.binary.k8s.io; a normal close when the log ends.
boost::asio::awaitable<void> relayLogAsWebSocket(
    LogStream& client, const boost::beast::http::request<boost::beast::http::string_body>& req,
    const std::string& protocol, LogStream& up, boost::beast::flat_buffer& up_buf,
    boost::beast::http::response_parser<boost::beast::http::buffer_body>& p);

}  // namespace skiff::master::server
