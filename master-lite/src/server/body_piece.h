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
#include <string_view>

// GCC 12 pairs Asio's coroutine frame operator delete with the global operator new when it
// inlines a nested coroutine's destroy path and warns (GCC PR 109224, as in the agent's
// kubelet_server/stream.h); the frame is allocated and freed by awaitable_frame_base's own pair.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace skiff::master::server {

// The body whose header `p` has read from `up`, piece by piece as it arrives. read_some, not
// read: read waits until the buffer is full, which would hold back `kubectl logs -f` lines until
// that much has been written.
template <class Stream>
class BodyPieces {
 public:
  BodyPieces(Stream& up, boost::beast::flat_buffer& up_buf,
             boost::beast::http::response_parser<boost::beast::http::buffer_body>& p)
      : up_(up), up_buf_(up_buf), p_(p) {}

  // The next piece (valid until the next call); empty at the end of the body, or when the
  // stream failed (`ec` set).
  boost::asio::awaitable<std::string_view> next(boost::system::error_code& ec) {
    while (!p_.is_done()) {
      p_.get().body().data = buf_;
      p_.get().body().size = sizeof buf_;
      co_await boost::beast::http::async_read_some(
          up_, up_buf_, p_, boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec == boost::beast::http::error::need_buffer) ec = {};
      if (ec) co_return std::string_view();
      // 0 when the parser made no body progress (a chunk header): read on.
      std::size_t n = sizeof buf_ - p_.get().body().size;
      if (n > 0) co_return std::string_view(buf_, n);
    }
    co_return std::string_view();
  }

 private:
  Stream& up_;
  boost::beast::flat_buffer& up_buf_;
  boost::beast::http::response_parser<boost::beast::http::buffer_body>& p_;
  char buf_[16384];
};

}  // namespace skiff::master::server
