// CRUD on every resource: create/update/patch/delete with defaulting, admission, validation,
// optimistic concurrency and the Kubernetes deletion semantics (graceful pods, finalizers,
// propagation policies, namespace termination).
#include "skiff/master/api/registry.h"

#include <algorithm>
#include <cstdio>

#include "registry_internal.h"
#include "skiff/common/log.h"
#include "skiff/master/api/managed_fields.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/api/patch.h"
#include "skiff/master/api/validation.h"

namespace skiff::master::api {

bool UserInfo::inGroup(const std::string& g) const {
  return std::find(groups.begin(), groups.end(), g) != groups.end();
}

std::string ipToString(std::uint32_t ip) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
                ip & 255);
  return buf;
}

bool parseIpv4(const std::string& s, std::uint32_t* out) {
  unsigned a, b, c, d;
  char extra;
  if (std::sscanf(s.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) != 4) return false;
  if (a > 255 || b > 255 || c > 255 || d > 255) return false;
  *out = (a << 24) | (b << 16) | (c << 8) | d;
  return true;
}

std::string encodeForStore(json obj) {
  if (obj.contains("metadata") && obj["metadata"].is_object())
    obj["metadata"].erase("resourceVersion");
  return obj.dump();
}

// Objects are stored with the apiVersion and kind of their storage version, so that lists can
// be spliced from the stored text (Registry::listText).
static json forStorage(const ResourceInfo& r, json obj) {
  std::string group = r.group == "extensions" ? "apps" : r.group;
  obj["apiVersion"] = group.empty() ? r.storage_version : group + "/" + r.storage_version;
  obj["kind"] = r.kind;
  return obj;
}

json decodeFromStore(const std::string& value, std::int64_t mod_revision) {
  json obj = json::parse(value, nullptr, false);
  if (!obj.is_object()) obj = json::object();
  obj["metadata"]["resourceVersion"] = std::to_string(mod_revision);
  return obj;
}

namespace {

const std::shared_ptr<spdlog::logger>& lg() {
  static const auto l = skiff::log::get("master");
  return l;
}

std::string nowString() { return formatTime(Clock::now()); }

Error notFound(const ResourceInfo& r, const std::string& name) {
  return Error(ErrorCode::NotFound, r.qualifiedResource() + " \"" + name + "\" not found");
}

Error conflict(const ResourceInfo& r, const std::string& name) {
  return Error(ErrorCode::Conflict, "Operation cannot be fulfilled on " + r.qualifiedResource() +
                                        " \"" + name +
                                        "\": the object has been modified; please apply your "
                                        "changes to the latest version and try again");
}

const ResourceInfo& namespacesInfo() { return *findResource("", "v1", "namespaces"); }

bool hasDeletionTimestamp(const json& obj) {
  const json& d = at(obj, {"metadata", "deletionTimestamp"});
  return d.is_string() && !d.get<std::string>().empty();
}

bool hasFinalizers(const json& obj) {
  const json& f = at(obj, {"metadata", "finalizers"});
  return f.is_array() && !f.empty();
}

std::string managerFor(const WriteOptions& opts, const std::string& fallback) {
  if (!opts.field_manager.empty()) return opts.field_manager;
  return fallback;
}

// Status is owned by the status subresource for these kinds: a write to the main resource keeps
// the stored status, and a write to /status keeps everything else.
bool statusIsSubresource(const ResourceInfo& r) { return r.hasSubresource("status"); }

json scaleOf(const ResourceInfo& r, const json& obj) {
  json meta = {{"name", str(obj, {"metadata", "name"})},
               {"namespace", str(obj, {"metadata", "namespace"})},
               {"uid", str(obj, {"metadata", "uid"})},
               {"resourceVersion", str(obj, {"metadata", "resourceVersion"})},
               {"creationTimestamp", str(obj, {"metadata", "creationTimestamp"})}};
  std::string selector;
  const json& sel = at(obj, {"spec", "selector"});
  if (r.kind == "ReplicationController") {
    if (sel.is_object()) {
      for (auto& [k, v] : sel.items())
        selector += (selector.empty() ? "" : ",") + k + "=" + v.get<std::string>();
    }
  } else if (auto parsed = LabelSelector::fromJson(sel); parsed) {
    selector = parsed->toString();
  }
  json status = {{"replicas", at(obj, {"status", "replicas"}).is_number()
                                  ? at(obj, {"status", "replicas"})
                                  : json(0)}};
  if (!selector.empty()) status["selector"] = selector;
  return {{"kind", "Scale"},
          {"apiVersion", "autoscaling/v1"},
          {"metadata", meta},
          {"spec",
           {{"replicas",
             at(obj, {"spec", "replicas"}).is_number() ? at(obj, {"spec", "replicas"}) : json(0)}}},
          {"status", status}};
}

// Where a paged list resumes: the ?continue= token this registry handed out with the previous
// page (JSON {"start": <next key>, "rv": <revision of the first page>}). A token for another
// prefix, or one that is not ours, is BadRequest as upstream says it.
struct ContinueToken {
  std::string start;
  std::int64_t revision = 0;
};

Result<ContinueToken> parseContinueToken(const std::string& text, const std::string& pfx) {
  if (text.empty()) return ContinueToken{};
  json tok = json::parse(text, nullptr, false);
  if (!tok.is_object() || !tok.contains("start") || !tok["start"].is_string() ||
      tok["start"].get<std::string>().rfind(pfx, 0) != 0) {
    return Error(ErrorCode::BadRequest, "continue key is not valid: invalid continue token");
  }
  return ContinueToken{tok["start"].get<std::string>(), tok.value("rv", 0LL)};
}

}  // namespace

Registry::Registry(store::Store& store, RegistryOptions options)
    : store_(store), options_(std::move(options)), state_(std::make_unique<State>()) {
  auto slash = options_.service_cidr.find('/');
  std::uint32_t base = 0;
  int bits = 12;
  if (slash != std::string::npos && parseIpv4(options_.service_cidr.substr(0, slash), &base)) {
    bits = std::atoi(options_.service_cidr.c_str() + slash + 1);
  } else {
    parseIpv4("10.96.0.0", &base);
  }
  if (bits < 8 || bits > 30) bits = 12;
  std::uint32_t mask = bits == 0 ? 0 : ~0u << (32 - bits);
  state_->alloc.base = base & mask;
  state_->alloc.size = 1u << (32 - bits);
}

Registry::~Registry() = default;

std::string Registry::prefix(const ResourceInfo& r, const std::string& ns) const {
  std::string group = r.group.empty() ? "core" : r.group;
  if (group == "extensions") group = "apps";
  std::string p = "/registry/" + group + "/" + r.resource + "/";
  if (r.namespaced && !ns.empty()) p += ns + "/";
  return p;
}

std::string Registry::key(const ResourceInfo& r, const std::string& ns,
                          const std::string& name) const {
  return prefix(r, r.namespaced ? ns : "") + name;
}

