// APIService aggregation (kube-aggregator): the APIServices with a service reference name
// group-versions served elsewhere. Requests under them are proxied over TLS (the APIService's
// caBundle, or insecureSkipTLSVerify) to an endpoint of the Service; a background loop probes
// each backend's discovery document, keeps it for /apis, and sets the Available condition with
// upstream's reasons (ServiceNotFound, MissingEndpoints, FailedDiscoveryCheck, Passed).
#include "skiff/master/aggregator/aggregator.h"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "../admission/webhook/webhook_call.h"
#include "skiff/common/base64.h"
#include "skiff/common/log.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/https/https_request.h"

namespace skiff::master::aggregator {
namespace {

using json = nlohmann::json;
using api::at;
using api::str;
namespace wh = admission::webhook;

const std::shared_ptr<spdlog::logger>& lg() {
  static const auto l = skiff::log::get("master");
  return l;
}

const char* kGroup = "apiregistration.k8s.io";

bool builtIn(const std::string& group, const std::string& version) {
  for (const auto& g : api::allGroups()) {
    if (g.name != group) continue;
    for (const auto& v : g.versions) {
      if (v == version) return true;
    }
  }
  return false;
}

// An extra's key as a header name: characters outside an RFC 7230 token, and '%', become
// %XX (client-go's headerKeyEscape; the backend's requestheader authenticator unescapes them).
std::string headerKeyEscape(const std::string& key) {
  static const std::string kTokenChars = "!#$&'*+-.^_`|~";
  std::string out;
  for (unsigned char c : key) {
    if (std::isalnum(c) || kTokenChars.find(static_cast<char>(c)) != std::string::npos) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

struct Backend {
  std::string name;  // <version>.<group>
  std::string group, version;
  long long group_priority = 0, version_priority = 0;
  json spec;
};

class Aggregator : public api::ApiAggregator {
 public:
  Aggregator(api::Registry& registry, AggregatorOptions options)
      : registry_(registry), options_(std::move(options)), every_(options_.probe_every) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Aggregator() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  bool serves(const std::string& group, const std::string& version) override {
    if (builtIn(group, version)) return false;
    return backend(group, version).has_value();
  }

  std::vector<api::GroupInfo> groups() override {
    std::vector<Backend> all = backends();
    // Groups by their highest groupPriorityMinimum, versions by versionPriority.
    std::stable_sort(all.begin(), all.end(), [](const Backend& a, const Backend& b) {
      return a.group_priority != b.group_priority ? a.group_priority > b.group_priority
                                                  : a.version_priority > b.version_priority;
    });
    std::vector<api::GroupInfo> out;
    for (const auto& b : all) {
      if (builtIn(b.group, b.version)) continue;
      auto it = std::find_if(out.begin(), out.end(),
                             [&](const api::GroupInfo& g) { return g.name == b.group; });
      if (it == out.end()) {
        out.push_back({b.group, {b.version}});
      } else {
        it->versions.push_back(b.version);
      }
    }
    return out;
  }

  json resourceList(const std::string& group, const std::string& version) override {
    {
      std::lock_guard lock(mu_);
      auto it = discovery_.find(version + "." + group);
      if (it != discovery_.end()) return it->second;
    }
    auto b = backend(group, version);
    if (!b) return json();
    return probe(*b).list;
  }

  api::HttpResponse proxy(const api::HttpRequest& req, const std::string& group,
                          const std::string& version, const api::UserInfo& user) override {
    auto b = backend(group, version);
    if (!b)
      return api::errorResponse(
          Error(ErrorCode::NotFound, "the server could not find the requested resource"));
    auto target = targetOf(*b);
    if (!target) {
      return api::errorResponse(Error(
          ErrorCode::Unavailable, "error trying to reach service: " + target.error().message()));
    }
    // The user as the front proxy asserts it (kube-aggregator's SetAuthProxyHeaders).
    target->headers.emplace_back("X-Remote-User", user.name);
    for (const auto& g : user.groups) target->headers.emplace_back("X-Remote-Group", g);
    for (const auto& [key, values] : user.extra) {
      for (const auto& v : values)
        target->headers.emplace_back("X-Remote-Extra-" + headerKeyEscape(key), v);
    }
    std::string accept = req.header("accept");
    if (!accept.empty()) target->headers.emplace_back("Accept", accept);
    if (req.target.find("watch=true") != std::string::npos ||
        req.target.find("watch=1") != std::string::npos) {
      return api::errorResponse(
          Error(ErrorCode::BadRequest,
                "skiff does not relay watches to aggregated APIs (" + version + "." + group + ")"));
    }
    auto reply = https::httpsRequest(
        *target, req.method, req.target, req.body,
        req.header("content-type").empty() ? "application/json" : req.header("content-type"),
        std::chrono::seconds(60));
    if (!reply) {
      return api::errorResponse(Error(ErrorCode::Unavailable,
                                      "error trying to reach service: " + reply.error().message()));
    }
    api::HttpResponse r;
    r.status = static_cast<int>(reply->status);
    r.content_type = reply->content_type.empty() ? "application/json" : reply->content_type;
    r.body = std::move(reply->body);
    return r;
  }

 private:
  struct Probe {
    std::string status, reason, message;
    json list;
  };

  std::vector<Backend> backends() {
    std::vector<Backend> out;
    const api::ResourceInfo* info = api::findResource(kGroup, "v1", "apiservices");
    auto list = registry_.list(*info, "", api::Selection{});
    if (!list) return out;
    for (const auto& a : list->value("items", json::array())) {
      const json& spec = at(a, {"spec"});
      if (!at(spec, {"service"}).is_object()) continue;
      Backend b{str(a, {"metadata", "name"}),
                str(spec, {"group"}),
                str(spec, {"version"}),
                at(spec, {"groupPriorityMinimum"}).is_number_integer()
                    ? spec["groupPriorityMinimum"].get<long long>()
                    : 0,
                at(spec, {"versionPriority"}).is_number_integer()
                    ? spec["versionPriority"].get<long long>()
                    : 0,
                spec};
      out.push_back(std::move(b));
    }
    return out;
  }

  std::optional<Backend> backend(const std::string& group, const std::string& version) {
    auto a =
        registry_.get(*api::findResource(kGroup, "v1", "apiservices"), "", version + "." + group);
    if (!a || !at(*a, {"spec", "service"}).is_object()) return std::nullopt;
    const json& spec = (*a)["spec"];
    return Backend{version + "." + group, group, version, 0, 0, spec};
  }

  Result<https::HttpsTarget> targetOf(const Backend& b) {
    const json& svc = at(b.spec, {"service"});
    int port = at(svc, {"port"}).is_number_integer() ? svc["port"].get<int>() : 443;
    SKIFF_ASSIGN_OR_RETURN(
        https::HttpsTarget t,
        wh::resolveService(registry_, str(svc, {"namespace"}), str(svc, {"name"}), port));
    t.insecure = at(b.spec, {"insecureSkipTLSVerify"}) == true;
    // The front proxy's certificate: what makes the backend believe X-Remote-User.
    t.client_cert_pem = options_.proxy_client_cert_pem;
    t.client_key_pem = options_.proxy_client_key_pem;
    std::string ca = str(b.spec, {"caBundle"});
    if (!ca.empty()) {
      auto pem = base64Decode(ca);
      if (!pem) return Error(ErrorCode::Invalid, "invalid caBundle: " + pem.error().message());
      t.ca_pem = std::move(*pem);
    }
    return t;
  }

  // The availability check of kube-aggregator's AvailableConditionController.
  Probe probe(const Backend& b) {
    const json& svc = at(b.spec, {"service"});
    std::string ns = str(svc, {"namespace"}), name = str(svc, {"name"});
    auto s = registry_.get(*api::findResource("", "v1", "services"), ns, name);
    if (!s)
      return {"False", "ServiceNotFound", "service/" + name + " in \"" + ns + "\" is not present",
              json()};
    auto target = targetOf(b);
    if (!target) {
      return {"False", "MissingEndpoints",
              "endpoints for service/" + name + " in \"" + ns +
                  "\" have no addresses with port name \"\"",
              json()};
    }
    std::string path = "/apis/" + b.group + "/" + b.version;
    // As the AvailableConditionController: the front proxy's identity for itself, so the check
    // is never refused for want of rights.
    target->headers.emplace_back("X-Remote-User", "system:kube-aggregator");
    target->headers.emplace_back("X-Remote-Group", "system:masters");
    auto reply = https::httpsRequest(*target, "GET", path, "", "", std::chrono::seconds(5));
    std::string url = "https://" + target->connect_host + ":" + target->port + path;
    // Any 2xx passes, as kube-aggregator's availability check; the body only feeds discovery.
    if (!reply || reply->status < 200 || reply->status >= 300) {
      std::string why = reply ? "bad status from " + url + ": " + std::to_string(reply->status)
                              : "Get \"" + url + "\": " + reply.error().message();
      return {"False", "FailedDiscoveryCheck",
              "failing or missing response from " + url + ": " + why, json()};
    }
    json list = json::parse(reply->body, nullptr, false);
    if (list.is_discarded()) list = json();
    return {"True", "Passed", "all checks passed", list};
  }

  void record(const Backend& b, const Probe& p) {
    {
      std::lock_guard lock(mu_);
      if (p.list.is_null())
        discovery_.erase(b.name);
      else
        discovery_[b.name] = p.list;
    }
    const api::ResourceInfo& info = *api::findResource(kGroup, "v1", "apiservices");
    auto cur = registry_.get(info, "", b.name);
    if (!cur) return;
    json conds = at(*cur, {"status", "conditions"}).is_array() ? (*cur)["status"]["conditions"]
                                                               : json::array();
    json next = {
        {"type", "Available"}, {"status", p.status}, {"reason", p.reason}, {"message", p.message}};
    for (auto& c : conds) {
      if (c.value("type", "") != "Available") continue;
      if (c.value("status", "") == p.status && c.value("reason", "") == p.reason &&
          c.value("message", "") == p.message)
        return;
      next["lastTransitionTime"] =
          c.value("status", "") == p.status
              ? c.value("lastTransitionTime", api::formatTime(api::Clock::now()))
              : api::formatTime(api::Clock::now());
      c = next;
      return write(info, *cur, conds);
    }
    next["lastTransitionTime"] = api::formatTime(api::Clock::now());
    conds.push_back(next);
    write(info, *cur, conds);
  }

  void write(const api::ResourceInfo& info, json obj, const json& conds) {
    obj["status"]["conditions"] = conds;
    api::WriteOptions o;
    o.user = {"system:kube-aggregator", {"system:masters"}};
    o.field_manager = "kube-apiserver";
    auto r = registry_.update(info, "", str(obj, {"metadata", "name"}), obj, o, "status");
    if (!r)
      SKIFF_LOG_WARN(lg(), "APIService status not written",
                     skiff::log::kv("name", str(obj, {"metadata", "name"})),
                     skiff::log::kv("err", r.error().message()));
  }

  void loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      for (const auto& b : backends()) record(b, probe(b));
      lock.lock();
      cv_.wait_for(lock, every_, [this] { return stop_; });
    }
  }

  api::Registry& registry_;
  const AggregatorOptions options_;
  std::chrono::seconds every_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<std::string, json> discovery_;  // <version>.<group> -> APIResourceList
  std::thread thread_;
};

}  // namespace

std::shared_ptr<api::ApiAggregator> newApiAggregator(api::Registry& registry,
                                                     AggregatorOptions options) {
  return std::make_shared<Aggregator>(registry, std::move(options));
}

}  // namespace skiff::master::aggregator
