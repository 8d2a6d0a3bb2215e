// /exec and /attach: the v5..v1 channel.k8s.io WebSocket protocols, and SPDY/3.1 for older
// kubectl (exec_spdy.cc runs that session).
#include <utility>

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <thread>

#include "../read_fd_chunks.h"
#include "skiff/agent/exec_spdy.h"
#include "skiff/common/log.h"
#include "stream.h"

namespace skiff::agent::kubelet_api {
namespace {

using skiff::log::kv;

struct ExecState {
  std::deque<std::string> queue;
  bool writing = false;
  int open_streams = 0;
  bool exited = false;
  int exit_code = 0;
  std::string exit_error;
};

// The metav1.Status that ends an exec/attach stream (error channel / stream).
std::string execStatus(int code, const std::string& err, const std::vector<std::string>& cmd) {
  json st;
  if (!err.empty()) {
    st = {{"metadata", json::object()},
          {"status", "Failure"},
          {"message", err},
          {"reason", "InternalError"},
          {"code", 500}};
  } else if (code == 0) {
    st = {{"metadata", json::object()}, {"status", "Success"}};
  } else {
    st = {{"metadata", json::object()},
          {"status", "Failure"},
          {"message",
           "command terminated with non-zero exit code: error executing command "
           "[" +
               (cmd.empty() ? std::string() : cmd[0]) + "], exit code " + std::to_string(code)},
          {"reason", "NonZeroExitCode"},
          {"details", {{"causes", {{{"reason", "ExitCode"}, {"message", std::to_string(code)}}}}}}};
  }
  return st.dump();
}

// Starts the exec (or attaches), or says why it cannot.
Result<std::shared_ptr<ExecSession>> startExec(KubeletApiSource& src, const std::string& ns,
                                               const std::string& name,
                                               const std::string& container,
                                               const std::vector<std::string>& cmd, bool tty,
                                               bool want_stdin, bool attach) {
  auto r = resolve(src, ns, name, container, false);
  if (!r) return std::move(r).error();
  if (r->container.state != ContainerState::Running) {
    return Error(ErrorCode::Conflict, "container not found (\"" + container + "\")");
  }
  if (attach) {
    SKIFF_ASSIGN_OR_RETURN(auto s, src.runtime().attach(r->container.id, want_stdin));
    return std::shared_ptr<ExecSession>(std::move(s));
  }
  if (cmd.empty())
    return Error(ErrorCode::BadRequest, "you must specify at least one command for the container");
  SKIFF_ASSIGN_OR_RETURN(auto s, src.runtime().exec(r->container.id, cmd, tty, want_stdin));
  return std::shared_ptr<ExecSession>(std::move(s));
}

asio::awaitable<void> drainAndClose(std::shared_ptr<websocket::stream<TlsStream>> ws,
                                    std::shared_ptr<ExecState> state) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  for (int i = 0; i < 200 && (state->writing || !state->queue.empty()); ++i) {
    t.expires_after(std::chrono::milliseconds(10));
    co_await t.async_wait(asio::use_awaitable);
  }
  boost::system::error_code ec;
  co_await ws->async_close(websocket::close_code::normal,
                           asio::redirect_error(asio::use_awaitable, ec));
}

// Exec/attach over `Upgrade: SPDY/3.1` (kubectl <= 1.29, and the fallback of newer ones).
asio::awaitable<bool> execSpdy(KubeletApiSource& src, std::shared_ptr<TlsStream> stream,
                               Request& req, beast::flat_buffer& buf, const std::string& ns,
                               const std::string& name, const std::string& container,
                               const Query& q, bool attach) {
  static const std::string kV4 = "v4.channel.k8s.io";
  if (!spdyUpgrade(req)) {
    co_await sendReply(*stream, replyStatus(req, 400, "BadRequest", "Upgrade request required"));
    co_return false;
  }
  if (!offeredVersion(req, kV4)) {
    co_await sendReply(
        *stream, replyStatus(req, 403, "Forbidden",
                             "unable to upgrade: unable to negotiate protocol: server supports [" +
                                 kV4 + "]"));
    co_return false;
  }
  SpdyExecOptions o;
  o.want_stdin = q.flag("input") || q.flag("stdin");
  o.want_stdout = q.flag("output") || q.flag("stdout");
  o.want_stderr = q.flag("error") || q.flag("stderr");
  o.tty = q.flag("tty");
  o.attach = attach;
  std::vector<std::string> cmd =
      q.values.count("command") ? q.values.at("command") : std::vector<std::string>{};
  o.start = [&src, ns, name, container, cmd, tty = o.tty, in = o.want_stdin, attach] {
    return startExec(src, ns, name, container, cmd, tty, in, attach);
  };
  o.status = [cmd](int code, const std::string& err) { return execStatus(code, err, cmd); };
  co_await switchToSpdy(*stream, req, kV4);
  auto leftover = beast::buffers_to_string(buf.data());
  buf.consume(buf.size());
  co_await serveExecSpdy(std::make_shared<RawChannel>(stream, std::move(leftover)), std::move(o));
  co_return true;
}

using WsPtr = std::shared_ptr<websocket::stream<TlsStream>>;
using FrameSender = std::function<void(std::string)>;

// Subprotocol negotiation, newest first; empty when the client offers none of ours.
std::string pickChannelProtocol(const std::string& offered) {
  std::string proto;
  for (const char* p : {"v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io",
                        "v2.channel.k8s.io", "channel.k8s.io"}) {
    if (offers(offered, p)) {
      proto = p;
      break;
    }
  }
  return proto;
}

// Serialised writer: every frame goes through the queue (one async_write at a time).
FrameSender frameSender(WsPtr ws, std::shared_ptr<ExecState> state, asio::any_io_executor ex) {
  return [ws, state, ex](std::string frame) {
    state->queue.push_back(std::move(frame));
    if (state->writing) return;
    state->writing = true;
    asio::co_spawn(
        ex,
        [ws, state]() -> asio::awaitable<void> {
          while (!state->queue.empty()) {
            std::string f = std::move(state->queue.front());
            state->queue.pop_front();
            boost::system::error_code ec;
            co_await ws->async_write(asio::buffer(f),
                                     asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
              state->queue.clear();
              break;
            }
          }
          state->writing = false;
        },
        asio::detached);
  };
}

// Output pump: the fd's output as frames on `channel`; the last pump to end wakes `signal`.
void pumpOutput(asio::any_io_executor ex, FrameSender send, std::shared_ptr<ExecState> state,
                std::shared_ptr<asio::steady_timer> signal, int fd, char channel) {
  int dupfd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dupfd < 0) return;
  ++state->open_streams;
  asio::co_spawn(
      ex,
      [dupfd, channel, send, state, signal]() -> asio::awaitable<void> {
        auto on_chunk = [channel, send](std::string_view chunk) -> asio::awaitable<void> {
          send(std::string(1, channel) + std::string(chunk));
          co_return;
        };
        co_await readFdChunks(dupfd, on_chunk);
        if (--state->open_streams == 0) signal->cancel();
      },
      asio::detached);
}

