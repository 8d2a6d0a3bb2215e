// The metrics scraper and the metrics.k8s.io read source (scraper.h).
#include "scraper.h"

#include "skiff/common/file.h"
#include "skiff/common/log.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/https/https_request.h"
#include "skiff/master/selectors.h"

namespace skiff::master::metrics {
namespace {

// The agent's address and port from the Node (InternalIP, else ExternalIP, else Hostname).
bool agentOf(const json& node, std::string& host, int& port) {
  const json& addrs = api::at(node, {"status", "addresses"});
  for (const char* type : {"InternalIP", "ExternalIP", "Hostname"}) {
    for (const auto& a : addrs.is_array() ? addrs : json::array()) {
      if (host.empty() && a.value("type", "") == type) host = a.value("address", "");
    }
  }
  const json& p = api::at(node, {"status", "daemonEndpoints", "kubeletEndpoint", "Port"});
  port = p.is_number_integer() && p.get<int>() > 0 ? p.get<int>() : 10250;
  return !host.empty();
}

Result<json> getSummary(const https::HttpsTarget& agent) {
  auto res = https::httpsRequest(agent, "GET", "/stats/summary", "", "", std::chrono::seconds(10));
  if (!res) return std::move(res).error().wrap("GET /stats/summary");
  if (res->status != 200) {
    return Error(ErrorCode::Unavailable, "GET /stats/summary: HTTP " + std::to_string(res->status));
  }
  json out = json::parse(res->body, nullptr, false);
  if (!out.is_object()) return Error(ErrorCode::Unavailable, "GET /stats/summary: not JSON");
  return out;
}

Error notFound(const api::ResourceInfo& r, const std::string& name) {
  return Error(ErrorCode::NotFound, r.qualifiedResource() + " \"" + name + "\" not found");
}

}  // namespace

Scraper::Scraper(ApiClient& client, ScraperOptions options)
    : client_(client), opts_(std::move(options)) {}

Scraper::~Scraper() { stop(); }

void Scraper::start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      scrapeAll();
      lock.lock();
      cv_.wait_for(lock, opts_.period, [this] { return stopping_; });
    }
  });
}

void Scraper::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scraper::scrapeAll() {
  static const auto lg = skiff::log::get("master");
  auto nodes = client_.list(gvr::kNodes, "", {});
  if (!nodes) return;
  https::HttpsTarget agent;
  agent.insecure = true;  // agents serve self-signed certificates
  auto cert = readFile(opts_.client_cert_file, 1u << 20);
  auto key = readFile(opts_.client_key_file, 1u << 20);
  if (!cert || !key) {
    SKIFF_LOG_WARN(lg, "Metrics scraper has no client certificate",
                   skiff::log::kv("err", (cert ? key.error() : cert.error()).message()));
    return;
  }
  agent.client_cert_pem = std::move(*cert);
  agent.client_key_pem = std::move(*key);
  for (const auto& n : nodes->items) {
    std::string name = api::str(n, {"metadata", "name"});
    std::string host;
    int port = 0;
    if (!agentOf(n, host, port)) continue;
    agent.connect_host = agent.server_name = host;
    agent.port = std::to_string(port);
    auto summary = getSummary(agent);
    if (!summary) {
      SKIFF_LOG_DEBUG(lg, "Scraping node failed", skiff::log::kv("node", name),
                      skiff::log::kv("err", summary.error().message()));
      cache_.forgetNode(name);
      continue;
    }
    cache_.ingest(name, *summary, std::chrono::system_clock::now());
  }
}

api::Registry::MetricsSource Scraper::source() {
  return [this](const api::ResourceInfo& r, const std::string& ns, const std::string& name,
                const api::Selection& sel) -> Result<json> {
    SKIFF_ASSIGN_OR_RETURN(LabelSelector labels, LabelSelector::parse(sel.label_selector));
    bool nodes = r.resource == "nodes";
    const GroupVersionResource& objs = nodes ? gvr::kNodes : gvr::kPods;
    auto labelsOf = [&](const std::string& ons, const std::string& oname) -> std::optional<json> {
      auto o = client_.get(objs, ons, oname);
      if (!o) return std::nullopt;
      return api::at(*o, {"metadata", "labels"});
    };
    if (!name.empty()) {
      std::optional<json> out;
      if (nodes) {
        if (auto m = cache_.node(name)) {
          if (auto l = labelsOf("", name)) out = nodeMetricsJson(*m, *l);
        }
      } else if (auto m = cache_.pod(ns, name)) {
        if (auto l = labelsOf(ns, name)) out = podMetricsJson(*m, *l);
      }
      if (!out) return notFound(r, name);
      return *out;
    }
    json items = json::array();
    if (nodes) {
      for (const auto& m : cache_.nodes()) {
        auto l = labelsOf("", m.name);
        if (l && labels.matches(*l)) items.push_back(nodeMetricsJson(m, *l));
      }
    } else {
      for (const auto& m : cache_.pods(ns)) {
        auto l = labelsOf(m.ns, m.name);
        if (l && labels.matches(*l)) items.push_back(podMetricsJson(m, *l));
      }
    }
    return json{{"kind", r.kind + "List"},
                {"apiVersion", r.groupVersion()},
                {"metadata", json::object()},
                {"items", items}};
  };
}

}  // namespace skiff::master::metrics
