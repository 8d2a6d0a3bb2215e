// The port-forward session against a scripted SPDY client and a socketpair standing in for the
// pod's listening port.
#include "skiff/agent/port_forward.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>

#include "skiff/agent/spdy.h"
#include "skiff/agent/testing/fake_byte_channel.h"

namespace skiff::agent {
namespace {

namespace asio = boost::asio;

using FakeChannel = testing::FakeByteChannel;

class PortForwardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    chan_ = std::make_shared<FakeChannel>(io_);
    o_.pod = "sb1";
    o_.uid = "u1";
    o_.linger = std::chrono::milliseconds(20);
    o_.dial = [this](int port) -> Result<UniqueFd> {
      dialed_.push_back(port);
      if (refuse_) return Error(ErrorCode::Unavailable, "failed to connect to localhost:81");
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return Error::fromErrno(errno, "socketpair");
      pods_.emplace_back(sv[1]);
      return UniqueFd(sv[0]);
    };
  }

  void startSpdy() {
    asio::co_spawn(io_, servePortForward(chan_, o_), [this](std::exception_ptr) { ended_ = true; });
  }
  void startChannels(std::vector<int> ports) {
    asio::co_spawn(io_, servePortForwardChannels(chan_, std::move(ports), o_),
                   [this](std::exception_ptr) { ended_ = true; });
  }
  int pod() { return pods_.empty() ? -1 : pods_.back().get(); }

  // Runs the session until `done` holds (or 5 s pass).
  template <typename F>
  bool runUntil(F done) {
    return testing::runIoUntil(io_, done);
  }

  void openStream(uint32_t id, const std::string& type, const std::string& port,
                  const std::string& rid) {
    auto block =
        client_deflate_.compress({{"streamType", type}, {"port", port}, {"requestID", rid}});
    ASSERT_TRUE(block);
    chan_->push(spdy::encodeSynStream(id, *block, false));
  }

  // Frames the session sent since the last call.
  std::vector<spdy::Frame> frames() {
    reader_.feed(chan_->out_);
    chan_->out_.clear();
    for (;;) {
      auto f = reader_.next();
      EXPECT_TRUE(f);
      if (!f || !*f) break;
      if ((*f)->type == spdy::FrameType::SynReply) {
        EXPECT_TRUE(client_inflate_.decompress((*f)->payload));
      }
      got_.push_back(std::move(**f));
    }
    return got_;
  }

  bool has(spdy::FrameType t, uint32_t stream, bool fin, const std::string& payload = "") {
    for (const auto& f : frames()) {
      if (f.type == t && f.stream_id == stream && f.fin() == fin &&
          (payload.empty() || f.payload == payload))
        return true;
    }
    return false;
  }

  std::string readPod() {
    char b[256];
    ssize_t n = ::recv(pod(), b, sizeof b, MSG_DONTWAIT);
    return n > 0 ? std::string(b, static_cast<std::size_t>(n)) : std::string();
  }

  asio::io_context io_;
  std::shared_ptr<FakeChannel> chan_;
  spdy::HeaderCompressor client_deflate_;
  spdy::HeaderDecompressor client_inflate_;
  spdy::FrameReader reader_;
  std::vector<spdy::Frame> got_;
  std::vector<int> dialed_;
  PortForwardOptions o_;
  std::vector<UniqueFd> pods_;
  bool refuse_ = false;
  bool ended_ = false;
};

