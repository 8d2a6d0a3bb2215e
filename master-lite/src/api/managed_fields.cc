#include "skiff/master/api/managed_fields.h"

#include <algorithm>
#include <map>

#include "skiff/master/api/patch.h"

namespace skiff::master::api {
namespace {

bool isServerMeta(const std::string& k) {
  return k == "name" || k == "namespace" || k == "uid" || k == "resourceVersion" ||
         k == "generation" || k == "creationTimestamp" || k == "deletionTimestamp" ||
         k == "deletionGracePeriodSeconds" || k == "managedFields" || k == "selfLink" ||
         k == "generateName";
}

// "k:{\"name\":\"c\"}" for a keyed list element.
std::string elementKey(const std::string& key, const json& el) {
  json k = json::object();
  k[key] = el.contains(key) ? el[key] : json();
  return "k:" + k.dump();
}

json setOfValue(const json& v, const std::string& path, const std::string& field);

json setOfObject(const json& obj, const std::string& path) {
  json out = json::object();
  for (auto& [k, v] : obj.items()) {
    if (!k.empty() && k[0] == '$') continue;
    out["f:" + k] = setOfValue(v, path, k);
  }
  return out;
}

json setOfValue(const json& v, const std::string& path, const std::string& field) {
  if (v.is_object()) return setOfObject(v, path + "/" + field);
  if (v.is_array()) {
    std::string key = strategicMergeKey(path, field, v.empty() ? json() : v[0]);
    if (key.empty() || field == "finalizers") return json::object();
    json out = json::object();
    for (const auto& el : v) {
      if (!el.is_object() || !el.contains(key)) continue;
      json sub = setOfObject(el, path + "/" + field);
      sub["."] = json::object();
      out[elementKey(key, el)] = sub;
    }
    return out;
  }
  return json::object();
}

// The value at a field-set path inside an object (nullptr when absent).
const json* resolve(const json& obj, const std::vector<std::string>& path) {
  const json* cur = &obj;
  for (const auto& p : path) {
    if (p == ".") return cur;
    if (p.rfind("f:", 0) == 0) {
      if (!cur->is_object()) return nullptr;
      auto it = cur->find(p.substr(2));
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (p.rfind("k:", 0) == 0) {
      if (!cur->is_array()) return nullptr;
      json key = json::parse(p.substr(2), nullptr, false);
      if (!key.is_object()) return nullptr;
      const json* found = nullptr;
      for (const auto& el : *cur) {
        bool match = el.is_object();
        for (auto& [k, v] : key.items()) {
          if (!match) break;
          match = el.contains(k) && el[k] == v;
        }
        if (match) {
          found = &el;
          break;
        }
      }
      if (!found) return nullptr;
      cur = found;
    } else {
      return nullptr;
    }
  }
  return cur;
}

void leaves(const json& set, std::vector<std::string>& prefix,
            std::vector<std::vector<std::string>>& out) {
  bool any = false;
  for (auto& [k, v] : set.items()) {
    if (k == ".") continue;
    any = true;
    prefix.push_back(k);
    leaves(v, prefix, out);
    prefix.pop_back();
  }
  if (!any && !prefix.empty()) out.push_back(prefix);
}

std::vector<std::vector<std::string>> leavesOf(const json& set) {
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> prefix;
  if (set.is_object()) leaves(set, prefix, out);
  return out;
}

bool hasPath(const json& set, const std::vector<std::string>& path) {
  const json* cur = &set;
  for (const auto& p : path) {
    if (!cur->is_object()) return false;
    auto it = cur->find(p);
    if (it == cur->end()) return false;
    cur = &*it;
  }
  return true;
}

void addPath(json& set, const std::vector<std::string>& path) {
  json* cur = &set;
  for (const auto& p : path) {
    if (!cur->contains(p)) (*cur)[p] = json::object();
    cur = &(*cur)[p];
  }
}

// Removes the path and prunes parents left empty.
void removePath(json& set, const std::vector<std::string>& path, std::size_t i = 0) {
  if (i >= path.size() || !set.is_object() || !set.contains(path[i])) return;
  if (i + 1 == path.size()) {
    set.erase(path[i]);
    return;
  }
  removePath(set[path[i]], path, i + 1);
  json& child = set[path[i]];
  bool empty = child.empty() || (child.size() == 1 && child.contains("."));
  if (empty) set.erase(path[i]);
}

// Removes the field at `path` from an object.
void removeFromObject(json& obj, const std::vector<std::string>& path) {
  if (path.empty()) return;
  std::vector<std::string> parent(path.begin(), path.end() - 1);
  const std::string& last = path.back();
  json* cur = const_cast<json*>(resolve(obj, parent));
  if (!cur) return;
  if (last.rfind("f:", 0) == 0 && cur->is_object()) {
    cur->erase(last.substr(2));
  } else if (last.rfind("k:", 0) == 0 && cur->is_array()) {
    json key = json::parse(last.substr(2), nullptr, false);
    for (auto it = cur->begin(); it != cur->end(); ++it) {
      bool match = it->is_object();
      for (auto& [k, v] : key.items()) {
        if (match) match = it->contains(k) && (*it)[k] == v;
      }
      if (match) {
        cur->erase(it);
        break;
      }
    }
  }
}

std::string formatPath(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& p : path) {
    if (p == ".") continue;
    if (p.rfind("f:", 0) == 0) {
      out += "." + p.substr(2);
    } else if (p.rfind("k:", 0) == 0) {
      json key = json::parse(p.substr(2), nullptr, false);
      std::string inner;
      if (key.is_object()) {
        for (auto& [k, v] : key.items()) inner += (inner.empty() ? "" : ",") + k + "=" + v.dump();
      }
      out += "[" + inner + "]";
    }
  }
  return out;
}

json& managedFieldsOf(json& obj) {
  json& meta = obj["metadata"];
  if (!meta.contains("managedFields") || !meta["managedFields"].is_array()) {
    meta["managedFields"] = json::array();
  }
  return meta["managedFields"];
}

void setEntry(json& obj, const ManagedUpdate& u, const json& fields, bool replace) {
  json& mf = managedFieldsOf(obj);
  json* entry = nullptr;
  for (auto& e : mf) {
    if (e.value("manager", "") == u.manager && e.value("operation", "") == u.operation &&
        e.value("subresource", "") == u.subresource) {
      entry = &e;
    }
  }
  if (!entry) {
    json e = {{"manager", u.manager}, {"operation", u.operation}, {"apiVersion", u.api_version},
              {"time", u.time},       {"fieldsType", "FieldsV1"}, {"fieldsV1", json::object()}};
    if (!u.subresource.empty()) e["subresource"] = u.subresource;
    mf.push_back(e);
    entry = &mf.back();
  }
  (*entry)["time"] = u.time;
  (*entry)["apiVersion"] = u.api_version;
  if (replace) {
    (*entry)["fieldsV1"] = fields;
  } else {
    for (const auto& leaf : leavesOf(fields)) addPath((*entry)["fieldsV1"], leaf);
  }
}

void dropEmptyEntries(json& obj) {
  json& mf = managedFieldsOf(obj);
  json kept = json::array();
  for (auto& e : mf) {
    if (e.contains("fieldsV1") && e["fieldsV1"].is_object() && !e["fieldsV1"].empty())
      kept.push_back(e);
  }
  mf = std::move(kept);
}

void diffLeaves(const json& a, const json& b, const std::string& path, const std::string& field,
                std::vector<std::string>& prefix, json& out) {
  if (a == b) return;
  if (b.is_object() && a.is_object()) {
    for (auto& [k, v] : b.items()) {
      prefix.push_back("f:" + k);
      diffLeaves(a.contains(k) ? a[k] : json(), v, path + "/" + field, k, prefix, out);
      prefix.pop_back();
    }
    return;
  }
  if (b.is_array() && a.is_array()) {
    std::string key = strategicMergeKey(path, field, b.empty() ? json() : b[0]);
    if (!key.empty() && field != "finalizers") {
      for (const auto& el : b) {
        if (!el.is_object() || !el.contains(key)) continue;
        const json* match = nullptr;
        for (const auto& o : a) {
          if (o.is_object() && o.contains(key) && o[key] == el[key]) match = &o;
        }
        prefix.push_back(elementKey(key, el));
        if (!match) {
          addPath(out, prefix);
          json sub = setOfObject(el, path + "/" + field);
          json* cur = &out;
          for (const auto& p : prefix) cur = &(*cur)[p];
          for (auto& [k, v] : sub.items()) (*cur)[k] = v;
          (*cur)["."] = json::object();
        } else {
          for (auto& [k, v] : el.items()) {
            prefix.push_back("f:" + k);
            diffLeaves(match->contains(k) ? (*match)[k] : json(), v, path + "/" + field, k, prefix,
                       out);
            prefix.pop_back();
          }
        }
        prefix.pop_back();
      }
      return;
    }
  }
  if (b.is_object()) {
    // New subtree: every field in it changed.
    json sub = setOfObject(b, path + "/" + field);
    addPath(out, prefix);
    json* cur = &out;
    for (const auto& p : prefix) cur = &(*cur)[p];
    for (auto& [k, v] : sub.items()) (*cur)[k] = v;
    return;
  }
  addPath(out, prefix);
}

}  // namespace

json fieldSetOf(const json& obj, bool with_status) {
  json out = json::object();
  if (!obj.is_object()) return out;
  for (auto& [k, v] : obj.items()) {
    if (k == "apiVersion" || k == "kind") continue;
    if (k == "status" && !with_status) continue;
    if (k == "metadata") {
      json meta = json::object();
      if (v.is_object()) {
        for (auto& [mk, mv] : v.items()) {
          if (isServerMeta(mk)) continue;
          meta["f:" + mk] = setOfValue(mv, "/metadata", mk);
        }
      }
      if (!meta.empty()) out["f:metadata"] = meta;
      continue;
    }
    out["f:" + k] = setOfValue(v, "", k);
  }
  return out;
}

json changedFieldSet(const json& old_obj, const json& new_obj) {
  json out = json::object();
  std::vector<std::string> prefix;
  json a = old_obj, b = new_obj;
  for (json* o : {&a, &b}) {
    if (!o->is_object()) continue;
    o->erase("apiVersion");
    o->erase("kind");
    if (o->contains("metadata") && (*o)["metadata"].is_object()) {
      json& m = (*o)["metadata"];
      for (auto it = m.begin(); it != m.end();) {
        if (isServerMeta(it.key()))
          it = m.erase(it);
        else
          ++it;
      }
    }
  }
  diffLeaves(a.is_object() ? a : json::object(), b, "", "", prefix, out);
  return out;
}

std::vector<std::string> fieldPaths(const json& set) {
  std::vector<std::string> out;
  for (const auto& l : leavesOf(set)) out.push_back(formatPath(l));
  return out;
}

void recordUpdate(json& obj, const ManagedUpdate& u, const json& fields) {
  if (u.manager.empty() || !obj.is_object()) return;
  auto changed = leavesOf(fields);
  if (changed.empty() && obj.contains("metadata") && obj["metadata"].contains("managedFields"))
    return;
  json& mf = managedFieldsOf(obj);
  for (auto& e : mf) {
    if (e.value("manager", "") == u.manager && e.value("operation", "") == u.operation) continue;
    if (e.value("subresource", "") != u.subresource) continue;
    for (const auto& leaf : changed) removePath(e["fieldsV1"], leaf);
  }
  if (!changed.empty()) setEntry(obj, u, fields, false);
  dropEmptyEntries(obj);
}

namespace {

// "Apply failed with 2 conflicts: conflicts with \"kubectl\" using apps/v1:\n- .spec.replicas..."
// (manager -> conflicting paths), as upstream's fieldmanager reports them.
Error applyConflict(const std::map<std::string, std::vector<std::string>>& conflicts) {
  std::size_t n = 0;
  for (const auto& [m, paths] : conflicts) n += paths.size();
  std::string msg =
      "Apply failed with " + std::to_string(n) + " conflict" + (n > 1 ? "s" : "") + ": ";
  bool first = true;
  for (const auto& [m, paths] : conflicts) {
    if (!first) msg += "\n";
    first = false;
    msg += std::string("conflict") + (paths.size() > 1 ? "s" : "") + " with " + m + ":";
    if (paths.size() == 1 && conflicts.size() == 1) {
      msg += " " + paths[0];
    } else {
      for (const auto& p : paths) msg += "\n- " + p;
    }
  }
  return Error(ErrorCode::Conflict, msg);
}

}  // namespace

Result<json> serverSideApply(const json& live, const json& applied, const ManagedUpdate& u,
                             bool force) {
  json applied_set = fieldSetOf(applied);
  json result = live.is_object() ? live : json::object();
  if (!result.contains("metadata") || !result["metadata"].is_object())
    result["metadata"] = json::object();
  json& mf = managedFieldsOf(result);
  // Conflicts: another manager owns a field this apply sets to a different value.
  std::map<std::string, std::vector<std::string>> conflicts;  // "manager using apiVersion" -> paths
  std::vector<std::vector<std::string>> applied_leaves = leavesOf(applied_set);
  for (auto& e : mf) {
    // Managers are (name, operation): kubectl's Update (scale, edit) conflicts with its Apply.
    if (e.value("manager", "") == u.manager && e.value("operation", "") == "Apply") continue;
    if (e.value("subresource", "") != u.subresource) continue;
    for (const auto& leaf : applied_leaves) {
      if (!hasPath(e["fieldsV1"], leaf)) continue;
      const json* have = resolve(live, leaf);
      const json* want = resolve(applied, leaf);
      if (have && want && *have == *want) continue;
      if (!have) continue;
      if (force) {
        removePath(e["fieldsV1"], leaf);
      } else {
        conflicts["\"" + e.value("manager", "") + "\" using " + e.value("apiVersion", "")]
            .push_back(formatPath(leaf));
      }
    }
  }
  if (!conflicts.empty()) return applyConflict(conflicts);
  // Prune what this manager applied before and dropped now, unless someone else owns it.
  json previous;
  for (auto& e : mf) {
    if (e.value("manager", "") == u.manager && e.value("operation", "") == "Apply" &&
        e.value("subresource", "") == u.subresource) {
      previous = e["fieldsV1"];
    }
  }
  if (previous.is_object()) {
    for (const auto& leaf : leavesOf(previous)) {
      // Walk up to the outermost node that the new apply no longer mentions.
      std::vector<std::string> p = leaf;
      while (p.size() > 1 && p.back() == ".") p.pop_back();
      std::vector<std::string> top;
      for (std::size_t i = 0; i < p.size(); ++i) {
        top.push_back(p[i]);
        if (!hasPath(applied_set, top)) break;
      }
      if (hasPath(applied_set, top)) continue;
      if (top.size() < 2 && top[0] == "f:metadata") continue;
      bool owned = false;
      for (auto& e : mf) {
        if (e.value("manager", "") == u.manager && e.value("operation", "") == "Apply") continue;
        if (hasPath(e["fieldsV1"], top)) owned = true;
      }
      if (!owned) removeFromObject(result, top);
    }
  }
  // Merge the applied intent.
  json intent = applied;
  intent.erase("status");
  if (intent.contains("metadata") && intent["metadata"].is_object()) {
    for (const char* k :
         {"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"}) {
      intent["metadata"].erase(k);
    }
  }
  SKIFF_ASSIGN_OR_RETURN(json merged, applyStrategicMergePatch(result, intent));
  // Other managers lose what this one now owns.
  for (auto& e : managedFieldsOf(merged)) {
    if (e.value("manager", "") == u.manager && e.value("operation", "") == "Apply") continue;
    if (e.value("subresource", "") != u.subresource) continue;
    for (const auto& leaf : applied_leaves) {
      if (hasPath(e["fieldsV1"], leaf)) {
        const json* have = resolve(live, leaf);
        const json* want = resolve(applied, leaf);
        // Shared ownership when both set the same value (upstream keeps both owners).
        if (!(have && want && *have == *want)) removePath(e["fieldsV1"], leaf);
      }
    }
  }
  setEntry(merged, u, applied_set, true);
  dropEmptyEntries(merged);
  return merged;
}

}  // namespace skiff::master::api
