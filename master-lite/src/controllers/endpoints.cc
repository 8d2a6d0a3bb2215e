// Endpoints and EndpointSlice controllers (pkg/controller/endpoint, endpointslice): for each
// Service with a selector, the selected pods that have an IP, with named targetPorts resolved
// per pod. Endpoints lists ready pods in addresses and unready ones in notReadyAddresses
// (terminating pods left out unless publishNotReadyAddresses); EndpointSlices carry every pod
// with ready/serving/terminating conditions.

#include <algorithm>
#include <map>
#include <set>

#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/options.h"
#include "util.h"

namespace skiff::master {

namespace {

constexpr const char* kServiceNameLabel = "kubernetes.io/service-name";
constexpr const char* kManagedByLabel = "endpointslice.kubernetes.io/managed-by";
constexpr const char* kManagedBy = "endpointslice-controller.k8s.io";

struct PodEndpoint {
  json pod;
  std::string ip;
  bool ready = false;
  bool serving = false;
  bool terminating = false;
  json ports;  // resolved EndpointPorts for this pod
};

// findPort: a named targetPort resolves to the pod's container port of that name.
std::optional<int> resolvePort(const json& pod, const json& svc_port) {
  json target = svc_port.contains("targetPort") ? svc_port["targetPort"] : svc_port["port"];
  if (target.is_number_integer()) return target.get<int>();
  if (target.is_string()) {
    std::string name = target.get<std::string>();
    std::string proto = svc_port.value("protocol", "TCP");
    for (const auto& c : meta::at(pod, {"spec", "containers"})) {
      const json& ports = meta::at(c, {"ports"});
      if (!ports.is_array()) continue;
      for (const auto& p : ports) {
        if (p.value("name", "") == name && p.value("protocol", "TCP") == proto) {
          return p.value("containerPort", 0);
        }
      }
    }
    // A numeric string is a port number.
    try {
      std::size_t used = 0;
      int v = std::stoi(name, &used);
      if (used == name.size()) return v;
    } catch (const std::exception&) {
    }
    return std::nullopt;
  }
  return svc_port.value("port", 0);
}

// The pods a Service selects, with readiness as the controllers see it.
Result<std::vector<PodEndpoint>> podEndpoints(ApiClient& client, const json& svc) {
  std::vector<PodEndpoint> out;
  const json& sel = meta::at(svc, {"spec", "selector"});
  SKIFF_ASSIGN_OR_RETURN(LabelSelector selector,
                         LabelSelector::fromJson(json{{"matchLabels", sel}}));
  SKIFF_ASSIGN_OR_RETURN(ObjectList pods, client.list(gvr::kPods, meta::ns(svc), ListOptions{}));
  bool publish = meta::boolean(svc, {"spec", "publishNotReadyAddresses"});
  for (const auto& p : pods.items) {
    if (!selector.matches(meta::at(p, {"metadata", "labels"}))) continue;
    std::string ip = meta::str(p, {"status", "podIP"});
    if (ip.empty() || ctl::isTerminal(p)) continue;
    PodEndpoint e;
    e.pod = p;
    e.ip = ip;
    e.terminating = meta::isDeleting(p);
    // endpointslice util: serving is the pod's readiness; ready is never true for a
    // terminating pod unless publishNotReadyAddresses is set.
    e.serving = ctl::isReady(p);
    e.ready = publish || (e.serving && !e.terminating);
    e.ports = json::array();
    for (const auto& sp : meta::at(svc, {"spec", "ports"})) {
      auto port = resolvePort(p, sp);
      if (!port) continue;
      json ep = {{"port", *port}, {"protocol", sp.value("protocol", "TCP")}};
      if (sp.contains("name")) ep["name"] = sp["name"];
      if (sp.contains("appProtocol")) ep["appProtocol"] = sp["appProtocol"];
      e.ports.push_back(ep);
    }
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(),
            [](const PodEndpoint& a, const PodEndpoint& b) { return a.ip < b.ip; });
  return out;
}

json targetRef(const json& pod) {
  return {{"kind", "Pod"},
          {"namespace", meta::ns(pod)},
          {"name", meta::name(pod)},
          {"uid", meta::uid(pod)}};
}

bool managedService(const json& svc) {
  const json& sel = meta::at(svc, {"spec", "selector"});
  return sel.is_object() && !sel.empty() && meta::str(svc, {"spec", "type"}) != "ExternalName";
}

class ServiceKeyedController : public Controller {
 public:
  ServiceKeyedController(std::string name, ApiClient& client, std::shared_ptr<Clock> clock)
      : Controller(std::move(name), std::move(clock)), client_(client) {}

