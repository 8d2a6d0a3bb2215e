// pods/proxy, services/proxy and nodes/proxy through api::Handler: the name forms, the target
// each resolves to (pod IP and port, a valid endpoint chosen at random, the agent or another node
// port), upstream's messages and codes, the verb each method is authorized as, discovery; and
// the rewriting of redirects and HTML links (proxy_rewrite.h).
#include <gtest/gtest.h>

#include <set>

#include "skiff/master/api/proxy_rewrite.h"
#include "skiff/master/api/resources.h"
#include "skiff/master/testing/temp_handler.h"

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

json podJson(const std::string& name, const json& ports) {
  json c = {{"name", "c"}, {"image", "busybox"}};
  if (!ports.is_null()) c["ports"] = ports;
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"labels", {{"app", "web"}}}}},
          {"spec", {{"nodeName", "n1"}, {"containers", json::array({c})}}}};
}

json address(const std::string& ip, const std::string& pod) {
  return {{"ip", ip}, {"targetRef", {{"kind", "Pod"}, {"namespace", "default"}, {"name", pod}}}};
}

class ProxySubresourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HandlerOptions ho;
    ho.ready = [] { return true; };
    std::string err;
    server_ = testing::TempHandler::create({}, ho, &err);
    ASSERT_NE(server_, nullptr) << err;
    opts_.user = {"admin", {"system:masters"}};
    opts_.field_manager = "test";
    make("", "nodes", {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "n1"}}}});
    status("", "nodes", "n1",
           {{"addresses", {{{"type", "InternalIP"}, {"address", "10.0.0.5"}}}},
            {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}}});
    make("default", "pods", podJson("web", {{{"containerPort", 8080}, {"name", "http"}}}));
    podIp("web", "10.244.0.7");
    make("default", "pods", podJson("web2", {{{"containerPort", 8080}}}));
    podIp("web2", "10.244.0.8");
    make("default", "pods", podJson("noports", nullptr));
    podIp("noports", "10.244.0.9");
    make("default", "pods", podJson("noip", nullptr));
    make("default", "pods", podJson("lo", nullptr));
    podIp("lo", "127.0.0.1");
    json svc = {{"apiVersion", "v1"},
                {"kind", "Service"},
                {"metadata", {{"name", "web"}}},
                {"spec",
                 {{"selector", {{"app", "web"}}},
                  {"ports",
                   {{{"name", "http"}, {"port", 80}, {"targetPort", 8080}},
                    {{"name", "metrics"}, {"port", 9090}, {"targetPort", 9090}}}}}}};
    make("default", "services", svc);
    // The endpoints controller does not run here: Endpoints as it would write them, plus an
    // address whose pod is gone (never chosen).
    make("default", "endpoints",
         {{"apiVersion", "v1"},
          {"kind", "Endpoints"},
          {"metadata", {{"name", "web"}}},
          {"subsets",
           {{{"addresses",
              {address("10.244.0.7", "web"), address("10.244.0.8", "web2"),
               address("10.244.0.99", "gone")}},
             {"ports",
              {{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}},
               {{"name", "metrics"}, {"port", 9090}, {"protocol", "TCP"}}}}}}}});
    make("default", "endpoints",
         {{"apiVersion", "v1"}, {"kind", "Endpoints"}, {"metadata", {{"name", "empty"}}}});
  }

  void make(const std::string& ns, const std::string& resource, const json& obj) {
    auto r = server_->registry().create(*findResource("", "v1", resource), ns, obj, opts_);
    ASSERT_TRUE(r) << r.error().message();
  }
  void status(const std::string& ns, const std::string& resource, const std::string& name,
              const json& st) {
    auto r = server_->registry().patch(*findResource("", "v1", resource), ns, name,
                                       PatchKind::Merge, json{{"status", st}}, opts_, "status");
    ASSERT_TRUE(r) << r.error().message();
  }
  void podIp(const std::string& pod, const std::string& ip) {
    status("default", "pods", pod, {{"podIP", ip}, {"podIPs", {{{"ip", ip}}}}});
  }

  HttpResponse call(const std::string& method, const std::string& target,
                    UserInfo user = {"admin", {"system:masters", "system:authenticated"}}) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.headers = {{"accept", "application/json"}};
    r.cert_user = std::move(user);
    return server_->handler().handle(r);
  }
  // The target of a GET, failing the test when it is an error.
  ProxyTarget target(const std::string& path, const std::string& method = "GET") {
    HttpResponse resp = call(method, path);
    EXPECT_TRUE(resp.proxy.has_value()) << path << ": " << resp.status << " " << resp.body;
    return resp.proxy.value_or(ProxyTarget{});
  }
  // The Status of a failed request: code and message.
  std::pair<int, std::string> failure(const std::string& path) {
    HttpResponse resp = call("GET", path);
    EXPECT_FALSE(resp.proxy.has_value()) << path;
    json body = json::parse(resp.body, nullptr, false);
    return {resp.status, body.is_object() ? body.value("message", "") : resp.body};
  }

  std::unique_ptr<testing::TempHandler> server_;
  WriteOptions opts_;
};

