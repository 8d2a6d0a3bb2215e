// kubectl exec / attach over SPDY (see exec_spdy.h).
#include "skiff/agent/exec_spdy.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "ordered_writer.h"
#include "read_fd_chunks.h"
#include "skiff/agent/spdy.h"
#include "skiff/common/log.h"

namespace skiff::agent {
namespace {

namespace asio = boost::asio;
using skiff::log::kv;

class ExecSpdySession : public std::enable_shared_from_this<ExecSpdySession> {
 public:
  ExecSpdySession(std::shared_ptr<ByteChannel> ch, SpdyExecOptions o)
      : ch_(std::move(ch)), opts_(std::move(o)) {}

  asio::awaitable<void> run() {
    ex_ = co_await asio::this_coro::executor;
    out_ = std::make_shared<OrderedWriter>(ch_, ex_);
    done_ = std::make_unique<asio::steady_timer>(ex_, asio::steady_timer::time_point::max());
    auto self = shared_from_this();
    asio::co_spawn(ex_, readLoop(self), asio::detached);
    // Until the process ended and its output went out, or the client left first.
    while (!finished_ && !client_gone_) {
      boost::system::error_code ec;
      done_->expires_at(asio::steady_timer::time_point::max());
      co_await done_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (client_gone_ && session_ && opts_.attach) session_->detach();
    co_await out_->drain();
    co_await ch_->close();
  }

 private:
  asio::awaitable<void> readLoop(
      std::shared_ptr<ExecSpdySession> /*self keeps the session alive*/) {
    auto lg = skiff::log::get("agent");
    for (;;) {
      std::string in;
      if (!co_await ch_->read(in)) break;
      reader_.feed(in);
      bool ok = true;
      for (;;) {
        auto f = reader_.next();
        if (!f) {
          SKIFF_LOG_DEBUG(lg, "SPDY exec connection dropped", kv("err", f.error().message()));
          out_->send(spdy::encodeGoAway(last_stream_, spdy::kProtocolError));
          ok = false;
          break;
        }
        if (!*f) break;
        if (!handle(**f)) {
          ok = false;
          break;
        }
      }
      if (!ok) break;
    }
    client_gone_ = true;
    done_->cancel();
  }

  bool handle(const spdy::Frame& f) {
    switch (f.type) {
      case spdy::FrameType::SynStream:
        return onSynStream(f);
      case spdy::FrameType::Data:
        onData(f);
        return true;
      case spdy::FrameType::Ping:
        if ((f.value & 1u) == 1u) out_->send(spdy::encodePing(f.value));
        return true;
      case spdy::FrameType::GoAway:
        return false;
      default:
        return true;
    }
  }

  bool onSynStream(const spdy::Frame& f) {
    auto headers = inflate_.decompress(f.payload);
    if (!headers) {
      out_->send(spdy::encodeGoAway(last_stream_, spdy::kProtocolError));
      return false;
    }
    if ((f.stream_id & 1u) == 0 || f.stream_id <= last_stream_) {
      out_->send(spdy::encodeRstStream(f.stream_id, spdy::kProtocolError));
      return true;
    }
    last_stream_ = f.stream_id;
    const std::string* type = spdy::findHeader(*headers, "streamtype");
    static const std::map<std::string, int> kKnown = {
        {"error", 0}, {"stdin", 1}, {"stdout", 2}, {"stderr", 3}, {"resize", 4}};
    auto known = type != nullptr ? kKnown.find(*type) : kKnown.end();
    if (known == kKnown.end() || streams_[known->second] != 0) {
      out_->send(spdy::encodeRstStream(f.stream_id, spdy::kRefusedStream));
      return true;
    }
    auto reply = deflate_.compress({});
    if (!reply) return false;
    out_->send(spdy::encodeSynReply(f.stream_id, *reply, false));
    streams_[known->second] = f.stream_id;
    if (!started_ && allStreamsOpen()) start();
    return true;
  }

  bool allStreamsOpen() const {
    return streams_[0] != 0 && (!opts_.want_stdin || streams_[1] != 0) &&
           (!opts_.want_stdout || streams_[2] != 0) &&
           (!opts_.want_stderr || opts_.tty || streams_[3] != 0) &&
           (!opts_.tty || streams_[4] != 0);
  }

  void onData(const spdy::Frame& f) {
    if (!session_) return;
    if (f.stream_id == streams_[1] && streams_[1] != 0) {
      std::size_t off = 0;
      while (off < f.payload.size()) {
        ssize_t w = ::write(session_->stdinFd(), f.payload.data() + off, f.payload.size() - off);
        if (w <= 0) break;
        off += static_cast<std::size_t>(w);
      }
      if (f.fin()) session_->closeStdin();
    } else if (f.stream_id == streams_[4] && streams_[4] != 0) {
      resize_buf_ += f.payload;
      for (auto nl = resize_buf_.find('\n'); nl != std::string::npos; nl = resize_buf_.find('\n')) {
        auto sz = nlohmann::json::parse(resize_buf_.substr(0, nl), nullptr, false);
        resize_buf_.erase(0, nl + 1);
        if (sz.is_object()) {
          (void)session_->resize(static_cast<uint16_t>(sz.value("Width", 80)),
                                 static_cast<uint16_t>(sz.value("Height", 24)));
        }
      }
    }
  }

  void start() {
    started_ = true;
    auto s = opts_.start();
    if (!s) {
      finish(opts_.status(0, s.error().message()));
      return;
    }
    session_ = std::move(*s);
    auto self = shared_from_this();
    if (opts_.want_stdout && session_->stdoutFd() >= 0) pump(session_->stdoutFd(), streams_[2]);
    if ((opts_.attach || !opts_.tty) && opts_.want_stderr && streams_[3] != 0 &&
        session_->stderrFd() >= 0) {
      pump(session_->stderrFd(), streams_[3]);
    }
    // wait() blocks: its own thread posts the exit code back.
    std::thread([self, ex = ex_] {
      auto code = self->session_->wait();
      asio::post(ex, [self, code = std::move(code)]() mutable {
        self->exited_ = true;
        if (code) {
          self->exit_code_ = *code;
        } else if (!code.error().is(ErrorCode::Cancelled)) {
          self->exit_error_ = code.error().message();
        }
        self->maybeFinish();
      });
    }).detach();
  }

  void pump(int fd, uint32_t stream) {
    int dupfd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dupfd < 0) return;
    ++open_pumps_;
    asio::co_spawn(
        ex_,
        [self = shared_from_this(), dupfd, stream]() -> asio::awaitable<void> {
          auto send = [self, stream](std::string_view chunk) -> asio::awaitable<void> {
            self->out_->send(spdy::encodeData(stream, chunk, false));
            co_await self->out_->waitBelow(1 << 20);
          };
          co_await readFdChunks(dupfd, send);
          --self->open_pumps_;
          self->maybeFinish();
        },
        asio::detached);
  }

