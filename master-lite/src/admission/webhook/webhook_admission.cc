// The admission webhooks plugin (webhook.h): which webhooks a write reaches, the
// AdmissionReview v1 exchange, and what the answer does (deny, JSONPatch, warnings), with
// kube-apiserver's messages:
//   Internal error occurred: failed calling webhook "<name>": failed to call webhook: Post
//     "https://<svc>.<ns>.svc:443/<path>?timeout=10s": <reason>
//   admission webhook "<name>" denied the request: <message>
#include <algorithm>
#include <optional>

#include "matching.h"
#include "skiff/common/base64.h"
#include "skiff/common/http_status.h"
#include "skiff/common/log.h"
#include "skiff/master/admission/webhook.h"
#include "skiff/master/api/object_cache.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/api/patch.h"
#include "webhook_call.h"

namespace skiff::master::admission {
namespace {

using json = nlohmann::json;
using api::AdmissionAttributes;
using api::AdmissionNotes;
using webhook::RequestFacts;

const std::shared_ptr<spdlog::logger>& lg() {
  static const auto l = skiff::log::get("master");
  return l;
}

const char* kAdmissionGroup = "admissionregistration.k8s.io";

struct Hook {
  json spec;  // one webhook of a configuration
  std::string configuration;
};

// The review's operation and the kind of its options (a CONNECT has none: its object is the
// options).
std::string operationOf(const AdmissionAttributes& a) {
  static const char* names[] = {"CREATE", "UPDATE", "DELETE", "CONNECT"};
  return names[static_cast<int>(a.operation)];
}

json optionsOf(const AdmissionAttributes& a) {
  static const char* kinds[] = {"CreateOptions", "UpdateOptions", "DeleteOptions", nullptr};
  const char* kind = kinds[static_cast<int>(a.operation)];
  if (!kind) return json();
  return {{"apiVersion", "meta.k8s.io/v1"}, {"kind", kind}};
}

json reviewRequest(const AdmissionAttributes& a, const json& obj) {
  const api::ResourceInfo& r = *a.resource;
  // A CONNECT's kind is its options' (PodAttachOptions...), as upstream's connect attributes.
  bool connect = a.operation == AdmissionAttributes::Operation::Connect;
  json kind = {{"group", r.group},
               {"version", r.version},
               {"kind", connect ? api::str(obj, {"kind"}) : r.kind}};
  json resource = {{"group", r.group}, {"version", r.version}, {"resource", r.resource}};
  json user = json::object();
  if (a.user) {
    user["username"] = a.user->name;
    if (!a.user->uid.empty()) user["uid"] = a.user->uid;
    user["groups"] = a.user->groups;
    if (!a.user->extra.empty()) user["extra"] = a.user->extra;
  }
  json req = {{"uid", api::newUid()},
              {"kind", kind},
              {"resource", resource},
              {"requestKind", kind},
              {"requestResource", resource},
              {"name", a.name},
              {"operation", operationOf(a)},
              {"userInfo", user},
              {"object", obj},
              {"oldObject", a.old_object ? *a.old_object : json()},
              {"dryRun", a.dry_run},
              {"options", optionsOf(a)}};
  if (!a.ns.empty()) req["namespace"] = a.ns;
  if (!a.subresource.empty()) req["subResource"] = a.subresource;
  return req;
}

// webhookerrors.ToStatusErr.
Error denied(const std::string& name, const json& response) {
  const json& st = api::at(response, {"status"});
  std::string by = "admission webhook \"" + name + "\" denied the request";
  std::string msg = api::str(st, {"message"}), reason = api::str(st, {"reason"});
  long long code = api::at(st, {"code"}).is_number_integer() ? st["code"].get<long long>() : 0;
  if (!msg.empty())
    by += ": " + msg;
  else if (!reason.empty())
    by += ": " + reason;
  else
    by += " without explanation";
  return Error(errorCodeForHttpStatus(code < 400 ? 400 : static_cast<int>(code), reason), by);
}

class WebhookAdmission : public api::AdmissionPlugin {
 public:
  explicit WebhookAdmission(api::Registry& registry)
      : registry_(registry),
        mutating_(registry,
                  *api::findResource(kAdmissionGroup, "v1", "mutatingwebhookconfigurations")),
        validating_(registry,
                    *api::findResource(kAdmissionGroup, "v1", "validatingwebhookconfigurations")) {}

  // Webhooks register for any operation (their rules' operations: CREATE, UPDATE, DELETE,
  // CONNECT); which of them match is decided per call.
  bool handles(AdmissionAttributes::Operation) const override { return true; }

  Result<void> admit(const AdmissionAttributes& a, json& obj, AdmissionNotes& notes) override {
    if (skipped(a)) return ok();
    std::vector<Hook> hooks = matching(a, obj, true);
    if (hooks.empty()) return ok();
    // reinvocationPolicy IfNeeded: a webhook is called again (once) when a later one changed
    // the object it had seen.
    std::vector<bool> again(hooks.size(), false);
    for (std::size_t i = 0; i < hooks.size(); ++i) {
      json before = obj;
      SKIFF_TRY(callOne(hooks[i], a, obj, notes, true));
      if (obj == before) continue;
      for (std::size_t j = 0; j < i; ++j) {
        if (api::str(hooks[j].spec, {"reinvocationPolicy"}) == "IfNeeded") again[j] = true;
      }
    }
    for (std::size_t i = 0; i < hooks.size(); ++i) {
      if (again[i]) SKIFF_TRY(callOne(hooks[i], a, obj, notes, true));
    }
    return ok();
  }