// Input: stdin frames, resize, v5 close-stdin.
void readInputFrames(asio::any_io_executor ex, WsPtr ws,
                     std::shared_ptr<ExecSession> shared_session, bool want_stdin, bool attach) {
  asio::co_spawn(
      ex,
      [ws, shared_session, want_stdin, attach]() -> asio::awaitable<void> {
        beast::flat_buffer in;
        for (;;) {
          boost::system::error_code ec;
          in.clear();
          co_await ws->async_read(in, asio::redirect_error(asio::use_awaitable, ec));
          if (ec) {
            // The client went away: an attach detaches (the container keeps running).
            if (attach) shared_session->detach();
            break;
          }
          std::string msg = beast::buffers_to_string(in.data());
          if (msg.empty()) continue;
          unsigned char ch = static_cast<unsigned char>(msg[0]);
          std::string_view payload(msg.data() + 1, msg.size() - 1);
          if (ch == 0 && want_stdin) {
            std::size_t off = 0;
            while (off < payload.size()) {
              ssize_t w =
                  ::write(shared_session->stdinFd(), payload.data() + off, payload.size() - off);
              if (w <= 0) break;
              off += static_cast<std::size_t>(w);
            }
          } else if (ch == 4) {
            json sz = json::parse(payload, nullptr, false);
            if (sz.is_object()) {
              (void)shared_session->resize(static_cast<uint16_t>(sz.value("Width", 80)),
                                           static_cast<uint16_t>(sz.value("Height", 24)));
            }
          } else if (ch == 255 && !payload.empty() && payload[0] == 0) {
            shared_session->closeStdin();
          }
        }
      },
      asio::detached);
}

// Exit code: wait() blocks, so it runs on its own thread and posts back.
void watchExit(std::shared_ptr<ExecSession> shared_session, std::shared_ptr<ExecState> state,
               std::shared_ptr<asio::steady_timer> signal, asio::any_io_executor ex) {
  std::thread([shared_session, state, signal, ex] {
    auto code = shared_session->wait();
    asio::post(ex, [state, signal, code = std::move(code)]() mutable {
      state->exited = true;
      if (code) {
        state->exit_code = *code;
      } else if (!code.error().is(ErrorCode::Cancelled)) {  // Cancelled: an attach detached
        state->exit_error = code.error().message();
      }
      signal->cancel();
    });
  }).detach();
}

}  // namespace

