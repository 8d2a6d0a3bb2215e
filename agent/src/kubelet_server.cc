// The kubelet API server. With https_transport.cc, the only TUs that instantiate Beast.
#include "skiff/agent/kubelet_server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <charconv>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "skiff/agent/cri_log.h"
#include "skiff/agent/exec_spdy.h"
#include "skiff/agent/port_forward.h"
#include "skiff/common/log.h"

namespace skiff::agent {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using nlohmann::json;
using skiff::log::kv;

namespace {

using Request = http::request<http::string_body>;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

struct Query {
  std::map<std::string, std::vector<std::string>> values;
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = values.find(k);
    return it == values.end() || it->second.empty() ? def : it->second.front();
  }
  bool flag(const std::string& k) const {
    std::string v = get(k);
    return v == "1" || v == "true" || v == "True";
  }
};

std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && i + 2 <= s.size() - 1) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void splitTarget(std::string_view target, std::vector<std::string>& segs, Query& q) {
  auto qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  if (qpos != std::string_view::npos) {
    std::string_view qs = target.substr(qpos + 1);
    std::size_t start = 0;
    while (start <= qs.size()) {
      auto amp = qs.find('&', start);
      std::string_view kvp =
          qs.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
      auto eq = kvp.find('=');
      if (!kvp.empty()) {
        q.values[unescape(kvp.substr(0, eq))].push_back(
            eq == std::string_view::npos ? "" : unescape(kvp.substr(eq + 1)));
      }
      if (amp == std::string_view::npos) break;
      start = amp + 1;
    }
  }
  std::size_t start = 0;
  while (start < path.size()) {
    auto slash = path.find('/', start);
    std::string_view seg = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!seg.empty()) segs.push_back(unescape(seg));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
}

json statusBody(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", reason},
          {"code", code}};
}

