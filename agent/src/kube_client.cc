#include "skiff/agent/kube_client.h"

#include <algorithm>

#include "skiff/common/http_status.h"
#include "skiff/common/log.h"

namespace skiff::agent {

using skiff::log::kv;

std::string urlEscape(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string apiPath(const std::string& group, const std::string& version,
                    const std::string& resource, const std::string& ns, const std::string& name,
                    const std::string& subresource) {
  std::string p = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (!ns.empty()) p += "/namespaces/" + ns;
  p += "/" + resource;
  if (!name.empty()) p += "/" + name;
  if (!subresource.empty()) p += "/" + subresource;
  return p;
}

namespace {
// common's reading of an API server's status, but for two things the agent's callers rely on:
// what a busy or restarting server answers (429, 500, 502) is Unavailable, retried like a 503,
// and a 4xx common has no name for is Internal, not BadRequest.
ErrorCode codeForStatus(int http_status, const std::string& reason) {
  if (http_status == 429 || http_status == 500 || http_status == 502) {
    return ErrorCode::Unavailable;
  }
  ErrorCode code = errorCodeForHttpStatus(http_status, reason);
  return code == ErrorCode::BadRequest && http_status != 400 ? ErrorCode::Internal : code;
}
}  // namespace

Error statusError(int http_status, const std::string& body, const std::string& what) {
  json st = json::parse(body, nullptr, false);
  std::string message;
  std::string reason;
  if (st.is_object()) {
    message = st.value("message", "");
    reason = st.value("reason", "");
  }
  if (message.empty()) message = body.substr(0, 200);
  if (message.empty()) message = "http status " + std::to_string(http_status);
  return Error(codeForStatus(http_status, reason), what + ": " + message);
}

Result<json> KubeClient::call(const std::string& method, const std::string& path,
                              const std::string& body, const std::string& content_type) {
  HttpRequest req;
  req.method = method;
  req.target = path;
  req.body = body;
  req.content_type = content_type;
  SKIFF_ASSIGN_OR_RETURN(auto resp, t_->send(req));
  std::string what = method + " " + path;
  if (resp.status < 200 || resp.status >= 300) return statusError(resp.status, resp.body, what);
  json out = json::parse(resp.body, nullptr, false);
  if (out.is_discarded()) {
    return Error(ErrorCode::Invalid, what + ": response is not json");
  }
  return out;
}

Result<json> KubeClient::get(const std::string& path) { return call("GET", path, "", ""); }

namespace {
std::string query(const ListOptions& o, bool watch) {
  std::string q;
  auto add = [&](const std::string& k, const std::string& v) {
    q += (q.empty() ? "?" : "&") + k + "=" + urlEscape(v);
  };
  if (!o.label_selector.empty()) add("labelSelector", o.label_selector);
  if (!o.field_selector.empty()) add("fieldSelector", o.field_selector);
  if (!o.resource_version.empty()) add("resourceVersion", o.resource_version);
  if (watch) {
    add("watch", "true");
    if (o.timeout_seconds > 0) add("timeoutSeconds", std::to_string(o.timeout_seconds));
    if (o.allow_bookmarks) add("allowWatchBookmarks", "true");
  }
  return q;
}
}  // namespace

Result<json> KubeClient::list(const std::string& path, const ListOptions& opts) {
  return call("GET", path + query(opts, false), "", "");
}

Result<json> KubeClient::create(const std::string& path, const json& obj) {
  return call("POST", path, obj.dump(), "application/json");
}

Result<json> KubeClient::update(const std::string& path, const json& obj) {
  return call("PUT", path, obj.dump(), "application/json");
}

Result<json> KubeClient::patch(const std::string& path, const json& p, PatchType type) {
  const char* ct = type == PatchType::Merge            ? "application/merge-patch+json"
                   : type == PatchType::StrategicMerge ? "application/strategic-merge-patch+json"
                                                       : "application/json-patch+json";
  return call("PATCH", path, p.dump(), ct);
}

Result<json> KubeClient::remove(const std::string& path, std::optional<int64_t> grace_seconds,
                                const std::string& uid_precondition) {
  json opts = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (grace_seconds) opts["gracePeriodSeconds"] = *grace_seconds;
  if (!uid_precondition.empty()) opts["preconditions"] = {{"uid", uid_precondition}};
  return call("DELETE", path, opts.dump(), "application/json");
}

Result<void> KubeClient::watch(const std::string& path, const ListOptions& opts,
                               const std::function<bool(const WatchEvent&)>& on_event,
                               CancelToken& cancel) {
  HttpRequest req;
  req.target = path + query(opts, true);
  // Idle timeout above the server's watch timeout so a quiet watch is not cut by us.
  req.timeout = std::chrono::seconds(opts.timeout_seconds > 0 ? opts.timeout_seconds + 30 : 600);
  std::string pending;
  Result<void> inner = ok();
  auto on_data = [&](std::string_view data) {
    pending.append(data);
    std::size_t start = 0;
    for (;;) {
      auto nl = pending.find('\n', start);
      if (nl == std::string::npos) break;
      std::string_view line(pending.data() + start, nl - start);
      start = nl + 1;
      if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
      json ev = json::parse(line, nullptr, false);
      if (!ev.is_object() || !ev.contains("type") || !ev["type"].is_string()) {
        inner = Error(ErrorCode::Invalid, "watch " + path + ": malformed event");
        return false;
      }
      WatchEvent we{ev["type"].get<std::string>(), ev.value("object", json::object())};
      if (!on_event(we)) return false;
    }
    pending.erase(0, start);
    if (pending.size() > (16u << 20)) {
      inner = Error(ErrorCode::TooLarge, "watch " + path + ": event larger than 16 MiB");
      return false;
    }
    return true;
  };
  SKIFF_ASSIGN_OR_RETURN(auto resp, t_->stream(req, on_data, cancel));
  if (resp.status < 200 || resp.status >= 300) {
    return statusError(resp.status, resp.body, "watch " + path);
  }
  return inner;
}

Reflector::Reflector(KubeClientPtr client, std::string collection_path, ListOptions selectors,
                     ReflectorHandler& handler, std::string name)
    : client_(std::move(client)),
      path_(std::move(collection_path)),
      selectors_(std::move(selectors)),
      handler_(handler),
      name_(std::move(name)) {}

Result<std::string> Reflector::relist() {
  ListOptions o = selectors_;
  o.resource_version.clear();
  SKIFF_ASSIGN_OR_RETURN(auto list, client_->list(path_, o));
  std::vector<json> items;
  if (list.contains("items") && list["items"].is_array()) {
    for (auto& it : list["items"]) items.push_back(std::move(it));
  }
  // Lists omit kind on items; restore it so handlers see what a watch would send.
  std::string kind = list.value("kind", "");
  if (kind.size() > 4 && kind.ends_with("List")) {
    for (auto& it : items) {
      if (!it.contains("kind")) it["kind"] = kind.substr(0, kind.size() - 4);
    }
  }
  handler_.replace(items);
  synced_ = true;
  std::string rv;
  if (list.contains("metadata")) rv = list["metadata"].value("resourceVersion", "");
  return rv;
}

void Reflector::run(CancelToken& cancel) {
  auto lg = skiff::log::get("agent");
  std::string rv;
  bool need_list = true;
  auto backoff = std::chrono::milliseconds(1000);
  while (!cancel.cancelled()) {
    if (need_list) {
      auto r = relist();
      if (!r) {
        SKIFF_LOG_WARN(lg, "List failed, will retry", kv("reflector", name_),
                       kv("err", r.error().message()));
        if (cancel.waitFor(backoff)) return;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
        continue;
      }
      rv = *r;
      need_list = false;
    }
    ListOptions o = selectors_;
    o.resource_version = rv;
    o.allow_bookmarks = true;
    if (o.timeout_seconds == 0) o.timeout_seconds = 300;
    bool expired = false;
    auto start = std::chrono::steady_clock::now();
    auto res = client_->watch(
        path_, o,
        [&](const WatchEvent& ev) {
          if (ev.type == "ERROR") {
            if (ev.object.value("code", 0) == 410) expired = true;
            return false;
          }
          if (ev.object.contains("metadata")) {
            std::string new_rv = ev.object["metadata"].value("resourceVersion", "");
            if (!new_rv.empty()) rv = new_rv;
          }
          if (ev.type != "BOOKMARK") handler_.apply(ev);
          return true;
        },
        cancel);
    if (cancel.cancelled()) return;
    if (expired || (!res && res.error().is(ErrorCode::Gone))) {
      SKIFF_LOG_INFO(lg, "Watch expired, relisting", kv("reflector", name_));
      need_list = true;
      continue;
    }
    if (!res) {
      SKIFF_LOG_WARN(lg, "Watch failed, will retry", kv("reflector", name_),
                     kv("err", res.error().message()));
      if (cancel.waitFor(backoff)) return;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
      need_list = true;
      continue;
    }
    // A watch that closed at once with nothing new is suspicious (client-go's "very short
    // watch"): pause a moment rather than spin.
    if (std::chrono::steady_clock::now() - start < std::chrono::seconds(1)) {
      if (cancel.waitFor(std::chrono::milliseconds(1000))) return;
    } else {
      backoff = std::chrono::milliseconds(1000);
    }
  }
}

}  // namespace skiff::agent