  void registerHandlers(SharedInformers& inf) override {
    services_ = &enqueueEveryChange(inf, gvr::kServices);
    ctl::onChangeWithOldLabels(inf.get(gvr::kPods),
                               [this](const json& p) { enqueueServicesOf(p); });
  }

  Result<void> sync(const std::string& key) final {
    std::string ns, name;
    meta::splitKey(key, &ns, &name);
    return syncService(ns, name);
  }

 protected:
  // Reconciles what is made for the Service ns/name (which may be gone).
  virtual Result<void> syncService(const std::string& ns, const std::string& name) = 0;

  void enqueueServicesOf(const json& pod) {
    if (services_ == nullptr) return;
    auto labels = meta::labels(pod);
    for (const auto& svc : services_->listNamespace(meta::ns(pod))) {
      if (!managedService(svc)) continue;
      auto sel = LabelSelector::fromJson(json{{"matchLabels", svc["spec"]["selector"]}});
      if (sel && sel->matches(labels)) queue().add(meta::key(svc));
    }
  }

  ApiClient& client_;
  Informer* services_ = nullptr;
};

class EndpointsController : public ServiceKeyedController {
 public:
  EndpointsController(ApiClient& client, std::shared_ptr<Clock> clock)
      : ServiceKeyedController("endpoints", client, std::move(clock)) {}

  Result<void> syncService(const std::string& ns, const std::string& name) override {
    auto svc = client_.get(gvr::kServices, ns, name);
    if (!svc) {
      if (!svc.error().is(ErrorCode::NotFound)) return std::move(svc).error();
      return ctl::ignoreNotFound(client_.remove(gvr::kEndpoints, ns, name));
    }
    if (!managedService(*svc) || meta::isDeleting(*svc)) return {};
    SKIFF_ASSIGN_OR_RETURN(std::vector<PodEndpoint> eps, podEndpoints(client_, *svc));
    // Pods with the same resolved ports share a subset (EndpointSubset repacking).
    std::map<std::string, json> subsets;
    for (const auto& e : eps) {
      if (e.ports.empty() && !meta::at(*svc, {"spec", "ports"}).empty()) continue;
      if (e.terminating && !meta::boolean(*svc, {"spec", "publishNotReadyAddresses"})) continue;
      std::string k = e.ports.dump();
      json& s = subsets[k];
      if (s.is_null()) s = {{"ports", e.ports}};
      json addr = {{"ip", e.ip}, {"targetRef", targetRef(e.pod)}};
      std::string node = meta::str(e.pod, {"spec", "nodeName"});
      if (!node.empty()) addr["nodeName"] = node;
      std::string hostname = meta::str(e.pod, {"spec", "hostname"});
      if (!hostname.empty() && meta::str(e.pod, {"spec", "subdomain"}) == name) {
        addr["hostname"] = hostname;
      }
      s[e.ready ? "addresses" : "notReadyAddresses"].push_back(addr);
    }
    json list = json::array();
    for (auto& [k, s] : subsets) {
      if (s["ports"].empty()) s.erase("ports");
      list.push_back(s);
    }
    json labels = meta::at(*svc, {"metadata", "labels"}).is_object() ? (*svc)["metadata"]["labels"]
                                                                     : json::object();
    if (meta::str(*svc, {"spec", "clusterIP"}) == "None") {
      labels["service.kubernetes.io/headless"] = "";
    }
    auto cur = client_.get(gvr::kEndpoints, ns, name);
    if (!cur && !cur.error().is(ErrorCode::NotFound)) return std::move(cur).error();
    if (cur) {
      json want = *cur;
      want["subsets"] = list;
      if (labels.empty()) {
        want["metadata"].erase("labels");
      } else {
        want["metadata"]["labels"] = labels;
      }
      json have = *cur;
      if (!have.contains("subsets")) have["subsets"] = json::array();
      if (have == want) return {};
      want["metadata"]["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"] =
          formatTime(clock().now());
      SKIFF_TRY(client_.update(gvr::kEndpoints, ns, want));
      return {};
    }
    json obj = {{"apiVersion", "v1"},
                {"kind", "Endpoints"},
                {"metadata", {{"name", name}, {"namespace", ns}}},
                {"subsets", list}};
    if (!labels.empty()) obj["metadata"]["labels"] = labels;
    auto r = client_.create(gvr::kEndpoints, ns, obj);
    if (!r && !r.error().is(ErrorCode::AlreadyExists)) return std::move(r).error();
    return {};
  }
};

class EndpointSliceController : public ServiceKeyedController {
 public:
  EndpointSliceController(ApiClient& client, std::shared_ptr<Clock> clock)
      : ServiceKeyedController("endpointslice", client, std::move(clock)) {}

