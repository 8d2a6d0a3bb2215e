#pragma once

// The byte pipe the kubelet API's SPDY sessions (port-forward, exec over SPDY) run on: the raw
// connection after `Upgrade: SPDY/3.1`, or WebSocket binary messages.

#include <utility>  // before asio: its awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include <string>

namespace skiff::agent {

// A bidirectional byte pipe. Calls come from one strand; at most one read and one write are in
// flight at a time.
class ByteChannel {
 public:
  virtual ~ByteChannel() = default;
  // Appends what arrived to `out`; false once the peer is gone.
  virtual boost::asio::awaitable<bool> read(std::string& out) = 0;
  virtual boost::asio::awaitable<bool> write(std::string bytes) = 0;
  virtual boost::asio::awaitable<void> close() = 0;
};

}  // namespace skiff::agent