TEST_F(PortForwardTest, ForwardsBothWaysThenClosesBothStreams) {
  startSpdy();
  openStream(1, "error", "8080", "0");
  openStream(3, "data", "8080", "0");
  ASSERT_TRUE(runUntil([&] {
    return has(spdy::FrameType::SynReply, 1, false) && has(spdy::FrameType::SynReply, 3, false);
  }));
  EXPECT_EQ(dialed_, std::vector<int>{8080});
  chan_->push(
      spdy::encodeData(1, "", true));  // kubectl closes its side of the error stream at once
  chan_->push(spdy::encodeData(3, "GET / HTTP/1.0\r\n\r\n", false));
  std::string at_pod;
  ASSERT_TRUE(runUntil([&] {
    at_pod += readPod();
    return at_pod == "GET / HTTP/1.0\r\n\r\n";
  }));
  ASSERT_EQ(::send(pod(), "HTTP/1.0 200 OK\r\n\r\nhi", 21, 0), 21);
  ASSERT_TRUE(
      runUntil([&] { return has(spdy::FrameType::Data, 3, false, "HTTP/1.0 200 OK\r\n\r\nhi"); }));
  // The pod closes: FIN on the data stream, then (after the client's FIN) on the error stream.
  pods_.back().reset();
  ASSERT_TRUE(runUntil([&] { return has(spdy::FrameType::Data, 3, true); }));
  chan_->push(spdy::encodeData(3, "", true));
  ASSERT_TRUE(runUntil([&] { return has(spdy::FrameType::Data, 1, true); }));
  for (const auto& f : frames())
    EXPECT_FALSE(f.type == spdy::FrameType::Data && f.stream_id == 1 && !f.payload.empty());
  chan_->hangUp();
  ASSERT_TRUE(runUntil([&] { return ended_; }));
  EXPECT_TRUE(chan_->closed_);
}

TEST_F(PortForwardTest, ClientHalfCloseReachesThePodAndLingerEndsIt) {
  startSpdy();
  openStream(1, "error", "80", "7");
  openStream(3, "data", "80", "7");
  ASSERT_TRUE(runUntil([&] { return has(spdy::FrameType::SynReply, 3, false); }));
  chan_->push(spdy::encodeData(3, "bye", true));
  std::string at_pod;
  ASSERT_TRUE(runUntil([&] {
    at_pod += readPod();
    return at_pod == "bye";
  }));
  // The pod never closes; after the linger both streams end anyway and the pod sees EOF.
  ASSERT_TRUE(runUntil(
      [&] { return has(spdy::FrameType::Data, 3, true) && has(spdy::FrameType::Data, 1, true); }));
  char b;
  EXPECT_EQ(::recv(pod(), &b, 1, 0), 0);
}

TEST_F(PortForwardTest, DialFailureIsWrittenToTheErrorStream) {
  startSpdy();
  refuse_ = true;
  openStream(1, "error", "81", "0");
  openStream(3, "data", "81", "0");
  std::string expected =
      "error forwarding port 81 to pod sb1, uid u1: failed to connect to localhost:81";
  ASSERT_TRUE(runUntil([&] { return has(spdy::FrameType::Data, 1, false, expected); }));
  ASSERT_TRUE(runUntil(
      [&] { return has(spdy::FrameType::Data, 1, true) && has(spdy::FrameType::Data, 3, true); }));
}

TEST_F(PortForwardTest, RequestIdFallsBackToStreamIdsForOldClients) {
  startSpdy();
  auto block = client_deflate_.compress({{"streamType", "error"}, {"port", "9000"}});
  chan_->push(spdy::encodeSynStream(5, *block, false));
  block = client_deflate_.compress({{"streamType", "data"}, {"port", "9000"}});
  chan_->push(spdy::encodeSynStream(7, *block, false));
  ASSERT_TRUE(runUntil([&] { return dialed_.size() == 1; }));
  EXPECT_EQ(dialed_[0], 9000);
}

TEST_F(PortForwardTest, AnswersPingsAndRefusesBadStreams) {
  startSpdy();
  chan_->push(spdy::encodePing(1));
  openStream(1, "stdin", "80", "0");
  openStream(3, "data", "http", "1");
  ASSERT_TRUE(runUntil([&] { return has(spdy::FrameType::RstStream, 3, false); }));
  bool pong = false, refused1 = false;
  for (const auto& f : frames()) {
    pong |= f.type == spdy::FrameType::Ping && f.value == 1;
    refused1 |=
        f.type == spdy::FrameType::RstStream && f.stream_id == 1 && f.value == spdy::kRefusedStream;
  }
  EXPECT_TRUE(pong);
  EXPECT_TRUE(refused1);
  EXPECT_TRUE(dialed_.empty());
}

