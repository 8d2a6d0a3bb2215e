#include "skiff/master/apiextensions/conversion_webhook.h"

#include "../admission/webhook/webhook_call.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/api/validation.h"
#include "skiff/master/apiextensions/custom_resource.h"

namespace skiff::master::apiextensions {
namespace {

using api::at;
using api::str;
using json = nlohmann::json;

// Upstream gives the call no deadline of its own; the HTTP client's 30 s bounds it here.
constexpr int kTimeoutSeconds = 30;

// "stable.example.com/v1, Kind=CronTab" (schema.GroupVersionKind's String()).
std::string gvkOf(const json& obj) {
  return str(obj, {"apiVersion"}) + ", Kind=" + str(obj, {"kind"});
}

// Go's %T of a decoded JSON value, as upstream's messages print it.
std::string goType(const json& v) {
  if (v.is_string()) return "string";
  if (v.is_number()) return "float64";
  if (v.is_boolean()) return "bool";
  if (v.is_array()) return "[]interface {}";
  if (v.is_object()) return "map[string]interface {}";
  return "<nil>";
}

// validateConvertedObject: only labels and annotations may differ in metadata.
Result<void> sameIdentity(const json& in, const json& out) {
  auto differs = [](const char* what, const std::string& e, const std::string& a) -> Result<void> {
    if (e == a) return ok();
    return Error(ErrorCode::Internal,
                 std::string("must have the same ") + what + ": " + e + " != " + a);
  };
  SKIFF_TRY(differs("kind", str(in, {"kind"}), str(out, {"kind"})));
  SKIFF_TRY(differs("name", str(in, {"metadata", "name"}), str(out, {"metadata", "name"})));
  SKIFF_TRY(differs("namespace", str(in, {"metadata", "namespace"}),
                    str(out, {"metadata", "namespace"})));
  return differs("UID", str(in, {"metadata", "uid"}), str(out, {"metadata", "uid"}));
}

// restoreObjectMeta: the original's metadata with the answer's labels and annotations, which
// must be string maps and valid (as ValidateLabels / ValidateAnnotations).
Result<void> restoreMetadata(const api::ResourceInfo& r, const json& original, json& converted) {
  if (!converted.contains("metadata"))
    return Error(ErrorCode::Internal, "missing metadata in converted object");
  json answered = converted["metadata"];
  if (!answered.is_object())
    return Error(ErrorCode::Internal,
                 "invalid metadata of type " + goType(answered) + " in converted object");
  json meta = at(original, {"metadata"}).is_object() ? original["metadata"] : json::object();
  bool changed = false;
  for (const char* field : {"labels", "annotations"}) {
    const json& got = at(answered, {field});
    if (got.is_null()) {
      changed = changed || meta.contains(field);
      meta.erase(field);
      continue;
    }
    if (!got.is_object())
      return Error(ErrorCode::Internal, std::string("invalid metadata.") + field + " of type " +
                                            goType(got) + " in converted object");
    for (const auto& [k, v] : got.items()) {
      if (!v.is_string())
        return Error(ErrorCode::Internal, std::string("metadata.") + field + "[" + k +
                                              "] must be a string, but is " + goType(v) +
                                              " in converted object");
    }
    changed = changed || at(meta, {field}) != got;
    meta[field] = got;
  }
  converted["metadata"] = std::move(meta);
  if (!changed) return ok();
  api::ResourceInfo neutral = r;
  neutral.kind = "CustomResource";  // metadata rules only
  std::vector<std::string> bad;
  for (const auto& e : api::validateObject(neutral, converted, nullptr)) {
    if (e.field.rfind("metadata.labels", 0) == 0 || e.field.rfind("metadata.annotations", 0) == 0)
      bad.push_back(e.message());
  }
  if (bad.empty()) return ok();
  if (bad.size() == 1) return Error(ErrorCode::Internal, bad[0]);
  std::string all = "[";
  for (std::size_t i = 0; i < bad.size(); ++i) all += (i ? ", " : "") + bad[i];
  return Error(ErrorCode::Internal, all + "]");
}

// The converted objects of a review's answer, or why there are none.
Result<json> convertedObjects(const std::string& body, const std::string& review_version,
                              const std::string& uid) {
  json answer = json::parse(body, nullptr, false);
  if (answer.is_discarded() || !answer.is_object())
    return Error(ErrorCode::Internal, "the response is not a ConversionReview (not JSON)");
  const std::string review_gv = "apiextensions.k8s.io/" + review_version;
  // v1beta1 answers were never checked for their kind or uid; upstream keeps it so.
  if (review_version == "v1" &&
      (str(answer, {"apiVersion"}) != review_gv || str(answer, {"kind"}) != "ConversionReview"))
    return Error(ErrorCode::Internal,
                 "expected webhook response of apiextensions.k8s.io/v1, Kind=ConversionReview, "
                 "got " +
                     gvkOf(answer));
  const json& response = at(answer, {"response"});
  if (!response.is_object()) return Error(ErrorCode::Internal, "no response provided");
  if (review_version == "v1" && str(response, {"uid"}) != uid)
    return Error(ErrorCode::Internal,
                 "expected response.uid=\"" + uid + "\", got \"" + str(response, {"uid"}) + "\"");
  std::string status = str(response, {"result", "status"});
  if (status != "Success") {
    std::string message = str(response, {"result", "message"});
    if (!message.empty()) return Error(ErrorCode::Internal, message);
    return Error(ErrorCode::Internal, "response.result.status was '" + status + "', not 'Success'");
  }
  const json& objs = at(response, {"convertedObjects"});
  return objs.is_array() ? objs : json::array();
}

class WebhookConverter {
 public:
  explicit WebhookConverter(api::Registry& registry) : registry_(registry) {}