// Exec, or attach (`attach`: the main process's streams; no command; the client's close
// detaches and leaves the container running). Returns true once the stream was moved into
// the WebSocket.
asio::awaitable<bool> handleExec(KubeletApiSource& src, std::shared_ptr<TlsStream> stream,
                                 Request& req, beast::flat_buffer& buf, const std::string& ns,
                                 const std::string& name, const std::string& container,
                                 const Query& q, bool attach) {
  auto lg = skiff::log::get("agent");
  const std::string verb = attach ? "attach" : "exec";
  if (!websocket::is_upgrade(req))
    co_return co_await execSpdy(src, stream, req, buf, ns, name, container, q, attach);
  // Subprotocol negotiation, newest first.
  std::string offered = std::string(req[http::field::sec_websocket_protocol]);
  std::string proto = pickChannelProtocol(offered);
  if (proto.empty()) {
    co_await sendReply(*stream, replyStatus(req, 400, "BadRequest",
                                            "no supported stream protocol in '" + offered + "'"));
    co_return false;
  }
  std::vector<std::string> cmd =
      q.values.count("command") ? q.values.at("command") : std::vector<std::string>{};
  bool tty = q.flag("tty");
  bool want_stdin = q.flag("input") || q.flag("stdin");
  auto ws = std::make_shared<websocket::stream<TlsStream>>(std::move(*stream));
  ws->set_option(websocket::stream_base::decorator([proto](websocket::response_type& res) {
    res.set(http::field::sec_websocket_protocol, proto);
  }));
  co_await ws->async_accept(req, asio::use_awaitable);
  ws->binary(true);
  auto ex = co_await asio::this_coro::executor;
  auto state = std::make_shared<ExecState>();
  auto signal =
      std::make_shared<asio::steady_timer>(ex, std::chrono::steady_clock::time_point::max());

  auto send = frameSender(ws, state, ex);
  // The error channel: v4 and v5 carry a metav1.Status, Success included; the older protocols
  // only a failure's message as text, and nothing on success (remotecommand's
  // v1WriteStatusFunc). A v1.20 client fails on any non-empty frame there after a clean run.
  const bool json_status = proto == "v5.channel.k8s.io" || proto == "v4.channel.k8s.io";
  auto finishStatus = [&](int code, const std::string& err) {
    if (json_status) return std::string(1, '\x03') + execStatus(code, err, cmd);
    if (err.empty() && code == 0) return std::string();
    json st = json::parse(execStatus(code, err, cmd));
    return std::string(1, '\x03') + st.value("message", "");
  };

  auto started = startExec(src, ns, name, container, cmd, tty, want_stdin, attach);
  if (!started) {
    if (auto f = finishStatus(0, started.error().message()); !f.empty()) send(std::move(f));
    co_await drainAndClose(ws, state);
    co_return true;
  }
  SKIFF_LOG_DEBUG(lg, attach ? "Attach started" : "Exec started", kv("pod", ns + "/" + name),
                  kv("container", container));
  std::shared_ptr<ExecSession> shared_session = std::move(*started);

  // Output pumps: stdout on channel 1, stderr on channel 2 (none with a TTY).
  if (shared_session->stdoutFd() >= 0)
    pumpOutput(ex, send, state, signal, shared_session->stdoutFd(), '\x01');
  if ((attach || !tty) && shared_session->stderrFd() >= 0)
    pumpOutput(ex, send, state, signal, shared_session->stderrFd(), '\x02');

  // Input: stdin frames, resize, v5 close-stdin.
  readInputFrames(ex, ws, shared_session, want_stdin, attach);

  // Exit code: wait() blocks, so it runs on its own thread and posts back.
  watchExit(shared_session, state, signal, ex);

  // Wait for the process to exit and its output to drain.
  while (!(state->exited && state->open_streams == 0)) {
    boost::system::error_code ec;
    signal->expires_at(std::chrono::steady_clock::time_point::max());
    if (state->exited && state->open_streams == 0) break;
    co_await signal->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  // An attach ends with Success whatever the container's exit code (the kubelet's
  // streaming server does the same); a detach is not an error.
  std::string last = finishStatus(attach ? 0 : state->exit_code, state->exit_error);
  if (!last.empty()) send(std::move(last));
  co_await drainAndClose(ws, state);
  co_return true;
}

}  // namespace skiff::agent::kubelet_api
