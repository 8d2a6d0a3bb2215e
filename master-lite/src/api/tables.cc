// Table rows per kind, as kubectl prints them (upstream's
// pkg/printers/internalversion/printers.go); the column definitions are in table_columns.cc.
#include "skiff/master/api/tables.h"
#include "skiff/master/apiextensions/apiextensions.h"

#include "skiff/master/api/storage.h"

#include <algorithm>
#include <map>

#include "skiff/master/selectors.h"
#include "tables_ext.h"

namespace skiff::master::api {
namespace {

std::string age(const json& obj, Clock::time_point now) {
  std::string ts = str(obj, {"metadata", "creationTimestamp"});
  if (ts.empty()) return "<unknown>";
  return humanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - parseTime(ts)));
}

std::string since(const std::string& ts, Clock::time_point now) {
  if (ts.empty()) return "<unknown>";
  return humanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - parseTime(ts)));
}

long long num(const json& obj, std::initializer_list<const char*> path) {
  const json& v = at(obj, path);
  return v.is_number_integer() ? v.get<long long>() : 0;
}

std::string orNone(const std::string& s) { return s.empty() ? "<none>" : s; }

void containersAndImages(const json& podspec, std::string* names, std::string* images) {
  for (const auto& ct : podspec.value("containers", json::array())) {
    if (!names->empty()) *names += ",";
    *names += ct.value("name", "");
    if (!images->empty()) *images += ",";
    *images += ct.value("image", "");
  }
}

std::string selectorString(const json& sel) {
  if (!sel.is_object()) return "<none>";
  auto s = LabelSelector::fromJson(sel);
  if (!s || s->empty()) return "<none>";
  return s->toString();
}