json Registry::present(const ResourceInfo& r, json obj, std::int64_t rev) const {
  obj["apiVersion"] = r.groupVersion();
  obj["kind"] = r.kind;
  if (rev > 0) obj["metadata"]["resourceVersion"] = std::to_string(rev);
  return obj;
}

Result<json> Registry::read(const ResourceInfo& r, const std::string& ns, const std::string& name,
                            std::int64_t* mod_revision) {
  auto kv = store_.get(key(r, ns, name));
  if (!kv) {
    if (kv.error().is(ErrorCode::NotFound)) return notFound(r, name);
    return std::move(kv).error();
  }
  if (mod_revision) *mod_revision = kv->mod_revision;
  return present(r, decodeFromStore(kv->value, kv->mod_revision), kv->mod_revision);
}

Result<json> Registry::get(const ResourceInfo& r, const std::string& ns, const std::string& name,
                           const std::string& subresource) {
  SKIFF_ASSIGN_OR_RETURN(json obj, read(r, ns, name, nullptr));
  if (subresource == "scale") return scaleOf(r, obj);
  return obj;
}

Result<json> Registry::list(const ResourceInfo& r, const std::string& ns, const Selection& sel) {
  SKIFF_ASSIGN_OR_RETURN(LabelSelector labels, LabelSelector::parse(sel.label_selector));
  SKIFF_ASSIGN_OR_RETURN(FieldSelector fields, FieldSelector::parseFor(sel.field_selector, r.kind));
  std::string pfx = prefix(r, ns);
  SKIFF_ASSIGN_OR_RETURN(ContinueToken resume, parseContinueToken(sel.continue_token, pfx));
  std::string start = resume.start;
  std::int64_t list_rev = resume.revision;
  json items = json::array();
  bool more = false;
  std::string last_key;
  const std::int64_t chunk = sel.limit > 0 ? std::max<std::int64_t>(sel.limit, 100) : 0;
  for (;;) {
    SKIFF_ASSIGN_OR_RETURN(store::ListResult page, store_.list(pfx, start, chunk));
    if (list_rev == 0) list_rev = page.revision;
    for (auto& kv : page.items) {
      start = kv.key;
      if (sel.limit > 0 && static_cast<std::int64_t>(items.size()) == sel.limit) {
        more = true;
        break;
      }
      if (!labels.empty() || !fields.empty()) {
        json obj = decodeFromStore(kv.value, kv.mod_revision);
        if (!labels.matches(at(obj, {"metadata", "labels"})) || !fields.matches(obj)) continue;
        obj["apiVersion"] = r.groupVersion();
        obj["kind"] = r.kind;
        items.push_back(std::move(obj));
      } else {
        json obj = decodeFromStore(kv.value, kv.mod_revision);
        obj["apiVersion"] = r.groupVersion();
        obj["kind"] = r.kind;
        items.push_back(std::move(obj));
      }
      last_key = kv.key;
    }
    if (more || !page.more || chunk == 0) break;
  }
  json out = {{"kind", r.kind + "List"},
              {"apiVersion", r.groupVersion()},
              {"metadata", {{"resourceVersion", std::to_string(list_rev)}}},
              {"items", std::move(items)}};
  if (more) out["metadata"]["continue"] = json{{"rv", list_rev}, {"start", last_key}}.dump();
  return out;
}

// Inserts "resourceVersion" into a stored object's text when it starts the way encodeForStore
// writes objects of this type ({"apiVersion":..,"kind":..,"metadata":{...), else re-encodes.
static void appendItem(std::string& out, const ResourceInfo& r, const store::KeyValue& kv) {
  const std::string prefix =
      "{\"apiVersion\":\"" + r.groupVersion() + "\",\"kind\":\"" + r.kind + "\",\"metadata\":{";
  std::string rv = "\"resourceVersion\":\"" + std::to_string(kv.mod_revision) + "\"";
  if (kv.value.compare(0, prefix.size(), prefix) == 0) {
    out.append(prefix);
    out.append(rv);
    if (kv.value.size() > prefix.size() && kv.value[prefix.size()] != '}') out.push_back(',');
    out.append(kv.value, prefix.size(), std::string::npos);
    return;
  }
  json obj = decodeFromStore(kv.value, kv.mod_revision);
  obj["apiVersion"] = r.groupVersion();
  obj["kind"] = r.kind;
  out.append(obj.dump());
}

Result<std::string> Registry::listText(const ResourceInfo& r, const std::string& ns,
                                       const Selection& sel) {
  SKIFF_ASSIGN_OR_RETURN(LabelSelector labels, LabelSelector::parse(sel.label_selector));
  SKIFF_ASSIGN_OR_RETURN(FieldSelector fields, FieldSelector::parseFor(sel.field_selector, r.kind));
  std::string pfx = prefix(r, ns);
  SKIFF_ASSIGN_OR_RETURN(ContinueToken resume, parseContinueToken(sel.continue_token, pfx));
  std::string start = resume.start;
  std::int64_t list_rev = resume.revision;
  std::string items;
  std::int64_t count = 0;
  bool more = false;
  std::string last_key;
  const std::int64_t chunk = sel.limit > 0 ? std::max<std::int64_t>(sel.limit, 100) : 1000;
  bool filtered = !labels.empty() || !fields.empty();
  for (;;) {
    SKIFF_ASSIGN_OR_RETURN(store::ListResult page, store_.list(pfx, start, chunk));
    if (list_rev == 0) list_rev = page.revision;
    for (auto& kv : page.items) {
      start = kv.key;
      if (sel.limit > 0 && count == sel.limit) {
        more = true;
        break;
      }
      if (filtered) {
        json obj = json::parse(kv.value, nullptr, false);
        if (!labels.matches(at(obj, {"metadata", "labels"})) || !fields.matches(obj)) continue;
      }
      if (count++) items.push_back(',');
      appendItem(items, r, kv);
      last_key = kv.key;
    }
    if (more || !page.more) break;
  }
  json meta = {{"resourceVersion", std::to_string(list_rev)}};
  if (more) meta["continue"] = json{{"rv", list_rev}, {"start", last_key}}.dump();
  std::string out = "{\"apiVersion\":\"" + r.groupVersion() + "\",\"items\":[";
  out.reserve(out.size() + items.size() + 128);
  out += items;
  out += "],\"kind\":\"" + r.kind + "List\",\"metadata\":" + meta.dump() + "}";
  return out;
}

// ---- admission -------------------------------------------------------------------------------

