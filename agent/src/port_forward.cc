// The port-forward SPDY session (see port_forward.h).
#include "skiff/agent/port_forward.h"

#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <charconv>
#include <deque>
#include <map>

#include "ordered_writer.h"
#include "skiff/agent/spdy.h"
#include "skiff/common/log.h"

namespace skiff::agent {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using skiff::log::kv;

// One forwarded connection: the client's error and data streams and the pod-side socket.
struct Pair {
  uint32_t error_id = 0, data_id = 0;
  int port = 0;
  std::unique_ptr<tcp::socket> sock;
  bool pod_done = false;     // the pod side reached EOF (or failed); FIN sent on data
  bool client_done = false;  // the client sent FIN (or RST) on the data stream
  bool finished = false;
  std::unique_ptr<asio::steady_timer> wake;
};

constexpr std::size_t kMaxQueued = 1 << 20;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<ByteChannel> ch, PortForwardOptions o)
      : ch_(std::move(ch)), opts_(std::move(o)) {}

  asio::awaitable<void> run() {
    auto lg = skiff::log::get("agent");
    ex_ = co_await asio::this_coro::executor;
    out_ = std::make_shared<OrderedWriter>(ch_, ex_);
    for (bool open = true; open && !goaway_;) {
      std::string in;
      if (!co_await ch_->read(in)) break;
      reader_.feed(in);
      for (;;) {
        auto f = reader_.next();
        if (!f) {
          SKIFF_LOG_DEBUG(lg, "Port-forward connection dropped", kv("err", f.error().message()));
          send(spdy::encodeGoAway(last_stream_, spdy::kProtocolError));
          open = false;
          break;
        }
        if (!*f) break;
        if (!co_await handle(std::move(**f))) {
          open = false;
          break;
        }
      }
    }
    // The client is gone (or broke the protocol): close every pod socket; the pumps end.
    for (auto& [_, p] : pairs_) {
      p->client_done = true;
      closePod(*p);
    }
    co_await out_->drain();
    co_await ch_->close();
  }

 private:
  void send(std::string frame) { out_->send(std::move(frame)); }

  // Returns false when the connection must end.
  asio::awaitable<bool> handle(spdy::Frame f) {
    switch (f.type) {
      case spdy::FrameType::SynStream:
        co_return co_await onSynStream(f);
      case spdy::FrameType::Data:
        co_await onData(f);
        co_return true;
      case spdy::FrameType::RstStream:
        onReset(f.stream_id);
        co_return true;
      case spdy::FrameType::Ping:
        // Client pings have odd ids (kubectl sends one every 10 s); answer with the same frame.
        if ((f.value & 1u) == 1u) send(spdy::encodePing(f.value));
        co_return true;
      case spdy::FrameType::GoAway:
        goaway_ = true;
        co_return false;
      default:
        co_return true;  // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do
    }
  }

  asio::awaitable<bool> onSynStream(const spdy::Frame& f) {
    auto headers = inflate_.decompress(f.payload);
    if (!headers) {  // the shared zlib stream is broken: nothing later can be read
      send(spdy::encodeGoAway(last_stream_, spdy::kProtocolError));
      co_return false;
    }
    if ((f.stream_id & 1u) == 0 || f.stream_id <= last_stream_) {
      send(spdy::encodeRstStream(f.stream_id, spdy::kProtocolError));
      co_return true;
    }
    last_stream_ = f.stream_id;
    const std::string* type = spdy::findHeader(*headers, "streamtype");
    const std::string* port_text = spdy::findHeader(*headers, "port");
    int port = 0;
    if (port_text != nullptr) {
      auto [p, ec] =
          std::from_chars(port_text->data(), port_text->data() + port_text->size(), port);
      if (ec != std::errc() || p != port_text->data() + port_text->size()) port = 0;
    }
    bool is_data = type != nullptr && *type == "data";
    bool is_error = type != nullptr && *type == "error";
    if ((!is_data && !is_error) || port <= 0 || port > 65535) {
      send(spdy::encodeRstStream(f.stream_id, spdy::kRefusedStream));
      co_return true;
    }
    // Older clients send no requestID: the error stream is then the data stream's id - 2.
    const std::string* rid = spdy::findHeader(*headers, "requestid");
    std::string key =
        rid != nullptr ? *rid : std::to_string(is_error ? f.stream_id : f.stream_id - 2);
    auto reply = deflate_.compress({});
    if (!reply) co_return false;
    send(spdy::encodeSynReply(f.stream_id, *reply, false));

    auto& slot = pairs_[key];
    if (!slot) slot = std::make_shared<Pair>();
    auto pair = slot;
    if ((is_error && pair->error_id != 0) || (is_data && pair->data_id != 0)) {
      send(spdy::encodeRstStream(f.stream_id, spdy::kProtocolError));
      co_return true;
    }
    (is_error ? pair->error_id : pair->data_id) = f.stream_id;
    pair->port = port;
    streams_[f.stream_id] = key;
    if (pair->error_id != 0 && pair->data_id != 0) startForward(key, pair);
    co_return true;
  }

  asio::awaitable<void> onData(const spdy::Frame& f) {
    auto it = streams_.find(f.stream_id);
    if (it == streams_.end()) co_return;  // a stream already gone: spdystream ignores these too
    auto pit = pairs_.find(it->second);
    if (pit == pairs_.end()) co_return;
    auto pair = pit->second;
    if (f.stream_id != pair->data_id) co_return;  // the client only ever closes the error stream
    if (!f.payload.empty() && pair->sock && !pair->client_done) {
      boost::system::error_code ec;
      co_await asio::async_write(*pair->sock, asio::buffer(f.payload),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    if (f.fin() && !pair->client_done) {
      pair->client_done = true;
      boost::system::error_code ignored;
      if (pair->sock) pair->sock->shutdown(tcp::socket::shutdown_send, ignored);
      if (pair->wake) pair->wake->cancel();
    }
  }

  void onReset(uint32_t stream_id) {
    auto it = streams_.find(stream_id);
    if (it == streams_.end()) return;
    auto pit = pairs_.find(it->second);
    if (pit == pairs_.end()) return;
    pit->second->client_done = true;
    closePod(*pit->second);
  }

  void startForward(const std::string& key, std::shared_ptr<Pair> pair) {
    auto fd = opts_.dial(pair->port);
    if (!fd) {
      std::string msg = "error forwarding port " + std::to_string(pair->port) + " to pod " +
                        opts_.pod + ", uid " + opts_.uid + ": " + fd.error().message();
      auto lg = skiff::log::get("agent");
      SKIFF_LOG_DEBUG(lg, "Port-forward dial failed", kv("err", msg));
      send(spdy::encodeData(pair->error_id, msg, false));
      finish(key, *pair);
      return;
    }
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    ::getsockname(fd->get(), reinterpret_cast<sockaddr*>(&local), &len);
    pair->sock = std::make_unique<tcp::socket>(ex_);
    boost::system::error_code ec;
    pair->sock->assign(local.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd->release(), ec);
    pair->wake = std::make_unique<asio::steady_timer>(ex_, asio::steady_timer::time_point::max());
    asio::co_spawn(ex_, forward(key, pair, shared_from_this()), asio::detached);
  }

  asio::awaitable<void> forward(std::string key, std::shared_ptr<Pair> pair,
                                std::shared_ptr<Session> self) {
    // Pod -> client, until the pod side ends.
    asio::co_spawn(
        ex_,
        [this, pair, self]() -> asio::awaitable<void> {
          std::array<char, 32 * 1024> buf{};
          for (;;) {
            boost::system::error_code ec;
            std::size_t n = co_await pair->sock->async_read_some(
                asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
            if (n > 0) {
              send(spdy::encodeData(pair->data_id, std::string_view(buf.data(), n), false));
              co_await out_->waitBelow(kMaxQueued);
            }
            if (ec) break;
          }
          pair->pod_done = true;
          pair->wake->cancel();
        },
        asio::detached);

    // Both directions done, or one done and the linger passed.
    while (!(pair->pod_done && pair->client_done) && !pair->finished) {
      if (pair->pod_done || pair->client_done) {
        pair->wake->expires_after(opts_.linger);
      } else {
        pair->wake->expires_at(asio::steady_timer::time_point::max());
      }
      boost::system::error_code ec;
      co_await pair->wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) break;  // the linger ran out
    }
    finish(key, *pair);
  }

  // Ends a forwarded connection: FIN on both streams, pod socket closed.
  void finish(const std::string& key, Pair& p) {
    if (p.finished) return;
    p.finished = true;
    closePod(p);
    send(spdy::encodeData(p.data_id, "", true));
    send(spdy::encodeData(p.error_id, "", true));
    streams_.erase(p.data_id);
    streams_.erase(p.error_id);
    pairs_.erase(key);
  }

  static void closePod(Pair& p) {
    if (!p.sock) return;
    boost::system::error_code ignored;
    p.sock->close(ignored);
    if (p.wake) p.wake->cancel();
  }

  std::shared_ptr<ByteChannel> ch_;
  PortForwardOptions opts_;
  asio::any_io_executor ex_;
  spdy::FrameReader reader_;
  spdy::HeaderDecompressor inflate_;
  spdy::HeaderCompressor deflate_;
  std::map<std::string, std::shared_ptr<Pair>> pairs_;  // by requestID
  std::map<uint32_t, std::string> streams_;             // stream id -> requestID
  uint32_t last_stream_ = 0;
  bool goaway_ = false;
  std::shared_ptr<OrderedWriter> out_;
};

// The channel protocol: one pod socket per requested port, for the life of the WebSocket.
class ChannelSession : public std::enable_shared_from_this<ChannelSession> {
 public:
  ChannelSession(std::shared_ptr<ByteChannel> ch, std::vector<int> ports, PortForwardOptions o)
      : ch_(std::move(ch)), ports_(std::move(ports)), opts_(std::move(o)) {}

  asio::awaitable<void> run() {
    ex_ = co_await asio::this_coro::executor;
    out_ = std::make_shared<OrderedWriter>(ch_, ex_);
    done_ = std::make_unique<asio::steady_timer>(ex_, asio::steady_timer::time_point::max());
    socks_.resize(ports_.size());
    for (std::size_t i = 0; i < ports_.size(); ++i) {
      std::string port_le{static_cast<char>(ports_[i] & 0xFF), static_cast<char>(ports_[i] >> 8)};
      out_->send(std::string(1, static_cast<char>(2 * i)) + port_le);
      out_->send(std::string(1, static_cast<char>(2 * i + 1)) + port_le);
    }
    for (std::size_t i = 0; i < ports_.size(); ++i) {
      auto fd = opts_.dial(ports_[i]);
      if (!fd) {
        out_->send(std::string(1, static_cast<char>(2 * i + 1)) + "error forwarding port " +
                   std::to_string(ports_[i]) + " to pod " + opts_.pod + ", uid " + opts_.uid +
                   ": " + fd.error().message());
        continue;
      }
      socks_[i] = std::make_unique<tcp::socket>(ex_);
      boost::system::error_code ec;
      socks_[i]->assign(tcp::v4(), fd->release(), ec);
      ++open_;
      asio::co_spawn(ex_, pump(i, shared_from_this()), asio::detached);
    }
    if (open_ > 0) {
      // Client -> pod until the client leaves; meanwhile the pumps run.
      asio::co_spawn(ex_, readLoop(shared_from_this()), asio::detached);
      boost::system::error_code ec;
      co_await done_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    for (auto& s : socks_) {
      boost::system::error_code ignored;
      if (s) s->close(ignored);
    }
    co_await out_->drain();
    co_await ch_->close();
  }

 private:
  // `self` keeps the session alive while the coroutine runs.
  asio::awaitable<void> pump(std::size_t i, std::shared_ptr<ChannelSession> /*self*/) {
    std::array<char, 32 * 1024> buf{};
    for (;;) {
      boost::system::error_code ec;
      std::size_t n = co_await socks_[i]->async_read_some(
          asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (n > 0) {
        out_->send(std::string(1, static_cast<char>(2 * i)) + std::string(buf.data(), n));
        co_await out_->waitBelow(kMaxQueued);
      }
      if (ec) break;
    }
    if (--open_ == 0) done_->cancel();
  }

  asio::awaitable<void> readLoop(std::shared_ptr<ChannelSession> /*self*/) {
    for (;;) {
      std::string msg;
      if (!co_await ch_->read(msg)) break;
      if (msg.empty()) continue;
      std::size_t c = static_cast<unsigned char>(msg[0]);
      if (c % 2 != 0 || c / 2 >= socks_.size() || !socks_[c / 2])
        continue;  // error channels are read-only
      boost::system::error_code ec;
      co_await asio::async_write(*socks_[c / 2], asio::buffer(msg.data() + 1, msg.size() - 1),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    done_->cancel();
  }

  std::shared_ptr<ByteChannel> ch_;
  std::vector<int> ports_;
  PortForwardOptions opts_;
  asio::any_io_executor ex_;
  std::shared_ptr<OrderedWriter> out_;
  std::vector<std::unique_ptr<tcp::socket>> socks_;
  std::unique_ptr<asio::steady_timer> done_;
  int open_ = 0;
};

}  // namespace

asio::awaitable<void> servePortForwardChannels(std::shared_ptr<ByteChannel> channel,
                                               std::vector<int> ports, PortForwardOptions options) {
  auto s =
      std::make_shared<ChannelSession>(std::move(channel), std::move(ports), std::move(options));
  co_await s->run();
}

asio::awaitable<void> servePortForward(std::shared_ptr<ByteChannel> channel,
                                       PortForwardOptions options) {
  auto s = std::make_shared<Session>(std::move(channel), std::move(options));
  co_await s->run();
}

}  // namespace skiff::agent