http::response<http::string_body> reply(const Request& req, int code, const std::string& ct,
                                        std::string body) {
  http::response<http::string_body> res{static_cast<http::status>(code), req.version()};
  res.set(http::field::content_type, ct);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

http::response<http::string_body> replyStatus(const Request& req, int code,
                                              const std::string& reason,
                                              const std::string& message) {
  return reply(req, code, "application/json", statusBody(code, reason, message).dump());
}

struct Resolved {
  json pod;
  ContainerInfo container;
};

class Server final : public KubeletServer {
 public:
  Server(KubeletServerOptions o, KubeletApiSource& src)
      : opts_(std::move(o)),
        src_(src),
        ctx_(ssl::context::tls_server),
        acceptor_(io_),
        healthz_(io_) {}

  ~Server() override { stop(); }

  Result<void> start() {
    boost::system::error_code ec;
    ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx_.use_certificate_chain(asio::buffer(opts_.cert_pem), ec);
    if (ec) return Error(ErrorCode::Invalid, "load kubelet serving certificate: " + ec.message());
    ctx_.use_private_key(asio::buffer(opts_.key_pem), ssl::context::pem, ec);
    if (ec) return Error(ErrorCode::Invalid, "load kubelet serving key: " + ec.message());
    if (!opts_.client_ca_pem.empty()) {
      ctx_.add_certificate_authority(asio::buffer(opts_.client_ca_pem), ec);
      if (ec) return Error(ErrorCode::Invalid, "load client ca: " + ec.message());
      ctx_.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    SKIFF_TRY(listen(acceptor_, opts_.address, opts_.port, "kubelet"));
    if (opts_.healthz_port >= 0) {
      SKIFF_TRY(listen(healthz_, opts_.healthz_address, opts_.healthz_port, "healthz"));
    }
    asio::co_spawn(io_, acceptLoop(), asio::detached);
    if (healthz_.is_open()) asio::co_spawn(io_, healthzLoop(), asio::detached);
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
    return ok();
  }

  int port() const override { return port_; }
  int healthzPort() const override { return healthz_port_; }

  void stop() override {
    if (stopped_.exchange(true)) return;
    io_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  Result<void> listen(tcp::acceptor& a, const std::string& addr, int port, const char* what) {
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(addr, ec);
    if (ec)
      return Error(ErrorCode::Invalid, std::string("bad ") + what + " address '" + addr + "'");
    tcp::endpoint ep(ip, static_cast<unsigned short>(port));
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Error(ErrorCode::Unavailable, std::string("listen ") + what + " on " + addr + ":" +
                                               std::to_string(port) + ": " + ec.message());
    }
    int bound = a.local_endpoint().port();
    if (&a == &acceptor_) {
      port_ = bound;
    } else {
      healthz_port_ = bound;
    }
    return ok();
  }

  asio::awaitable<void> acceptLoop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket sock(asio::make_strand(io_));
      co_await acceptor_.async_accept(sock, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;
      }
      auto ex = sock.get_executor();
      asio::co_spawn(ex, session(std::move(sock)), asio::detached);
    }
  }

  asio::awaitable<void> healthzLoop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket sock(asio::make_strand(io_));
      co_await healthz_.async_accept(sock, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;
      }
      auto ex = sock.get_executor();
      asio::co_spawn(ex, plainHealthz(std::move(sock)), asio::detached);
    }
  }

  asio::awaitable<void> plainHealthz(tcp::socket sock) {
    try {
      beast::tcp_stream stream(std::move(sock));
      beast::flat_buffer buf;
      Request req;
      stream.expires_after(std::chrono::seconds(10));
      co_await http::async_read(stream, buf, req, asio::use_awaitable);
      auto res = req.target() == "/healthz"
                     ? reply(req, 200, "text/plain; charset=utf-8", "ok")
                     : reply(req, 404, "text/plain; charset=utf-8", "404 page not found\n");
      res.keep_alive(false);
      co_await http::async_write(stream, res, asio::use_awaitable);
      boost::system::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    } catch (const std::exception&) {
    }
  }

  asio::awaitable<void> session(tcp::socket sock) {
    auto lg = skiff::log::get("agent");
    auto stream = std::make_shared<TlsStream>(std::move(sock), ctx_);
    try {
      beast::get_lowest_layer(*stream).expires_after(std::chrono::seconds(30));
      co_await stream->async_handshake(ssl::stream_base::server, asio::use_awaitable);
      std::string cn = peerCommonName(*stream);
      beast::flat_buffer buf;
      for (;;) {
        Request req;
        beast::get_lowest_layer(*stream).expires_after(std::chrono::minutes(5));
        co_await http::async_read(*stream, buf, req, asio::use_awaitable);
        beast::get_lowest_layer(*stream).expires_never();
        if (cn.rfind("system:node:", 0) == 0) {
          co_await write(*stream, replyStatus(req, 403, "Forbidden",
                                              "Forbidden (user=" + cn +
                                                  ", verb=get, resource=nodes, "
                                                  "subresource=proxy)"));
          continue;
        }
        int next = co_await route(stream, req, buf);
        if (next == kTaken) co_return;  // the WebSocket owns (and closed) the connection
        if (next == kClose || !req.keep_alive()) break;
      }
      boost::system::error_code ignored;
      beast::get_lowest_layer(*stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
    } catch (const boost::system::system_error& e) {
      if (e.code() != http::error::end_of_stream && e.code() != asio::error::eof &&
          e.code() != ssl::error::stream_truncated) {
        SKIFF_LOG_DEBUG(lg, "Kubelet API connection ended", kv("err", e.code().message()));
      }
    } catch (const std::exception& e) {
      SKIFF_LOG_DEBUG(lg, "Kubelet API connection failed", kv("err", std::string(e.what())));
    }
  }

  static std::string peerCommonName(TlsStream& s) {
    X509* cert = SSL_get_peer_certificate(s.native_handle());
    if (cert == nullptr) return "";
    char buf[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf - 1);
    X509_free(cert);
    return buf;
  }

  template <typename Res>
  static asio::awaitable<void> write(TlsStream& s, Res res) {
    co_await http::async_write(s, res, asio::use_awaitable);
  }

  static constexpr int kClose = 0, kKeep = 1, kTaken = 2;
  // Returns kKeep when the connection can serve another request, kTaken when an upgrade moved
  // the stream away.
  asio::awaitable<int> route(std::shared_ptr<TlsStream> stream, Request& req,
                             beast::flat_buffer& buf) {
    std::vector<std::string> segs;
    Query q;
    splitTarget(std::string_view(req.target().data(), req.target().size()), segs, q);
    if (segs.size() == 1 && segs[0] == "healthz") {
      co_await write(*stream, reply(req, 200, "text/plain; charset=utf-8", "ok"));
      co_return kKeep;
    }
    if (segs.size() == 1 && segs[0] == "pods") {
      json list = {{"kind", "PodList"},
                   {"apiVersion", "v1"},
                   {"metadata", json::object()},
                   {"items", src_.pods()}};
      co_await write(*stream, reply(req, 200, "application/json", list.dump()));
      co_return kKeep;
    }
    if (segs.size() == 1 && segs[0] == "metrics") {
      co_await write(*stream,
                     reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", src_.metrics()));
      co_return kKeep;
    }
    if (segs.size() == 2 && segs[0] == "stats" && segs[1] == "summary") {
      co_await write(*stream, reply(req, 200, "application/json", src_.statsSummary().dump()));
      co_return kKeep;
    }
    if (segs.size() == 4 && segs[0] == "containerLogs") {
      bool keep = co_await containerLogs(*stream, req, segs[1], segs[2], segs[3], q);
      co_return keep ? kKeep : kClose;
    }
    if ((segs.size() == 4 || segs.size() == 5) && (segs[0] == "exec" || segs[0] == "attach")) {
      // /exec/{ns}/{pod}/{container} or /exec/{ns}/{pod}/{uid}/{container}
      std::string container = segs.back();
      bool taken =
          co_await exec(stream, req, buf, segs[1], segs[2], container, q, segs[0] == "attach");
      co_return taken ? kTaken : kClose;
    }
    if ((segs.size() == 3 || segs.size() == 4) && segs[0] == "portForward") {
      // /portForward/{ns}/{pod} or /portForward/{ns}/{pod}/{uid}
      bool taken = co_await portForward(stream, req, buf, segs[1], segs[2], q);
      co_return taken ? kTaken : kClose;
    }
    co_await write(*stream, reply(req, 404, "text/plain; charset=utf-8", "404 page not found\n"));
    co_return kKeep;
  }

  // Finds the pod and the container instance (latest, or the previous one).
  Result<Resolved> resolve(const std::string& ns, const std::string& name,
                           const std::string& container, bool previous) {
    auto pod = src_.findPod(ns, name);
    if (!pod) {
      return Error(ErrorCode::NotFound, "pod \"" + name + "\" in namespace \"" + ns +
                                            "\" not found on node \"" + src_.nodeName() + "\"");
    }
    bool known = false;
    for (const char* f : {"containers", "initContainers"}) {
      if (!(*pod)["spec"].contains(f)) continue;
      for (const auto& c : (*pod)["spec"][f]) known |= c.value("name", "") == container;
    }
    if (!known) {
      return Error(ErrorCode::BadRequest,
                   "container " + container + " is not valid for pod " + name);
    }
    SKIFF_ASSIGN_OR_RETURN(auto view, src_.runtimeView((*pod)["metadata"].value("uid", "")));
    const ContainerInfo* c = previous ? view.previous(container) : view.latest(container);
    if (c == nullptr) {
      if (previous) {
        return Error(ErrorCode::BadRequest, "previous terminated container \"" + container +
                                                "\" in pod \"" + name + "\" not found");
      }
      return Error(ErrorCode::BadRequest, "container \"" + container + "\" in pod \"" + name +
                                              "\" is waiting to start: ContainerCreating");
    }
    return Resolved{*pod, *c};
  }

  asio::awaitable<bool> containerLogs(TlsStream& stream, Request& req, const std::string& ns,
                                      const std::string& name, const std::string& container,
                                      const Query& q) {
    auto r = resolve(ns, name, container, q.flag("previous"));
    if (!r) {
      int code = r.error().is(ErrorCode::NotFound) ? 404 : 400;
      co_await write(stream, replyStatus(req, code, code == 404 ? "NotFound" : "BadRequest",
                                         r.error().message()));
      co_return true;
    }
    LogOptions lo;
    lo.timestamps = q.flag("timestamps");
    if (!q.get("tailLines").empty()) lo.tail_lines = std::atoll(q.get("tailLines").c_str());
    if (!q.get("limitBytes").empty()) lo.limit_bytes = std::atoll(q.get("limitBytes").c_str());
    if (!q.get("sinceSeconds").empty()) {
      auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
      lo.since_unix_ns = now - std::atoll(q.get("sinceSeconds").c_str()) * 1000000000LL;
    } else if (!q.get("sinceTime").empty()) {
      lo.since_unix_ns = parseRfc3339Nano(q.get("sinceTime"));
    }
    bool follow = q.flag("follow");
    std::string path = r->container.log_path;

    http::response<http::empty_body> head{http::status::ok, req.version()};
    head.set(http::field::content_type, "text/plain");
    head.chunked(true);
    head.keep_alive(false);
    http::response_serializer<http::empty_body> sr{head};
    co_await http::async_write_header(stream, sr, asio::use_awaitable);

    auto sendChunk = [&](const std::string& data) -> asio::awaitable<void> {
      if (data.empty()) co_return;
      co_await asio::async_write(stream, http::make_chunk(asio::buffer(data)), asio::use_awaitable);
    };
    std::ifstream f(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::size_t offset = text.size();
    co_await sendChunk(renderCriLog(text, lo));
    if (follow) {
      LogOptions fo = lo;
      fo.tail_lines.reset();
      fo.since_unix_ns.reset();
      if (lo.limit_bytes)
        fo.limit_bytes =
            *lo.limit_bytes - static_cast<int64_t>(std::min<std::size_t>(offset, *lo.limit_bytes));
      CriLogFollower follower(fo);
      asio::steady_timer timer(co_await asio::this_coro::executor);
      std::string uid = r->pod["metadata"].value("uid", "");
      int idle = 0;
      for (;;) {
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0) {
          if (static_cast<std::size_t>(st.st_size) < offset) offset = 0;  // rotated
          if (static_cast<std::size_t>(st.st_size) > offset) {
            std::ifstream g(path, std::ios::binary);
            g.seekg(static_cast<std::streamoff>(offset));
            std::string more((std::istreambuf_iterator<char>(g)), std::istreambuf_iterator<char>());
            offset += more.size();
            co_await sendChunk(follower.feed(more));
            if (follower.limitReached()) break;
            idle = 0;
            continue;
          }
        }
        // Stop once the container instance has exited and its log is drained.
        if (++idle % 4 == 0) {
          auto view = src_.runtimeView(uid);
          bool running = false;
          if (view) {
            for (const auto& [_, list] : view->containers) {
              for (const auto& c : list) {
                if (c.id == r->container.id) running = c.state == ContainerState::Running;
              }
            }
          }
          if (!running) break;
        }
        timer.expires_after(std::chrono::milliseconds(250));
        co_await timer.async_wait(asio::use_awaitable);
      }
    }
    co_await asio::async_write(stream, http::make_chunk_last(), asio::use_awaitable);
    co_return false;
  }

  struct ExecState {
    std::deque<std::string> queue;
    bool writing = false;
    int open_streams = 0;
    bool exited = false;
    int exit_code = 0;
    std::string exit_error;
  };

  // The metav1.Status that ends an exec/attach stream (error channel / stream).
  static std::string execStatus(int code, const std::string& err,
                                const std::vector<std::string>& cmd) {
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
      st = {
          {"metadata", json::object()},
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
  Result<std::shared_ptr<ExecSession>> startExec(const std::string& ns, const std::string& name,
                                                 const std::string& container,
                                                 const std::vector<std::string>& cmd, bool tty,
                                                 bool want_stdin, bool attach) {
    auto r = resolve(ns, name, container, false);
    if (!r) return std::move(r).error();
    if (r->container.state != ContainerState::Running) {
      return Error(ErrorCode::Conflict, "container not found (\"" + container + "\")");
    }
    if (attach) {
      SKIFF_ASSIGN_OR_RETURN(auto s, src_.runtime().attach(r->container.id, want_stdin));
      return std::shared_ptr<ExecSession>(std::move(s));
    }
    if (cmd.empty())
      return Error(ErrorCode::BadRequest,
                   "you must specify at least one command for the container");
    SKIFF_ASSIGN_OR_RETURN(auto s, src_.runtime().exec(r->container.id, cmd, tty, want_stdin));
    return std::shared_ptr<ExecSession>(std::move(s));
  }

  // Exec, or attach (`attach`: the main process's streams; no command; the client's close
  // detaches and leaves the container running). Returns true once the stream was moved into
  // the WebSocket.
  asio::awaitable<bool> exec(std::shared_ptr<TlsStream> stream, Request& req,
                             beast::flat_buffer& buf, const std::string& ns,
                             const std::string& name, const std::string& container, const Query& q,
                             bool attach = false) {
    auto lg = skiff::log::get("agent");
    const std::string verb = attach ? "attach" : "exec";
    if (!websocket::is_upgrade(req))
      co_return co_await execSpdy(stream, req, buf, ns, name, container, q, attach);
    // Subprotocol negotiation, newest first.
    std::string offered = std::string(req[http::field::sec_websocket_protocol]);
    std::string proto;
    for (const char* p : {"v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io",
                          "v2.channel.k8s.io", "channel.k8s.io"}) {
      if (offers(offered, p)) {
        proto = p;
        break;
      }
    }
    if (proto.empty()) {
      co_await write(*stream, replyStatus(req, 400, "BadRequest",
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

    // Serialised writer: every frame goes through the queue (one async_write at a time).
    auto send = [ws, state, ex](std::string frame) {
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
    auto finishStatus = [&](int code, const std::string& err) {
      return std::string(1, '\x03') + execStatus(code, err, cmd);
    };

    auto started = startExec(ns, name, container, cmd, tty, want_stdin, attach);
    if (!started) {
      send(finishStatus(0, started.error().message()));
      co_await drainAndClose(ws, state);
      co_return true;
    }
    SKIFF_LOG_DEBUG(lg, attach ? "Attach started" : "Exec started", kv("pod", ns + "/" + name),
                    kv("container", container));
    std::shared_ptr<ExecSession> shared_session = std::move(*started);

    // Output pumps: stdout on channel 1, stderr on channel 2 (none with a TTY).
    auto pump = [ex, send, state, signal](int fd, char channel) {
      int dupfd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (dupfd < 0) return;
      ++state->open_streams;
      asio::co_spawn(
          ex,
          [dupfd, channel, send, state, signal]() -> asio::awaitable<void> {
            asio::posix::stream_descriptor sd(co_await asio::this_coro::executor, dupfd);
            std::array<char, 16384> b{};
            for (;;) {
              boost::system::error_code ec;
              std::size_t n = co_await sd.async_read_some(
                  asio::buffer(b), asio::redirect_error(asio::use_awaitable, ec));
              if (n > 0) send(std::string(1, channel) + std::string(b.data(), n));
              if (ec) break;
            }
            if (--state->open_streams == 0) signal->cancel();
          },
          asio::detached);
    };
    if (shared_session->stdoutFd() >= 0) pump(shared_session->stdoutFd(), '\x01');
    if ((attach || !tty) && shared_session->stderrFd() >= 0)
      pump(shared_session->stderrFd(), '\x02');

    // Input: stdin frames, resize, v5 close-stdin.
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

    // Exit code: wait() blocks, so it runs on its own thread and posts back.
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

    // Wait for the process to exit and its output to drain.
    while (!(state->exited && state->open_streams == 0)) {
      boost::system::error_code ec;
      signal->expires_at(std::chrono::steady_clock::time_point::max());
      if (state->exited && state->open_streams == 0) break;
      co_await signal->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    // An attach ends with Success whatever the container's exit code (the kubelet's
    // streaming server does the same); a detach is not an error.
    if (attach)
      send(finishStatus(0, state->exit_error));
    else
      send(finishStatus(state->exit_code, state->exit_error));
    co_await drainAndClose(ws, state);
    co_return true;
  }

  // Exec/attach over `Upgrade: SPDY/3.1` (kubectl <= 1.29, and the fallback of newer ones).
  asio::awaitable<bool> execSpdy(std::shared_ptr<TlsStream> stream, Request& req,
                                 beast::flat_buffer& buf, const std::string& ns,
                                 const std::string& name, const std::string& container,
                                 const Query& q, bool attach) {
    static const std::string kV4 = "v4.channel.k8s.io";
    if (!spdyUpgrade(req)) {
      co_await write(*stream, replyStatus(req, 400, "BadRequest", "Upgrade request required"));
      co_return false;
    }
    if (!offeredVersion(req, kV4)) {
      co_await write(
          *stream,
          replyStatus(
              req, 403, "Forbidden",
              "unable to upgrade: unable to negotiate protocol: server supports [" + kV4 + "]"));
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
    o.start = [this, ns, name, container, cmd, tty = o.tty, in = o.want_stdin, attach] {
      return startExec(ns, name, container, cmd, tty, in, attach);
    };
    o.status = [cmd](int code, const std::string& err) { return execStatus(code, err, cmd); };
    co_await switchToSpdy(*stream, req, kV4);
    auto leftover = beast::buffers_to_string(buf.data());
    buf.consume(buf.size());
    co_await serveExecSpdy(std::make_shared<RawChannel>(stream, std::move(leftover)), std::move(o));
    co_return true;
  }

  static bool spdyUpgrade(const Request& req) {
    std::string upgrade(req[http::field::upgrade]);
    for (auto& c : upgrade) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return upgrade == "spdy/3.1";
  }

  // httpstream.Handshake: the client lists the versions it speaks in X-Stream-Protocol-Version.
  static bool offeredVersion(const Request& req, const std::string& version) {
    for (const auto& f : req) {
      if (beast::iequals(f.name_string(), "X-Stream-Protocol-Version") &&
          offers(f.value(), version))
        return true;
    }
    return false;
  }

  static asio::awaitable<void> switchToSpdy(TlsStream& stream, const Request& req,
                                            const std::string& version) {
    http::response<http::empty_body> res{http::status::switching_protocols, req.version()};
    res.set(http::field::connection, "Upgrade");
    res.set(http::field::upgrade, "SPDY/3.1");
    res.set("X-Stream-Protocol-Version", version);
    co_await http::async_write(stream, res, asio::use_awaitable);
  }

  // Port-forward: SPDY/3.1 on the upgraded connection, or inside kubectl's WebSocket tunnel.
  // Returns true once the stream was handed to the session.
  asio::awaitable<bool> portForward(std::shared_ptr<TlsStream> stream, Request& req,
                                    beast::flat_buffer& buf, const std::string& ns,
                                    const std::string& name, const Query& q) {
    static const std::string kProtocol = "portforward.k8s.io";
    static const std::string kTunnel = "SPDY/3.1+portforward.k8s.io";
    static const std::string kChannels = "v4.channel.k8s.io";
    auto pod = src_.findPod(ns, name);
    if (!pod) {
      co_await write(*stream, replyStatus(req, 404, "NotFound", "pod does not exist"));
      co_return false;
    }
    std::string uid = (*pod)["metadata"].value("uid", "");
    auto view = src_.runtimeView(uid);
    if (!view || !view->sandbox || view->sandbox->state != SandboxState::Ready) {
      co_await write(*stream,
                     replyStatus(req, 500, "InternalError",
                                 "pod sandbox for pod \"" + ns + "/" + name + "\" is not ready"));
      co_return false;
    }
    PortForwardOptions po;
    po.pod = view->sandbox->id;
    po.dial = [netns = view->sandbox->netns_path, id = view->sandbox->id](int port) {
      return dialPodPort(netns, id, port);
    };
    if (websocket::is_upgrade(req)) {
      // kubectl's SPDY tunnel first; the channel protocol (Python client) names its ports in the
      // URL.
      auto offered = req[http::field::sec_websocket_protocol];
      std::string proto = offers(offered, kTunnel)     ? kTunnel
                          : offers(offered, kChannels) ? kChannels
                                                       : "";
      std::vector<int> ports;
      if (proto == kChannels) {
        auto it = q.values.find("port");
        for (const auto& p : it == q.values.end() ? std::vector<std::string>{} : it->second) {
          int port = 0;
          auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
          if (ec != std::errc() || end != p.data() + p.size() || port <= 0 || port > 65535) {
            co_await write(*stream,
                           replyStatus(req, 400, "BadRequest", "invalid port \"" + p + "\""));
            co_return false;
          }
          ports.push_back(port);
        }
        if (ports.empty()) {
          co_await write(
              *stream, replyStatus(req, 400, "BadRequest", "query parameter \"port\" is required"));
          co_return false;
        }
      }
      if (proto.empty()) {
        co_await write(*stream, replyStatus(req, 400, "BadRequest",
                                            "unable to upgrade: no supported protocol in '" +
                                                std::string(offered) + "', server supports [" +
                                                kTunnel + " " + kChannels + "]"));
        co_return false;
      }
      auto ws = std::make_shared<websocket::stream<TlsStream>>(std::move(*stream));
      ws->set_option(websocket::stream_base::decorator([proto](websocket::response_type& res) {
        res.set(http::field::sec_websocket_protocol, proto);
      }));
      co_await ws->async_accept(req, asio::use_awaitable);
      ws->binary(true);
      auto channel = std::make_shared<WebSocketChannel>(ws);
      if (proto == kTunnel) {
        co_await servePortForward(channel, std::move(po));
      } else {
        co_await servePortForwardChannels(channel, std::move(ports), std::move(po));
      }
      co_return true;
    }
    if (!spdyUpgrade(req)) {
      co_await write(*stream, replyStatus(req, 400, "BadRequest", "Upgrade request required"));
      co_return false;
    }
    if (!offeredVersion(req, kProtocol)) {
      co_await write(*stream, replyStatus(req, 403, "Forbidden",
                                          "unable to upgrade: unable to negotiate protocol: server "
                                          "supports [" +
                                              kProtocol + "]"));
      co_return false;
    }
    co_await switchToSpdy(*stream, req, kProtocol);
    auto leftover = beast::buffers_to_string(buf.data());
    buf.consume(buf.size());
    co_await servePortForward(std::make_shared<RawChannel>(stream, std::move(leftover)),
                              std::move(po));
    co_return true;
  }

  // Whether a comma-separated header value lists `want`.
  static bool offers(beast::string_view list, const std::string& want) {
    std::stringstream ss{std::string(list)};
    std::string item;
    while (std::getline(ss, item, ',')) {
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      if (item == want) return true;
    }
    return false;
  }

  // The raw TLS connection after `Upgrade: SPDY/3.1`.
  class RawChannel final : public ByteChannel {
   public:
    RawChannel(std::shared_ptr<TlsStream> s, std::string leftover)
        : s_(std::move(s)), leftover_(std::move(leftover)) {}
    asio::awaitable<bool> read(std::string& out) override {
      if (!leftover_.empty()) {
        out += std::exchange(leftover_, {});
        co_return true;
      }
      std::array<char, 32 * 1024> b{};
      boost::system::error_code ec;
      std::size_t n = co_await s_->async_read_some(asio::buffer(b),
                                                   asio::redirect_error(asio::use_awaitable, ec));
      out.append(b.data(), n);
      co_return !ec || n > 0;
    }
    asio::awaitable<bool> write(std::string bytes) override {
      boost::system::error_code ec;
      co_await asio::async_write(*s_, asio::buffer(bytes),
                                 asio::redirect_error(asio::use_awaitable, ec));
      co_return !ec;
    }
    asio::awaitable<void> close() override {
      boost::system::error_code ignored;
      beast::get_lowest_layer(*s_).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(*s_).close();
      co_return;
    }

   private:
    std::shared_ptr<TlsStream> s_;
    std::string leftover_;
  };

  // kubectl's tunnel: each binary message carries the next bytes of the SPDY connection.
  class WebSocketChannel final : public ByteChannel {
   public:
    explicit WebSocketChannel(std::shared_ptr<websocket::stream<TlsStream>> ws)
        : ws_(std::move(ws)) {}
    asio::awaitable<bool> read(std::string& out) override {
      beast::flat_buffer in;
      boost::system::error_code ec;
      co_await ws_->async_read(in, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !ws_->got_binary()) co_return false;  // client-go refuses text messages too
      out += beast::buffers_to_string(in.data());
      co_return true;
    }
    asio::awaitable<bool> write(std::string bytes) override {
      boost::system::error_code ec;
      co_await ws_->async_write(asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
      co_return !ec;
    }
    asio::awaitable<void> close() override {
      boost::system::error_code ec;
      co_await ws_->async_close(websocket::close_code::normal,
                                asio::redirect_error(asio::use_awaitable, ec));
    }

   private:
    std::shared_ptr<websocket::stream<TlsStream>> ws_;
  };

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

  KubeletServerOptions opts_;
  KubeletApiSource& src_;
  asio::io_context io_;
  ssl::context ctx_;
  tcp::acceptor acceptor_;
  tcp::acceptor healthz_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  int port_ = 0;
  int healthz_port_ = 0;
};

}  // namespace

Result<std::unique_ptr<KubeletServer>> startKubeletServer(KubeletServerOptions opts,
                                                          KubeletApiSource& source) {
  auto s = std::make_unique<Server>(std::move(opts), source);
  SKIFF_TRY(s->start());
  return std::unique_ptr<KubeletServer>(std::move(s));
}

}  // namespace skiff::agent