TEST_F(PortForwardTest, ClientLeavingClosesThePodSocket) {
  startSpdy();
  openStream(1, "error", "80", "0");
  openStream(3, "data", "80", "0");
  ASSERT_TRUE(runUntil([&] { return !pods_.empty(); }));
  chan_->hangUp();
  ASSERT_TRUE(runUntil([&] { return ended_; }));
  char b;
  ASSERT_TRUE(runUntil([&] { return ::recv(pod(), &b, 1, MSG_DONTWAIT) == 0; }));
}

TEST_F(PortForwardTest, ProtocolErrorEndsTheConnectionWithGoAway) {
  startSpdy();
  chan_->push(
      std::string{'\x80', '\x02', '\x00', '\x06', '\x00', '\x00', '\x00', '\x04', 0, 0, 0, 1});
  ASSERT_TRUE(runUntil([&] { return ended_; }));
  bool goaway = false;
  for (const auto& f : frames())
    goaway |= f.type == spdy::FrameType::GoAway && f.value == spdy::kProtocolError;
  EXPECT_TRUE(goaway);
  EXPECT_TRUE(chan_->closed_);
}

TEST_F(PortForwardTest, ChannelProtocolForwardsEachPortOnItsChannels) {
  refuse_ = false;
  o_.dial = [this, inner = o_.dial](int port) -> Result<UniqueFd> {
    if (port == 81) {
      dialed_.push_back(port);
      return Error(ErrorCode::Unavailable, "failed to connect to localhost:81");
    }
    return inner(port);
  };
  startChannels({8080, 81});
  // Each channel opens with its port, little-endian; then port 81's error channel says why.
  // The session dials before its writer has flushed, so wait for the last message to be out.
  ASSERT_TRUE(runUntil([&] {
    return dialed_.size() == 2 && !pods_.empty() &&
           chan_->out_.find("error forwarding port 81") != std::string::npos;
  }));
  std::string greeting = chan_->out_;
  std::string expected{'\x00', '\x90', '\x1f', '\x01', '\x90', '\x1f',
                       '\x02', 'Q',    '\x00', '\x03', 'Q',    '\x00'};
  ASSERT_GE(greeting.size(), expected.size());
  EXPECT_EQ(greeting.substr(0, expected.size()), expected);
  EXPECT_NE(greeting.find(
                "\x03"
                "error forwarding port 81 to pod sb1, uid u1: failed to connect to localhost:81"),
            std::string::npos);
  chan_->out_.clear();
  chan_->push(
      std::string("\x00"
                  "ping",
                  5));
  chan_->push(
      std::string("\x02"
                  "ignored: port 81 has no socket",
                  30));
  std::string at_pod;
  ASSERT_TRUE(runUntil([&] {
    at_pod += readPod();
    return at_pod == "ping";
  }));
  ASSERT_EQ(::send(pod(), "pong", 4, 0), 4);
  ASSERT_TRUE(runUntil([&] {
    return chan_->out_ == std::string(
                              "\x00"
                              "pong",
                              5);
  }));
  // The only pod connection ends: the WebSocket closes.
  pods_.back().reset();
  ASSERT_TRUE(runUntil([&] { return ended_; }));
  EXPECT_TRUE(chan_->closed_);
}

TEST_F(PortForwardTest, ChannelProtocolClosesPodSocketsWhenTheClientLeaves) {
  startChannels({8080});
  ASSERT_TRUE(runUntil([&] { return !pods_.empty(); }));
  chan_->hangUp();
  ASSERT_TRUE(runUntil([&] { return ended_; }));
  char b;
  ASSERT_TRUE(runUntil([&] { return ::recv(pod(), &b, 1, MSG_DONTWAIT) == 0; }));
}

}  // namespace
}  // namespace skiff::agent