Result<void> Registry::admitCreate(const ResourceInfo& r, const std::string& ns, json& obj,
                                   const WriteOptions& opts) {
  if (r.namespaced) {
    using NsState = NamespaceCache::State;
    SKIFF_ASSIGN_OR_RETURN(NsState state,
                           state_->namespaces.lookup(store_, prefix(namespacesInfo(), ""), ns));
    if (state == NsState::Missing) return notFound(namespacesInfo(), ns);
    if (state == NsState::Terminating) {
      return Error(ErrorCode::Forbidden,
                   r.qualifiedResource() + " \"" + str(obj, {"metadata", "name"}) +
                       "\" is forbidden: unable to create new content in namespace " + ns +
                       " because it is being terminated");
    }
  }
  const std::string& k = r.kind;
  if (k == "Pod") {
    admitNewPod(obj, options_.defaulting);
    json status = json::object();
    status["phase"] = "Pending";
    status["qosClass"] = podQosClass(obj.value("spec", json::object()));
    obj["status"] = status;
  } else if (k == "Service") {
    SKIFF_TRY(admitUpdate(r, obj, json()));
  } else if (k == "Job") {
    json& spec = obj["spec"];
    if (!spec.value("manualSelector", false)) {
      std::string uid = str(obj, {"metadata", "uid"});
      std::string name = str(obj, {"metadata", "name"});
      json& tl = spec["template"]["metadata"]["labels"];
      if (!tl.is_object()) tl = json::object();
      tl["batch.kubernetes.io/controller-uid"] = uid;
      tl["batch.kubernetes.io/job-name"] = name;
      tl["controller-uid"] = uid;
      tl["job-name"] = name;
      if (!spec.contains("selector")) {
        spec["selector"] = {{"matchLabels", {{"batch.kubernetes.io/controller-uid", uid}}}};
      }
    }
  } else if (k == "CertificateSigningRequest") {
    json& spec = obj["spec"];
    spec["username"] = opts.user.name;
    spec["groups"] = opts.user.groups;
    obj["status"] = json::object();
    std::string signer = spec.value("signerName", "");
    bool node_client = signer == "kubernetes.io/kube-apiserver-client-kubelet";
    bool allowed = opts.user.inGroup("system:bootstrappers") || opts.user.inGroup("system:nodes") ||
                   opts.user.inGroup("system:masters");
    if (node_client && allowed && options_.sign_csr) {
      // Auto-approval of node client certificates, as kubeadm's csrapprover does for
      // system:bootstrappers (and renewals by nodes).
      std::string pem;
      const json& req = spec.value("request", json());
      if (req.is_string()) {
        std::string b64 = req.get<std::string>();
        // base64 decode
        static const std::string chars =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        int val = 0, bits = -8;
        for (unsigned char ch : b64) {
          auto pos = chars.find(static_cast<char>(ch));
          if (pos == std::string::npos) break;
          val = (val << 6) + static_cast<int>(pos);
          bits += 6;
          if (bits >= 0) {
            pem.push_back(static_cast<char>((val >> bits) & 0xFF));
            bits -= 8;
          }
        }
      }
      auto cert = options_.sign_csr(pem, spec.value("expirationSeconds", 365LL * 24 * 3600));
      if (!cert) {
        return Error(ErrorCode::Invalid,
                     r.qualifiedKind() + " \"" + str(obj, {"metadata", "name"}) +
                         "\" is invalid: spec.request: Invalid value: []byte{...}: " +
                         cert.error().message());
      }
      static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      std::string enc;
      int val = 0, bits = -6;
      for (unsigned char ch : *cert) {
        val = (val << 8) + ch;
        bits += 8;
        while (bits >= 0) {
          enc.push_back(tbl[(val >> bits) & 0x3F]);
          bits -= 6;
        }
      }
      if (bits > -6) enc.push_back(tbl[((val << 8) >> (bits + 8)) & 0x3F]);
      while (enc.size() % 4) enc.push_back('=');
      obj["status"]["conditions"] = json::array(
          {{{"type", "Approved"},
            {"status", "True"},
            {"reason", "AutoApproved"},
            {"message", "Auto approving kubelet client certificate after SubjectAccessReview."},
            {"lastUpdateTime", nowString()},
            {"lastTransitionTime", nowString()}}});
      obj["status"]["certificate"] = enc;
    }
  }
  return ok();
}

// Service cluster IP and node port allocation (also on update, for type changes).
Result<void> Registry::admitUpdate(const ResourceInfo& r, json& obj, const json& old) {
  if (r.kind != "Service") return ok();
  ServiceAllocator& a = state_->alloc;
  std::lock_guard lock(a.mu);
  if (!a.loaded) {
    auto all = store_.list("/registry/core/services/");
    if (!all) return std::move(all).error();
    for (const auto& kv : all->items) {
      json s = json::parse(kv.value, nullptr, false);
      std::uint32_t ip;
      if (parseIpv4(str(s, {"spec", "clusterIP"}), &ip)) a.ips.insert(ip);
      for (const auto& p :
           at(s, {"spec", "ports"}).is_array() ? at(s, {"spec", "ports"}) : json::array()) {
        if (p.contains("nodePort") && p["nodePort"].is_number_integer())
          a.ports.insert(p["nodePort"].get<int>());
      }
    }
    a.loaded = true;
  }
  json& spec = obj["spec"];
  std::string type = spec.value("type", "ClusterIP");
  std::string name = str(obj, {"metadata", "name"});
  FieldErrors errs;
  if (type != "ExternalName") {
    std::string want = spec.value("clusterIP", "");
    std::string had = old.is_object() ? str(old, {"spec", "clusterIP"}) : "";
    if (want.empty() && !had.empty()) want = had;
    if (want == "None") {
      spec["clusterIP"] = "None";
      spec["clusterIPs"] = json::array({"None"});
    } else if (want == had && !had.empty()) {
      spec["clusterIP"] = had;
      spec["clusterIPs"] = json::array({had});
    } else if (!want.empty()) {
      std::uint32_t ip;
      if (!parseIpv4(want, &ip) || ip < a.base || ip >= a.base + a.size) {
        errs.push_back({FieldError::Type::Invalid, "spec.clusterIPs", json::array({want}),
                        "failed to allocate IP " + want + ": the provided IP (" + want +
                            ") is not in the valid range. The range of valid IPs is " +
                            options_.service_cidr});
      } else if (a.ips.count(ip)) {
        errs.push_back({FieldError::Type::Invalid, "spec.clusterIPs", json::array({want}),
                        "failed to allocate IP " + want + ": provided IP is already allocated"});
      } else {
        a.ips.insert(ip);
        spec["clusterIPs"] = json::array({want});
      }
    } else {
      bool found = false;
      for (std::uint32_t i = 0; i + 3 < a.size; ++i) {
        std::uint32_t off = 2 + (a.next - 2 + i) % (a.size - 3);
        if (!a.ips.count(a.base + off)) {
          a.ips.insert(a.base + off);
          a.next = off + 1;
          spec["clusterIP"] = ipToString(a.base + off);
          spec["clusterIPs"] = json::array({spec["clusterIP"]});
          found = true;
          break;
        }
      }
      if (!found) {
        return Error(ErrorCode::Internal, "failed to allocate a serviceIP: range is full");
      }
    }
    if (spec.value("clusterIP", "") != "None") {
      spec["ipFamilies"] = json::array({"IPv4"});
      spec["ipFamilyPolicy"] = "SingleStack";
    } else {
      if (!spec.contains("ipFamilies")) spec["ipFamilies"] = json::array({"IPv4"});
      if (!spec.contains("ipFamilyPolicy")) spec["ipFamilyPolicy"] = "SingleStack";
    }
  }
  bool wants_node_ports = type == "NodePort" || type == "LoadBalancer";
  if (spec.contains("ports") && spec["ports"].is_array()) {
    const json& old_ports = old.is_object() ? at(old, {"spec", "ports"}) : json();
    for (std::size_t i = 0; i < spec["ports"].size(); ++i) {
      json& p = spec["ports"][i];
      if (!wants_node_ports) {
        p.erase("nodePort");
        continue;
      }
      int had = 0;
      if (old_ports.is_array()) {
        for (const auto& op : old_ports) {
          if (op.value("port", 0) == p.value("port", -1) &&
              op.value("protocol", "TCP") == p.value("protocol", "TCP")) {
            had = op.value("nodePort", 0);
          }
        }
      }
      int want = p.value("nodePort", 0);
      if (want == 0) want = had;
      if (want != 0 && want == had) {
        p["nodePort"] = had;
      } else if (want != 0) {
        if (want < options_.node_port_min || want > options_.node_port_max) {
          errs.push_back({FieldError::Type::Invalid,
                          "spec.ports[" + std::to_string(i) + "].nodePort", want,
                          "provided port is not in the valid range. The range of valid ports is " +
                              std::to_string(options_.node_port_min) + "-" +
                              std::to_string(options_.node_port_max)});
        } else if (a.ports.count(want)) {
          errs.push_back({FieldError::Type::Invalid,
                          "spec.ports[" + std::to_string(i) + "].nodePort", want,
                          "provided port is already allocated"});
        } else {
          a.ports.insert(want);
        }
      } else {
        int span = options_.node_port_max - options_.node_port_min + 1;
        bool found = false;
        for (int j = 0; j < span; ++j) {
          int port = options_.node_port_min + (a.port_next + j) % span;
          if (!a.ports.count(port)) {
            a.ports.insert(port);
            a.port_next = port - options_.node_port_min + 1;
            p["nodePort"] = port;
            found = true;
            break;
          }
        }
        if (!found)
          return Error(ErrorCode::Internal, "failed to allocate a nodePort: range is full");
      }
    }
  }
  if (!errs.empty()) return invalidError(r, name, errs);
  return ok();
}