std::string mapSelector(const json& sel) {
  if (!sel.is_object() || sel.empty()) return "<none>";
  std::string out;
  for (auto& [k, v] : sel.items()) {
    if (!out.empty()) out += ",";
    out += k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

json podRow(const json& pod, Clock::time_point now) {
  const json& spec = pod.value("spec", json::object());
  const json& status = pod.value("status", json::object());
  long long total = static_cast<long long>(spec.value("containers", json::array()).size());
  long long ready = 0, restarts = 0;
  std::string last_restart;
  auto note_restart = [&](const json& cs) {
    restarts += cs.value("restartCount", 0LL);
    std::string fin = str(cs, {"lastState", "terminated", "finishedAt"});
    if (!fin.empty() && fin > last_restart) last_restart = fin;
  };
  for (const auto& cs : status.value("initContainerStatuses", json::array())) note_restart(cs);
  for (const auto& cs : status.value("containerStatuses", json::array())) {
    if (cs.value("ready", false) && at(cs, {"state", "running"}).is_object()) ++ready;
  }
  restarts = 0;
  for (const auto& cs : status.value("initContainerStatuses", json::array()))
    restarts += cs.value("restartCount", 0LL);
  for (const auto& cs : status.value("containerStatuses", json::array())) note_restart(cs);
  std::string restart_cell = std::to_string(restarts);
  if (!last_restart.empty()) restart_cell += " (" + since(last_restart, now) + " ago)";
  std::string ip = status.value("podIP", "");
  std::string gates;
  const json& rg = spec.value("readinessGates", json::array());
  if (!rg.empty()) {
    long long trues = 0;
    for (const auto& g : rg) {
      for (const auto& cond : status.value("conditions", json::array())) {
        if (cond.value("type", "") == g.value("conditionType", "") &&
            cond.value("status", "") == "True")
          ++trues;
      }
    }
    gates = std::to_string(trues) + "/" + std::to_string(rg.size());
  }
  return json::array({str(pod, {"metadata", "name"}),
                      std::to_string(ready) + "/" + std::to_string(total), podStatusReason(pod),
                      restart_cell, age(pod, now), orNone(ip), orNone(spec.value("nodeName", "")),
                      orNone(status.value("nominatedNodeName", "")), orNone(gates)});
}

json nodeRow(const json& node, Clock::time_point now) {
  // As kubectl's printNode: a Ready condition prints "Ready" when True and "NotReady" for any
  // other status (False or Unknown); only a node without a Ready condition is "Unknown".
  std::string st = "Unknown";
  for (const auto& cond : at(node, {"status", "conditions"}).is_array()
                              ? at(node, {"status", "conditions"})
                              : json::array()) {
    if (cond.value("type", "") == "Ready")
      st = cond.value("status", "") == "True" ? "Ready" : "NotReady";
  }
  if (at(node, {"spec", "unschedulable"}) == true) st += ",SchedulingDisabled";
  std::vector<std::string> roles;
  const json& labels = at(node, {"metadata", "labels"});
  if (labels.is_object()) {
    for (auto& [k, v] : labels.items()) {
      if (k.rfind("node-role.kubernetes.io/", 0) == 0 && k.size() > 24)
        roles.push_back(k.substr(24));
      else if (k == "kubernetes.io/role" && v.is_string())
        roles.push_back(v.get<std::string>());
    }
  }
  std::sort(roles.begin(), roles.end());
  std::string role_cell;
  for (const auto& r : roles) role_cell += (role_cell.empty() ? "" : ",") + r;
  std::string internal, external;
  for (const auto& a : at(node, {"status", "addresses"}).is_array()
                           ? at(node, {"status", "addresses"})
                           : json::array()) {
    if (a.value("type", "") == "InternalIP")
      internal += (internal.empty() ? "" : ",") + a.value("address", "");
    if (a.value("type", "") == "ExternalIP")
      external += (external.empty() ? "" : ",") + a.value("address", "");
  }
  const json& info = at(node, {"status", "nodeInfo"});
  return json::array(
      {str(node, {"metadata", "name"}), st, orNone(role_cell), age(node, now),
       str(info, {"kubeletVersion"}), orNone(internal), orNone(external),
       info.is_object() ? orNone(str(info, {"osImage"})) : "<unknown>",
       info.is_object() ? orNone(str(info, {"kernelVersion"})) : "<unknown>",
       info.is_object() ? orNone(str(info, {"containerRuntimeVersion"})) : "<unknown>"});
}

json serviceRow(const json& svc, Clock::time_point now) {
  const json& spec = svc.value("spec", json::object());
  std::string type = spec.value("type", "ClusterIP");
  std::string cip = spec.value("clusterIP", "");
  std::string ext;
  for (const auto& ip : spec.value("externalIPs", json::array()))
    ext += (ext.empty() ? "" : ",") + ip.get<std::string>();
  if (type == "LoadBalancer") {
    std::string lb;
    for (const auto& ing : at(svc, {"status", "loadBalancer", "ingress"}).is_array()
                               ? at(svc, {"status", "loadBalancer", "ingress"})
                               : json::array()) {
      std::string a = ing.value("ip", ing.value("hostname", ""));
      if (!a.empty()) lb += (lb.empty() ? "" : ",") + a;
    }
    if (!lb.empty()) ext += (ext.empty() ? "" : ",") + lb;
    if (ext.empty()) ext = "<pending>";
  } else if (type == "ExternalName") {
    ext = spec.value("externalName", "");
  }
  std::string ports;
  for (const auto& p : spec.value("ports", json::array())) {
    std::string one = std::to_string(p.value("port", 0LL));
    if (p.contains("nodePort") && p["nodePort"].is_number_integer() &&
        p["nodePort"].get<long long>() != 0) {
      one += ":" + std::to_string(p["nodePort"].get<long long>());
    }
    one += "/" + p.value("protocol", std::string("TCP"));
    ports += (ports.empty() ? "" : ",") + one;
  }
  return json::array({str(svc, {"metadata", "name"}), type, orNone(cip), orNone(ext), orNone(ports),
                      age(svc, now), mapSelector(spec.value("selector", json()))});
}

json endpointsRow(const json& ep, Clock::time_point now) {
  std::vector<std::string> list;
  for (const auto& s : ep.value("subsets", json::array())) {
    const json& ports = s.value("ports", json::array());
    for (const auto& a : s.value("addresses", json::array())) {
      if (ports.empty()) {
        list.push_back(a.value("ip", ""));
      } else {
        for (const auto& p : ports)
          list.push_back(a.value("ip", "") + ":" + std::to_string(p.value("port", 0LL)));
      }
    }
  }
  std::string cell;
  for (std::size_t i = 0; i < list.size() && i < 3; ++i) cell += (i ? "," : "") + list[i];
  if (list.size() > 3) cell += " + " + std::to_string(list.size() - 3) + " more...";
  return json::array({str(ep, {"metadata", "name"}), orNone(cell), age(ep, now)});
}

json eventRow(const json& ev, Clock::time_point now) {
  std::string last = str(ev, {"lastTimestamp"});
  if (last.empty()) last = str(ev, {"eventTime"});
  if (last.empty()) last = str(ev, {"metadata", "creationTimestamp"});
  std::string first = str(ev, {"firstTimestamp"});
  if (first.empty()) first = str(ev, {"eventTime"});
  if (first.empty()) first = last;
  std::string kind = str(ev, {"involvedObject", "kind"});
  std::transform(kind.begin(), kind.end(), kind.begin(), ::tolower);
  std::string source = str(ev, {"source", "component"});
  if (source.empty()) source = str(ev, {"reportingComponent"});
  if (!str(ev, {"source", "host"}).empty()) source += ", " + str(ev, {"source", "host"});
  long long count = num(ev, {"count"});
  if (count == 0) count = 1;
  return json::array({since(last, now), str(ev, {"type"}), str(ev, {"reason"}),
                      kind + "/" + str(ev, {"involvedObject", "name"}),
                      str(ev, {"involvedObject", "fieldPath"}), source, str(ev, {"message"}),
                      since(first, now), std::to_string(count), str(ev, {"metadata", "name"})});
}

// printRoleBinding: ROLE is kind/name; -o wide lists subjects by kind (rbac.SubjectsStrings).
// printResourceQuota: "pods: 1/3" for requests and object counts, "limits.cpu: 0/1" apart.
json quotaRow(const json& obj, Clock::time_point now) {
  std::string req, lim;
  const json& hard = at(obj, {"status", "hard"});
  const json& used = at(obj, {"status", "used"});
  if (hard.is_object()) {
    for (const auto& el : hard.items()) {
      const std::string& res = el.key();
      std::string u = used.is_object() && used.contains(res) && used[res].is_string()
                          ? used[res].get<std::string>()
                          : "0";
      std::string h = el.value().is_string() ? el.value().get<std::string>() : el.value().dump();
      std::string& into = res.rfind("limits.", 0) == 0 ? lim : req;
      into += (into.empty() ? "" : ", ") + res + ": " + u + "/" + h;
    }
  }
  return json::array({str(obj, {"metadata", "name"}), age(obj, now), req, lim});
}

// printHorizontalPodAutoscaler: "cpu: 12%/50%" per metric (at most three shown).
json hpaRow(const json& obj, Clock::time_point now) {
  const json& ref = at(obj, {"spec", "scaleTargetRef"});
  std::string targets;
  int shown = 0, total = 0;
  const json& metrics = at(obj, {"spec", "metrics"});
  for (const auto& m : metrics.is_array() ? metrics : json::array()) {
    if (m.value("type", "") != "Resource") continue;
    ++total;
    if (shown == 3) continue;
    std::string res = str(m, {"resource", "name"});
    const json& t = at(m, {"resource", "target"});
    bool util = t.value("type", "") == "Utilization";
    std::string want = util ? std::to_string(t.value("averageUtilization", 0)) + "%"
                            : t.value("averageValue", std::string());
    std::string cur = "<unknown>";
    const json& cms = at(obj, {"status", "currentMetrics"});
    for (const auto& c : cms.is_array() ? cms : json::array()) {
      if (str(c, {"resource", "name"}) != res) continue;
      const json& v = at(c, {"resource", "current"});
      if (util && v.contains("averageUtilization"))
        cur = std::to_string(v["averageUtilization"].get<long long>()) + "%";
      if (!util && v.contains("averageValue")) cur = v["averageValue"].get<std::string>();
    }
    targets += (targets.empty() ? "" : ", ") + res + ": " + cur + "/" + want;
    ++shown;
  }
  if (total > shown) targets += " + " + std::to_string(total - shown) + " more...";
  if (targets.empty()) targets = "<none>";
  const json& min = at(obj, {"spec", "minReplicas"});
  return json::array({str(obj, {"metadata", "name"}), str(ref, {"kind"}) + "/" + str(ref, {"name"}),
                      targets, min.is_number() ? min.dump() : "<unset>",
                      num(obj, {"spec", "maxReplicas"}), num(obj, {"status", "currentReplicas"}),
                      age(obj, now)});
}

json bindingRow(const json& obj, Clock::time_point now) {
  std::string users, groups, sas;
  auto add = [](std::string& list, const std::string& v) {
    list += (list.empty() ? "" : ", ") + v;
  };
  for (const auto& s : obj.value("subjects", json::array())) {
    std::string kind = s.value("kind", ""), name = s.value("name", "");
    if (kind == "User") add(users, name);
    if (kind == "Group") add(groups, name);
    if (kind == "ServiceAccount") {
      std::string ns = s.value("namespace", "");
      add(sas, ns.empty() ? name : ns + "/" + name);
    }
  }
  return json::array({str(obj, {"metadata", "name"}),
                      str(obj, {"roleRef", "kind"}) + "/" + str(obj, {"roleRef", "name"}),
                      age(obj, now), users, groups, sas});
}

json workloadRow(const std::string& kind, const json& obj, Clock::time_point now) {
  const json& spec = obj.value("spec", json::object());
  const json& st = obj.value("status", json::object());
  std::string names, images;
  std::string name = str(obj, {"metadata", "name"});
  if (kind == "CronJob") {
    containersAndImages(at(spec, {"jobTemplate", "spec", "template", "spec"}), &names, &images);
  } else {
    containersAndImages(at(spec, {"template", "spec"}), &names, &images);
  }
  if (kind == "Deployment") {
    return json::array(
        {name,
         std::to_string(num(st, {"readyReplicas"})) + "/" + std::to_string(num(spec, {"replicas"})),
         num(st, {"updatedReplicas"}), num(st, {"availableReplicas"}), age(obj, now), names, images,
         selectorString(spec.value("selector", json()))});
  }
  if (kind == "ReplicaSet" || kind == "ReplicationController") {
    std::string sel = kind == "ReplicaSet" ? selectorString(spec.value("selector", json()))
                                           : mapSelector(spec.value("selector", json()));
    return json::array({name, num(spec, {"replicas"}), num(st, {"replicas"}),
                        num(st, {"readyReplicas"}), age(obj, now), names, images, sel});
  }
  if (kind == "StatefulSet") {
    return json::array(
        {name,
         std::to_string(num(st, {"readyReplicas"})) + "/" + std::to_string(num(spec, {"replicas"})),
         age(obj, now), names, images});
  }
  if (kind == "DaemonSet") {
    return json::array({name, num(st, {"desiredNumberScheduled"}),
                        num(st, {"currentNumberScheduled"}), num(st, {"numberReady"}),
                        num(st, {"updatedNumberScheduled"}), num(st, {"numberAvailable"}),
                        mapSelector(at(spec, {"template", "spec", "nodeSelector"})), age(obj, now),
                        names, images, selectorString(spec.value("selector", json()))});
  }
  if (kind == "Job") {
    std::string status = "Running";
    for (const auto& cond : st.value("conditions", json::array())) {
      if (cond.value("status", "") != "True") continue;
      std::string t = cond.value("type", "");
      if (t == "Complete")
        status = "Complete";
      else if (t == "Failed")
        status = "Failed";
      else if (t == "Suspended")
        status = "Suspended";
      else if (t == "FailureTarget")
        status = "FailureTarget";
      else if (t == "SuccessCriteriaMet")
        status = "SuccessCriteriaMet";
    }
    std::string completions =
        std::to_string(num(st, {"succeeded"})) + "/" +
        (spec.contains("completions") ? std::to_string(num(spec, {"completions"}))
                                      : std::string("1"));
    std::string duration;
    std::string start = str(st, {"startTime"});
    if (!start.empty()) {
      std::string end = str(st, {"completionTime"});
      auto e = end.empty() ? now : parseTime(end);
      duration =
          humanDuration(std::chrono::duration_cast<std::chrono::seconds>(e - parseTime(start)));
    }
    return json::array({name, status, completions, duration, age(obj, now), names, images,
                        selectorString(spec.value("selector", json()))});
  }
  // CronJob
  std::string last = str(st, {"lastScheduleTime"});
  return json::array({name, spec.value("schedule", ""), orNone(spec.value("timeZone", "")),
                      spec.value("suspend", false) ? "True" : "False",
                      static_cast<long long>(st.value("active", json::array()).size()),
                      last.empty() ? "<none>" : since(last, now), age(obj, now), names, images,
                      selectorString(at(spec, {"jobTemplate", "spec", "selector"}))});
}

json cells(const ResourceInfo& r, const json& obj, Clock::time_point now) {
  if (r.custom) return apiextensions::customTableCells(r, obj, now);
  const std::string& k = r.kind;
  std::string name = str(obj, {"metadata", "name"});
  if (auto ext = extensionTableCells(r, obj, now)) return *ext;
  if (k == "Pod") return podRow(obj, now);
  if (r.group.empty() || r.group == "storage.k8s.io") {
    if (auto row = storageTableRow(k, obj, now)) return *row;
  }
  if (k == "Node") return nodeRow(obj, now);
  if (k == "Service") return serviceRow(obj, now);
  if (k == "Endpoints") return endpointsRow(obj, now);
  if (k == "Event" && r.group.empty()) return eventRow(obj, now);
  if (k == "Deployment" || k == "ReplicaSet" || k == "ReplicationController" ||
      k == "StatefulSet" || k == "DaemonSet" || k == "Job" || k == "CronJob") {
    return workloadRow(k, obj, now);
  }
  if (k == "Namespace")
    return json::array({name, orNone(str(obj, {"status", "phase"})), age(obj, now)});
  if (k == "ConfigMap") {
    long long n = static_cast<long long>(obj.value("data", json::object()).size() +
                                         obj.value("binaryData", json::object()).size());
    return json::array({name, n, age(obj, now)});
  }
  if (k == "Secret") {
    return json::array({name, obj.value("type", "Opaque"),
                        static_cast<long long>(obj.value("data", json::object()).size()),
                        age(obj, now)});
  }
  if (k == "ServiceAccount") {
    return json::array(
        {name, static_cast<long long>(obj.value("secrets", json::array()).size()), age(obj, now)});
  }
  if (k == "Lease")
    return json::array({name, orNone(str(obj, {"spec", "holderIdentity"})), age(obj, now)});
  if (k == "EndpointSlice") {
    std::string ports, eps;
    for (const auto& p : obj.value("ports", json::array()))
      ports += (ports.empty() ? "" : ",") + std::to_string(p.value("port", 0LL));
    int n = 0;
    for (const auto& e : obj.value("endpoints", json::array())) {
      for (const auto& a : e.value("addresses", json::array())) {
        if (n < 3) eps += (eps.empty() ? "" : ",") + a.get<std::string>();
        ++n;
      }
    }
    if (n > 3) eps += " + " + std::to_string(n - 3) + " more...";
    return json::array(
        {name, obj.value("addressType", ""), orNone(ports), orNone(eps), age(obj, now)});
  }
  if (k == "ControllerRevision") {
    std::string ctrl = "<none>";
    for (const auto& o : at(obj, {"metadata", "ownerReferences"}).is_array()
                             ? at(obj, {"metadata", "ownerReferences"})
                             : json::array()) {
      if (o.value("controller", false)) {
        std::string kind = o.value("kind", "");
        std::string api = o.value("apiVersion", "");
        std::string group = api.find('/') == std::string::npos ? "" : api.substr(0, api.find('/'));
        std::transform(kind.begin(), kind.end(), kind.begin(), ::tolower);
        ctrl = kind + (group.empty() ? "" : "." + group) + "/" + o.value("name", "");
      }
    }
    return json::array({name, ctrl, std::to_string(num(obj, {"revision"})), age(obj, now)});
  }
  if (k == "PriorityClass") {
    return json::array({name, num(obj, {"value"}), obj.value("globalDefault", false), age(obj, now),
                        obj.value("preemptionPolicy", "PreemptLowerPriority")});
  }
  if (k == "CertificateSigningRequest") {
    std::string cond;
    for (const auto& cd : at(obj, {"status", "conditions"}).is_array()
                              ? at(obj, {"status", "conditions"})
                              : json::array()) {
      cond += (cond.empty() ? "" : ",") + cd.value("type", "");
    }
    if (!str(obj, {"status", "certificate"}).empty()) cond += ",Issued";
    long long secs = num(obj, {"spec", "expirationSeconds"});
    return json::array({name, age(obj, now), str(obj, {"spec", "signerName"}),
                        str(obj, {"spec", "username"}),
                        secs ? humanDuration(std::chrono::seconds(secs)) : "<none>",
                        cond.empty() ? "Pending" : cond});
  }
  if (k == "LimitRange" || k == "Role" || k == "ClusterRole")
    return json::array({name, str(obj, {"metadata", "creationTimestamp"})});
  if (k == "RoleBinding" || k == "ClusterRoleBinding") return bindingRow(obj, now);
  if (k == "ResourceQuota") return quotaRow(obj, now);
  if (k == "HorizontalPodAutoscaler") return hpaRow(obj, now);
  if (k == "PodDisruptionBudget") {
    const json& spec = obj.value("spec", json::object());
    auto v = [&](const char* key) {
      return spec.contains(key)
                 ? (spec[key].is_string() ? spec[key].get<std::string>() : spec[key].dump())
                 : "N/A";
    };
    return json::array({name, v("minAvailable"), v("maxUnavailable"),
                        num(obj, {"status", "disruptionsAllowed"}), age(obj, now)});
  }
  return json::array({name, age(obj, now)});
}

}  // namespace

std::string podStatusReason(const json& pod) {
  const json& spec = pod.value("spec", json::object());
  const json& status = pod.value("status", json::object());
  std::string reason = status.value("phase", "");
  if (!status.value("reason", "").empty()) reason = status.value("reason", "");
  bool initializing = false;
  const json& inits = status.value("initContainerStatuses", json::array());
  std::size_t ninit = spec.value("initContainers", json::array()).size();
  for (std::size_t i = 0; i < inits.size(); ++i) {
    const json& cs = inits[i];
    const json& term = at(cs, {"state", "terminated"});
    const json& wait = at(cs, {"state", "waiting"});
    if (term.is_object() && term.value("exitCode", 0) == 0) continue;
    if (cs.value("started", false) && !term.is_object()) {
      // A restartable (sidecar) init container that is running.
      bool sidecar = false;
      for (const auto& ic : spec.value("initContainers", json::array())) {
        if (ic.value("name", "") == cs.value("name", "") &&
            ic.value("restartPolicy", "") == "Always")
          sidecar = true;
      }
      if (sidecar) continue;
    }
    if (term.is_object()) {
      if (!term.value("reason", "").empty())
        reason = "Init:" + term.value("reason", "");
      else if (term.value("signal", 0) != 0)
        reason = "Init:Signal:" + std::to_string(term.value("signal", 0));
      else
        reason = "Init:ExitCode:" + std::to_string(term.value("exitCode", 0));
    } else if (wait.is_object() && !wait.value("reason", "").empty() &&
               wait.value("reason", "") != "PodInitializing") {
      reason = "Init:" + wait.value("reason", "");
    } else {
      reason = "Init:" + std::to_string(i) + "/" + std::to_string(ninit);
    }
    initializing = true;
    break;
  }
  bool initialized = false;
  bool has_ready = false;
  for (const auto& cond : status.value("conditions", json::array())) {
    if (cond.value("type", "") == "Initialized" && cond.value("status", "") == "True")
      initialized = true;
    if (cond.value("type", "") == "Ready" && cond.value("status", "") == "True") has_ready = true;
  }
  if (!initializing || initialized) {
    bool has_running = false;
    const json& css = status.value("containerStatuses", json::array());
    for (auto it = css.rbegin(); it != css.rend(); ++it) {
      const json& cs = *it;
      const json& term = at(cs, {"state", "terminated"});
      const json& wait = at(cs, {"state", "waiting"});
      if (wait.is_object() && !wait.value("reason", "").empty()) {
        reason = wait.value("reason", "");
      } else if (term.is_object() && !term.value("reason", "").empty()) {
        reason = term.value("reason", "");
      } else if (term.is_object()) {
        reason = term.value("signal", 0) != 0
                     ? "Signal:" + std::to_string(term.value("signal", 0))
                     : "ExitCode:" + std::to_string(term.value("exitCode", 0));
      } else if (cs.value("ready", false) && at(cs, {"state", "running"}).is_object()) {
        has_running = true;
      }
    }
    if (reason == "Completed" && has_running) reason = has_ready ? "Running" : "NotReady";
  }
  const json& meta = pod.value("metadata", json::object());
  if (meta.contains("deletionTimestamp") && !meta["deletionTimestamp"].is_null()) {
    reason = status.value("reason", "") == "NodeLost" ? "Unknown" : "Terminating";
  }
  return reason;
}

json tableRow(const ResourceInfo& r, const json& obj, Clock::time_point now, TableObject include) {
  json row = {{"cells", cells(r, obj, now)}};
  if (r.kind == "Pod") {
    std::string phase = str(obj, {"status", "phase"});
    if (phase == "Succeeded" || phase == "Failed") {
      row["conditions"] = json::array({{{"type", "Completed"},
                                        {"status", "True"},
                                        {"reason", phase},
                                        {"message", "The pod has completed successfully."}}});
    }
  }
  if (include == TableObject::Object) {
    row["object"] = obj;
  } else if (include == TableObject::Metadata) {
    row["object"] = {{"kind", "PartialObjectMetadata"},
                     {"apiVersion", "meta.k8s.io/v1"},
                     {"metadata", obj.value("metadata", json::object())}};
  }
  return row;
}

json renderTable(const ResourceInfo& r, const std::vector<json>& objs,
                 const std::string& resource_version, const std::string& cont,
                 Clock::time_point now, TableObject include, bool with_columns) {
  json t = {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", json::object()}};
  if (!resource_version.empty()) t["metadata"]["resourceVersion"] = resource_version;
  if (!cont.empty()) t["metadata"]["continue"] = cont;
  t["columnDefinitions"] = with_columns ? tableColumns(r) : json();
  json rows = json::array();
  for (const auto& o : objs) rows.push_back(tableRow(r, o, now, include));
  t["rows"] = std::move(rows);
  return t;
}

}  // namespace skiff::master::api
