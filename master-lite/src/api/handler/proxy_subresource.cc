// The proxy subresources: pods/proxy, services/proxy and nodes/proxy, as kube-apiserver's
// ProxyREST storages serve them (pkg/registry/core/{pod,service,node}, ResourceLocation). The
// name is "<name>", "<name>:<port>" or "<scheme>:<name>:<port>"; the answer is a ProxyTarget the
// HTTPS server relays the request to (every method, the path after /proxy and the query).
#include <arpa/inet.h>

#include <random>

#include "handler_internal.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/api/proxy_rewrite.h"

namespace skiff::master::api::handler {
namespace {

struct SchemeNamePort {
  std::string scheme, name, port;
};

// utilnet.SplitSchemeNamePort: one to three ':'-separated parts, a name, scheme http or https.
std::optional<SchemeNamePort> splitSchemeNamePort(const std::string& id) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t c = id.find(':', start);
    parts.push_back(id.substr(start, c == std::string::npos ? std::string::npos : c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  SchemeNamePort s;
  if (parts.size() == 1) {
    s.name = parts[0];
  } else if (parts.size() == 2) {
    s.name = parts[0];
    s.port = parts[1];
  } else if (parts.size() == 3) {
    s.scheme = parts[0];
    s.name = parts[1];
    s.port = parts[2];
  } else {
    return std::nullopt;
  }
  if (s.name.empty() || (s.scheme != "" && s.scheme != "http" && s.scheme != "https"))
    return std::nullopt;
  return s;
}

// proxyutil.IsProxyableIP: not loopback, link-local or interface-local.
bool isProxyableIp(const std::string& ip) {
  unsigned char a[16];
  if (inet_pton(AF_INET, ip.c_str(), a) == 1) {
    return a[0] != 127 && !(a[0] == 169 && a[1] == 254) && !(a[0] == 224 && a[1] == 0 && a[2] == 0);
  }
  if (inet_pton(AF_INET6, ip.c_str(), a) != 1) return false;
  static const unsigned char loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (std::equal(a, a + 16, loop6)) return false;
  bool mapped = std::all_of(a, a + 10, [](unsigned char b) { return b == 0; }) && a[10] == 0xff &&
                a[11] == 0xff;
  if (mapped)
    return isProxyableIp(std::to_string(a[12]) + "." + std::to_string(a[13]) + "." +
                         std::to_string(a[14]) + "." + std::to_string(a[15]));
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return false;                             // fe80::/10
  if (a[0] == 0xff && ((a[1] & 0x0f) == 0x02 || (a[1] & 0x0f) == 0x01)) return false;  // ff02, ff01
  return true;
}

bool isPortNumber(const std::string& p) {
  return !p.empty() && p.size() <= 5 &&
         std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
         std::stoi(p) <= 65535;
}

void setPort(ProxyTarget& t, const std::string& port) {
  if (port.empty()) {
    t.port = t.tls ? 443 : 80;
  } else if (isPortNumber(port)) {
    t.port = std::stoi(port);
  } else {
    t.port_name = port;  // a service name (/etc/services), as Go's dialer takes it
  }
}

std::size_t pick(std::size_t n) {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
}

// pod.ResourceLocation: the pod's first IP; the port named, else the first declared port.
Result<ProxyTarget> podLocation(Registry& registry, const std::string& ns, const std::string& id) {
  auto s = splitSchemeNamePort(id);
  if (!s) return Error(ErrorCode::BadRequest, "invalid pod request \"" + id + "\"");
  SKIFF_ASSIGN_OR_RETURN(json pod, registry.get(*findResource("", "v1", "pods"), ns, s->name));
  std::string port = s->port;
  const json& containers = at(pod, {"spec", "containers"});
  for (const auto& c : containers.is_array() ? containers : json::array()) {
    if (!port.empty()) break;
    const json& ports = at(c, {"ports"});
    if (ports.is_array() && !ports.empty() && ports[0].contains("containerPort"))
      port = std::to_string(ports[0]["containerPort"].get<long long>());
  }
  const json& ips = at(pod, {"status", "podIPs"});
  std::string ip = ips.is_array() && !ips.empty() ? ips[0].value("ip", "") : "";
  if (!isProxyableIp(ip)) return Error(ErrorCode::BadRequest, "address not allowed");
  ProxyTarget t;
  t.host = ip;
  t.tls = s->scheme == "https";
  t.kubelet_client = false;
  setPort(t, port);
  return t;
}

// isValidAddress: the address belongs to a pod of this namespace that has that IP.
bool isValidAddress(Registry& registry, const std::string& ns, const json& addr) {
  const json& ref = at(addr, {"targetRef"});
  if (!ref.is_object() || ref.value("namespace", "") != ns) return false;
  auto pod = registry.get(*findResource("", "v1", "pods"), ns, ref.value("name", ""));
  if (!pod) return false;
  const json& ips = at(*pod, {"status", "podIPs"});
  for (const auto& ip : ips.is_array() ? ips : json::array()) {
    if (ip.value("ip", "") == addr.value("ip", "")) return true;
  }
  return false;
}

// The Service's port name for a port number; 503 when the Service has no such port.
Result<std::string> servicePortName(Registry& registry, const std::string& ns,
                                    const SchemeNamePort& s) {
  if (!isPortNumber(s.port)) return s.port;
  SKIFF_ASSIGN_OR_RETURN(json svc, registry.get(*findResource("", "v1", "services"), ns, s.name));
  const json& ports = at(svc, {"spec", "ports"});
  for (const auto& p : ports.is_array() ? ports : json::array()) {
    if (p.value("port", 0) == std::stoi(s.port)) return p.value("name", "");
  }
  return Error(ErrorCode::Unavailable,
               "no service port " + s.port + " found for service \"" + s.name + "\"");
}

// service ResourceLocation: a ready address of the Service's Endpoints for the named port,
// chosen at random.
Result<ProxyTarget> serviceLocation(Registry& registry, const std::string& ns,
                                    const std::string& id) {
  auto s = splitSchemeNamePort(id);
  if (!s) return Error(ErrorCode::BadRequest, "invalid service request \"" + id + "\"");
  SKIFF_ASSIGN_OR_RETURN(std::string port_name, servicePortName(registry, ns, *s));
  SKIFF_ASSIGN_OR_RETURN(json eps, registry.get(*findResource("", "v1", "endpoints"), ns, s->name));
  const json& subsets = at(eps, {"subsets"});
  if (!subsets.is_array() || subsets.empty()) {
    return Error(ErrorCode::Unavailable, "no endpoints available for service \"" + s->name + "\"");
  }
  std::size_t seed = pick(subsets.size());
  for (std::size_t si = 0; si < subsets.size(); ++si) {
    const json& ss = subsets[(seed + si) % subsets.size()];
    const json& addrs = at(ss, {"addresses"});
    const json& ports = at(ss, {"ports"});
    if (!addrs.is_array() || addrs.empty() || !ports.is_array()) continue;
    for (const auto& p : ports) {
      if (p.value("name", "") != port_name) continue;
      std::size_t aseed = pick(addrs.size());
      for (std::size_t a = 0; a < addrs.size(); ++a) {
        const json& addr = addrs[(aseed + a) % addrs.size()];
        if (!isValidAddress(registry, ns, addr)) continue;
        ProxyTarget t;
        t.host = addr.value("ip", "");
        t.port = p.value("port", 0);
        t.tls = s->scheme == "https";
        t.kubelet_client = false;
        return t;
      }
    }
  }
  return Error(ErrorCode::Unavailable, "no endpoints available for service \"" + id + "\"");
}

// node.ResourceLocation: the agent's API (https, the API server's kubelet client certificate)
// unless another port is named.
Result<ProxyTarget> nodeLocation(Registry& registry, const std::string& id) {
  auto s = splitSchemeNamePort(id);
  if (!s) return Error(ErrorCode::BadRequest, "invalid node request \"" + id + "\"");
  SKIFF_ASSIGN_OR_RETURN(ProxyTarget t, agentOf(registry, s->name));
  if (s->port.empty() || s->port == std::to_string(t.port)) return t;
  unsigned char buf[16];
  bool literal =
      inet_pton(AF_INET, t.host.c_str(), buf) == 1 || inet_pton(AF_INET6, t.host.c_str(), buf) == 1;
  if (literal && !isProxyableIp(t.host)) return Error(ErrorCode::BadRequest, "address not allowed");
  t.tls = s->scheme == "https";
  t.kubelet_client = false;
  setPort(t, s->port);
  return t;
}

// The request path after .../<name>/proxy, as it was sent ("" for the bare form).
std::string pathAfterProxy(const std::string& path, std::size_t proxy_segment) {
  std::size_t i = 0, seen = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    if (i >= path.size()) break;
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (seen++ == proxy_segment) return path.substr(j);
    i = j;
  }
  return "";
}

// The backend's path: the rest cleaned as Go's path.Join does, the trailing slash kept.
std::string backendPath(const std::string& rest) {
  std::string out = cleanUrlPath(rest);
  if (out != "/" && !rest.empty() && rest.back() == '/') out += "/";
  return out;
}

}  // namespace

bool isProxySubresource(const Route& rt) {
  return rt.info && rt.info->group.empty() && rt.subresource == "proxy" &&
         (rt.info->kind == "Pod" || rt.info->kind == "Service" || rt.info->kind == "Node");
}

HttpResponse serveProxySubresource(ResourceRequest& rq) {
  std::string path = rq.req.target, query;
  if (auto qp = path.find('?'); qp != std::string::npos) {
    query = path.substr(qp + 1);
    path = path.substr(0, qp);
  }
  Result<ProxyTarget> target =
      rq.rt.info->kind == "Pod"       ? podLocation(rq.registry, rq.rt.ns, rq.rt.name)
      : rq.rt.info->kind == "Service" ? serviceLocation(rq.registry, rq.rt.ns, rq.rt.name)
                                      : nodeLocation(rq.registry, rq.rt.name);
  if (!target) return rq.fail(target.error());
  // api/v1/[namespaces/<ns>/]<resource>/<name>/proxy: the index of the "proxy" segment.
  std::string rest = pathAfterProxy(path, rq.rt.ns.empty() ? 4 : 6);
  if (rest.empty()) {
    // Upstream redirects the bare form to .../proxy/ (issue 4958).
    HttpResponse resp;
    resp.status = 301;
    resp.content_type.clear();
    resp.headers.emplace_back("Location", path + "/" + (query.empty() ? "" : "?" + query));
    return rq.finish(std::move(resp));
  }
  target->relay = true;
  target->method = rq.req.method;
  target->path = backendPath(rest.substr(1)) + (query.empty() ? "" : "?" + query);
  target->path_prepend = path.substr(0, path.size() - rest.size());
  HttpResponse resp;
  resp.proxy = std::move(target).value();
  return rq.finish(std::move(resp));
}

}  // namespace skiff::master::api::handler