// Returns a service's IP and ports that `keep` does not use any more to the pools.
void Registry::releaseResources(const ResourceInfo& r, const json& obj) {
  if (r.kind != "Service") return;
  ServiceAllocator& a = state_->alloc;
  std::lock_guard lock(a.mu);
  std::uint32_t ip;
  if (parseIpv4(str(obj, {"spec", "clusterIP"}), &ip)) a.ips.erase(ip);
  const json& ports = at(obj, {"spec", "ports"});
  if (ports.is_array()) {
    for (const auto& p : ports) {
      if (p.contains("nodePort") && p["nodePort"].is_number_integer())
        a.ports.erase(p["nodePort"].get<int>());
    }
  }
}

// ---- create ----------------------------------------------------------------------------------

Result<WriteResult> Registry::create(const ResourceInfo& r, const std::string& ns, json obj,
                                     const WriteOptions& opts, const std::string& subresource,
                                     const std::string& name) {
  if (subresource.empty()) return createObject(r, ns, std::move(obj), opts);
  if (r.kind == "Pod" && subresource == "binding") {
    if (!obj.is_object()) return Error(ErrorCode::BadRequest, "binding body must be an object");
    std::string node = str(obj, {"target", "name"});
    if (node.empty()) {
      return Error(ErrorCode::Invalid,
                   "Binding \"" + name + "\" is invalid: target.name: Required value");
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
      std::int64_t rev = 0;
      SKIFF_ASSIGN_OR_RETURN(json pod, read(r, ns, name, &rev));
      if (hasDeletionTimestamp(pod)) {
        return Error(ErrorCode::Conflict, "Operation cannot be fulfilled on pods/binding \"" +
                                              name + "\": pod " + name +
                                              " is being deleted, cannot be assigned to a host");
      }
      std::string current = str(pod, {"spec", "nodeName"});
      if (!current.empty()) {
        return Error(ErrorCode::Conflict, "Operation cannot be fulfilled on pods/binding \"" +
                                              name + "\": pod " + name +
                                              " is already assigned to node \"" + current + "\"");
      }
      json old = pod;
      pod["spec"]["nodeName"] = node;
      json& conds = pod["status"]["conditions"];
      if (!conds.is_array()) conds = json::array();
      bool found = false;
      for (auto& c : conds) {
        if (c.value("type", "") == "PodScheduled") {
          c["status"] = "True";
          c.erase("reason");
          c.erase("message");
          c["lastTransitionTime"] = nowString();
          found = true;
        }
      }
      if (!found) {
        conds.push_back({{"type", "PodScheduled"},
                         {"status", "True"},
                         {"lastProbeTime", nullptr},
                         {"lastTransitionTime", nowString()}});
      }
      if (opts.dry_run) break;
      auto w = store_.update(key(r, ns, name), encodeForStore(pod), rev);
      if (w) break;
      if (!w.error().is(ErrorCode::Conflict)) return std::move(w).error();
    }
    return WriteResult{{{"kind", "Status"},
                        {"apiVersion", "v1"},
                        {"metadata", json::object()},
                        {"status", "Success"},
                        {"code", 201}},
                       true,
                       true};
  }
  if (r.kind == "Pod" && subresource == "eviction") {
    DeleteOptions del;
    const json& d = obj.is_object() ? obj.value("deleteOptions", json()) : json();
    if (d.is_object()) {
      if (d.contains("gracePeriodSeconds") && d["gracePeriodSeconds"].is_number_integer()) {
        del.grace_period_seconds = d["gracePeriodSeconds"].get<std::int64_t>();
      }
      if (at(d, {"preconditions", "uid"}).is_string())
        del.precondition_uid = at(d, {"preconditions", "uid"}).get<std::string>();
    }
    SKIFF_ASSIGN_OR_RETURN(json pod, read(r, ns, name, nullptr));
    // PodDisruptionBudgets: refuse with 429 when an applicable budget allows no disruption.
    const ResourceInfo* pdbs = findResource("policy", "v1", "poddisruptionbudgets");
    if (pdbs) {
      auto list = store_.list(prefix(*pdbs, ns));
      if (list) {
        for (const auto& kv : list->items) {
          json pdb = json::parse(kv.value, nullptr, false);
          auto sel = LabelSelector::fromJson(at(pdb, {"spec", "selector"}));
          if (!sel || sel->empty() || !sel->matches(at(pod, {"metadata", "labels"}))) continue;
          if (at(pdb, {"status", "disruptionsAllowed"}).is_number_integer() &&
              at(pdb, {"status", "disruptionsAllowed"}).get<long long>() <= 0) {
            return Error(ErrorCode::Unavailable,
                         "Cannot evict pod as it would violate the pod's disruption budget.");
          }
        }
      }
    }
    SKIFF_TRY(remove(r, ns, name, del, opts));
    return WriteResult{{{"kind", "Status"},
                        {"apiVersion", "v1"},
                        {"metadata", json::object()},
                        {"status", "Success"},
                        {"code", 201}},
                       true,
                       true};
  }
  return Error(ErrorCode::NotFound, "the server could not find the requested resource");
}

