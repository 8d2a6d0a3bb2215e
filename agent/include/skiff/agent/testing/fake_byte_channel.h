#pragma once

// An in-memory ByteChannel for the SPDY session tests: the test pushes what the client sends
// (each push is one read, like a WebSocket message) and reads what the session wrote.

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <deque>
#include <string>

#include "skiff/agent/byte_channel.h"

namespace skiff::agent::testing {

class FakeByteChannel final : public ByteChannel {
 public:
  explicit FakeByteChannel(boost::asio::io_context& io)
      : wake_(io, boost::asio::steady_timer::time_point::max()) {}
  void push(std::string bytes) {
    in_.push_back(std::move(bytes));
    wake_.cancel();
  }
  void hangUp() {
    eof_ = true;
    wake_.cancel();
  }
  boost::asio::awaitable<bool> read(std::string& out) override {
    while (in_.empty() && !eof_) {
      boost::system::error_code ec;
      wake_.expires_at(boost::asio::steady_timer::time_point::max());
      co_await wake_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    if (in_.empty()) co_return false;
    out += in_.front();
    in_.pop_front();
    co_return true;
  }
  boost::asio::awaitable<bool> write(std::string bytes) override {
    out_ += bytes;
    co_return true;
  }
  boost::asio::awaitable<void> close() override {
    closed_ = true;
    co_return;
  }
  std::string out_;  // everything the session wrote, for the test to consume
  bool closed_ = false;

 private:
  boost::asio::steady_timer wake_;
  std::deque<std::string> in_;
  bool eof_ = false;
};

// Runs `io` in small slices until `done()` holds or 5 s pass; returns `done()`.
template <typename F>
bool runIoUntil(boost::asio::io_context& io, F done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return done();
}

}  // namespace skiff::agent::testing
