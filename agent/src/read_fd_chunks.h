#pragma once

// Private to the agent's exec sessions (exec_spdy.cc, kubelet_server/exec.cc): what a session's
// output file descriptor carries, read chunk by chunk.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <cstddef>
#include <string_view>

namespace skiff::agent {

// Reads `fd` until EOF or an error and hands each chunk to `on_chunk` (a callable returning
// awaitable<void>), awaiting it before the next read so that a slow consumer holds the reading
// back. Takes `fd` over and closes it.
template <typename OnChunk>
boost::asio::awaitable<void> readFdChunks(int fd, OnChunk on_chunk) {
  namespace asio = boost::asio;
  asio::posix::stream_descriptor sd(co_await asio::this_coro::executor, fd);
  std::array<char, 16384> b{};
  for (;;) {
    boost::system::error_code ec;
    std::size_t n =
        co_await sd.async_read_some(asio::buffer(b), asio::redirect_error(asio::use_awaitable, ec));
    if (n > 0) co_await on_chunk(std::string_view(b.data(), n));
    if (ec) break;
  }
}

}  // namespace skiff::agent