Result<WriteResult> Registry::createObject(const ResourceInfo& r, const std::string& ns, json obj,
                                           const WriteOptions& opts) {
  if (!obj.is_object()) {
    return Error(ErrorCode::BadRequest,
                 "the object provided is unrecognized (must be of type " + r.kind + ")");
  }
  std::string kind = obj.value("kind", "");
  std::string api = obj.value("apiVersion", "");
  if ((!kind.empty() && kind != r.kind) || (!api.empty() && api != r.groupVersion())) {
    return Error(ErrorCode::BadRequest,
                 "the object provided is unrecognized (must be of type " + r.kind +
                     "): " + (kind.empty() ? "<missing kind>" : kind) + " in version \"" + api +
                     "\" cannot be created at " + r.groupVersion() + ", Resource=" + r.resource);
  }
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = json::object();
  json& meta = obj["metadata"];
  if (r.namespaced) {
    std::string on = meta.value("namespace", "");
    if (!on.empty() && on != ns) {
      return Error(
          ErrorCode::BadRequest,
          "the namespace of the provided object does not match the namespace sent on the request");
    }
    meta["namespace"] = ns;
  } else {
    meta.erase("namespace");
  }
  if (meta.value("name", "").empty() && !meta.value("generateName", "").empty()) {
    meta["name"] = meta["generateName"].get<std::string>() + randomSuffix();
  }
  for (const char* k : {"resourceVersion", "uid", "creationTimestamp", "deletionTimestamp",
                        "deletionGracePeriodSeconds", "selfLink", "managedFields"}) {
    meta.erase(k);
  }
  meta["uid"] = newUid();
  meta["creationTimestamp"] = nowString();
  if (r.has_generation)
    meta["generation"] = 1;
  else
    meta.erase("generation");
  if (statusIsSubresource(r) && r.kind != "Node" && r.kind != "Namespace") {
    if (r.kind == "Service")
      obj["status"] = {{"loadBalancer", json::object()}};
    else
      obj["status"] = json::object();
  }
  applyDefaults(r, obj);
  std::string name = obj["metadata"].value("name", "");
  FieldErrors errs = validateObject(r, obj, nullptr);
  if (!errs.empty()) return invalidError(r, name, errs);
  SKIFF_TRY(admitCreate(r, ns, obj, opts));
  if (!opts.field_manager.empty() || !opts.user.name.empty()) {
    ManagedUpdate u{managerFor(opts, "unknown"), "Update", r.groupVersion(), "", nowString()};
    json fields = fieldSetOf(obj);
    recordUpdate(obj, u, fields);
  }
  if (opts.dry_run) {
    releaseResources(r, obj);
    return WriteResult{present(r, obj, 0), true, true};
  }
  auto kv = store_.create(key(r, ns, name), encodeForStore(forStorage(r, obj)));
  if (!kv) {
    releaseResources(r, obj);
    if (kv.error().is(ErrorCode::AlreadyExists)) {
      return Error(ErrorCode::AlreadyExists,
                   r.qualifiedResource() + " \"" + name + "\" already exists");
    }
    return std::move(kv).error();
  }
  return WriteResult{present(r, obj, kv->mod_revision), true, true};
}

// ---- update ----------------------------------------------------------------------------------

Result<WriteResult> Registry::update(const ResourceInfo& r, const std::string& ns,
                                     const std::string& name, json obj, const WriteOptions& opts,
                                     const std::string& subresource) {
  return updateObject(r, ns, name, std::move(obj), opts, subresource, false, nullptr);
}

Result<WriteResult> Registry::updateObject(const ResourceInfo& r, const std::string& ns,
                                           const std::string& name, json obj,
                                           const WriteOptions& opts, const std::string& subresource,
                                           bool allow_create, const json* applied) {
  if (!obj.is_object()) {
    return Error(ErrorCode::BadRequest,
                 "the object provided is unrecognized (must be of type " + r.kind + ")");
  }
  std::int64_t rev = 0;
  auto cur = read(r, ns, name, &rev);
  if (!cur) {
    if (allow_create && cur.error().is(ErrorCode::NotFound))
      return createObject(r, ns, std::move(obj), opts);
    return std::move(cur).error();
  }
  if (subresource == "scale") {
    std::string want_rv = str(obj, {"metadata", "resourceVersion"});
    if (!want_rv.empty() && want_rv != std::to_string(rev)) return conflict(r, name);
    const json& replicas = at(obj, {"spec", "replicas"});
    if (!replicas.is_number_integer() || replicas.get<long long>() < 0) {
      return Error(ErrorCode::Invalid,
                   "Scale.autoscaling \"" + name + "\" is invalid: spec.replicas: Invalid value: " +
                       replicas.dump() + ": must be greater than or equal to 0");
    }
    json next = *cur;
    next["spec"]["replicas"] = replicas;
    SKIFF_ASSIGN_OR_RETURN(WriteResult res,
                           writeUpdated(r, ns, *cur, next, rev, opts, "", nullptr));
    res.object = scaleOf(r, res.object);
    return res;
  }
  std::string want_rv = str(obj, {"metadata", "resourceVersion"});
  if (!want_rv.empty() && want_rv != std::to_string(rev)) return conflict(r, name);
  return writeUpdated(r, ns, std::move(cur).value(), std::move(obj), rev, opts, subresource,
                      applied);
}

