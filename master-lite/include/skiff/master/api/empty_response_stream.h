#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "skiff/master/api/handler.h"

namespace skiff::master::api {

// A stream with no body: read() reports the end at once, no deadline, nothing when idle. It
// stands for a watch whose events do not travel as a body (one served in-process), so that an
// audit record still sees the watch's response end when the stream is destroyed.
class EmptyResponseStream : public ResponseStream {
 public:
  bool read(std::string&) override { return false; }
  void setNotify(std::function<void()>) override {}
  std::chrono::steady_clock::time_point deadline() const override {
    return std::chrono::steady_clock::time_point::max();
  }
  std::string idle() override { return ""; }
};

}  // namespace skiff::master::api
