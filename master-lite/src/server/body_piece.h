#pragma once

// Reading a streamed response body piece by piece, as it arrives (logs with follow, proxied
// pages, websocket-framed logs): private to the HTTPS server's relays.
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>

// GCC 12 pairs Asio's coroutine frame operator delete with the global operator new when it
// inlines a nested coroutine's destroy path and warns (GCC PR 109224, as in the agent's
// kubelet_server/stream.h); the frame is allocated and freed by awaitable_frame_base's own pair.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace skiff::master::server {

// The next piece of the body whose header `p` has read from `up`: up to `size` bytes into
// `out`, returning how many (0 when the parser made no body progress, e.g. a chunk header).
// read_some, not read: read waits until `out` is full, which would hold back `kubectl logs -f`
// lines until that much has been written. `ec` is set when the stream failed.
template <class Stream>
boost::asio::awaitable<std::size_t> readBodyPiece(
    Stream& up, boost::beast::flat_buffer& up_buf,
    boost::beast::http::response_parser<boost::beast::http::buffer_body>& p, char* out,
    std::size_t size, boost::system::error_code& ec) {
  p.get().body().data = out;
  p.get().body().size = size;
  co_await boost::beast::http::async_read_some(
      up, up_buf, p, boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  if (ec == boost::beast::http::error::need_buffer) ec = {};
  co_return size - p.get().body().size;
}

}  // namespace skiff::master::server
