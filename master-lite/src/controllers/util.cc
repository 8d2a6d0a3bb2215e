#include "util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "skiff/master/informer/meta.h"

namespace skiff::master::ctl {

Result<std::optional<json>> getIfExists(ApiClient& client, const GroupVersionResource& r,
                                        const std::string& key) {
  std::string ns, name;
  meta::splitKey(key, &ns, &name);
  auto got = client.get(r, ns, name);
  if (!got) {
    if (got.error().is(ErrorCode::NotFound)) return std::optional<json>();
    return std::move(got).error();
  }
  return std::optional<json>(std::move(*got));
}

Result<std::optional<json>> liveObject(ApiClient& client, const GroupVersionResource& r,
                                       const std::string& key, const std::string& kind) {
  SKIFF_ASSIGN_OR_RETURN(std::optional<json> got, getIfExists(client, r, key));
  if (!got) return std::optional<json>();
  json obj = std::move(*got);
  obj["kind"] = kind;
  if (meta::isDeleting(obj)) return std::optional<json>();
  return std::optional<json>(std::move(obj));
}

json statusOf(const json& obj) {
  const json& status = meta::at(obj, {"status"});
  return status.is_object() ? status : json::object();
}

Result<void> updateStatus(ApiClient& client, const GroupVersionResource& r, const json& obj,
                          json status) {
  json next = obj;
  next["status"] = std::move(status);
  return ignoreNotFound(client.update(r, meta::ns(obj), next, "status"));
}

Result<TemplateRevision> templateRevision(ApiClient& client, const json& owner) {
  TemplateRevision out;
  out.hash = computeHash(meta::at(owner, {"spec", "template"}), std::nullopt);
  out.name = meta::name(owner) + "-" + out.hash;
  SKIFF_ASSIGN_OR_RETURN(ObjectList revs,
                         client.list(gvr::kControllerRevisions, meta::ns(owner), ListOptions{}));
  for (const auto& r : revs.items) {
    auto ref = meta::controllerRef(r);
    if (!ref || ref->value("uid", "") != meta::uid(owner)) continue;
    out.max_revision = std::max<std::int64_t>(out.max_revision, r.value("revision", 0));
    if (meta::name(r) == out.name) out.existing = r;
  }
  return out;
}

Result<void> createRevision(ApiClient& client, const json& owner, const std::string& owner_kind,
                            const TemplateRevision& rev, json labels, json tmpl) {
  json cr = {
      {"apiVersion", "apps/v1"},
      {"kind", "ControllerRevision"},
      {"metadata",
       {{"name", rev.name},
        {"namespace", meta::ns(owner)},
        {"labels", std::move(labels)},
        {"ownerReferences", json::array({meta::makeControllerRef(owner, "apps/v1", owner_kind)})}}},
      {"data", {{"spec", {{"template", std::move(tmpl)}}}}},
      {"revision", rev.max_revision + 1}};
  auto r = client.create(gvr::kControllerRevisions, meta::ns(owner), cr);
  if (!r && !r.error().is(ErrorCode::AlreadyExists)) return std::move(r).error();
  return {};
}

void onChangeWithOldLabels(Informer& inf, const std::function<void(const json&)>& affected) {
  inf.addEventHandlers({
      .on_add = affected,
      .on_update =
          [affected](const json& o, const json& n) {
            affected(n);
            if (meta::labels(o) != meta::labels(n)) affected(o);
          },
      .on_delete = affected,
  });
}

bool isTerminal(const json& pod) {
  std::string phase = meta::str(pod, {"status", "phase"});
  return phase == "Succeeded" || phase == "Failed";
}

bool isActive(const json& pod) { return !isTerminal(pod) && !meta::isDeleting(pod); }

const json* findCondition(const json& conditions, const std::string& type) {
  if (!conditions.is_array()) return nullptr;
  for (const auto& c : conditions) {
    if (c.is_object() && c.value("type", "") == type) return &c;
  }
  return nullptr;
}

bool isReady(const json& pod) {
  const json* c = findCondition(meta::at(pod, {"status", "conditions"}), "Ready");
  return c != nullptr && c->value("status", "") == "True";
}

std::optional<TimePoint> readySince(const json& pod) {
  const json* c = findCondition(meta::at(pod, {"status", "conditions"}), "Ready");
  if (c == nullptr || c->value("status", "") != "True") return std::nullopt;
  TimePoint t;
  if (!parseTime(c->value("lastTransitionTime", ""), &t)) return TimePoint{};
  return t;
}

bool isAvailable(const json& pod, std::int64_t min_ready_seconds, TimePoint now) {
  auto since = readySince(pod);
  if (!since) return false;
  if (min_ready_seconds == 0) return true;
  return *since + std::chrono::seconds(min_ready_seconds) <= now;
}

Result<std::int64_t> scaledValue(const json& v, std::int64_t total, bool round_up) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (s.empty() || s.back() != '%') {
      return Error(ErrorCode::Invalid,
                   "invalid value for IntOrString: invalid type: string is not a percentage");
    }
    std::int64_t pct = 0;
    try {
      pct = std::stoll(s.substr(0, s.size() - 1));
    } catch (const std::exception&) {
      return Error(ErrorCode::Invalid, "invalid value \"" + s + "\": not a percentage");
    }
    if (round_up) return (pct * total + 99) / 100;
    return pct * total / 100;
  }
  if (v.is_null()) return Error(ErrorCode::Invalid, "nil value for IntOrString");
  return Error(ErrorCode::Invalid, "invalid value for IntOrString");
}

