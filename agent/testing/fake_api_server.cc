#include "skiff/agent/testing/fake_api_server.h"

#include <chrono>
#include <sstream>

namespace skiff::agent::testing {
namespace {

using nlohmann::json;

struct Target {
  std::string resource, ns, name, sub;
  std::map<std::string, std::string> query;
  bool ok = false;
};

std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Target parseTarget(const std::string& target) {
  Target t;
  std::string path = target;
  if (auto q = target.find('?'); q != std::string::npos) {
    path = target.substr(0, q);
    std::stringstream qs(target.substr(q + 1));
    std::string kvp;
    while (std::getline(qs, kvp, '&')) {
      auto eq = kvp.find('=');
      if (eq == std::string::npos) continue;
      t.query[kvp.substr(0, eq)] = unescape(kvp.substr(eq + 1));
    }
  }
  std::vector<std::string> segs;
  std::stringstream ps(path);
  std::string seg;
  while (std::getline(ps, seg, '/')) {
    if (!seg.empty()) segs.push_back(seg);
  }
  std::size_t i = 0;
  if (segs.size() >= 2 && segs[0] == "api") {
    i = 2;
  } else if (segs.size() >= 3 && segs[0] == "apis") {
    i = 3;
  } else {
    return t;
  }
  if (segs.size() >= i + 3 && segs[i] == "namespaces") {
    t.ns = segs[i + 1];
    i += 2;
  }
  if (i >= segs.size()) return t;
  t.resource = segs[i++];
  if (i < segs.size()) t.name = segs[i++];
  if (i < segs.size()) t.sub = segs[i++];
  t.ok = true;
  return t;
}

std::string fieldOf(const json& obj, const std::string& dotted) {
  const json* cur = &obj;
  std::stringstream ss(dotted);
  std::string part;
  while (std::getline(ss, part, '.')) {
    if (!cur->is_object() || !cur->contains(part)) return "";
    cur = &(*cur)[part];
  }
  return cur->is_string() ? cur->get<std::string>() : "";
}

bool matches(const json& obj, const Target& t) {
  if (!t.ns.empty() && fieldOf(obj, "metadata.namespace") != t.ns) return false;
  auto check = [&](const char* key, bool labels) {
    auto it = t.query.find(key);
    if (it == t.query.end()) return true;
    std::stringstream ss(it->second);
    std::string term;
    while (std::getline(ss, term, ',')) {
      auto eq = term.find('=');
      if (eq == std::string::npos) continue;
      std::string k = term.substr(0, eq), v = term.substr(eq + 1);
      std::string actual;
      if (labels) {
        const json& l = obj["metadata"].value("labels", json::object());
        actual = l.contains(k) ? l[k].get<std::string>() : "";
      } else {
        actual = fieldOf(obj, k);
      }
      if (actual != v) return false;
    }
    return true;
  };
  return check("fieldSelector", false) && check("labelSelector", true);
}

HttpResponse status(int code, const std::string& reason, const std::string& message) {
  json st = {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},       {"code", code},
             {"reason", reason}, {"message", message}, {"metadata", json::object()}};
  return HttpResponse{code, "application/json", st.dump()};
}

HttpResponse okJson(const json& j, int code = 200) {
  return HttpResponse{code, "application/json", j.dump()};
}

std::string nowRfc3339() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char buf[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::string FakeApiServer::keyOf(const std::string& resource, const std::string& ns,
                                 const std::string& name) {
  return resource + "/" + ns + "/" + name;
}

void FakeApiServer::record(const std::string& resource, const std::string& type, const json& obj) {
  events_.push_back(Event{rev_, resource, type, obj});
  cv_.notify_all();
}

json FakeApiServer::put(const std::string& resource, const std::string& ns, json obj) {
  std::lock_guard lk(mu_);
  auto& md = obj["metadata"];
  if (!ns.empty()) md["namespace"] = ns;
  std::string key = keyOf(resource, ns, md.value("name", ""));
  bool existed = objects_.count(key) > 0;
  if (!md.contains("uid")) {
    md["uid"] =
        existed ? objects_[key]["metadata"]["uid"] : json("uid-" + std::to_string(++uid_seq_));
  }
  if (!md.contains("creationTimestamp")) md["creationTimestamp"] = nowRfc3339();
  md["resourceVersion"] = std::to_string(++rev_);
  objects_[key] = obj;
  record(resource, existed ? "MODIFIED" : "ADDED", obj);
  return obj;
}

void FakeApiServer::erase(const std::string& resource, const std::string& ns,
                          const std::string& name) {
  std::lock_guard lk(mu_);
  auto it = objects_.find(keyOf(resource, ns, name));
  if (it == objects_.end()) return;
  json obj = it->second;
  objects_.erase(it);
  obj["metadata"]["resourceVersion"] = std::to_string(++rev_);
  record(resource, "DELETED", obj);
}

std::optional<json> FakeApiServer::object(const std::string& resource, const std::string& ns,
                                          const std::string& name) {
  std::lock_guard lk(mu_);
  auto it = objects_.find(keyOf(resource, ns, name));
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

void FakeApiServer::compact() {
  std::lock_guard lk(mu_);
  compacted_ = rev_;
  events_.clear();
}

std::vector<std::string> FakeApiServer::requests() {
  std::lock_guard lk(mu_);
  return requests_;
}

int64_t FakeApiServer::revision() {
  std::lock_guard lk(mu_);
  return rev_;
}

Result<HttpResponse> FakeApiServer::send(const HttpRequest& req) {
  std::lock_guard lk(mu_);
  requests_.push_back(req.method + " " + req.target);
  return handle(req);
}

HttpResponse FakeApiServer::handle(const HttpRequest& req) {
  Target t = parseTarget(req.target);
  if (!t.ok) return status(404, "NotFound", "the server could not find the requested resource");
  if (req.method == "GET" && t.name.empty()) {
    json items = json::array();
    std::string prefix = t.resource + "/";
    for (const auto& [k, v] : objects_) {
      if (k.compare(0, prefix.size(), prefix) == 0 && matches(v, t)) items.push_back(v);
    }
    return okJson({{"kind", "List"},
                   {"apiVersion", "v1"},
                   {"metadata", {{"resourceVersion", std::to_string(rev_)}}},
                   {"items", items}});
  }
  std::string key = keyOf(t.resource, t.ns, t.name);
  auto it = objects_.find(key);
  if (req.method == "GET") {
    if (it == objects_.end()) {
      return status(404, "NotFound", t.resource + " \"" + t.name + "\" not found");
    }
    return okJson(it->second);
  }
  json body = json::parse(req.body, nullptr, false);
  if (req.method == "POST") {
    if (body.is_discarded() || !body.is_object()) return status(400, "BadRequest", "bad body");
    if (t.name.empty()) {
      std::string name = body["metadata"].value("name", "");
      if (name.empty() && body["metadata"].contains("generateName")) {
        name = body["metadata"]["generateName"].get<std::string>() + std::to_string(++uid_seq_);
        body["metadata"]["name"] = name;
      }
      key = keyOf(t.resource, t.ns, name);
      if (objects_.count(key)) {
        return status(409, "AlreadyExists", t.resource + " \"" + name + "\" already exists");
      }
      auto& md = body["metadata"];
      if (!t.ns.empty()) md["namespace"] = t.ns;
      md["uid"] = "uid-" + std::to_string(++uid_seq_);
      md["creationTimestamp"] = nowRfc3339();
      md["resourceVersion"] = std::to_string(++rev_);
      objects_[key] = body;
      record(t.resource, "ADDED", body);
      return okJson(body, 201);
    }
    // POST to a subresource of an existing object (e.g. a CSR approval would go here).
    return status(405, "MethodNotAllowed", "not supported by the fake");
  }
  if (it == objects_.end()) {
    return status(404, "NotFound", t.resource + " \"" + t.name + "\" not found");
  }
  json& cur = it->second;
  if (req.method == "PUT" || req.method == "PATCH") {
    if (body.is_discarded()) return status(400, "BadRequest", "bad body");
    json next = cur;
    if (req.method == "PUT") {
      std::string want = body["metadata"].value("resourceVersion", "");
      if (!want.empty() && want != cur["metadata"].value("resourceVersion", "")) {
        return status(409, "Conflict",
                      "Operation cannot be fulfilled on " + t.resource + " \"" + t.name +
                          "\": the object has been modified; please apply your changes to the "
                          "latest version and try again");
      }
      if (t.sub == "status") {
        next["status"] = body.value("status", json::object());
      } else {
        next = body;
        if (cur.contains("status") && !body.contains("status")) next["status"] = cur["status"];
        next["metadata"]["uid"] = cur["metadata"]["uid"];
        next["metadata"]["creationTimestamp"] = cur["metadata"]["creationTimestamp"];
      }
    } else {
      if (req.content_type == "application/json-patch+json") {
        next = cur.patch(body);
      } else {
        next.merge_patch(body);  // strategic merge treated as merge: enough for the fake
      }
    }
    next["metadata"]["resourceVersion"] = std::to_string(++rev_);
    cur = next;
    record(t.resource, "MODIFIED", cur);
    return okJson(cur);
  }
  if (req.method == "DELETE") {
    if (body.is_object() && body.contains("preconditions")) {
      std::string uid = body["preconditions"].value("uid", "");
      if (!uid.empty() && uid != cur["metadata"].value("uid", "")) {
        return status(409, "Conflict", "Precondition failed: UID in precondition: " + uid);
      }
    }
    int64_t grace = -1;
    if (body.is_object() && body.contains("gracePeriodSeconds")) {
      grace = body["gracePeriodSeconds"].get<int64_t>();
    }
    bool graceful_pod =
        t.resource == "pods" && grace != 0 && cur["spec"].value("nodeName", "") != "";
    if (graceful_pod) {
      if (grace < 0) grace = cur["spec"].value("terminationGracePeriodSeconds", 30);
      if (!cur["metadata"].contains("deletionTimestamp")) {
        cur["metadata"]["deletionTimestamp"] = nowRfc3339();
        cur["metadata"]["deletionGracePeriodSeconds"] = grace;
        cur["metadata"]["resourceVersion"] = std::to_string(++rev_);
        record(t.resource, "MODIFIED", cur);
      }
      return okJson(cur);
    }
    json obj = cur;
    objects_.erase(it);
    obj["metadata"]["resourceVersion"] = std::to_string(++rev_);
    record(t.resource, "DELETED", obj);
    return okJson(obj);
  }
  return status(405, "MethodNotAllowed", "method " + req.method + " not allowed");
}

Result<HttpResponse> FakeApiServer::stream(const HttpRequest& req,
                                           const std::function<bool(std::string_view)>& on_data,
                                           CancelToken& cancel) {
  Target t = parseTarget(req.target);
  std::unique_lock lk(mu_);
  requests_.push_back(req.method + " " + req.target);
  if (!t.ok || t.query["watch"] != "true") {
    HttpResponse r = handle(req);
    lk.unlock();
    if (r.status >= 200 && r.status < 300) {
      on_data(r.body);
      r.body.clear();
    }
    return r;
  }
  int64_t from = t.query.count("resourceVersion") ? std::stoll(t.query["resourceVersion"]) : 0;
  if (from < compacted_) {
    json err = {{"type", "ERROR"},
                {"object",
                 {{"kind", "Status"},
                  {"apiVersion", "v1"},
                  {"status", "Failure"},
                  {"reason", "Expired"},
                  {"code", 410},
                  {"message", "too old resource version: " + std::to_string(from)}}}};
    lk.unlock();
    on_data(err.dump() + "\n");
    return HttpResponse{200, "application/json", ""};
  }
  // No lock in the hook: cancel() holds the token's lock, and this loop takes the token's lock
  // while holding mu_; the 50 ms wait bounds a missed wakeup.
  uint64_t hook = cancel.addHook([this] { cv_.notify_all(); });
  std::size_t idx = 0;
  while (idx < events_.size() && events_[idx].rv <= from) ++idx;
  for (;;) {
    while (idx < events_.size()) {
      Event ev = events_[idx++];
      if (ev.resource != t.resource || !matches(ev.object, t)) continue;
      json line = {{"type", ev.type}, {"object", ev.object}};
      lk.unlock();
      bool more = on_data(line.dump() + "\n");
      lk.lock();
      if (!more) {
        lk.unlock();
        cancel.removeHook(hook);
        return HttpResponse{200, "application/json", ""};
      }
    }
    if (cancel.cancelled()) break;
    cv_.wait_for(lk, std::chrono::milliseconds(50));
    if (cancel.cancelled()) break;
  }
  lk.unlock();
  cancel.removeHook(hook);
  return Error(ErrorCode::Cancelled, "watch cancelled");
}

}  // namespace skiff::agent::testing