  Result<std::vector<json>> operator()(const api::ResourceInfo& r, std::vector<json> objects,
                                       const std::string& desired) const {
    if (objects.empty()) return objects;
    const json& webhook = r.custom->conversion_webhook;
    const std::string in = gvkOf(objects.front());
    auto fail = [&](const std::string& how, const Error& e) {
      return Error(ErrorCode::Internal, "conversion webhook for " + in + " " + how + e.message());
    };
    std::string version;
    for (const auto& v : at(webhook, {"conversionReviewVersions"})) {
      if (v == "v1" || v == "v1beta1") {
        version = v.get<std::string>();
        break;
      }
    }
    if (version.empty())
      return Error(ErrorCode::Internal, "no supported conversion review versions");
    std::string uid = api::newUid();
    json review = {
        {"kind", "ConversionReview"},
        {"apiVersion", "apiextensions.k8s.io/" + version},
        {"request", {{"uid", uid}, {"desiredAPIVersion", desired}, {"objects", objects}}}};
    auto body = admission::webhook::postReview(registry_, at(webhook, {"clientConfig"}),
                                               kTimeoutSeconds, false, review);
    if (!body) return fail("failed: ", body.error());
    auto got = convertedObjects(*body, version, uid);
    if (!got) return fail("failed: ", got.error());
    if (got->size() != objects.size())
      return Error(ErrorCode::Internal, "conversion webhook for " + in + " returned " +
                                            std::to_string(got->size()) + " objects, expected " +
                                            std::to_string(objects.size()));
    // Upstream words a list's item errors with their index, a single object's without.
    const bool list = objects.size() > 1;
    std::vector<json> out;
    out.reserve(objects.size());
    for (std::size_t i = 0; i < objects.size(); ++i) {
      json converted = std::move((*got)[i]);
      const std::string at_index = " at index " + std::to_string(i) + ": ";
      const std::string object =
          list ? "returned invalid converted object" : "returned invalid object";
      if (!converted.is_object())
        return fail(object + at_index, Error(ErrorCode::Internal, "not a JSON object"));
      std::string gv = str(converted, {"apiVersion"});
      if (gv != desired)
        return fail(object + at_index,
                    Error(ErrorCode::Internal,
                          "invalid groupVersion (expected " + desired + ", received " + gv + ")"));
      std::string kind = str(converted, {"kind"}), want = str(objects[i], {"kind"});
      if (kind != want)
        return fail(object + at_index, Error(ErrorCode::Internal, "invalid kind (expected " + want +
                                                                      ", received " + kind + ")"));
      if (auto same = sameIdentity(objects[i], converted); !same)
        return fail(list ? object + at_index : object + ": ", same.error());
      if (auto meta = restoreMetadata(r, objects[i], converted); !meta)
        return fail(
            list ? "returned invalid metadata in object" + at_index : "returned invalid metadata: ",
            meta.error());
      out.push_back(std::move(converted));
    }
    return out;
  }

 private:
  api::Registry& registry_;
};

}  // namespace

api::Registry::CustomConverter newWebhookConverter(api::Registry& registry) {
  return WebhookConverter(registry);
}

}  // namespace skiff::master::apiextensions
