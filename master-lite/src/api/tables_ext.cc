// Table columns and rows of issue 20's kinds (Ingress, IngressClass, NetworkPolicy,
// RuntimeClass, PodTemplate, webhook configurations, APIService), as upstream's
// pkg/printers/internalversion/printers.go and kube-aggregator's table convertor print them.
#include "tables_ext.h"

#include <map>

#include "skiff/master/api/object_util.h"
#include "skiff/master/selectors.h"

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

json col(const char* name, const char* desc, const char* format = "", const char* type = "string") {
  return {
      {"name", name}, {"type", type}, {"format", format}, {"description", desc}, {"priority", 0}};
}

json nameCol() {
  return col("Name",
             "Name must be unique within a namespace. Is required when creating resources, "
             "although some resources may allow a client to request the generation of an "
             "appropriate name automatically. Name is primarily intended for creation idempotence "
             "and configuration definition. Cannot be updated. More info: "
             "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
             "name");
}

json ageCol() {
  return col("Age",
             "CreationTimestamp is a timestamp representing the server time when this object was "
             "created. It is not guaranteed to be set in happens-before order across separate "
             "operations. Clients may not set this value. It is represented in RFC3339 form and "
             "is in UTC.");
}

std::string age(const json& obj, Clock::time_point now) {
  std::string ts = str(obj, {"metadata", "creationTimestamp"});
  if (ts.empty()) return "<unknown>";
  return humanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - parseTime(ts)));
}

std::string orNone(const std::string& s) { return s.empty() ? "<none>" : s; }

// formatHosts: up to three, then " + N more...", "*" when no rule names a host.
std::string ingressHosts(const json& rules) {
  std::string out;
  int n = 0;
  for (const auto& r : rules.is_array() ? rules : json::array()) {
    std::string h = r.value("host", "");
    if (h.empty()) continue;
    if (n < 3) out += (out.empty() ? "" : ",") + h;
    ++n;
  }
  if (n > 3) out += " + " + std::to_string(n - 3) + " more...";
  return out.empty() ? "*" : out;
}

std::string loadBalancerAddresses(const json& ingress) {
  std::string out;
  for (const auto& i : ingress.is_array() ? ingress : json::array()) {
    std::string a = i.value("ip", "");
    if (a.empty()) a = i.value("hostname", "");
    if (!a.empty()) out += (out.empty() ? "" : ",") + a;
  }
  return out;
}

json ingressRow(const json& obj, Clock::time_point now) {
  const json& spec = at(obj, {"spec"});
  std::string cls = str(spec, {"ingressClassName"});
  const json& tls = at(spec, {"tls"});
  return json::array({str(obj, {"metadata", "name"}), orNone(cls),
                      ingressHosts(at(spec, {"rules"})),
                      loadBalancerAddresses(at(obj, {"status", "loadBalancer", "ingress"})),
                      tls.is_array() && !tls.empty() ? "80, 443" : "80", age(obj, now)});
}

json ingressClassRow(const json& obj, Clock::time_point now) {
  const json& p = at(obj, {"spec", "parameters"});
  std::string params = "<none>";
  if (p.is_object()) {
    params = str(p, {"kind"});
    if (!str(p, {"apiGroup"}).empty()) params += "." + str(p, {"apiGroup"});
    params += "/" + str(p, {"name"});
  }
  return json::array(
      {str(obj, {"metadata", "name"}), str(obj, {"spec", "controller"}), params, age(obj, now)});
}

std::string selectorText(const json& sel) {
  if (!sel.is_object()) return "<none>";
  auto s = LabelSelector::fromJson(sel);
  if (!s || s->empty()) return "<none>";
  return s->toString();
}