  Result<void> syncService(const std::string& ns, const std::string& name) override {
    SKIFF_ASSIGN_OR_RETURN(ObjectList existing,
                           client_.list(gvr::kEndpointSlices, ns,
                                        opts::labels(std::string(kServiceNameLabel) + "=" + name +
                                                     "," + kManagedByLabel + "=" + kManagedBy)));
    auto svc = client_.get(gvr::kServices, ns, name);
    if (!svc && !svc.error().is(ErrorCode::NotFound)) return std::move(svc).error();
    if (!svc || !managedService(*svc) || meta::isDeleting(*svc)) {
      for (const auto& s : existing.items) {
        SKIFF_TRY(ctl::ignoreNotFound(client_.remove(gvr::kEndpointSlices, ns, meta::name(s))));
      }
      return {};
    }
    SKIFF_ASSIGN_OR_RETURN(std::vector<PodEndpoint> eps, podEndpoints(client_, *svc));
    // One slice per distinct port set (at most 100 endpoints each, maxEndpointsPerSlice).
    std::map<std::string, std::vector<json>> groups;
    std::map<std::string, json> group_ports;
    for (const auto& e : eps) {
      if (e.ports.empty() && !meta::at(*svc, {"spec", "ports"}).empty()) continue;
      json ep = {{"addresses", json::array({e.ip})},
                 {"conditions",
                  {{"ready", e.ready}, {"serving", e.serving}, {"terminating", e.terminating}}},
                 {"targetRef", targetRef(e.pod)}};
      std::string node = meta::str(e.pod, {"spec", "nodeName"});
      if (!node.empty()) ep["nodeName"] = node;
      // As for Endpoints above (upstream's ShouldSetHostname): StatefulSet pods get DNS names.
      std::string hostname = meta::str(e.pod, {"spec", "hostname"});
      if (!hostname.empty() && meta::str(e.pod, {"spec", "subdomain"}) == name) {
        ep["hostname"] = hostname;
      }
      std::string k = e.ports.dump();
      groups[k].push_back(ep);
      group_ports[k] = e.ports;
    }
    json labels = meta::at(*svc, {"metadata", "labels"}).is_object() ? (*svc)["metadata"]["labels"]
                                                                     : json::object();
    labels[kServiceNameLabel] = name;
    labels[kManagedByLabel] = kManagedBy;
    if (meta::str(*svc, {"spec", "clusterIP"}) == "None") {
      labels["service.kubernetes.io/headless"] = "";
    }
    std::vector<std::pair<json, json>> desired;  // (ports, endpoints)
    for (const auto& [k, list] : groups) {
      for (std::size_t i = 0; i < list.size(); i += 100) {
        json chunk = json::array();
        for (std::size_t j = i; j < std::min(list.size(), i + 100); ++j) chunk.push_back(list[j]);
        desired.emplace_back(group_ports[k], chunk);
      }
    }
    if (desired.empty()) {
      // A Service with no endpoints still gets one empty slice (placeholder slice).
      json ports = json::array();
      desired.emplace_back(ports, json::array());
    }
    std::vector<json> reuse = existing.items;
    std::sort(reuse.begin(), reuse.end(),
              [](const json& a, const json& b) { return meta::name(a) < meta::name(b); });
    std::size_t i = 0;
    for (const auto& [ports, endpoints] : desired) {
      if (i < reuse.size()) {
        json want = reuse[i];
        want["addressType"] = "IPv4";
        want["endpoints"] = endpoints;
        want["ports"] = ports;
        want["metadata"]["labels"] = labels;
        if (want != reuse[i]) SKIFF_TRY(client_.update(gvr::kEndpointSlices, ns, want));
        ++i;
        continue;
      }
      json slice = {{"apiVersion", "discovery.k8s.io/v1"},
                    {"kind", "EndpointSlice"},
                    {"metadata",
                     {{"generateName", name + "-"},
                      {"namespace", ns},
                      {"labels", labels},
                      {"ownerReferences", json::array({{{"apiVersion", "v1"},
                                                        {"kind", "Service"},
                                                        {"name", name},
                                                        {"uid", meta::uid(*svc)},
                                                        {"controller", true},
                                                        {"blockOwnerDeletion", true}}})}}},
                    {"addressType", "IPv4"},
                    {"endpoints", endpoints},
                    {"ports", ports}};
      SKIFF_TRY(client_.create(gvr::kEndpointSlices, ns, slice));
    }
    for (; i < reuse.size(); ++i) {
      SKIFF_TRY(
          ctl::ignoreNotFound(client_.remove(gvr::kEndpointSlices, ns, meta::name(reuse[i]))));
    }
    return {};
  }
};

}  // namespace

const ControllerFactory newEndpointsController = makeController<EndpointsController>;
const ControllerFactory newEndpointSliceController = makeController<EndpointSliceController>;

}  // namespace skiff::master