std::string safeEncodeString(const std::string& s) {
  static const char kAlphanums[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) out += kAlphanums[c % (sizeof kAlphanums - 1)];
  return out;
}

std::string computeHash(const json& pod_template, std::optional<std::int64_t> collision_count) {
  std::uint32_t h = 2166136261u;
  auto feed = [&h](const unsigned char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 16777619u;
    }
  };
  std::string canon = pod_template.dump();
  feed(reinterpret_cast<const unsigned char*>(canon.data()), canon.size());
  if (collision_count) {
    std::uint32_t cc = static_cast<std::uint32_t>(*collision_count);
    unsigned char b[4] = {static_cast<unsigned char>(cc), static_cast<unsigned char>(cc >> 8),
                          static_cast<unsigned char>(cc >> 16),
                          static_cast<unsigned char>(cc >> 24)};
    feed(b, 4);
  }
  return safeEncodeString(std::to_string(h));
}

json podFromTemplate(const json& tmpl, const json& owner_ref, const std::string& generate_name) {
  json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", json::object()}};
  const json& tm = meta::at(tmpl, {"metadata"});
  if (tm.is_object()) {
    for (const char* f : {"labels", "annotations", "finalizers"}) {
      if (tm.contains(f)) pod["metadata"][f] = tm[f];
    }
  }
  pod["metadata"]["generateName"] = generate_name;
  pod["metadata"]["ownerReferences"] = json::array({owner_ref});
  pod["spec"] = meta::at(tmpl, {"spec"}).is_object() ? tmpl["spec"] : json::object();
  return pod;
}

std::optional<GroupVersionResource> gvrForKind(const std::string& api_version,
                                               const std::string& kind) {
  std::string group = api_version.find('/') == std::string::npos
                          ? ""
                          : api_version.substr(0, api_version.find('/'));
  struct K {
    const char* group;
    const char* kind;
    const GroupVersionResource* r;
  };
  static const K kKinds[] = {
      {"apps", "Deployment", &gvr::kDeployments},
      {"apps", "ReplicaSet", &gvr::kReplicaSets},
      {"apps", "DaemonSet", &gvr::kDaemonSets},
      {"apps", "StatefulSet", &gvr::kStatefulSets},
      {"apps", "ControllerRevision", &gvr::kControllerRevisions},
      {"batch", "Job", &gvr::kJobs},
      {"batch", "CronJob", &gvr::kCronJobs},
      {"", "Pod", &gvr::kPods},
      {"", "Service", &gvr::kServices},
      {"", "ReplicationController", &gvr::kReplicationControllers},
      {"", "Node", &gvr::kNodes},
      {"", "ConfigMap", &gvr::kConfigMaps},
      {"", "Secret", &gvr::kSecrets},
      {"", "ServiceAccount", &gvr::kServiceAccounts},
      {"", "Namespace", &gvr::kNamespaces},
      {"discovery.k8s.io", "EndpointSlice", &gvr::kEndpointSlices},
  };
  for (const auto& k : kKinds) {
    if (group == k.group && kind == k.kind) return *k.r;
  }
  return std::nullopt;
}

LabelSelector workloadSelector(const json& obj) {
  const json& sel = meta::at(obj, {"spec", "selector"});
  // ReplicationController: a plain map; apps/batch: metav1.LabelSelector.
  if (obj.value("kind", "") == "ReplicationController") {
    if (!sel.is_object() || sel.empty()) {
      // RC defaults its selector to the template labels.
      json labels = meta::at(obj, {"spec", "template", "metadata", "labels"});
      if (!labels.is_object() || labels.empty()) return LabelSelector::nothing();
      auto s = LabelSelector::fromJson(json{{"matchLabels", labels}});
      return s ? *s : LabelSelector::nothing();
    }
    auto s = LabelSelector::fromJson(json{{"matchLabels", sel}});
    return s ? *s : LabelSelector::nothing();
  }
  if (sel.is_null()) return LabelSelector::nothing();
  auto s = LabelSelector::fromJson(sel);
  if (!s || s->empty()) return LabelSelector::nothing();  // an empty selector selects nothing here
  return *s;
}