  Result<void> validate(const AdmissionAttributes& a, AdmissionNotes& notes) override {
    if (skipped(a)) return ok();
    json obj = a.object ? *a.object : json();
    for (const auto& h : matching(a, obj, false)) SKIFF_TRY(callOne(h, a, obj, notes, false));
    return ok();
  }

 private:
  // Webhook configurations are never sent to webhooks (a broken webhook could otherwise lock
  // out its own repair), as upstream.
  static bool skipped(const AdmissionAttributes& a) {
    return !a.resource || a.resource->group == kAdmissionGroup;
  }

  std::vector<Hook> matching(const AdmissionAttributes& a, const json& obj, bool mutating) {
    std::vector<Hook> out;
    // In name order (cluster-scoped keys are "<prefix><name>").
    auto items = (mutating ? mutating_ : validating_).list();
    if (!items) {
      SKIFF_LOG_WARN(lg(), "Webhook admission cannot list its configurations",
                     skiff::log::kv("mutating", mutating),
                     skiff::log::kv("err", items.error().message()));
      return out;
    }
    const api::ResourceInfo& r = *a.resource;
    RequestFacts facts{operationOf(a), r.group, r.version, r.resource, a.subresource, r.namespaced};
    std::optional<json> ns_labels;
    for (const auto& cfg_ptr : *items) {
      const json& cfg = *cfg_ptr;
      for (const auto& w : cfg.value("webhooks", json::array())) {
        if (!webhook::rulesMatch(w, facts)) continue;
        if (!webhook::selectorMatches(api::at(w, {"objectSelector"}),
                                      api::at(obj, {"metadata", "labels"})) &&
            !(a.old_object &&
              webhook::selectorMatches(api::at(w, {"objectSelector"}),
                                       api::at(*a.old_object, {"metadata", "labels"}))))
          continue;
        if (!namespaceMatches(w, a, obj, ns_labels)) continue;
        out.push_back({w, api::str(cfg, {"metadata", "name"})});
      }
    }
    return out;
  }

  bool namespaceMatches(const json& w, const AdmissionAttributes& a, const json& obj,
                        std::optional<json>& ns_labels) {
    const json& sel = api::at(w, {"namespaceSelector"});
    if (a.resource->kind == "Namespace" && a.resource->group.empty()) {
      const json& ns = a.object || !a.old_object ? obj : *a.old_object;  // a delete: the stored one
      return webhook::selectorMatches(sel, api::at(ns, {"metadata", "labels"}));
    }
    if (a.ns.empty()) return true;  // cluster-scoped: the selector does not apply
    if (!ns_labels) {
      auto ns = registry_.get(*api::findResource("", "v1", "namespaces"), "", a.ns);
      ns_labels = ns ? api::at(*ns, {"metadata", "labels"}) : json();
    }
    return webhook::selectorMatches(sel, *ns_labels);
  }

  Result<void> callOne(const Hook& h, const AdmissionAttributes& a, json& obj,
                       AdmissionNotes& notes, bool mutating) {
    std::string name = api::str(h.spec, {"name"});
    json request = reviewRequest(a, obj);
    auto response = webhook::callWebhook(registry_, h.spec, request);
    if (response) return applyResponse(name, *response, obj, notes, mutating);
    std::string why = "failed calling webhook \"" + name + "\": " + response.error().message();
    if (api::str(h.spec, {"failurePolicy"}) == "Ignore") {
      SKIFF_LOG_WARN(lg(), "Webhook failed, ignored (failurePolicy Ignore)",
                     skiff::log::kv("err", why));
      notes.audit_annotations[std::string("failed-open.") + (mutating ? "mutating" : "validating") +
                              ".webhook.admission.k8s.io/" + name] = why;
      return ok();
    }
    return Error(ErrorCode::Internal, "Internal error occurred: " + why);
  }

  Result<void> applyResponse(const std::string& name, const json& response, json& obj,
                             AdmissionNotes& notes, bool mutating) {
    for (const auto& w : response.value("warnings", json::array())) {
      if (w.is_string()) notes.warnings.push_back(w.get<std::string>());
    }
    const json& ann = api::at(response, {"auditAnnotations"});
    if (ann.is_object()) {
      for (auto it = ann.begin(); it != ann.end(); ++it) {
        if (it->is_string())
          notes.audit_annotations[name + "/" + it.key()] = it->get<std::string>();
      }
    }
    if (response.value("allowed", false) != true) return denied(name, response);
    std::string patch = api::str(response, {"patch"});
    if (patch.empty()) return ok();
    auto internal = [&](const std::string& what) {
      return Error(ErrorCode::Internal,
                   "Internal error occurred: failed calling webhook \"" + name + "\": " + what);
    };
    if (!mutating) return ok();  // upstream ignores patches from validating webhooks
    if (api::str(response, {"patchType"}) != "JSONPatch")
      return internal("received invalid webhook response: patchType must be JSONPatch");
    auto raw = base64Decode(patch);
    if (!raw) return internal("received invalid webhook response: patch is not base64");
    json ops = json::parse(*raw, nullptr, false);
    if (ops.is_discarded() || !ops.is_array())
      return internal("received invalid webhook response: patch is not a JSON array");
    auto patched = api::applyJsonPatch(obj, ops);
    if (!patched) return internal(patched.error().message());
    obj = std::move(*patched);
    return ok();
  }

  api::Registry& registry_;
  // Every write (and delete and connect) looks for matching webhooks: from memory.
  api::ObjectCache mutating_, validating_;
};

}  // namespace

std::shared_ptr<api::AdmissionPlugin> newWebhookAdmission(api::Registry& registry) {
  return std::make_shared<WebhookAdmission>(registry);
}

}  // namespace skiff::master::admission
