#pragma once

// The short names skiff-master's Boost.Asio/Beast files use (the HTTPS server, the proxy relay,
// the HTTPS client, the etcd client): `using namespace skiff::master::beast_names;` in a file's
// anonymous namespace instead of the same alias block in each.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace skiff::master::beast_names {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

}  // namespace skiff::master::beast_names
