// pods/log, exec, attach and portforward: the API server answers with where the node agent
// serves them (the HTTPS server then proxies, upgrading to a websocket for exec/attach/
// portforward), as kube-apiserver's pod REST "connect" storage does via the kubelet.
#include <algorithm>
#include <boost/beast/core/string.hpp>

#include "handler_internal.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api::handler {
namespace {

// The container a log/exec/attach names: ?container=, else the only one, else the
// kubectl.kubernetes.io/default-container annotation. Upstream's messages otherwise.
Result<std::string> containerFor(const ResourceRequest& rq, const json& pod) {
  std::string container = q(rq.query, "container");
  std::vector<std::string> names;
  for (const auto& c : at(pod, {"spec", "containers"}).is_array() ? at(pod, {"spec", "containers"})
                                                                  : json::array()) {
    names.push_back(c.value("name", ""));
  }
  for (const auto& c : at(pod, {"spec", "initContainers"}).is_array()
                           ? at(pod, {"spec", "initContainers"})
                           : json::array()) {
    if (!container.empty() && c.value("name", "") == container) names.push_back(container);
  }
  if (rq.rt.subresource == "portforward") return container;
  if (container.empty()) {
    std::string def =
        str(pod, {"metadata", "annotations", "kubectl.kubernetes.io/default-container"});
    if (names.size() == 1) return names[0];
    if (!def.empty()) return def;
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : " ") + n;
    return Error(ErrorCode::BadRequest, "a container name must be specified for pod " + rq.rt.name +
                                            ", choose one of: [" + list + "]");
  }
  if (std::find(names.begin(), names.end(), container) == names.end()) {
    return Error(ErrorCode::BadRequest,
                 "container " + container + " is not valid for pod " + rq.rt.name);
  }
  return container;
}

}  // namespace

// The agent's address from the Node: InternalIP, else ExternalIP, else Hostname; the port
// from status.daemonEndpoints.kubeletEndpoint.
Result<ProxyTarget> agentOf(Registry& registry, const std::string& node) {
  auto nodeobj = registry.get(*findResource("", "v1", "nodes"), "", node);
  if (!nodeobj) return Error(ErrorCode::NotFound, "nodes \"" + node + "\" not found");
  ProxyTarget t;
  const json& addrs = at(*nodeobj, {"status", "addresses"});
  std::string host;
  for (const char* type : {"InternalIP", "ExternalIP", "Hostname"}) {
    if (!host.empty() || !addrs.is_array()) break;
    for (const auto& a : addrs) {
      if (a.value("type", "") == type) {
        host = a.value("address", "");
        break;
      }
    }
  }
  if (host.empty())
    return Error(ErrorCode::BadRequest, "node " + node + " has no address to reach its agent");
  t.host = host;
  const json& port = at(*nodeobj, {"status", "daemonEndpoints", "kubeletEndpoint", "Port"});
  if (port.is_number_integer() && port.get<int>() > 0) t.port = port.get<int>();
  return t;
}

namespace {

// Percent-encodes a query value (RFC 3986 unreserved characters stay).
std::string encodeQueryValue(const std::string& v) {
  static const char hex[] = "0123456789ABCDEF";
  std::string enc;
  for (unsigned char ch : v) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      enc += static_cast<char>(ch);
    } else {
      enc += '%';
      enc += hex[ch >> 4];
      enc += hex[ch & 15];
    }
  }
  return enc;
}

