#pragma once

// The relay of the proxy subresources (pods|services|nodes/<id>/proxy): the client's request
// forwarded over HTTP or HTTPS to the backend a ProxyTarget names, its answer streamed back with
// redirects and HTML links rewritten, as k8s.io/apimachinery/pkg/util/proxy does. Private to
// the HTTPS server (https_server.cc).
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "skiff/master/api/handler.h"

namespace skiff::master::server {

using ClientStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

struct RelayContext {
  boost::asio::ssl::context& kubelet_tls;  // presents the API server's kubelet client certificate
  boost::asio::ssl::context& plain_tls;    // presents none (pods, other node ports)
  std::chrono::seconds write_timeout;
  std::string remote_addr;                                   // for X-Forwarded-For
  std::vector<std::pair<std::string, std::string>> headers;  // the handler's (Audit-Id)
};

boost::asio::awaitable<void> relayProxy(
    std::shared_ptr<ClientStream> client,
    boost::beast::http::request<boost::beast::http::string_body>& req, const api::ProxyTarget& t,
    const RelayContext& ctx);

}  // namespace skiff::master::server