  void maybeFinish() {
    if (!exited_ || open_pumps_ > 0 || finished_) return;
    // An attach ends in Success whatever the container's exit code, as in the kubelet.
    finish(opts_.status(opts_.attach ? 0 : exit_code_, exit_error_));
  }

  void finish(const std::string& status) {
    if (finished_) return;
    finished_ = true;
    for (int i : {2, 3, 4}) {
      if (streams_[i] != 0) out_->send(spdy::encodeData(streams_[i], "", true));
    }
    out_->send(spdy::encodeData(streams_[0], status, true));
    done_->cancel();
  }

  std::shared_ptr<ByteChannel> ch_;
  SpdyExecOptions opts_;
  asio::any_io_executor ex_;
  std::shared_ptr<OrderedWriter> out_;
  std::unique_ptr<asio::steady_timer> done_;
  spdy::FrameReader reader_;
  spdy::HeaderDecompressor inflate_;
  spdy::HeaderCompressor deflate_;
  std::array<uint32_t, 5> streams_{};  // error, stdin, stdout, stderr, resize
  uint32_t last_stream_ = 0;
  std::string resize_buf_;
  std::shared_ptr<ExecSession> session_;
  bool started_ = false, exited_ = false, finished_ = false, client_gone_ = false;
  int exit_code_ = 0;
  std::string exit_error_;
  int open_pumps_ = 0;
};

}  // namespace

asio::awaitable<void> serveExecSpdy(std::shared_ptr<ByteChannel> channel, SpdyExecOptions options) {
  auto s = std::make_shared<ExecSpdySession>(std::move(channel), std::move(options));
  co_await s->run();
}

}  // namespace skiff::agent
