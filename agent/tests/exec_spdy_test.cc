// kubectl exec over SPDY against a scripted client and a pipe-backed process.
#include "skiff/agent/exec_spdy.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <condition_variable>
#include <deque>
#include <future>

#include "skiff/agent/spdy.h"
#include "skiff/agent/testing/fake_byte_channel.h"

namespace skiff::agent {
namespace {

namespace asio = boost::asio;

using FakeChannel = testing::FakeByteChannel;

// A "process" whose stdin and stdout are pipes the test holds the other ends of.
class PipeSession final : public ExecSession {
 public:
  PipeSession() {
    EXPECT_EQ(::pipe2(in_, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(out_, O_CLOEXEC), 0);
  }
  ~PipeSession() override {
    for (int fd : {in_[0], in_[1], out_[0], out_[1]}) {
      if (fd >= 0) ::close(fd);
    }
  }
  int stdinFd() const override { return in_[1]; }
  int stdoutFd() const override { return out_[0]; }
  int stderrFd() const override { return -1; }
  void closeStdin() override {
    ::close(in_[1]);
    in_[1] = -1;
  }
  Result<void> resize(uint16_t cols, uint16_t rows) override {
    resized_ = {cols, rows};
    return ok();
  }
  Result<int> wait() override { return exit_.get_future().get(); }
  // The test's side: what the process read, and its output and exit.
  std::string readStdin() {
    std::string s;
    char b[64];
    for (ssize_t n; (n = ::read(in_[0], b, sizeof b)) > 0;)
      s.append(b, static_cast<std::size_t>(n));
    return s;
  }
  void exitWith(const std::string& output, int code) {
    EXPECT_EQ(::write(out_[1], output.data(), output.size()), static_cast<ssize_t>(output.size()));
    ::close(out_[1]);
    out_[1] = -1;
    exit_.set_value(code);
  }
  std::pair<uint16_t, uint16_t> resized_{0, 0};

 private:
  int in_[2] = {-1, -1}, out_[2] = {-1, -1};
  std::promise<int> exit_;
};

class ExecSpdyTest : public ::testing::Test {
 protected:
  void start(bool tty, bool fail_start = false) {
    chan_ = std::make_shared<FakeChannel>(io_);
    SpdyExecOptions o;
    o.want_stdin = true;
    o.want_stdout = true;
    o.want_stderr = true;
    o.tty = tty;
    o.start = [this, fail_start]() -> Result<std::shared_ptr<ExecSession>> {
      ++starts_;
      if (fail_start) return Error(ErrorCode::Conflict, "container not found (\"c\")");
      return std::shared_ptr<ExecSession>(proc_);
    };
    o.status = [](int code, const std::string& err) {
      return err.empty() ? "status " + std::to_string(code) : "error " + err;
    };
    asio::co_spawn(io_, serveExecSpdy(chan_, std::move(o)),
                   [this](std::exception_ptr) { ended_ = true; });
  }
  void open(uint32_t id, const std::string& type) {
    auto block = deflate_.compress({{"streamType", type}});
    ASSERT_TRUE(block);
    chan_->push(spdy::encodeSynStream(id, *block, false));
  }
  // kubectl's first streams of an exec with stdin: error, stdin and stdout; the server answers
  // them (and waits for the rest before it starts the process). False: no answer came.
  bool openErrorStdinStdout() {
    open(1, "error");
    open(3, "stdin");
    open(5, "stdout");
    return runUntil([&] { return !chan_->out_.empty(); });
  }
  template <typename F>
  bool runUntil(F done) {
    return testing::runIoUntil(io_, done);
  }
  bool has(uint32_t stream, bool fin, const std::string& payload) {
    reader_.feed(chan_->out_);
    chan_->out_.clear();
    for (;;) {
      auto f = reader_.next();
      if (!f || !*f) break;
      got_.push_back(std::move(**f));
    }
    for (const auto& f : got_) {
      if (f.type == spdy::FrameType::Data && f.stream_id == stream && f.fin() == fin &&
          f.payload == payload)
        return true;
    }
    return false;
  }

  asio::io_context io_;
  std::shared_ptr<FakeChannel> chan_;
  std::shared_ptr<PipeSession> proc_ = std::make_shared<PipeSession>();
  spdy::HeaderCompressor deflate_;
  spdy::FrameReader reader_;
  std::vector<spdy::Frame> got_;
  int starts_ = 0;
  bool ended_ = false;
};

TEST_F(ExecSpdyTest, StartsOnceAllStreamsAreOpenAndEndsWithTheStatus) {
  start(false);
  ASSERT_TRUE(openErrorStdinStdout());
  EXPECT_EQ(starts_, 0) << "stderr was asked for and is not open yet";
  open(7, "stderr");
  ASSERT_TRUE(runUntil([&] { return starts_ == 1; }));
  chan_->push(spdy::encodeData(3, "hi", true));                   // stdin, then its end
  ASSERT_TRUE(runUntil([&] { return proc_->stdinFd() == -1; }));  // stdin's FIN closed it
  EXPECT_EQ(proc_->readStdin(), "hi");
  proc_->exitWith("out", 3);
  ASSERT_TRUE(runUntil(
      [&] { return has(5, false, "out") && has(5, true, "") && has(1, true, "status 3"); }));
  EXPECT_TRUE(has(7, true, ""));
  ASSERT_TRUE(runUntil([&] { return ended_; }));
  EXPECT_TRUE(chan_->closed_);
}

TEST_F(ExecSpdyTest, TtyWaitsForResizeAndAppliesIt) {
  start(true);
  ASSERT_TRUE(openErrorStdinStdout());
  EXPECT_EQ(starts_, 0) << "a TTY exec waits for its resize stream (and has no stderr)";
  open(7, "resize");
  ASSERT_TRUE(runUntil([&] { return starts_ == 1; }));
  chan_->push(spdy::encodeData(7, "{\"Width\":120,\"Height\":40}\n", false));
  ASSERT_TRUE(
      runUntil([&] { return proc_->resized_ == std::make_pair<uint16_t, uint16_t>(120, 40); }));
  proc_->exitWith("", 0);
  ASSERT_TRUE(runUntil([&] { return has(1, true, "status 0"); }));
}

TEST_F(ExecSpdyTest, AFailedStartIsReportedOnTheErrorStream) {
  start(false, true);
  for (auto [id, type] : {std::pair{1u, "error"}, {3u, "stdin"}, {5u, "stdout"}, {7u, "stderr"}})
    open(id, type);
  ASSERT_TRUE(runUntil([&] { return has(1, true, "error container not found (\"c\")"); }));
  ASSERT_TRUE(runUntil([&] { return ended_; }));
}

TEST_F(ExecSpdyTest, UnknownOrRepeatedStreamsAreRefused) {
  start(false);
  open(1, "error");
  open(3, "error");
  open(5, "telemetry");
  ASSERT_TRUE(runUntil([&] {
    has(0, false, "");
    int refused = 0;
    for (const auto& f : got_)
      refused += f.type == spdy::FrameType::RstStream && f.value == spdy::kRefusedStream;
    return refused == 2;
  }));
  EXPECT_EQ(starts_, 0);
}

}  // namespace
}  // namespace skiff::agent
