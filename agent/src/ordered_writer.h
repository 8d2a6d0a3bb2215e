#pragma once

// Private to the agent's SPDY/WebSocket sessions (port_forward.cc, exec_spdy.cc).

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <memory>
#include <string>

#include "skiff/agent/byte_channel.h"

namespace skiff::agent {

// Sends whole frames/messages in the order they were queued, one write at a time (the header
// compressor's state depends on the order, and a WebSocket allows one writer).
class OrderedWriter : public std::enable_shared_from_this<OrderedWriter> {
 public:
  OrderedWriter(std::shared_ptr<ByteChannel> ch, boost::asio::any_io_executor ex)
      : ch_(std::move(ch)), ex_(std::move(ex)) {}

  void send(std::string bytes) {
    if (closed_) return;
    pending_ += bytes.size();
    queue_.push_back(std::move(bytes));
    if (writing_) return;
    writing_ = true;
    boost::asio::co_spawn(
        ex_,
        [self = shared_from_this()]() -> boost::asio::awaitable<void> {
          while (!self->queue_.empty()) {
            std::string f = std::move(self->queue_.front());
            self->queue_.pop_front();
            self->pending_ -= f.size();
            if (!co_await self->ch_->write(std::move(f))) {
              self->queue_.clear();
              self->pending_ = 0;
              self->closed_ = true;
            }
          }
          self->writing_ = false;
        },
        boost::asio::detached);
  }

  // Back-pressure for a pump: waits while more than `limit` bytes are queued.
  boost::asio::awaitable<void> waitBelow(std::size_t limit) {
    co_await waitWhile([&] { return pending_ > limit; }, 100000);
  }

  // Waits (at most 2 s) for the queue to go out, then drops anything sent later.
  boost::asio::awaitable<void> drain() {
    co_await waitWhile([&] { return writing_ || !queue_.empty(); }, 200);
    closed_ = true;
  }

 private:
  template <typename F>
  boost::asio::awaitable<void> waitWhile(F busy, int max_ticks) {
    boost::asio::steady_timer t(ex_);
    for (int i = 0; i < max_ticks && !closed_ && busy(); ++i) {
      t.expires_after(std::chrono::milliseconds(10));
      boost::system::error_code ec;
      co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
  }

  std::shared_ptr<ByteChannel> ch_;
  boost::asio::any_io_executor ex_;
  std::deque<std::string> queue_;
  std::size_t pending_ = 0;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace skiff::agent
