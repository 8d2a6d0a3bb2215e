// The read verbs: get, list (JSON spliced from the store, or a Table) and watch (a chunked
// stream of events, Tables too) (reference/kube-api-surface.md §3-§4).
#include <mutex>

#include "handler_internal.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api::handler {
namespace {

// A watch as a chunked stream of newline-terminated events.
class WatchStream : public ResponseStream {
 public:
  WatchStream(WatchQueuePtr q, const ResourceInfo& r, bool table, TableObject include,
              std::chrono::steady_clock::time_point deadline, bool bookmarks)
      : q_(std::move(q)),
        r_(r),
        table_(table),
        include_(include),
        deadline_(deadline),
        bookmarks_(bookmarks) {}
  ~WatchStream() override { q_->stop(); }

  bool read(std::string& out) override {
    auto items = q_->next(512);
    for (auto& it : items) {
      if (table_ && (it.type == WatchEventType::Added || it.type == WatchEventType::Modified ||
                     it.type == WatchEventType::Deleted)) {
        std::lock_guard l(mu_);
        json t = renderTable(r_, {it.object}, str(it.object, {"metadata", "resourceVersion"}), "",
                             Clock::now(), include_, first_);
        first_ = false;
        out += encodeWatchLine(WatchQueue::Item{it.type, std::move(t), ""});
      } else {
        out += encodeWatchLine(it);
      }
    }
    if (items.empty() && q_->closed()) return false;
    return true;
  }
  void setNotify(std::function<void()> fn) override { q_->setNotify(std::move(fn)); }
  std::chrono::steady_clock::time_point deadline() const override { return deadline_; }
  std::string idle() override {
    if (!bookmarks_) return "";
    return encodeWatchLine(q_->bookmark());
  }

 private:
  WatchQueuePtr q_;
  const ResourceInfo& r_;
  bool table_;
  TableObject include_;
  std::chrono::steady_clock::time_point deadline_;
  bool bookmarks_;
  std::mutex mu_;
  bool first_ = true;
};

// A stream that carries one ERROR event then ends (410 for a compacted resourceVersion: Python
// only understands the in-stream form, client-go both).
class ErrorStream : public ResponseStream {
 public:
  explicit ErrorStream(json status)
      : line_(json{{"type", "ERROR"}, {"object", std::move(status)}}.dump() + "\n") {}
  bool read(std::string& out) override {
    out += line_;
    line_.clear();
    return false;
  }
  void setNotify(std::function<void()> fn) override {
    if (fn) fn();
  }
  std::chrono::steady_clock::time_point deadline() const override {
    return std::chrono::steady_clock::time_point::max();
  }
  std::string idle() override { return ""; }

 private:
  std::string line_;
};

}  // namespace

HttpResponse serveGet(ResourceRequest& rq) {
  auto obj = rq.registry.get(rq.r, rq.rt.ns, rq.rt.name, rq.rt.subresource);
  if (!obj) return rq.fail(obj.error());
  return rq.respondObject(200, *obj);
}

HttpResponse serveList(ResourceRequest& rq) {
  const ResourceInfo& r = rq.r;
  if (!rq.table) {
    auto text = rq.registry.listText(r, rq.rt.ns, rq.sel);
    if (!text) return rq.fail(text.error());
    HttpResponse resp;
    resp.body = std::move(text).value();
    return rq.finish(std::move(resp));
  }
  auto list = rq.registry.list(r, rq.rt.ns, rq.sel);
  if (!list) return rq.fail(list.error());
  std::vector<json> items((*list)["items"].begin(), (*list)["items"].end());
  json t =
      renderTable(r, items, (*list)["metadata"].value("resourceVersion", ""),
                  (*list)["metadata"].value("continue", ""), Clock::now(), includeObject(rq.query));
  return rq.finish(tableResponse(t));
}

HttpResponse serveWatch(ResourceRequest& rq) {
  Selection& sel = rq.sel;
  if (!rq.rt.name.empty()) {
    sel.field_selector = sel.field_selector.empty()
                             ? "metadata.name=" + rq.rt.name
                             : sel.field_selector + ",metadata.name=" + rq.rt.name;
  }
  auto deadline = std::chrono::steady_clock::now() + rq.options.default_watch_timeout;
  if (!q(rq.query, "timeoutSeconds").empty()) {
    try {
      long long t = std::stoll(q(rq.query, "timeoutSeconds"));
      if (t > 0) deadline = std::chrono::steady_clock::now() + std::chrono::seconds(t);
    } catch (...) {
    }
  }
  auto w = rq.registry.watch(rq.r, rq.rt.ns, sel);
  HttpResponse resp;
  resp.status = 200;
  resp.content_type =
      rq.table ? "application/json;as=Table;v=v1;g=meta.k8s.io" : "application/json";
  if (!w) {
    if (!w.error().is(ErrorCode::Gone)) return rq.fail(w.error());
    resp.stream = std::make_unique<ErrorStream>(statusFromError(w.error()));
    return rq.finish(std::move(resp));
  }
  if (!rq.table) (*w)->encodedOnly();
  resp.stream =
      std::make_unique<WatchStream>(std::move(w).value(), rq.r, rq.table, includeObject(rq.query),
                                    deadline, sel.allow_watch_bookmarks);
  return rq.finish(std::move(resp));
}

}  // namespace skiff::master::api::handler
