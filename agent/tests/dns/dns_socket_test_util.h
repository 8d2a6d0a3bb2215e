#pragma once

// Test helpers: sockets to a DNS server under test listening on 127.0.0.1 (Boost.Asio).

#include <cstdint>
#include <utility>  // before asio (Boost 1.74 awaitable.hpp)

#include <boost/asio.hpp>

namespace skiff::agent::dns::testing {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

inline asio::ip::address loopback() { return asio::ip::make_address("127.0.0.1"); }

// A TCP connection to 127.0.0.1:port.
inline tcp::socket connectTcp(asio::io_context& io, std::uint16_t port) {
  tcp::socket s(io);
  s.connect({loopback(), port});
  return s;
}

}  // namespace skiff::agent::dns::testing