const std::string kPods = "/api/v1/namespaces/default/pods/";
const std::string kSvcs = "/api/v1/namespaces/default/services/";

TEST_F(ProxySubresourceTest, PodNameForms) {
  ProxyTarget t = target(kPods + "web/proxy/");
  EXPECT_TRUE(t.relay);
  EXPECT_EQ(t.host, "10.244.0.7");
  EXPECT_EQ(t.port, 8080);  // the first declared container port
  EXPECT_FALSE(t.tls);
  EXPECT_FALSE(t.kubelet_client);
  EXPECT_EQ(t.path, "/");
  EXPECT_EQ(t.method, "GET");
  EXPECT_EQ(t.path_prepend, kPods + "web/proxy");

  t = target(kPods + "web:9000/proxy/a/./x/../b/?x=1&y=%2F");
  EXPECT_EQ(t.port, 9000);
  EXPECT_EQ(t.path, "/a/b/?x=1&y=%2F");
  EXPECT_EQ(t.path_prepend, kPods + "web:9000/proxy");

  t = target(kPods + "https:web:8443/proxy/metrics");
  EXPECT_TRUE(t.tls);
  EXPECT_EQ(t.port, 8443);
  EXPECT_EQ(t.path, "/metrics");

  t = target(kPods + "http:web:http/proxy/");
  EXPECT_EQ(t.port_name, "http");  // dialled as Go does: a service name

  EXPECT_EQ(target(kPods + "noports/proxy/").port, 80);
  EXPECT_EQ(target(kPods + "https:noports:/proxy/").port, 443);
}

TEST_F(ProxySubresourceTest, PodErrors) {
  EXPECT_EQ(failure(kPods + "ftp:web:80/proxy/"),
            std::make_pair(400, std::string("invalid pod request \"ftp:web:80\"")));
  EXPECT_EQ(failure(kPods + "a:b:c:d/proxy/"),
            std::make_pair(400, std::string("invalid pod request \"a:b:c:d\"")));
  EXPECT_EQ(failure(kPods + "missing:80/proxy/"),
            std::make_pair(404, std::string("pods \"missing\" not found")));
  EXPECT_EQ(failure(kPods + "noip/proxy/"),
            std::make_pair(400, std::string("address not allowed")));
  EXPECT_EQ(failure(kPods + "lo/proxy/"), std::make_pair(400, std::string("address not allowed")));
}

