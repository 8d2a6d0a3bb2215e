// LIST: pages from the store filtered by label and field selectors, with continue tokens, as a
// DOM (for Tables and in-process callers) or spliced from the stored text (HTTP JSON).
#include <algorithm>

#include "registry_internal.h"
#include "skiff/master/api/object_util.h"
#include "skiff/master/api/storage_keys.h"
#include "skiff/master/apiextensions/custom_resource.h"

namespace skiff::master::api {
namespace {

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

// What a list reads and keeps: its selectors, the key prefix of the resource in the namespace,
// and where the continue token (if any) resumes it.
struct ListScope {
  LabelSelector labels;
  FieldSelector fields;
  std::string prefix;
  ContinueToken resume;

  bool selects(const json& obj) const {
    return labels.matches(at(obj, {"metadata", "labels"})) && fields.matches(obj);
  }
};

Result<ListScope> listScope(const ResourceInfo& r, std::string pfx, const Selection& sel) {
  ListScope s;
  SKIFF_ASSIGN_OR_RETURN(s.labels, LabelSelector::parse(sel.label_selector));
  SKIFF_ASSIGN_OR_RETURN(s.fields, FieldSelector::parseFor(sel.field_selector, r.kind));
  SKIFF_ASSIGN_OR_RETURN(s.resume, parseContinueToken(sel.continue_token, pfx));
  s.prefix = std::move(pfx);
  return s;
}

// A list's metadata: the revision of its first page, and the token for the next page when this
// one stopped before the end.
json listMetadata(std::int64_t list_rev, bool more, const std::string& last_key) {
  json meta = {{"resourceVersion", std::to_string(list_rev)}};
  if (more) meta["continue"] = json{{"rv", list_rev}, {"start", last_key}}.dump();
  return meta;
}

// Inserts "resourceVersion" into a stored object's text when it starts the way encodeForStore
// writes objects of this type ({"apiVersion":..,"kind":..,"metadata":{...), else re-encodes.
void appendItem(std::string& out, const ResourceInfo& r, const store::KeyValue& kv) {
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
  json obj = convertForRead(r, decodeFromStore(kv.value, kv.mod_revision));
  obj["apiVersion"] = r.groupVersion();
  obj["kind"] = r.kind;
  out.append(obj.dump());
}

}  // namespace

Result<json> Registry::decodeStored(const ResourceInfo& r, const std::string& value,
                                    std::int64_t mod_revision) const {
  return present(r, decodeFromStore(value, mod_revision), 0);
}

Result<json> Registry::list(const ResourceInfo& r, const std::string& ns, const Selection& sel) {
  if (r.group == "metrics.k8s.io" && metrics_) return metrics_(r, ns, "", sel);
  SKIFF_ASSIGN_OR_RETURN(ListScope scope, listScope(r, prefix(r, ns), sel));
  std::string start = scope.resume.start;
  std::int64_t list_rev = scope.resume.revision;
  json items = json::array();
  bool more = false;
  std::string last_key;
  const std::int64_t chunk = sel.limit > 0 ? std::max<std::int64_t>(sel.limit, 100) : 0;
  for (;;) {
    SKIFF_ASSIGN_OR_RETURN(store::ListResult page, store_.list(scope.prefix, start, chunk));
    if (list_rev == 0) list_rev = page.revision;
    // Objects at r's version before the selectors see them. A kind converted by a webhook
    // has its whole page converted in one call; others are decoded one by one, only as far
    // as the page is needed (the item past the limit is only looked at, never decoded).
    const bool batch = convertsByWebhook(r);
    std::vector<json> converted;
    if (batch) {
      converted.reserve(page.items.size());
      for (const auto& kv : page.items)
        converted.push_back(decodeFromStore(kv.value, kv.mod_revision));
      SKIFF_TRY(presentAll(r, converted));
    }
    for (std::size_t i = 0; i < page.items.size(); ++i) {
      const store::KeyValue& kv = page.items[i];
      start = kv.key;
      if (sel.limit > 0 && static_cast<std::int64_t>(items.size()) == sel.limit) {
        more = true;
        break;
      }
      json obj;
      if (batch) {
        obj = std::move(converted[i]);
      } else {
        SKIFF_ASSIGN_OR_RETURN(obj, present(r, decodeFromStore(kv.value, kv.mod_revision), 0));
      }
      if (!scope.selects(obj)) continue;
      items.push_back(std::move(obj));
      last_key = kv.key;
    }
    if (more || !page.more || chunk == 0) break;
  }
  return json{{"kind", r.kind + "List"},
              {"apiVersion", r.groupVersion()},
              {"metadata", listMetadata(list_rev, more, last_key)},
              {"items", std::move(items)}};
}

Result<std::string> Registry::listText(const ResourceInfo& r, const std::string& ns,
                                       const Selection& sel) {
  // Metrics are not stored; webhook-converted objects are not spliced from their stored text.
  if ((r.group == "metrics.k8s.io" && metrics_) || convertsByWebhook(r)) {
    SKIFF_ASSIGN_OR_RETURN(json l, list(r, ns, sel));
    return l.dump();
  }
  SKIFF_ASSIGN_OR_RETURN(ListScope scope, listScope(r, prefix(r, ns), sel));
  std::string start = scope.resume.start;
  std::int64_t list_rev = scope.resume.revision;
  std::string items;
  std::int64_t count = 0;
  bool more = false;
  std::string last_key;
  const std::int64_t chunk = sel.limit > 0 ? std::max<std::int64_t>(sel.limit, 100) : 1000;
  bool filtered = !scope.labels.empty() || !scope.fields.empty();
  // Selectors see objects in r's shape, not the stored one (events.k8s.io Events).
  bool reshaped = r.version != r.storage_version || storageGroup(r) != r.group;
  for (;;) {
    SKIFF_ASSIGN_OR_RETURN(store::ListResult page, store_.list(scope.prefix, start, chunk));
    if (list_rev == 0) list_rev = page.revision;
    for (auto& kv : page.items) {
      start = kv.key;
      if (sel.limit > 0 && count == sel.limit) {
        more = true;
        break;
      }
      if (filtered) {
        json obj = json::parse(kv.value, nullptr, false);
        if (reshaped) obj = convertForRead(r, std::move(obj));
        if (!scope.selects(obj)) continue;
      }
      if (count++) items.push_back(',');
      if (r.custom && kv.mod_revision < r.custom->defaults_before_rev) {
        // Written before the schema's defaults last changed: read through present().
        SKIFF_ASSIGN_OR_RETURN(json obj, present(r, decodeFromStore(kv.value, kv.mod_revision), 0));
        items += obj.dump();
      } else {
        appendItem(items, r, kv);
      }
      last_key = kv.key;
    }
    if (more || !page.more) break;
  }
  json meta = listMetadata(list_rev, more, last_key);
  std::string out = "{\"apiVersion\":\"" + r.groupVersion() + "\",\"items\":[";
  out.reserve(out.size() + items.size() + 128);
  out += items;
  out += "],\"kind\":\"" + r.kind + "List\",\"metadata\":" + meta.dump() + "}";
  return out;
}

}  // namespace skiff::master::api
