// GET /containerLogs: the CRI log rendered as kubectl asks (tail, since, limit, timestamps,
// previous), and followed while the container instance runs.
#include <utility>

#include <sys/stat.h>

#include <boost/asio/steady_timer.hpp>
#include <fstream>

#include "skiff/agent/cri_log.h"
#include "stream.h"

namespace skiff::agent::kubelet_api {

asio::awaitable<bool> handleContainerLogs(KubeletApiSource& src, TlsStream& stream, Request& req,
                                          const std::string& ns, const std::string& name,
                                          const std::string& container, const Query& q) {
  auto r = resolve(src, ns, name, container, q.flag("previous"));
  if (!r) {
    int code = r.error().is(ErrorCode::NotFound) ? 404 : 400;
    co_await sendReply(stream, replyStatus(req, code, code == 404 ? "NotFound" : "BadRequest",
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
        auto view = src.runtimeView(uid);
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

}  // namespace skiff::agent::kubelet_api