Result<WriteResult> Registry::writeUpdated(const ResourceInfo& r, const std::string& ns, json old,
                                           json obj, std::int64_t rev, const WriteOptions& opts,
                                           const std::string& subresource, const json* applied) {
  std::string name = str(old, {"metadata", "name"});
  std::string kind = obj.value("kind", "");
  if (!kind.empty() && kind != r.kind && subresource.empty()) {
    return Error(ErrorCode::BadRequest, "the object provided is unrecognized (must be of type " +
                                            r.kind + "): kind \"" + kind + "\"");
  }
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = json::object();
  std::string body_name = obj["metadata"].value("name", "");
  if (!body_name.empty() && body_name != name) {
    return Error(ErrorCode::BadRequest, "the name of the object (" + body_name +
                                            ") does not match the name on the URL (" + name + ")");
  }
  if (r.namespaced) {
    std::string on = obj["metadata"].value("namespace", "");
    if (!on.empty() && on != ns) {
      return Error(
          ErrorCode::BadRequest,
          "the namespace of the provided object does not match the namespace sent on the request");
    }
  }
  json next;
  if (subresource == "status" || subresource == "approval") {
    next = old;
    if (obj.contains("status"))
      next["status"] = obj["status"];
    else
      next.erase("status");
    // Status writers may also touch labels/annotations? Upstream ignores metadata changes here
    // except for a few kinds; we keep the stored metadata.
  } else if (subresource == "finalize") {
    next = old;
    next["spec"]["finalizers"] = at(obj, {"spec", "finalizers"}).is_array()
                                     ? at(obj, {"spec", "finalizers"})
                                     : json::array();
  } else {
    next = std::move(obj);
    if (statusIsSubresource(r) && r.kind != "Namespace") {
      if (old.contains("status"))
        next["status"] = old["status"];
      else
        next.erase("status");
    }
    if (r.kind == "Namespace" && old.contains("status")) next["status"] = old["status"];
    json& m = next["metadata"];
    const json& om = old["metadata"];
    for (const char* k : {"uid", "creationTimestamp", "deletionTimestamp",
                          "deletionGracePeriodSeconds", "generation", "namespace", "name"}) {
      if (om.contains(k))
        m[k] = om[k];
      else
        m.erase(k);
    }
    if (!m.contains("managedFields") && om.contains("managedFields"))
      m["managedFields"] = om["managedFields"];
    applyDefaults(r, next);
    if (r.kind == "Namespace") {
      // Spec finalizers change only through /finalize.
      if (old.contains("spec")) next["spec"] = old["spec"];
    }
    if (r.has_generation && at(next, {"spec"}) != at(old, {"spec"})) {
      next["metadata"]["generation"] =
          at(old, {"metadata", "generation"}).is_number_integer()
              ? at(old, {"metadata", "generation"}).get<long long>() + 1
              : 1;
    }
  }
  next["apiVersion"] = r.groupVersion();
  next["kind"] = r.kind;
  next["metadata"]["resourceVersion"] = std::to_string(rev);
  if (subresource.empty()) {
    FieldErrors errs = validateObject(r, next, &old);
    if (!errs.empty()) return invalidError(r, name, errs);
    SKIFF_TRY(admitUpdate(r, next, old));
  }
  // Field ownership.
  std::string sub_for_fields = subresource == "status" ? "status" : "";
  if (applied) {
    // Already merged by serverSideApply.
  } else if (!opts.field_manager.empty() || !opts.user.name.empty()) {
    ManagedUpdate u{managerFor(opts, "unknown"), "Update", r.groupVersion(), sub_for_fields,
                    nowString()};
    json before = old, after = next;
    for (json* o : {&before, &after}) {
      if (!sub_for_fields.empty()) {
        json s = o->contains("status") ? (*o)["status"] : json();
        *o = json{{"status", s}};
      }
    }
    json changed = changedFieldSet(before, after);
    if (!sub_for_fields.empty() && changed.contains("f:status")) {
      // status paths are recorded under the status subresource
    }
    recordUpdate(next, u, changed);
  }
  // No-op writes do not create a revision (as upstream).
  json cmp_old = old, cmp_new = next;
  for (json* o : {&cmp_old, &cmp_new}) {
    (*o)["metadata"].erase("managedFields");
    (*o)["metadata"].erase("resourceVersion");
  }
  if (cmp_old == cmp_new) return WriteResult{old, false, true};
  // An object waiting only on its finalizers goes once they are all removed.
  bool terminating = hasDeletionTimestamp(next);
  bool ns_finalized = r.kind != "Namespace" || !at(next, {"spec", "finalizers"}).is_array() ||
                      at(next, {"spec", "finalizers"}).empty();
  bool grace_over = r.kind != "Pod" || at(next, {"metadata", "deletionGracePeriodSeconds"}) == 0;
  if (terminating && !hasFinalizers(next) && ns_finalized && grace_over) {
    return finishDelete(r, ns, next, rev, opts);
  }
  if (opts.dry_run) return WriteResult{next, false, true};
  auto kv = store_.update(key(r, ns, name), encodeForStore(forStorage(r, next)), rev);
  if (!kv) {
    if (kv.error().is(ErrorCode::Conflict)) return conflict(r, name);
    if (kv.error().is(ErrorCode::NotFound)) return notFound(r, name);
    return std::move(kv).error();
  }
  // Release node ports / IPs the update dropped (type change).
  if (r.kind == "Service") {
    json dropped = old;
    std::uint32_t a, b;
    if (parseIpv4(str(old, {"spec", "clusterIP"}), &a) &&
        parseIpv4(str(next, {"spec", "clusterIP"}), &b) && a == b) {
      dropped["spec"].erase("clusterIP");
    }
    if (dropped["spec"].contains("ports") && dropped["spec"]["ports"].is_array()) {
      json keep = json::array();
      for (auto& p : dropped["spec"]["ports"]) {
        bool still = false;
        for (const auto& q :
             at(next, {"spec", "ports"}).is_array() ? at(next, {"spec", "ports"}) : json::array()) {
          if (q.value("nodePort", 0) == p.value("nodePort", -1)) still = true;
        }
        if (!still) keep.push_back(p);
      }
      dropped["spec"]["ports"] = keep;
    }
    releaseResources(r, dropped);
  }
  return WriteResult{present(r, next, kv->mod_revision), false, true};
}

// ---- patch -----------------------------------------------------------------------------------