TEST_F(ProxySubresourceTest, BareProxyRedirectsToTrailingSlash) {
  HttpResponse resp = call("GET", kPods + "web:80/proxy?a=b");
  EXPECT_EQ(resp.status, 301);
  EXPECT_FALSE(resp.proxy);
  bool found = false;
  for (const auto& [k, v] : resp.headers) {
    if (k == "Location") {
      found = true;
      EXPECT_EQ(v, kPods + "web:80/proxy/?a=b");
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(ProxySubresourceTest, ServiceChoosesAValidEndpointAtRandom) {
  std::set<std::string> seen;
  for (int i = 0; i < 60; ++i) {
    ProxyTarget t = target(kSvcs + "web:http/proxy/index.html");
    EXPECT_EQ(t.port, 8080);
    EXPECT_EQ(t.path, "/index.html");
    EXPECT_FALSE(t.kubelet_client);
    seen.insert(t.host);
  }
  // Both pods' addresses, never the one whose pod is gone.
  EXPECT_EQ(seen, (std::set<std::string>{"10.244.0.7", "10.244.0.8"}));
  // A port number is the Service's port, mapped to its name.
  EXPECT_EQ(target(kSvcs + "web:80/proxy/").port, 8080);
  EXPECT_EQ(target(kSvcs + "web:9090/proxy/").port, 9090);
  ProxyTarget t = target(kSvcs + "https:web:metrics/proxy/metrics");
  EXPECT_TRUE(t.tls);
  EXPECT_EQ(t.port, 9090);
}

TEST_F(ProxySubresourceTest, ServiceErrors) {
  EXPECT_EQ(failure(kSvcs + "web:81/proxy/"),
            std::make_pair(503, std::string("no service port 81 found for service \"web\"")));
  // No port: the unnamed port, which this Service does not have.
  EXPECT_EQ(failure(kSvcs + "web/proxy/"),
            std::make_pair(503, std::string("no endpoints available for service \"web\"")));
  EXPECT_EQ(
      failure(kSvcs + "http:web:nope/proxy/"),
      std::make_pair(503, std::string("no endpoints available for service \"http:web:nope\"")));
  EXPECT_EQ(failure(kSvcs + "empty/proxy/"),
            std::make_pair(503, std::string("no endpoints available for service \"empty\"")));
  EXPECT_EQ(failure(kSvcs + "noeps:http/proxy/"),
            std::make_pair(404, std::string("endpoints \"noeps\" not found")));
  EXPECT_EQ(failure(kSvcs + "noeps:80/proxy/"),
            std::make_pair(404, std::string("services \"noeps\" not found")));
  EXPECT_EQ(failure(kSvcs + "tcp:web:80/proxy/"),
            std::make_pair(400, std::string("invalid service request \"tcp:web:80\"")));
  HttpResponse resp = call("GET", kSvcs + "empty/proxy/");
  EXPECT_EQ(json::parse(resp.body)["reason"], "ServiceUnavailable");
}

TEST_F(ProxySubresourceTest, NodeAgentOrAnotherPort) {
  for (const char* path : {"/api/v1/nodes/n1/proxy/healthz", "/api/v1/nodes/n1:10250/proxy/healthz",
                           "/api/v1/nodes/http:n1:10250/proxy/healthz"}) {
    ProxyTarget t = target(path);
    EXPECT_EQ(t.host, "10.0.0.5") << path;
    EXPECT_EQ(t.port, 10250);
    EXPECT_TRUE(t.tls);  // the agent's port is always https with the kubelet client certificate
    EXPECT_TRUE(t.kubelet_client);
    EXPECT_EQ(t.path, "/healthz");
  }
  ProxyTarget t = target("/api/v1/nodes/n1:9100/proxy/metrics");
  EXPECT_EQ(t.port, 9100);
  EXPECT_FALSE(t.tls);
  EXPECT_FALSE(t.kubelet_client);
  EXPECT_TRUE(target("/api/v1/nodes/https:n1:9100/proxy/").tls);
  EXPECT_EQ(failure("/api/v1/nodes/nope/proxy/"),
            std::make_pair(404, std::string("nodes \"nope\" not found")));
  EXPECT_EQ(failure("/api/v1/nodes/a:b:c:d/proxy/"),
            std::make_pair(400, std::string("invalid node request \"a:b:c:d\"")));
}

// pods/log is relayed as a websocket when the client asks for one, whatever the case of the
// Upgrade header's value (RFC 9110: upgrade tokens compare case-insensitively).
TEST_F(ProxySubresourceTest, PodLogWebsocketUpgradeIgnoresCase) {
  auto logTarget = [&](const std::string& upgrade) {
    HttpRequest r;
    r.method = "GET";
    r.target = kPods + "web/log";
    r.headers = {{"accept", "application/json"}};
    if (!upgrade.empty()) r.headers["upgrade"] = upgrade;
    r.cert_user = UserInfo{"admin", {"system:masters", "system:authenticated"}};
    HttpResponse resp = server_->handler().handle(r);
    EXPECT_TRUE(resp.proxy.has_value()) << resp.status << " " << resp.body;
    return resp.proxy.value_or(ProxyTarget{});
  };
  EXPECT_FALSE(logTarget("").websocket_log);
  EXPECT_TRUE(logTarget("websocket").websocket_log);
  EXPECT_TRUE(logTarget("WebSocket").websocket_log);
  EXPECT_FALSE(logTarget("h2c").websocket_log);
}

TEST_F(ProxySubresourceTest, EveryMethodPassesThrough) {
  for (const char* m : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    ProxyTarget t = target(kPods + "web/proxy/x?dryRun=whatever", m);
    EXPECT_EQ(t.method, m);
    EXPECT_EQ(t.path, "/x?dryRun=whatever");  // the backend's query, not ours
  }
}

TEST_F(ProxySubresourceTest, AuthorizedByMethodOnTheSubresource) {
  UserInfo alice{"alice", {"system:authenticated"}};
  HttpResponse denied = call("GET", kPods + "web:80/proxy/", alice);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(json::parse(denied.body)["message"],
            "pods \"web:80\" is forbidden: User \"alice\" cannot get resource \"pods/proxy\" in "
            "API group \"\" in the namespace \"default\"");
  auto role = server_->registry().create(
      *findResource("rbac.authorization.k8s.io", "v1", "roles"), "default",
      {{"apiVersion", "rbac.authorization.k8s.io/v1"},
       {"kind", "Role"},
       {"metadata", {{"name", "proxy-get"}}},
       {"rules", {{{"apiGroups", {""}}, {"resources", {"pods/proxy"}}, {"verbs", {"get"}}}}}},
      opts_);
  ASSERT_TRUE(role) << role.error().message();
  auto rb = server_->registry().create(
      *findResource("rbac.authorization.k8s.io", "v1", "rolebindings"), "default",
      {{"apiVersion", "rbac.authorization.k8s.io/v1"},
       {"kind", "RoleBinding"},
       {"metadata", {{"name", "alice-proxy"}}},
       {"roleRef",
        {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", "proxy-get"}}},
       {"subjects", {{{"kind", "User"}, {"name", "alice"}}}}},
      opts_);
  ASSERT_TRUE(rb) << rb.error().message();
  EXPECT_TRUE(call("GET", kPods + "web:80/proxy/", alice).proxy);
  EXPECT_TRUE(call("HEAD", kPods + "web:80/proxy/", alice).proxy);
  HttpResponse post = call("POST", kPods + "web:80/proxy/", alice);
  EXPECT_EQ(post.status, 403);
  EXPECT_NE(json::parse(post.body)["message"].get<std::string>().find(
                "cannot create resource \"pods/proxy\""),
            std::string::npos);
  EXPECT_EQ(call("DELETE", kPods + "web:80/proxy/", alice).status, 403);
  EXPECT_EQ(call("OPTIONS", kPods + "web:80/proxy/", alice).status, 403);
}

TEST_F(ProxySubresourceTest, DiscoveryListsTheProxySubresources) {
  HttpResponse resp = call("GET", "/api/v1");
  ASSERT_EQ(resp.status, 200);
  std::map<std::string, json> byName;
  json list = json::parse(resp.body);
  for (const auto& r : list["resources"]) byName[r["name"].get<std::string>()] = r;
  for (auto [name, kind] : {std::pair{"pods/proxy", "PodProxyOptions"},
                            {"services/proxy", "ServiceProxyOptions"},
                            {"nodes/proxy", "NodeProxyOptions"}}) {
    ASSERT_TRUE(byName.count(name)) << name;
    EXPECT_EQ(byName[name]["kind"], kind);
    EXPECT_EQ(byName[name]["verbs"], json({"create", "delete", "get", "patch", "update"}));
  }
  // Other resources take no proxy path.
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/configmaps/x/proxy/y").status, 404);
}

ProxyRewrite rw() { return {"/api/v1/namespaces/ns/pods/p/proxy", "10.244.0.7:80", "api:6443"}; }

TEST(ProxyRewrite, Urls) {
  EXPECT_EQ(rewriteProxyUrl("/rewriteme", rw()), "/api/v1/namespaces/ns/pods/p/proxy/rewriteme");
  EXPECT_EQ(rewriteProxyUrl("/a/b/?q=1#f", rw()), "/api/v1/namespaces/ns/pods/p/proxy/a/b/?q=1#f");
  // The backend's own host loses scheme and host; the API server's keeps them.
  EXPECT_EQ(rewriteProxyUrl("http://10.244.0.7:80/login", rw()),
            "/api/v1/namespaces/ns/pods/p/proxy/login");
  EXPECT_EQ(rewriteProxyUrl("https://api:6443/x", rw()),
            "https://api:6443/api/v1/namespaces/ns/pods/p/proxy/x");
  // Other hosts, relative references and paths already under the prefix stay.
  EXPECT_EQ(rewriteProxyUrl("http://example.com/x", rw()), "http://example.com/x");
  EXPECT_EQ(rewriteProxyUrl("next.html", rw()), "next.html");
  EXPECT_EQ(rewriteProxyUrl("#top", rw()), "#top");
  EXPECT_EQ(rewriteProxyUrl("mailto:a@b", rw()), "mailto:a@b");
  EXPECT_EQ(rewriteProxyUrl("/api/v1/namespaces/ns/pods/p/proxy/x", rw()),
            "/api/v1/namespaces/ns/pods/p/proxy/x");
}

TEST(ProxyRewrite, Html) {
  // The conformance test's page (agnhost porter).
  EXPECT_EQ(rewriteProxyHtml("<a href=\"/rewriteme\">test</a>", rw()),
            "<a href=\"/api/v1/namespaces/ns/pods/p/proxy/rewriteme\">test</a>");
  EXPECT_EQ(rewriteProxyHtml("<!DOCTYPE html><IMG SRC='/i.png' alt=x><p class=a>t</p>", rw()),
            "<!DOCTYPE html><img src=\"/api/v1/namespaces/ns/pods/p/proxy/i.png\" alt=\"x\">"
            "<p class=a>t</p>");
  EXPECT_EQ(rewriteProxyHtml("<link rel=stylesheet href=/s.css /><!-- <a href=\"/c\"> -->", rw()),
            "<link rel=\"stylesheet\" href=\"/api/v1/namespaces/ns/pods/p/proxy/s.css\"/>"
            "<!-- <a href=\"/c\"> -->");
  // Script bodies are text.
  EXPECT_EQ(rewriteProxyHtml("<script>var s='<a href=\"/x\">';</script>", rw()),
            "<script>var s='<a href=\"/x\">';</script>");
  EXPECT_EQ(rewriteProxyHtml("<a href=\"/q?a=1&amp;b=2\">", rw()),
            "<a href=\"/api/v1/namespaces/ns/pods/p/proxy/q?a=1&amp;b=2\">");
}

}  // namespace
}  // namespace skiff::master::api