json podTemplateRow(const json& obj) {
  std::string names, images;
  for (const auto& c : at(obj, {"template", "spec", "containers"}).is_array()
                           ? at(obj, {"template", "spec", "containers"})
                           : json::array()) {
    names += (names.empty() ? "" : ",") + c.value("name", "");
    images += (images.empty() ? "" : ",") + c.value("image", "");
  }
  std::string labels;
  const json& l = at(obj, {"template", "metadata", "labels"});
  if (l.is_object()) {
    for (auto it = l.begin(); it != l.end(); ++it) {
      labels += (labels.empty() ? "" : ",") + it.key() + "=" +
                (it->is_string() ? it->get<std::string>() : "");
    }
  }
  return json::array({str(obj, {"metadata", "name"}), names, images, orNone(labels)});
}

json apiServiceRow(const json& obj, Clock::time_point now) {
  const json& svc = at(obj, {"spec", "service"});
  std::string service =
      svc.is_object() ? str(svc, {"namespace"}) + "/" + str(svc, {"name"}) : "Local";
  std::string status = "Unknown";
  const json& conds = at(obj, {"status", "conditions"});
  for (const auto& c : conds.is_array() ? conds : json::array()) {
    if (c.value("type", "") != "Available") continue;
    status = c.value("status", "");
    if (status != "True") status += " (" + c.value("reason", "") + ")";
  }
  return json::array({str(obj, {"metadata", "name"}), service, status, age(obj, now)});
}

}  // namespace

std::optional<json> extensionTableColumns(const ResourceInfo& r) {
  const std::string& k = r.kind;
  if (k == "Ingress")
    return json::array(
        {nameCol(),
         col("Class",
             "The name of the IngressClass resource that should be used for this "
             "Ingress"),
         col("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
         col("Address", "Address is a list containing ingress points for the load-balancer"),
         col("Ports", "Ports of TLS configurations that open"), ageCol()});
  if (k == "IngressClass")
    return json::array(
        {nameCol(), col("Controller", "Controller that is responsible for handling this class"),
         col("Parameters", "A reference to a resource with additional parameters"), ageCol()});
  if (k == "NetworkPolicy")
    return json::array({nameCol(), col("Pod-Selector", "Selector pods via labels"), ageCol()});
  if (k == "RuntimeClass")
    return json::array({nameCol(),
                        col("Handler",
                            "Handler specifies the underlying runtime and configuration that the "
                            "CRI implementation will use to handle pods of this class."),
                        ageCol()});
  if (k == "PodTemplate")
    return json::array({nameCol(), col("Containers", "Names of each container in the template."),
                        col("Images", "Images referenced by each container in the template."),
                        col("Pod Labels", "The labels for the pod template.")});
  if (k == "ValidatingWebhookConfiguration" || k == "MutatingWebhookConfiguration")
    return json::array({nameCol(),
                        col("Webhooks", "Webhooks indicates the number of webhooks", "", "integer"),
                        ageCol()});
  if (k == "APIService")
    return json::array(
        {nameCol(), col("Service", "The reference to the service that hosts this API endpoint."),
         col("Available", "Whether this service is available."), ageCol()});
  return std::nullopt;
}

std::optional<json> extensionTableCells(const ResourceInfo& r, const json& obj,
                                        Clock::time_point now) {
  const std::string& k = r.kind;
  std::string name = str(obj, {"metadata", "name"});
  if (k == "Ingress") return ingressRow(obj, now);
  if (k == "IngressClass") return ingressClassRow(obj, now);
  if (k == "NetworkPolicy")
    return json::array({name, selectorText(at(obj, {"spec", "podSelector"})), age(obj, now)});
  if (k == "RuntimeClass") return json::array({name, str(obj, {"handler"}), age(obj, now)});
  if (k == "PodTemplate") return podTemplateRow(obj);
  if (k == "ValidatingWebhookConfiguration" || k == "MutatingWebhookConfiguration") {
    const json& w = at(obj, {"webhooks"});
    return json::array({name, static_cast<long long>(w.is_array() ? w.size() : 0), age(obj, now)});
  }
  if (k == "APIService") return apiServiceRow(obj, now);
  return std::nullopt;
}

}  // namespace skiff::master::api