Result<WriteResult> Registry::patch(const ResourceInfo& r, const std::string& ns,
                                    const std::string& name, PatchKind kind, const json& patch,
                                    const WriteOptions& opts, const std::string& subresource) {
  bool pinned = !str(patch, {"metadata", "resourceVersion"}).empty();
  for (int attempt = 0;; ++attempt) {
    std::int64_t rev = 0;
    auto cur = read(r, ns, name, &rev);
    if (!cur) {
      if (kind == PatchKind::Apply && subresource.empty() && cur.error().is(ErrorCode::NotFound)) {
        if (!patch.is_object())
          return Error(ErrorCode::BadRequest, "apply patch must be an object");
        json obj = patch;
        if (!obj.contains("metadata") || !obj["metadata"].is_object())
          obj["metadata"] = json::object();
        if (obj["metadata"].value("name", "") != name) {
          if (obj["metadata"].value("name", "").empty())
            obj["metadata"]["name"] = name;
          else
            return Error(ErrorCode::BadRequest,
                         "the name of the object (" + obj["metadata"].value("name", "") +
                             ") does not match the name on the URL (" + name + ")");
        }
        ManagedUpdate u{managerFor(opts, "unknown"), "Apply", r.groupVersion(), "", nowString()};
        SKIFF_ASSIGN_OR_RETURN(json merged, serverSideApply(json::object(), obj, u, true));
        WriteOptions o = opts;
        o.field_manager.clear();
        o.user.name.clear();  // managedFields already set by apply
        json mf = merged["metadata"]["managedFields"];
        merged["metadata"].erase("managedFields");
        SKIFF_ASSIGN_OR_RETURN(WriteResult res, createObject(r, ns, merged, o));
        if (!opts.dry_run) {
          // Record the Apply ownership on the created object.
          std::int64_t nrev = 0;
          auto created = read(r, ns, name, &nrev);
          if (created) {
            json withmf = *created;
            withmf["metadata"]["managedFields"] = mf;
            for (auto& e : withmf["metadata"]["managedFields"]) e["time"] = nowString();
            auto kv = store_.update(key(r, ns, name), encodeForStore(forStorage(r, withmf)), nrev);
            if (kv) res.object = present(r, withmf, kv->mod_revision);
          }
        }
        return res;
      }
      return std::move(cur).error();
    }
    json base = subresource == "scale" ? scaleOf(r, *cur) : *cur;
    json patched;
    const json* applied = nullptr;
    switch (kind) {
      case PatchKind::Json: {
        SKIFF_ASSIGN_OR_RETURN(patched, applyJsonPatch(base, patch));
        break;
      }
      case PatchKind::Merge: {
        SKIFF_ASSIGN_OR_RETURN(patched, applyMergePatch(base, patch));
        break;
      }
      case PatchKind::Strategic: {
        SKIFF_ASSIGN_OR_RETURN(patched, applyStrategicMergePatch(base, patch));
        break;
      }
      case PatchKind::Apply: {
        if (!patch.is_object())
          return Error(ErrorCode::BadRequest, "apply patch must be an object");
        std::string pk = patch.value("kind", ""), pa = patch.value("apiVersion", "");
        if (pk.empty() || pa.empty()) {
          return Error(ErrorCode::BadRequest, "invalid object type: " + pa + ", Kind=" + pk);
        }
        ManagedUpdate u{managerFor(opts, "unknown"), "Apply", r.groupVersion(),
                        subresource == "status" ? "status" : "", nowString()};
        SKIFF_ASSIGN_OR_RETURN(patched, serverSideApply(base, patch, u, opts.force));
        applied = &patch;
        break;
      }
    }
    if (!patched.is_object())
      return Error(ErrorCode::BadRequest, "the patch produced a non-object");
    std::string prv = str(patched, {"metadata", "resourceVersion"});
    if (!prv.empty() && prv != std::to_string(rev)) return conflict(r, name);
    Result<WriteResult> res = Error(ErrorCode::Internal, "unreachable");
    if (subresource == "scale") {
      res = updateObject(r, ns, name, patched, opts, "scale", false, nullptr);
    } else {
      res = writeUpdated(r, ns, *cur, patched, rev, opts, subresource, applied);
    }
    if (!res && res.error().is(ErrorCode::Conflict) && !pinned && attempt < 10 &&
        res.error().message().rfind("Operation cannot be fulfilled", 0) == 0) {
      continue;  // someone wrote in between: re-read and re-apply, as upstream does
    }
    return res;
  }
}

// ---- delete ----------------------------------------------------------------------------------

Result<WriteResult> Registry::finishDelete(const ResourceInfo& r, const std::string& ns, json obj,
                                           std::int64_t rev, const WriteOptions& opts) {
  std::string name = str(obj, {"metadata", "name"});
  if (opts.dry_run) return WriteResult{present(r, obj, rev), false, true};
  auto kv = store_.remove(key(r, ns, name), rev);
  if (!kv) {
    if (kv.error().is(ErrorCode::Conflict)) return conflict(r, name);
    if (kv.error().is(ErrorCode::NotFound)) return notFound(r, name);
    return std::move(kv).error();
  }
  releaseResources(r, obj);
  return WriteResult{present(r, obj, kv->mod_revision), false, true};
}

Result<WriteResult> Registry::remove(const ResourceInfo& r, const std::string& ns,
                                     const std::string& name, const DeleteOptions& del,
                                     const WriteOptions& opts) {
  for (int attempt = 0;; ++attempt) {
    std::int64_t rev = 0;
    SKIFF_ASSIGN_OR_RETURN(json obj, read(r, ns, name, &rev));
    std::string uid = str(obj, {"metadata", "uid"});
    if (del.precondition_uid && *del.precondition_uid != uid) {
      return Error(ErrorCode::Conflict,
                   "Operation cannot be fulfilled on " + r.qualifiedResource() + " \"" + name +
                       "\": Precondition failed: UID in precondition: " + *del.precondition_uid +
                       ", UID in object meta: " + uid);
    }
    if (del.precondition_resource_version &&
        *del.precondition_resource_version != std::to_string(rev)) {
      return Error(ErrorCode::Conflict,
                   "Operation cannot be fulfilled on " + r.qualifiedResource() + " \"" + name +
                       "\": Precondition failed: ResourceVersion in precondition: " +
                       *del.precondition_resource_version +
                       ", ResourceVersion in object meta: " + std::to_string(rev));
    }
    json next = obj;
    json& meta = next["metadata"];
    bool changed = false;
    if (r.kind == "Namespace") {
      if (name == "default" || name == "kube-system" || name == "kube-public") {
        return Error(ErrorCode::Forbidden,
                     "namespaces \"" + name + "\" is forbidden: this namespace may not be deleted");
      }
      if (!hasDeletionTimestamp(obj)) {
        meta["deletionTimestamp"] = nowString();
        meta["deletionGracePeriodSeconds"] = 0;
        next["status"]["phase"] = "Terminating";
        changed = true;
      }
      bool spec_fin =
          at(next, {"spec", "finalizers"}).is_array() && !at(next, {"spec", "finalizers"}).empty();
      if (!spec_fin && !hasFinalizers(next)) return finishDelete(r, ns, obj, rev, opts);
    } else {
      // Graceful deletion of pods (pkg/registry/core/pod/strategy.go CheckGracefulDelete).
      if (r.kind == "Pod") {
        std::int64_t grace = del.grace_period_seconds.value_or(
            at(obj, {"spec", "terminationGracePeriodSeconds"}).is_number_integer()
                ? at(obj, {"spec", "terminationGracePeriodSeconds"}).get<std::int64_t>()
                : 30);
        std::string phase = str(obj, {"status", "phase"});
        if (str(obj, {"spec", "nodeName"}).empty() || phase == "Succeeded" || phase == "Failed")
          grace = 0;
        if (grace < 0) grace = 0;
        const json& cur_grace = at(obj, {"metadata", "deletionGracePeriodSeconds"});
        bool shorter = !cur_grace.is_number_integer() || grace < cur_grace.get<std::int64_t>();
        if (grace > 0 && shorter) {
          meta["deletionTimestamp"] = formatTime(Clock::now() + std::chrono::seconds(grace));
          meta["deletionGracePeriodSeconds"] = grace;
          changed = true;
        } else if (grace == 0 && shorter) {
          if (!hasDeletionTimestamp(obj)) meta["deletionTimestamp"] = nowString();
          meta["deletionGracePeriodSeconds"] = 0;
          changed = true;
        }
      }
      // Propagation policy: Orphan and Foreground are carried out by the garbage collector,
      // signalled through these finalizers (as upstream).
      auto addFinalizer = [&](const char* f) {
        if (!meta.contains("finalizers") || !meta["finalizers"].is_array())
          meta["finalizers"] = json::array();
        if (std::find(meta["finalizers"].begin(), meta["finalizers"].end(), f) ==
            meta["finalizers"].end()) {
          meta["finalizers"].push_back(f);
          changed = true;
        }
      };
      if (del.propagation_policy == "Orphan") addFinalizer("orphan");
      if (del.propagation_policy == "Foreground") addFinalizer("foregroundDeletion");
      bool waiting_grace =
          r.kind == "Pod" &&
          at(next, {"metadata", "deletionGracePeriodSeconds"}).is_number_integer() &&
          at(next, {"metadata", "deletionGracePeriodSeconds"}).get<std::int64_t>() > 0;
      if (!hasFinalizers(next) && !waiting_grace) return finishDelete(r, ns, obj, rev, opts);
      if (!hasDeletionTimestamp(next)) {
        meta["deletionTimestamp"] = nowString();
        if (!meta.contains("deletionGracePeriodSeconds")) meta["deletionGracePeriodSeconds"] = 0;
        changed = true;
      }
    }
    if (!changed || opts.dry_run) return WriteResult{present(r, next, rev), false, false};
    auto kv = store_.update(key(r, ns, name), encodeForStore(forStorage(r, next)), rev);
    if (!kv) {
      if (kv.error().is(ErrorCode::Conflict) && attempt < 10) continue;
      if (kv.error().is(ErrorCode::NotFound)) return notFound(r, name);
      return std::move(kv).error();
    }
    return WriteResult{present(r, next, kv->mod_revision), false, false};
  }
}