// The agent's path for the subresource: /containerLogs, /portForward, /exec, /attach.
void setAgentPath(ProxyTarget& t, const ResourceRequest& rq, const std::string& container) {
  const Query& query = rq.query;
  const Route& rt = rq.rt;
  std::string qs;
  auto add = [&](const std::string& k, const std::string& v) {
    qs += (qs.empty() ? "?" : "&") + k + "=" + encodeQueryValue(v);
  };
  if (rt.subresource == "log") {
    for (const char* k : {"follow", "previous", "sinceSeconds", "sinceTime", "timestamps",
                          "tailLines", "limitBytes", "stream"}) {
      if (query.count(k)) add(k, q(query, k));
    }
    t.path = "/containerLogs/" + rt.ns + "/" + rt.name + "/" + container + qs;
  } else if (rt.subresource == "portforward") {
    for (auto it = query.lower_bound("ports"); it != query.upper_bound("ports"); ++it)
      add("port", it->second);
    t.path = "/portForward/" + rt.ns + "/" + rt.name + qs;
    t.upgrade = true;
  } else {
    for (auto it = query.lower_bound("command"); it != query.upper_bound("command"); ++it)
      add("command", it->second);
    if (qbool(query, "stdin")) add("input", "1");
    if (qbool(query, "stdout")) add("output", "1");
    if (qbool(query, "stderr")) add("error", "1");
    if (qbool(query, "tty")) add("tty", "1");
    t.path = "/" + rt.subresource + "/" + rt.ns + "/" + rt.name + "/" + container + qs;
    t.upgrade = true;
  }
}

// The options object a CONNECT is admitted with (PodExecOptions, PodAttachOptions,
// PodPortForwardOptions), from the request's query as upstream decodes it.
json connectOptions(const ResourceRequest& rq, const std::string& container) {
  const Query& query = rq.query;
  const std::string& sub = rq.rt.subresource;
  if (sub == "portforward") {
    json ports = json::array();
    for (auto it = query.lower_bound("ports"); it != query.upper_bound("ports"); ++it) {
      try {
        ports.push_back(std::stoi(it->second));
      } catch (const std::exception&) {
        // left to the agent, which refuses a port that is not a number
      }
    }
    return {{"kind", "PodPortForwardOptions"}, {"apiVersion", "v1"}, {"ports", ports}};
  }
  json o = {{"kind", sub == "exec" ? "PodExecOptions" : "PodAttachOptions"},
            {"apiVersion", "v1"},
            {"stdin", qbool(query, "stdin")},
            {"stdout", qbool(query, "stdout")},
            {"stderr", qbool(query, "stderr")},
            {"tty", qbool(query, "tty")},
            {"container", container}};
  if (sub == "exec") {
    json command = json::array();
    for (auto it = query.lower_bound("command"); it != query.upper_bound("command"); ++it)
      command.push_back(it->second);
    o["command"] = command;
  }
  return o;
}

}  // namespace

bool isNodeProxy(const Route& rt) {
  return rt.info && rt.info->kind == "Pod" &&
         (rt.subresource == "log" || rt.subresource == "exec" || rt.subresource == "attach" ||
          rt.subresource == "portforward");
}

HttpResponse serveNodeProxy(ResourceRequest& rq) {
  auto pod = rq.registry.get(rq.r, rq.rt.ns, rq.rt.name);
  if (!pod) return rq.fail(pod.error());
  std::string node = str(*pod, {"spec", "nodeName"});
  if (node.empty()) {
    return rq.fail(
        Error(ErrorCode::BadRequest, "pod " + rq.rt.name + " does not have a host assigned"));
  }
  auto container = containerFor(rq, *pod);
  if (!container) return rq.fail(container.error());
  if (rq.rt.subresource != "log") {
    WriteOptions wo;
    wo.user = rq.user;
    auto admitted = rq.registry.admitConnect(rq.r, rq.rt.ns, rq.rt.name, rq.rt.subresource,
                                             connectOptions(rq, *container), wo);
    if (!admitted) return rq.fail(admitted.error());
  }
  auto target = agentOf(rq.registry, node);
  if (!target) return rq.fail(target.error());
  setAgentPath(*target, rq, *container);
  target->websocket_log =
      rq.rt.subresource == "log" && boost::beast::iequals(rq.req.header("upgrade"), "websocket");
  target->method = rq.req.method;
  HttpResponse resp;
  resp.proxy = std::move(target).value();
  return rq.finish(std::move(resp));
}

}  // namespace skiff::master::api::handler