Result<std::vector<Informer::ObjectPtr>> claimObjects(
    ApiClient& client, const GroupVersionResource& r, const json& owner, const json& owner_ref,
    const LabelSelector& selector, const std::vector<Informer::ObjectPtr>& candidates) {
  std::vector<Informer::ObjectPtr> owned;
  std::string owner_uid = meta::uid(owner);
  bool owner_deleting = meta::isDeleting(owner);
  for (const auto& ptr : candidates) {
    const json& obj = *ptr;
    auto ref = meta::controllerRef(obj);
    bool matches = selector.matches(meta::at(obj, {"metadata", "labels"}));
    if (ref) {
      if (ref->value("uid", "") != owner_uid) continue;  // someone else's
      if (matches) {
        owned.push_back(ptr);
        continue;
      }
      if (owner_deleting) continue;
      // Release: drop our ownerReference (by uid, as the strategic patch upstream does).
      json refs = json::array();
      for (const auto& x : meta::at(obj, {"metadata", "ownerReferences"})) {
        if (x.value("uid", "") != owner_uid) refs.push_back(x);
      }
      json patch = {{"metadata",
                     {{"ownerReferences", refs},
                      {"uid", meta::uid(obj)},
                      {"resourceVersion", meta::resourceVersion(obj)}}}};
      SKIFF_TRY(
          ignoreNotFound(client.patch(r, meta::ns(obj), meta::name(obj), PatchType::Merge, patch)));
      continue;
    }
    // Orphan: adopt if it matches and neither side is going away.
    if (!matches || owner_deleting || meta::isDeleting(obj)) continue;
    json refs = meta::at(obj, {"metadata", "ownerReferences"});
    if (!refs.is_array()) refs = json::array();
    refs.push_back(owner_ref);
    json patch = {
        {"metadata", {{"ownerReferences", refs}, {"resourceVersion", meta::resourceVersion(obj)}}}};
    auto res = client.patch(r, meta::ns(obj), meta::name(obj), PatchType::Merge, patch);
    if (!res) {
      if (res.error().is(ErrorCode::NotFound)) continue;
      return std::move(res).error();
    }
    owned.push_back(std::make_shared<const json>(std::move(*res)));
  }
  return owned;
}

Result<std::vector<json>> claimObjects(ApiClient& client, const GroupVersionResource& r,
                                       const json& owner, const json& owner_ref,
                                       const LabelSelector& selector,
                                       const std::vector<json>& candidates) {
  // Non-owning views of the caller's objects (aliasing constructor, empty owner).
  std::vector<Informer::ObjectPtr> views;
  views.reserve(candidates.size());
  for (const auto& c : candidates) views.emplace_back(std::shared_ptr<const void>(), &c);
  SKIFF_ASSIGN_OR_RETURN(auto owned, claimObjects(client, r, owner, owner_ref, selector, views));
  std::vector<json> out;
  out.reserve(owned.size());
  for (const auto& p : owned) out.push_back(*p);
  return out;
}

json condition(const std::string& type, const std::string& status, const std::string& reason,
               const std::string& message, TimePoint now) {
  std::string t = formatTime(now);
  return json{{"type", type},       {"status", status},        {"reason", reason},
              {"message", message}, {"lastTransitionTime", t}, {"lastUpdateTime", t}};
}

bool setCondition(json& conditions, json cond) {
  if (!conditions.is_array()) conditions = json::array();
  for (auto& c : conditions) {
    if (c.value("type", "") != cond.value("type", "")) continue;
    bool same_status = c.value("status", "") == cond.value("status", "");
    bool same = same_status && c.value("reason", "") == cond.value("reason", "") &&
                c.value("message", "") == cond.value("message", "");
    if (same_status && c.contains("lastTransitionTime")) {
      cond["lastTransitionTime"] = c["lastTransitionTime"];
    }
    if (same) {
      if (!cond.contains("lastUpdateTime") && c.contains("lastUpdateTime")) {
        cond["lastUpdateTime"] = c["lastUpdateTime"];
      }
    }
    c = cond;
    return !same;
  }
  conditions.push_back(cond);
  return true;
}

}  // namespace skiff::master::ctl