Result<json> Registry::removeCollection(const ResourceInfo& r, const std::string& ns,
                                        const Selection& sel, const DeleteOptions& del,
                                        const WriteOptions& opts) {
  Selection all = sel;
  all.limit = 0;
  all.continue_token.clear();
  SKIFF_ASSIGN_OR_RETURN(json list, this->list(r, ns, all));
  json items = json::array();
  for (const auto& item : list["items"]) {
    auto res =
        remove(r, str(item, {"metadata", "namespace"}), str(item, {"metadata", "name"}), del, opts);
    if (res) {
      items.push_back(res->object);
    } else if (!res.error().is(ErrorCode::NotFound)) {
      return std::move(res).error();
    }
  }
  list["items"] = items;
  return list;
}

// ---- bootstrap -------------------------------------------------------------------------------

Result<void> Registry::bootstrap(const std::string& advertise_address, int secure_port) {
  WriteOptions sys;
  sys.field_manager = "skiff-master";
  sys.user = {"system:apiserver", {"system:masters"}};
  const ResourceInfo& nsr = namespacesInfo();
  for (const char* n : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    auto got = read(nsr, "", n, nullptr);
    if (got) continue;
    auto made = createObject(nsr, "", json{{"metadata", {{"name", n}}}}, sys);
    if (!made && !made.error().is(ErrorCode::AlreadyExists))
      return std::move(made).error().wrap("create namespace");
  }
  std::string first_ip = ipToString(state_->alloc.base + 1);
  const ResourceInfo& svcr = *findResource("", "v1", "services");
  if (!read(svcr, "default", "kubernetes", nullptr)) {
    json svc = {{"metadata",
                 {{"name", "kubernetes"},
                  {"labels", {{"component", "apiserver"}, {"provider", "kubernetes"}}}}},
                {"spec",
                 {{"clusterIP", first_ip},
                  {"ports", json::array({{{"name", "https"},
                                          {"port", 443},
                                          {"protocol", "TCP"},
                                          {"targetPort", secure_port}}})},
                  {"sessionAffinity", "None"},
                  {"type", "ClusterIP"}}}};
    auto made = createObject(svcr, "default", svc, sys);
    if (!made && !made.error().is(ErrorCode::AlreadyExists))
      return std::move(made).error().wrap("create kubernetes service");
  }
  // Endpoints and EndpointSlice of the kubernetes Service always point at this server.
  const ResourceInfo& epr = *findResource("", "v1", "endpoints");
  json ep = {
      {"metadata",
       {{"name", "kubernetes"}, {"labels", {{"endpointslice.kubernetes.io/skip-mirror", "true"}}}}},
      {"subsets",
       json::array(
           {{{"addresses", json::array({{{"ip", advertise_address}}})},
             {"ports",
              json::array({{{"name", "https"}, {"port", secure_port}, {"protocol", "TCP"}}})}}})}};
  std::int64_t rev = 0;
  auto cur = read(epr, "default", "kubernetes", &rev);
  if (!cur) {
    auto made = createObject(epr, "default", ep, sys);
    if (!made && !made.error().is(ErrorCode::AlreadyExists))
      return std::move(made).error().wrap("create kubernetes endpoints");
  } else if ((*cur)["subsets"] != ep["subsets"]) {
    json next = *cur;
    next["subsets"] = ep["subsets"];
    (void)writeUpdated(epr, "default", *cur, next, rev, sys, "", nullptr);
  }
  const ResourceInfo& slr = *findResource("discovery.k8s.io", "v1", "endpointslices");
  json slice = {
      {"metadata",
       {{"name", "kubernetes"}, {"labels", {{"kubernetes.io/service-name", "kubernetes"}}}}},
      {"addressType", "IPv4"},
      {"endpoints", json::array({{{"addresses", json::array({advertise_address})},
                                  {"conditions", {{"ready", true}}}}})},
      {"ports", json::array({{{"name", "https"}, {"port", secure_port}, {"protocol", "TCP"}}})}};
  rev = 0;
  auto cur_slice = read(slr, "default", "kubernetes", &rev);
  if (!cur_slice) {
    (void)createObject(slr, "default", slice, sys);
  } else if ((*cur_slice)["endpoints"] != slice["endpoints"] ||
             (*cur_slice)["ports"] != slice["ports"]) {
    json next = *cur_slice;
    next["endpoints"] = slice["endpoints"];
    next["ports"] = slice["ports"];
    (void)writeUpdated(slr, "default", *cur_slice, next, rev, sys, "", nullptr);
  }
  SKIFF_LOG_INFO(lg(), "Registry bootstrapped",
                 skiff::log::kv("advertiseAddress", advertise_address));
  return ok();
}

}  // namespace skiff::master::api
