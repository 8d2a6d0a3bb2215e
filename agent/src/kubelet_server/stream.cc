// The kubelet API's request plumbing: target parsing, Status replies, SPDY upgrade.
#include <utility>

#include <sstream>

#include "stream.h"

namespace skiff::agent::kubelet_api {
namespace {

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

}  // namespace

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

bool offers(beast::string_view list, const std::string& want) {
  std::stringstream ss{std::string(list)};
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (item == want) return true;
  }
  return false;
}

bool spdyUpgrade(const Request& req) {
  std::string upgrade(req[http::field::upgrade]);
  for (auto& c : upgrade) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return upgrade == "spdy/3.1";
}

bool offeredVersion(const Request& req, const std::string& version) {
  for (const auto& f : req) {
    if (beast::iequals(f.name_string(), "X-Stream-Protocol-Version") && offers(f.value(), version))
      return true;
  }
  return false;
}

asio::awaitable<void> switchToSpdy(TlsStream& stream, const Request& req,
                                   const std::string& version) {
  http::response<http::empty_body> res{http::status::switching_protocols, req.version()};
  res.set(http::field::connection, "Upgrade");
  res.set(http::field::upgrade, "SPDY/3.1");
  res.set("X-Stream-Protocol-Version", version);
  co_await http::async_write(stream, res, asio::use_awaitable);
}

Result<Resolved> resolve(KubeletApiSource& src, const std::string& ns, const std::string& name,
                         const std::string& container, bool previous) {
  auto pod = src.findPod(ns, name);
  if (!pod) {
    return Error(ErrorCode::NotFound, "pod \"" + name + "\" in namespace \"" + ns +
                                          "\" not found on node \"" + src.nodeName() + "\"");
  }
  bool known = false;
  for (const char* f : {"containers", "initContainers"}) {
    if (!(*pod)["spec"].contains(f)) continue;
    for (const auto& c : (*pod)["spec"][f]) known |= c.value("name", "") == container;
  }
  if (!known) {
    return Error(ErrorCode::BadRequest, "container " + container + " is not valid for pod " + name);
  }
  SKIFF_ASSIGN_OR_RETURN(auto view, src.runtimeView((*pod)["metadata"].value("uid", "")));
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
}  // namespace skiff::agent::kubelet_api
